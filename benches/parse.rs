//! Parse and check: the shipped rules (what every `blastwall` run pays before deciding), and
//! a 1 MB policy file (the cost of large generated policies). See `benches/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use blastwall_check::{SourceFile, check};
use criterion::{Criterion, criterion_group, criterion_main};

fn shipped() -> Vec<SourceFile> {
    blastwall::embedded_rules()
        .into_iter()
        .map(|s| SourceFile {
            path: s.path,
            text: s.text,
        })
        .collect()
}

/// About 1 MB of distinct rules in one file, each with a quantifier, a glob, a template.
fn one_megabyte() -> String {
    let mut src = String::new();
    let mut i = 0;
    while src.len() < 1_000_000 {
        src.push_str(&format!(
            "/// Rule {i}.\nrule r{i} {{\n    level soft\n    when some f in change.files: f.path matches \"services/s{i}/**\" and f.added + f.removed > {i}\n    deny \"{{f.path}} changes {{f.added}} lines in service {i}\"\n    about f.path\n}}\n\n"
        ));
        i += 1;
    }
    src
}

fn bench(c: &mut Criterion) {
    let rules = shipped();
    assert!(check(rules.clone()).policy.is_some());
    let mut g = c.benchmark_group("parse_check");
    g.bench_function("shipped_rules", |b| {
        b.iter(|| check(black_box(rules.clone())))
    });
    let big = one_megabyte();
    let big_src = vec![SourceFile {
        path: "big.bw".into(),
        text: big.clone(),
    }];
    assert!(check(big_src.clone()).policy.is_some());
    g.sample_size(20);
    g.bench_function("one_megabyte_parse", |b| {
        b.iter(|| blastwall_syntax::parse(black_box(&big)))
    });
    g.bench_function("one_megabyte_parse_check", |b| {
        b.iter(|| check(black_box(big_src.clone())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
