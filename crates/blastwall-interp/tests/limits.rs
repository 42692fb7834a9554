//! The step limit turns runaway evaluations into errors that fail closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blastwall_abi::decision::{Effect, Outcome};
use blastwall_check::{SourceFile, check};
use blastwall_interp::{Facts, Interpreter, RuleStatus};

fn interp(src: &str) -> Interpreter {
    let checked = check(vec![SourceFile {
        path: "p.bw".into(),
        text: src.into(),
    }]);
    let rendered = checked.render();
    let policy = checked.policy.unwrap_or_else(|| panic!("{rendered}"));
    Interpreter::new(policy).unwrap()
}

const QUADRATIC: &str = r#"
rule pairs {
    level hard
    when some a in change.files: some b in change.files: a.path != b.path and a.added == b.added
    warn "{a.path} and {b.path}"
}
rule advisory_pairs {
    level advisory
    when count([a for a in change.files where some b in change.files: b.added > a.added]) > 0
    warn "x"
}
"#;

fn facts(i: &Interpreter, n: usize) -> Facts {
    let files: Vec<serde_json::Value> = (0..n)
        .map(|k| serde_json::json!({"path": format!("f{k}"), "added": 1}))
        .collect();
    Facts::from_json(i.policy(), &serde_json::json!({"change": {"files": files}})).unwrap()
}

#[test]
fn exceeding_the_step_limit_fails_closed() {
    let i = interp(QUADRATIC).with_step_limit(10_000);
    let d = i.evaluate(&facts(&i, 500));
    // The limit stops the evaluation in the first rule: one error finding naming it, a deny,
    // and no finding of the rules after it (the module's hosts decide a limit so too).
    assert_eq!(d.outcome, Outcome::Deny);
    assert!(d.is_limit_reached(), "{d:?}");
    assert_eq!(d.findings.len(), 1, "{d:?}");
    let f = &d.findings[0];
    assert!(f.error && f.effect == Effect::Deny, "{f:?}");
    assert!(
        f.message.contains("evaluation step limit of 10000 reached"),
        "{}",
        f.message
    );
    // Explaining says which rule was running when it stopped.
    let (_, trace) = i.explain(&facts(&i, 500));
    assert_eq!(trace.rules.len(), 1);
    assert_eq!(trace.rules[0].0, "pairs");
    assert!(matches!(trace.rules[0].1, RuleStatus::Error(_)));
}

#[test]
fn within_the_limit_the_same_policy_decides() {
    let i = interp(QUADRATIC);
    let d = i.evaluate(&facts(&i, 30));
    assert_eq!(d.outcome, Outcome::Warn);
    assert_eq!(d.findings[0].rule, "pairs");
    assert_eq!(d.findings.iter().filter(|f| f.rule == "pairs").count(), 20);
    assert_eq!(d.findings[19].omitted, 30 * 29 - 20);
}

#[test]
fn explain_reports_each_rule() {
    let i = interp(
        r#"
rule fires { when some f in change.files: f.added > 5 warn "{f.path}" }
rule quiet { when count(change.files) > 1 and some f in change.files: f.binary deny }
rule skipped { when count(plan.resources) > 0 deny }
"#,
    );
    let f = Facts::from_json(
        i.policy(),
        &serde_json::json!({"change": {"files": [{"path": "a", "added": 9}, {"path": "b"}]}}),
    )
    .unwrap();
    let (d, trace) = i.explain(&f);
    assert_eq!(d.outcome, Outcome::Warn);
    assert_eq!(
        trace.rules[0],
        (
            "fires".to_string(),
            RuleStatus::Fired(vec![vec![("f".into(), "a".into())]])
        )
    );
    match &trace.rules[1].1 {
        RuleStatus::NotFired {
            condition,
            note,
            at,
        } => {
            assert_eq!(condition, "some f in change.files: f.binary");
            assert_eq!(
                note,
                "no element of `change.files` satisfied it (2 examined)"
            );
            assert_eq!(at, "p.bw:3:47");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(trace.rules[2].1, RuleStatus::NotApplicable(vec!["plan"]));
}
