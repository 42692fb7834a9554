//! The six implementations `cargo bench --features peers --bench decide` times give the same
//! decision — outcome and findings — on the bench's facts and on variants that make each rule
//! fire or stay quiet; otherwise the comparison would be meaningless. Run with
//! `cargo test --features peers --test peers_agree`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../benches/peers/mod.rs"]
mod peers;

use blastwall_interp::{Facts, Interpreter};

#[test]
fn every_engine_gives_the_expected_decision() {
    let policy = peers::decide_module();
    let mut session = policy.session().unwrap();
    let interp = Interpreter::new(peers::decide_policy()).unwrap();
    let mut rego = peers::rego::Rego::new();
    let cedar = peers::cedar::Cedar::new();

    let mut failures = Vec::new();
    let cases = peers::cases();
    for (name, json, expected) in &cases {
        let encoded = session.encode(json).unwrap();
        let typed = peers::native::facts(json);
        let answers = [
            (
                "blastwall",
                peers::summarize_decision(&session.evaluate_encoded(&encoded).unwrap()),
            ),
            (
                "blastwall_json",
                peers::summarize_decision(&session.evaluate_json(json).unwrap()),
            ),
            (
                "interp",
                peers::summarize_decision(
                    &interp.evaluate(&Facts::from_json(interp.policy(), json).unwrap()),
                ),
            ),
            (
                "regorus",
                peers::rego::summarize(&rego.decide(&peers::rego::input(json))),
            ),
            ("cedar", cedar.summarize(&typed, &cedar.decide(&typed))),
            (
                "native",
                peers::native::summarize(&peers::native::decide(&typed)),
            ),
        ];
        for (engine, got) in answers {
            if &got != expected {
                failures.push(format!(
                    "{name}: {engine} decided\n  {got:?}\nexpected\n  {expected:?}"
                ));
            }
        }
    }
    assert!(cases.len() >= 6);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
