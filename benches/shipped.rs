//! One decision of the shipped rules on a typical change: issue 3's targets (≤ 300 ns with
//! facts already encoded, ≤ 2 µs from a `serde_json::Value`), with the reference interpreter
//! beside them. See `benches/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod typical;

use std::hint::black_box;

use blastwall_interp::{Facts, Interpreter};
use criterion::{Criterion, criterion_group, criterion_main};

fn shipped_policy() -> blastwall_check::Policy {
    let sources = blastwall::embedded_rules()
        .into_iter()
        .map(|s| blastwall_check::SourceFile {
            path: s.path,
            text: s.text,
        })
        .collect();
    blastwall_check::check(sources).policy.unwrap()
}

fn shipped(c: &mut Criterion) {
    let json = typical::typical_change();
    let ir = shipped_policy();
    let wasm = blastwall_compile::compile(&ir).unwrap();
    let engine =
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig::default()).unwrap();
    let policy = engine.load(&wasm).unwrap().policy();
    let mut session = policy.session().unwrap();
    let encoded = session.encode(&json).unwrap();
    let interp = Interpreter::new(ir).unwrap();
    let facts = Facts::from_json(interp.policy(), &json).unwrap();

    // The module and the interpreter agree on what is timed, and the decision is not trivial.
    let decision = session.evaluate_encoded(&encoded).unwrap();
    assert_eq!(decision, interp.evaluate(&facts));
    assert!(
        !decision.findings.is_empty(),
        "{}",
        decision.to_json_pretty()
    );

    let mut g = c.benchmark_group("shipped");
    g.bench_function("module_encoded", |b| {
        b.iter(|| session.evaluate_encoded(black_box(&encoded)).unwrap())
    });
    g.bench_function("module_json", |b| {
        b.iter(|| session.evaluate_json(black_box(&json)).unwrap())
    });
    // The topology kept in the instance (`Policy::with_topology`), as a proxy deciding many
    // changes against one service graph would: the facts carry the change only.
    let resident = policy.with_topology(&json["topology"]).unwrap();
    let mut resident_session = resident.session().unwrap();
    let change_only = serde_json::json!({"change": json["change"]});
    assert_eq!(
        resident_session.evaluate_json(&change_only).unwrap(),
        decision
    );
    g.bench_function("module_json_resident_topology", |b| {
        b.iter(|| {
            resident_session
                .evaluate_json(black_box(&change_only))
                .unwrap()
        })
    });
    g.bench_function("interp", |b| b.iter(|| interp.evaluate(black_box(&facts))));
    g.finish();
}

criterion_group!(benches, shipped);
criterion_main!(benches);
