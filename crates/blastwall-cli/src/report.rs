//! Text and JSON renderings of a decision.

use std::fmt::Write as _;

use blastwall::{Decision, Effect, Level, RuleStatus, Trace};

/// Whether to colour text output: only on a terminal, and never with `NO_COLOR` set.
pub fn use_colour() -> bool {
    use std::io::IsTerminal as _;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The decision as text, uncoloured.
pub fn decision_text(d: &Decision) -> String {
    decision_text_with(d, false)
}

/// The decision as text: the outcome, findings grouped by outcome with what would satisfy
/// each, then review requirements.
pub fn decision_text_with(d: &Decision, colour: bool) -> String {
    let code = match d.outcome {
        blastwall::Outcome::Deny => "1;31",
        blastwall::Outcome::Review => "1;33",
        blastwall::Outcome::Warn => "1;36",
        blastwall::Outcome::Allow => "1;32",
    };
    let mut out = format!("outcome: {}\n", paint(d.outcome.as_str(), code, colour));
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
        let _ = writeln!(out, "\n{}:", paint(title, "1", colour));
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
            } else if let Some(hint) = remedy(f, d) {
                let _ = writeln!(out, "    to proceed: {hint}");
            }
            if f.omitted > 0 {
                let _ = writeln!(out, "    … and {} more", f.omitted);
            }
        }
    }
    if !d.reviews.is_empty() {
        let _ = writeln!(out, "\n{}:", paint("reviews", "1", colour));
        for r in &d.reviews {
            let who = group_name(&r.from);
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

fn group_name(from: &str) -> String {
    if from == "any" {
        "anyone but the author".to_string()
    } else {
        format!("`{from}`")
    }
}

/// What would let the change go ahead despite this finding, in words.
fn remedy(f: &blastwall::Finding, d: &Decision) -> Option<String> {
    let override_hint = format!(
        "record an override naming who and why: `overrides: [{{\"rule\": \"{}\", \"by\": \"…\", \"reason\": \"…\"}}]`",
        f.rule
    );
    if f.error {
        return Some("the rule could not be evaluated; fix the facts or the rule (errors cannot be overridden)".into());
    }
    match (f.effect, f.level) {
        (Effect::Deny, Level::Hard) => {
            Some("a hard rule: change what it is about; it cannot be overridden".into())
        }
        (Effect::Deny, Level::Soft) => Some(override_hint),
        (Effect::Review, level) => {
            let from = f.from.as_deref().unwrap_or("any");
            let r = d.reviews.iter().find(|r| r.from == from)?;
            if r.satisfied {
                return None;
            }
            let missing = r.needed - r.have.min(r.needed);
            let mut hint = format!(
                "needs {missing} more approval{} from {}",
                if missing == 1 { "" } else { "s" },
                group_name(from)
            );
            if level == Level::Soft {
                hint.push_str(", or ");
                hint.push_str(&override_hint);
            }
            Some(hint)
        }
        _ => None,
    }
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
