//! Text and JSON renderings of a decision.

use std::fmt::Write as _;

use blastwall::{Decision, Effect, RuleStatus, Trace};

/// The decision as text: the outcome, findings grouped by outcome, then review requirements.
pub fn decision_text(d: &Decision) -> String {
    let mut out = format!("outcome: {}\n", d.outcome.as_str());
    let groups = [
        ("denied", Effect::Deny),
        ("needs review", Effect::Review),
        ("warnings", Effect::Warn),
    ];
    for (title, effect) in groups {
        let items: Vec<_> = d.findings.iter().filter(|f| f.effect == effect).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for f in items {
            let mut tags = vec![f.level.as_str().to_string()];
            if f.error {
                tags.push("error".into());
            }
            let _ = writeln!(out, "  {} [{}]  {}", f.rule, tags.join(", "), f.source);
            let _ = writeln!(out, "    {}", f.message);
            if let Some(a) = &f.about {
                let _ = writeln!(out, "    about: {a}");
            }
            if let Some(o) = &f.overridden {
                let _ = writeln!(out, "    overridden by {}: {}", o.by, o.reason);
            }
            if f.omitted > 0 {
                let _ = writeln!(out, "    … and {} more", f.omitted);
            }
        }
    }
    if !d.reviews.is_empty() {
        let _ = writeln!(out, "\nreviews:");
        for r in &d.reviews {
            let who = if r.from == "any" {
                "anyone but the author".to_string()
            } else {
                format!("`{}`", r.from)
            };
            if r.satisfied {
                let _ = writeln!(
                    out,
                    "  {who}: {} of {} approvals, satisfied",
                    r.have, r.needed
                );
            } else {
                let missing = r.needed - r.have.min(r.needed);
                let _ = writeln!(
                    out,
                    "  {who}: {} of {} approvals; needs {missing} more approval{} from {who}",
                    r.have,
                    r.needed,
                    if missing == 1 { "" } else { "s" }
                );
            }
        }
    }
    out
}

/// The explanation as JSON.
pub fn trace_json(t: &Trace) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = t
        .rules
        .iter()
        .map(|(name, status)| match status {
            RuleStatus::Fired(bindings) => serde_json::json!({
                "rule": name,
                "status": "fired",
                "bindings": bindings.iter().map(|b| {
                    b.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()
                }).collect::<Vec<_>>(),
            }),
            RuleStatus::NotFired { at, condition, note } => serde_json::json!({
                "rule": name, "status": "quiet", "false": condition, "at": at, "note": note,
            }),
            RuleStatus::NotApplicable(docs) => serde_json::json!({
                "rule": name, "status": "skipped", "needs": docs,
            }),
            RuleStatus::Error(e) => serde_json::json!({ "rule": name, "status": "error", "error": e }),
        })
        .collect();
    serde_json::Value::Array(rules)
}
