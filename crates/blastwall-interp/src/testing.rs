//! Running the `test` blocks written beside rules.

use blastwall_abi::decision::{Decision, Effect};
use blastwall_check::ir::{Expect, Loc};

use crate::eval::Interpreter;
use crate::value::Facts;

/// The result of one test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// Where it is written.
    pub loc: Loc,
    /// `path:line:col`.
    pub location: String,
    /// Failed expectations, each explained; empty when the test passed.
    pub failures: Vec<String>,
    /// The decision the test's rules made, when the facts loaded.
    pub decision: Option<Decision>,
}

impl TestResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Run every test of the policy.
pub fn run_tests(interp: &Interpreter) -> Vec<TestResult> {
    let policy = interp.policy();
    let mut out = Vec::new();
    for test in &policy.tests {
        let location = interp.location(test.loc);
        let facts = match Facts::from_json(policy, &test.facts) {
            Ok(f) => f,
            Err(e) => {
                out.push(TestResult {
                    name: test.name.clone(),
                    loc: test.loc,
                    location,
                    failures: vec![format!("the given facts do not fit the schema: {e}")],
                    decision: None,
                });
                continue;
            }
        };
        let decision = interp.evaluate_rules(&facts, &test.rules);
        let mut failures = Vec::new();
        for (expect, _span) in &test.expects {
            if let Some(why) = unmet(expect, &decision, interp) {
                failures.push(why);
            }
        }
        out.push(TestResult {
            name: test.name.clone(),
            loc: test.loc,
            location,
            failures,
            decision: Some(decision),
        });
    }
    out
}

/// Why `expect` does not hold of `d`, or `None` when it does.
fn unmet(expect: &Expect, d: &Decision, interp: &Interpreter) -> Option<String> {
    let rule_name = |i: &usize| {
        interp
            .policy()
            .rules
            .get(*i)
            .map_or("?", |r| r.name.as_str())
            .to_string()
    };
    match expect {
        Expect::Outcome(o) => (d.outcome != *o).then(|| {
            format!(
                "expected outcome `{}`, got `{}`",
                o.as_str(),
                d.outcome.as_str()
            )
        }),
        Expect::Review(from, count) => {
            // A review any of several groups can give is named by its groups, one per line,
            // in any order.
            let wanted = if from.contains(blastwall_abi::combine::GROUP_SEPARATOR) {
                blastwall_abi::combine::canonical_group(from)
            } else {
                from.clone()
            };
            let r = d.reviews.iter().find(|r| r.from == wanted);
            match r {
                None => Some(format!(
                    "expected a review from `{from}`, but none is required"
                )),
                Some(r) if r.satisfied => Some(format!(
                    "expected an unmet review from `{from}`, but it is satisfied ({} of {})",
                    r.have, r.needed
                )),
                Some(r) => match count {
                    Some(n) if *n != r.needed => Some(format!(
                        "expected `{from}` to need {n} approval(s), it needs {}",
                        r.needed
                    )),
                    _ => None,
                },
            }
        }
        Expect::Fires(i, times) => {
            let name = rule_name(i);
            let n: u32 = d
                .findings
                .iter()
                .filter(|f| f.rule == name && !f.error)
                .map(|f| 1 + f.omitted)
                .sum();
            let errored = d.findings.iter().find(|f| f.rule == name && f.error);
            if let Some(e) = errored {
                return Some(format!(
                    "expected `{name}` to fire, but it failed: {}",
                    e.message
                ));
            }
            match times {
                None if n == 0 => Some(format!("expected `{name}` to fire, but it did not")),
                Some(t) if *t != n => Some(format!(
                    "expected `{name}` to fire {t} time(s), it fired {n}"
                )),
                _ => None,
            }
        }
        Expect::Quiet(i) => {
            let name = rule_name(i);
            let fired: Vec<&str> = d
                .findings
                .iter()
                .filter(|f| f.rule == name)
                .map(|f| f.message.as_str())
                .collect();
            (!fired.is_empty()).then(|| {
                format!(
                    "expected `{name}` to stay quiet, but it fired: {}",
                    fired.join("; ")
                )
            })
        }
        Expect::Message(m) => (!d.findings.iter().any(|f| &f.message == m)).then(|| {
            let got: Vec<String> = d
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "`{}` ({})",
                        f.message,
                        match f.effect {
                            Effect::Deny => "deny",
                            Effect::Review => "review",
                            Effect::Warn => "warn",
                        }
                    )
                })
                .collect();
            if got.is_empty() {
                format!("expected a finding with message `{m}`, but nothing fired")
            } else {
                format!(
                    "expected a finding with message `{m}`; got {}",
                    got.join(", ")
                )
            }
        }),
    }
}
