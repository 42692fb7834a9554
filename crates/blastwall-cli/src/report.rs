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

/// Where a finding points in the repository: its `about`, when that is a changed file.
fn file_of<'a>(f: &'a blastwall::Finding, facts: &serde_json::Value) -> Option<&'a str> {
    let about = f.about.as_deref()?;
    let files = facts.get("change")?.get("files")?.as_array()?;
    files
        .iter()
        .any(|x| x.get("path").and_then(serde_json::Value::as_str) == Some(about))
        .then_some(about)
}

fn sarif_level(f: &blastwall::Finding) -> &'static str {
    match (f.effect, f.level) {
        (_, Level::Advisory) | (Effect::Warn, _) => "note",
        (Effect::Review, _) => "warning",
        (Effect::Deny, _) => "error",
    }
}

/// The decision as SARIF 2.1.0, for code scanning: one result per finding, located at the
/// file it is about when that file is part of the change, otherwise at a logical location
/// (a resource address, a command). Overridden findings carry an external suppression.
pub fn sarif(
    d: &Decision,
    rules: &[blastwall::RuleInfo],
    facts: &serde_json::Value,
) -> serde_json::Value {
    use serde_json::json;
    let rule_index = |name: &str| rules.iter().position(|r| r.name == name);
    let descriptors: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            let short = r.doc.first().cloned().unwrap_or_else(|| r.name.clone());
            let level = match r.level {
                Level::Advisory => "note",
                Level::Soft => "warning",
                Level::Hard => "error",
            };
            let mut desc = json!({
                "id": r.name,
                "name": r.name,
                "shortDescription": { "text": short },
                "defaultConfiguration": { "level": level },
                "properties": { "blastwall.level": r.level.as_str(), "blastwall.source": r.source },
            });
            if r.doc.len() > 1 {
                put(
                    &mut desc,
                    "fullDescription",
                    json!({ "text": r.doc.join("\n") }),
                );
            }
            desc
        })
        .collect();
    let results: Vec<serde_json::Value> = d
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": sarif_level(f),
                "message": { "text": f.message },
                "properties": {
                    "blastwall.effect": f.effect.as_str(),
                    "blastwall.level": f.level.as_str(),
                    "blastwall.outcome": d.outcome.as_str(),
                },
            });
            if let Some(i) = rule_index(&f.rule) {
                put(&mut result, "ruleIndex", json!(i));
            }
            if let Some(path) = file_of(f, facts) {
                put(&mut result, "locations", json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": path, "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": 1 }
                    }
                }]));
            } else if let Some(about) = &f.about {
                put(&mut result, "locations", json!([{ "logicalLocations": [{ "name": about }] }]));
            }
            if let Some(o) = &f.overridden {
                put(&mut result, "suppressions", json!([{ "kind": "external", "justification": format!("{}: {}", o.by, o.reason) }]));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "blastwall",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": results,
        }],
    })
}

/// The decision as GitHub Actions workflow commands: one annotation per finding, on the file
/// it is about when that file is in the change.
pub fn github_annotations(d: &Decision, facts: &serde_json::Value) -> String {
    let mut out = String::new();
    for f in &d.findings {
        let command = match sarif_level(f) {
            "error" if f.overridden.is_none() => "error",
            "warning" if f.overridden.is_none() => "warning",
            _ => "notice",
        };
        let mut props = vec![format!(
            "title={}",
            escape_property(&format!("blastwall: {}", f.rule))
        )];
        if let Some(path) = file_of(f, facts) {
            props.insert(0, format!("file={}", escape_property(path)));
        }
        let mut message = f.message.clone();
        if let Some(about) = &f.about {
            message.push_str(&format!(" (about {about})"));
        }
        if let Some(o) = &f.overridden {
            message.push_str(&format!(" [overridden by {}: {}]", o.by, o.reason));
        } else if let Some(hint) = remedy(f, d) {
            message.push_str(&format!(" — to proceed: {hint}"));
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            escape_data(&message)
        );
    }
    let _ = writeln!(
        out,
        "::notice title=blastwall::outcome: {}",
        d.outcome.as_str()
    );
    out
}

/// Workflow-command data escaping: `%`, CR and LF.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property escaping: data escaping plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Test results as JUnit XML: one test case per `test` block, classed by its file; a rule no
/// test makes fire is reported as a skipped case so CI dashboards show the gap.
pub fn junit(results: &[blastwall::TestOutcome], untested: &[String]) -> String {
    let failed = results.iter().filter(|t| !t.failures.is_empty()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"blastwall\" tests=\"{}\" failures=\"{failed}\" skipped=\"{}\">",
        results.len() + untested.len(),
        untested.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"blastwall test\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{}\">",
        results.len() + untested.len(),
        untested.len()
    );
    for t in results {
        let class = t.location.split(':').next().unwrap_or_default();
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\"",
            xml(&t.name),
            xml(class)
        );
        if t.failures.is_empty() {
            out.push_str("/>\n");
        } else {
            let mut body = t.failures.join("\n");
            if let Some(d) = &t.decision {
                body.push_str("\n\ndecision was:\n");
                body.push_str(&decision_text(d));
            }
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                xml(t.failures.first().map_or("", String::as_str)),
                xml(&body)
            );
        }
    }
    for r in untested {
        let _ = writeln!(
            out,
            "    <testcase name=\"rule {} fires in some test\" classname=\"coverage\">\n      <skipped message=\"no test makes rule `{}` fire\"/>\n    </testcase>",
            xml(r),
            xml(r)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escape text for XML attribute values and content; drop characters XML 1.0 cannot hold.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Set a member of a JSON object built here (always an object).
fn put(v: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), value);
    }
}
