//! One logical policy, six ways to decide it: the compiled module (facts encoded, and from
//! JSON), blastwall's reference interpreter, regorus's RVM, cedar-policy, and hand-written
//! Rust. The policy is `benches/peers/decide.bw` and its peers beside it; the facts are
//! `peers::bench_facts()` (an AI-assisted change of 20 files with 3 approvals and CODEOWNERS
//! owners, a plan of 50 resource changes, a 50-node topology). `tests/peers_agree.rs` checks
//! that all six decide alike. See `benches/README.md`.
//!
//! `cargo bench --features peers --bench decide`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod peers;

use std::hint::black_box;

use blastwall_interp::{Facts, Interpreter};
use criterion::{Criterion, criterion_group, criterion_main};

fn decide(c: &mut Criterion) {
    let json = peers::bench_facts();
    let expected = &peers::cases()[0].2;
    let policy = peers::decide_module();
    let mut session = policy.session().unwrap();
    let encoded = session.encode(&json).unwrap();
    let interp = Interpreter::new(peers::decide_policy()).unwrap();
    let facts = Facts::from_json(interp.policy(), &json).unwrap();
    let mut rego = peers::rego::Rego::new();
    let rego_input = peers::rego::input(&json);
    let cedar = peers::cedar::Cedar::new();
    let typed = peers::native::facts(&json);

    // Every engine's answer is checked once more here, on exactly what is timed.
    assert_eq!(
        &peers::summarize_decision(&session.evaluate_encoded(&encoded).unwrap()),
        expected
    );
    assert_eq!(
        &peers::summarize_decision(&interp.evaluate(&facts)),
        expected
    );
    assert_eq!(&peers::rego::summarize(&rego.decide(&rego_input)), expected);
    assert_eq!(&cedar.summarize(&typed, &cedar.decide(&typed)), expected);
    assert_eq!(
        &peers::native::summarize(&peers::native::decide(&typed)),
        expected
    );

    let mut g = c.benchmark_group("decide");
    g.bench_function("blastwall", |b| {
        b.iter(|| session.evaluate_encoded(black_box(&encoded)).unwrap())
    });
    g.bench_function("blastwall_json", |b| {
        b.iter(|| session.evaluate_json(black_box(&json)).unwrap())
    });
    g.bench_function("interp", |b| b.iter(|| interp.evaluate(black_box(&facts))));
    g.bench_function("regorus", |b| {
        b.iter(|| rego.decide(black_box(&rego_input)))
    });
    g.bench_function("cedar", |b| b.iter(|| cedar.decide(black_box(&typed))));
    g.bench_function("native", |b| {
        b.iter(|| peers::native::decide(black_box(&typed)).findings.len())
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
