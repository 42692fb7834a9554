//! Getting to the first decision: compiling the shipped rules from source to wasm (≤ 50 ms),
//! loading a precompiled artifact, and loading it plus instantiating plus deciding once on a
//! typical change (≤ 200 µs) — from bytes in memory, and from a file, memory-mapped. See
//! `benches/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod typical;

use std::hint::black_box;

use blastwall_check::SourceFile;
use criterion::{Criterion, criterion_group, criterion_main};

fn sources() -> Vec<SourceFile> {
    blastwall::embedded_rules()
        .into_iter()
        .map(|s| SourceFile {
            path: s.path,
            text: s.text,
        })
        .collect()
}

/// Source to wasm, as `blastwall build` does: parse, check, lower, compile, validate.
fn compile(sources: Vec<SourceFile>) -> Vec<u8> {
    blastwall_compile::compile(&blastwall_check::check(sources).policy.unwrap()).unwrap()
}

fn load(c: &mut Criterion) {
    let json = typical::typical_change();
    let wasm = compile(sources());
    let engine = blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig {
        artifact_key: Some(blastwall_runtime::ArtifactKey::generate().unwrap()),
        ..Default::default()
    })
    .unwrap();
    let artifact = engine.precompile(&wasm).unwrap();
    let expected = engine
        .load(&wasm)
        .unwrap()
        .policy()
        .evaluate_json(&json)
        .unwrap();

    let mut g = c.benchmark_group("load");
    g.bench_function("compile", |b| {
        b.iter_batched(sources, compile, criterion::BatchSize::SmallInput)
    });
    // Dropping the module (unmapping its code and memory) is not part of getting to a
    // decision, so it happens outside the timed part.
    g.bench_function("load_precompiled", |b| {
        b.iter_with_large_drop(|| engine.load_precompiled(black_box(&artifact)).unwrap())
    });
    g.bench_function("first_decision", |b| {
        b.iter_with_large_drop(|| {
            let module = engine.load_precompiled(black_box(&artifact)).unwrap();
            let policy = module.policy();
            let decision = policy.evaluate_json(black_box(&json)).unwrap();
            assert_eq!(decision.outcome, expected.outcome);
            // The policy keeps the instance for the next decision; freeing it is not part of
            // this one.
            (module, policy, decision)
        })
    });

    // The artifact as a proxy or the cache finds it: a file, read through the page cache (the
    // file was just written, as it is after a deploy or a first load).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipped.bwc");
    std::fs::write(&path, &artifact).unwrap();
    // SAFETY: the file is this bench's own and nothing writes it while modules live.
    #[allow(unsafe_code)]
    let from_file = || unsafe { engine.load_precompiled_file(black_box(&path)) }.unwrap();
    g.bench_function("load_precompiled_file", |b| {
        b.iter_with_large_drop(from_file)
    });
    g.bench_function("first_decision_file", |b| {
        b.iter_with_large_drop(|| {
            let module = from_file();
            let policy = module.policy();
            let decision = policy.evaluate_json(black_box(&json)).unwrap();
            assert_eq!(decision.outcome, expected.outcome);
            (module, policy, decision)
        })
    });
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
