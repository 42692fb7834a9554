//! Deciding with the module serving now, and setting shadow rules aside.

use blastwall::{Decision, Effect, Finding, Outcome};
use serde_json::Value;

use crate::policy::Loaded;

/// A decision as enforced, beside what the shadow rules would have done.
#[derive(Debug)]
pub(crate) struct Decided {
    /// The decision without the shadow rules' findings: what is enforced.
    pub(crate) decision: Decision,
    /// The shadow rules' findings, never enforced.
    pub(crate) shadow: Vec<Finding>,
    /// The outcome the shadow findings alone would raise (`allow` when none).
    pub(crate) shadow_outcome: Outcome,
}

/// Decides `facts` with `loaded`'s module (classifying a raw `action` first, as every entry of
/// the facade does).
pub(crate) fn decide(loaded: &Loaded, facts: &Value) -> Result<Decided, String> {
    let decision = loaded
        .compiled
        .evaluate_json(facts)
        .map_err(|e| e.to_string())?;
    Ok(split(decision, &loaded.shadow))
}

/// Moves the findings of `shadow` rules out of `decision` and decides the outcome and the
/// reviews again without them, as `combine` would have had they never fired.
pub(crate) fn split(mut decision: Decision, shadow: &[String]) -> Decided {
    if shadow.is_empty() || !decision.findings.iter().any(|f| shadow.contains(&f.rule)) {
        return Decided {
            decision,
            shadow: Vec::new(),
            shadow_outcome: Outcome::Allow,
        };
    }
    let (shadowed, kept): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut decision.findings)
        .into_iter()
        .partition(|f| shadow.contains(&f.rule));
    // The shadow findings' own outcome, judged against the reviews they asked for.
    let shadow_outcome = shadowed
        .iter()
        .map(|f| decision.raised_by(f))
        .max()
        .unwrap_or(Outcome::Allow);
    decision.findings = kept;
    // A review group stays only as far as an enforced finding still asks for it.
    let mut reviews = Vec::new();
    for r in std::mem::take(&mut decision.reviews) {
        let needed = decision
            .findings
            .iter()
            .filter(|f| {
                f.effect == Effect::Review
                    && f.overridden.is_none()
                    && !f.error
                    && f.from.as_deref().unwrap_or("any") == r.from
            })
            .map(|f| f.count.unwrap_or(1))
            .max();
        if let Some(needed) = needed {
            reviews.push(blastwall::Review {
                needed,
                satisfied: r.have >= needed,
                ..r
            });
        }
    }
    decision.reviews = reviews;
    decision.settle_outcome();
    Decided {
        decision,
        shadow: shadowed,
        shadow_outcome,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use blastwall::{Level, Review};

    fn finding(rule: &str, effect: Effect, from: Option<&str>, count: u32) -> Finding {
        Finding {
            rule: rule.into(),
            level: Level::Hard,
            effect,
            message: format!("{rule} fired"),
            source: "p.bw:1:1".into(),
            about: None,
            from: from.map(String::from),
            count: from.map(|_| count),
            overridden: None,
            error: false,
            omitted: 0,
        }
    }

    #[test]
    fn a_shadow_deny_is_set_aside_and_the_rest_decides() {
        let d = Decision {
            outcome: Outcome::Deny,
            findings: vec![
                finding("new_rule", Effect::Deny, None, 0),
                finding("old_rule", Effect::Review, Some("team:sre"), 2),
                finding("new_review", Effect::Review, Some("team:sre"), 3),
            ],
            reviews: vec![Review {
                from: "team:sre".into(),
                needed: 3,
                have: 2,
                satisfied: false,
            }],
        };
        let out = split(d, &["new_rule".into(), "new_review".into()]);
        assert_eq!(out.shadow_outcome, Outcome::Deny);
        assert_eq!(
            out.shadow
                .iter()
                .map(|f| f.rule.as_str())
                .collect::<Vec<_>>(),
            ["new_rule", "new_review"]
        );
        // Two approvals of the two the enforced rule needs: allowed.
        assert_eq!(out.decision.outcome, Outcome::Allow);
        assert_eq!(out.decision.reviews.len(), 1);
        assert_eq!(out.decision.reviews[0].needed, 2);
        assert!(out.decision.reviews[0].satisfied);
    }

    #[test]
    fn without_shadow_findings_the_decision_is_untouched() {
        let d = Decision {
            outcome: Outcome::Warn,
            findings: vec![finding("old_rule", Effect::Warn, None, 0)],
            reviews: Vec::new(),
        };
        let out = split(d.clone(), &["new_rule".into()]);
        assert_eq!(out.decision, d);
        assert!(out.shadow.is_empty());
        assert_eq!(out.shadow_outcome, Outcome::Allow);
    }
}
