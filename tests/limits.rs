//! Policies under limits: large and hostile facts, memory, fuel, time and step caps. Every case
//! ends in a decision or a clear error — never a panic, a hang or a wrong decision — and the
//! policy keeps deciding afterwards. A limit reached is the same decision in both evaluators:
//! deny, naming the limit, whichever rule was running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blastwall_abi::decision::{Decision, Effect, Outcome};
use blastwall_runtime::{Engine, EngineConfig, EvalError, EvalLimits};
use serde_json::json;

const POLICY: &str = r#"
rule many_labels {
    level hard
    when count([l + "!" for l in change.labels where l != ""]) > 3
    deny "too many labels"
}
rule quadratic {
    level advisory
    when some a in change.labels: some b in change.labels: a == b + "?"
    warn "impossible"
}
"#;

fn policy(limits: EvalLimits) -> blastwall_runtime::Policy {
    let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
        path: "p.bw".into(),
        text: POLICY.into(),
    }]);
    let wasm = blastwall_compile::compile(&checked.policy.unwrap()).unwrap();
    let engine = Engine::new(EngineConfig {
        limits,
        cache_dir: None,
        artifact_key: None,
    })
    .unwrap();
    engine.load(&wasm).unwrap().policy()
}

fn labels(n: usize) -> serde_json::Value {
    let labels: Vec<String> = (0..n).map(|i| format!("label-{i}")).collect();
    json!({"change": {"labels": labels}})
}

#[test]
fn a_large_input_decides_within_the_default_limits() {
    let p = policy(EvalLimits {
        fuel: Some(u64::MAX / 2),
        ..EvalLimits::default()
    });
    // The quadratic rule compares every pair of labels, so its work grows with the square of
    // the input. The default limits include a wall-clock deadline of one second: 1,000 labels
    // (a million comparisons) leave it a wide margin on a loaded machine, where 2,000 (four
    // million) came within it and, once, past it while other tests ran beside this one.
    let small = labels(4);
    let d = p.evaluate_json(&small).unwrap();
    assert_eq!(d.outcome, blastwall_abi::decision::Outcome::Deny);
    let big = labels(1_000);
    let d = p.evaluate_json(&big).unwrap();
    assert_eq!(d.findings.len(), 1, "{d:?}");
}

#[test]
fn memory_beyond_the_cap_denies_and_the_next_decision_works() {
    let p = policy(EvalLimits {
        memory_bytes: 4 << 20,
        ..EvalLimits::default()
    });
    let d = p.evaluate_json(&labels(300_000)).unwrap();
    assert_limit(&d, "bytes of memory");
    let d = p.evaluate_json(&labels(5)).unwrap();
    assert_eq!(d.outcome, blastwall_abi::decision::Outcome::Deny);
}

#[test]
fn fuel_exhaustion_denies_and_the_next_decision_works() {
    let p = policy(EvalLimits {
        fuel: Some(2_000_000),
        ..EvalLimits::default()
    });
    // 3,000 labels: the quadratic rule needs ~9M comparisons.
    let d = p.evaluate_json(&labels(3_000)).unwrap();
    assert_limit(&d, "ran out of fuel");
    let d = p.evaluate_json(&labels(5)).unwrap();
    assert_eq!(d.outcome, blastwall_abi::decision::Outcome::Deny);
}

#[test]
fn deeply_nested_or_mistyped_facts_are_refused() {
    let p = policy(EvalLimits::default());
    let mut deep = json!("x");
    for _ in 0..50 {
        deep = json!([deep]);
    }
    for facts in [
        json!({"change": {"labels": deep}}),
        json!({"change": {"labels": "not a list"}}),
        json!({"change": {"labels": [1, 2]}}),
        json!({"change": {"labels": [], "extra": true}}),
        json!([1, 2, 3]),
        json!({"change": {"labels": [], "files": [{"path": "a", "added": 1.5}]}}),
    ] {
        let err = p.evaluate_json(&facts).unwrap_err();
        assert!(matches!(err, EvalError::Facts(_)), "{facts}: {err}");
    }
    assert!(p.evaluate_json(&labels(1)).is_ok());
}

#[test]
fn typed_rust_structs_encode_like_their_json() {
    #[derive(serde::Serialize)]
    struct Change {
        labels: Vec<String>,
    }
    #[derive(serde::Serialize)]
    struct Facts {
        change: Change,
    }
    let p = policy(EvalLimits::default());
    let mut session = p.session().unwrap();
    let typed = Facts {
        change: Change {
            labels: (0..5).map(|i| format!("label-{i}")).collect(),
        },
    };
    let from_struct = session.encode_typed(&typed).unwrap();
    let from_json = session.encode(&labels(5)).unwrap();
    assert_eq!(from_struct.bytes(), from_json.bytes());
    let d = session.evaluate_encoded(&from_struct).unwrap();
    assert_eq!(d.outcome, blastwall_abi::decision::Outcome::Deny);
}

/// Strings that double through a chain of functions: each level calls the one below twice, so
/// six levels of a 20-byte command ask for gigabytes.
const DOUBLING: &str = r#"
fn d1(s: str) = s + s
fn d2(s: str) = d1(d1(s))
fn d3(s: str) = d2(d2(s))
fn d4(s: str) = d3(d3(s))
fn d5(s: str) = d4(d4(s))
fn d6(s: str) = d5(d5(s))
rule grows {
    level hard
    when len(d6(action.command)) > 0
    deny "grew"
}
"#;

#[test]
fn a_policy_that_builds_gigabytes_fails_closed_in_both_evaluators() {
    let facts = json!({ "action": { "command": "twenty bytes of text" } });
    let policy =
        blastwall::Policy::compile(vec![blastwall::Source::new("d.bw", DOUBLING)]).unwrap();
    // The interpreter stops at its memory budget, the module at its memory limit: the same
    // decision, deny naming the limit.
    let interpreted = policy.evaluate_json(&facts).unwrap();
    assert_limit(&interpreted, "bytes of memory");
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let module = engine.load(&policy.to_wasm().unwrap()).unwrap();
    let compiled = module.policy().evaluate_json(&facts).unwrap();
    assert_limit(&compiled, "bytes of memory");
    assert_eq!(shape(&interpreted), shape(&compiled));
}

/// `d` is the decision of an evaluation stopped at a limit, whose message says `why`.
#[track_caller]
fn assert_limit(d: &Decision, why: &str) {
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert!(d.is_limit_reached(), "{d:?}");
    assert_eq!((d.findings.len(), d.reviews.len()), (1, 0), "{d:?}");
    assert!(
        d.findings[0].message.contains(why),
        "{}",
        d.findings[0].message
    );
}

/// A decision without its messages: the evaluators count their work differently (steps in the
/// interpreter, fuel or time in the module), so a limit's message names each one's own.
fn shape(d: &Decision) -> (Outcome, Vec<(String, bool, Effect)>, usize) {
    let findings = d
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.error, f.effect))
        .collect();
    (d.outcome, findings, d.reviews.len())
}

/// The interpreter of `src` with a step budget.
fn interpreter(src: &str, steps: u64) -> blastwall_interp::Interpreter {
    let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
        path: "p.bw".into(),
        text: src.into(),
    }]);
    blastwall_interp::Interpreter::new(checked.policy.unwrap())
        .unwrap()
        .with_step_limit(steps)
}

fn interpret(i: &blastwall_interp::Interpreter, facts: &serde_json::Value) -> Decision {
    i.evaluate(&blastwall_interp::Facts::from_json(i.policy(), facts).unwrap())
}

/// The limit is reached in the advisory rule (`quadratic`), after the hard rule decided deny:
/// a limit is the evaluation's, not a rule's, so it denies in both evaluators, with nothing of
/// what the evaluation found before kept — under steps, fuel and time alike. Below the limits
/// both decide as the hard rule says.
#[test]
fn both_evaluators_decide_alike_at_every_limit() {
    let small = labels(5);
    let big = labels(3_000);
    let stepped = interpreter(POLICY, 1_000_000);
    let fuelled = policy(EvalLimits {
        fuel: Some(2_000_000),
        ..EvalLimits::default()
    });
    let timed = policy(EvalLimits {
        time: std::time::Duration::from_millis(1),
        fuel: None,
        ..EvalLimits::default()
    });
    // 30,000 labels: ~900M comparisons, far past a millisecond on any machine.
    let huge = labels(30_000);

    let below = interpret(&stepped, &small);
    assert_eq!(below.outcome, Outcome::Deny);
    assert!(!below.is_limit_reached(), "{below:?}");
    assert_eq!(below, fuelled.evaluate_json(&small).unwrap());

    let by_steps = interpret(&stepped, &big);
    assert_limit(&by_steps, "step limit of 1000000");
    let by_fuel = fuelled.evaluate_json(&big).unwrap();
    assert_limit(&by_fuel, "ran out of fuel");
    let by_time = timed.evaluate_json(&huge).unwrap();
    assert_limit(&by_time, "ran longer than its limit");
    assert_eq!(shape(&by_steps), shape(&by_fuel));
    assert_eq!(shape(&by_steps), shape(&by_time));
    assert_eq!(
        shape(&by_steps),
        shape(&interpret(&stepped, &huge)),
        "the interpreter on the input that ran out of time"
    );
}

/// A policy of advisory rules alone, which can at most warn, denies at a limit too: without
/// a decision there is nothing to warn with.
#[test]
fn a_limit_denies_even_a_policy_that_can_only_warn() {
    let src = r#"
rule pairs {
    level advisory
    when some a in change.labels: some b in change.labels: a == b + "?"
    warn "impossible"
}
"#;
    let d = interpret(&interpreter(src, 10_000), &labels(1_000));
    assert_limit(&d, "step limit of 10000");
}
