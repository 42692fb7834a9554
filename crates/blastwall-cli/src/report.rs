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
    blastwall::Decision::group_name(from)
}

fn remedy(f: &blastwall::Finding, d: &Decision) -> Option<String> {
    d.remedy(f)
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
            RuleStatus::NotFired { at, condition, note, values } => serde_json::json!({
                "rule": name, "status": "quiet", "false": condition, "at": at, "note": note,
                "values": values.iter().map(|(expr, value)| serde_json::json!({"expr": expr, "value": value})).collect::<Vec<_>>(),
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
///
/// A failure's body is the diff of each failed expectation against the decision (as `test`
/// prints it), then the whole decision.
pub fn junit(
    results: &[blastwall::TestOutcome],
    diffs: &[Vec<Mismatch>],
    untested: &[String],
) -> String {
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
    for (i, t) in results.iter().enumerate() {
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
            let mut body = diffs.get(i).map_or_else(
                || format!("{}\n", t.failures.join("\n")),
                |d| diff_text(d, false),
            );
            if let Some(d) = &t.decision {
                body.push_str("\ndecision was:\n");
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

/// One failed expectation of a test as a diff: the expectation as the test writes it, and
/// what the decision held instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The interpreter's explanation, as `TestOutcome::failures` gives it.
    pub failure: String,
    /// The expectation, as written in the test when its source is at hand (whitespace
    /// collapsed), else rebuilt in the language's syntax; `None` when the failure is not
    /// about one expectation (facts that do not fit the schema).
    pub expected: Option<String>,
    /// The part of the decision the expectation is about.
    pub actual: Option<String>,
}

/// What a failure says was expected, recovered from the interpreter's explanation.
///
/// The facade reports failed expectations only as sentences; the CLI may not change that,
/// so it reads them back. A sentence it does not recognise is shown as it is, without a
/// diff, so a change of wording degrades the report rather than breaking it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unmet {
    Outcome(String),
    Review(String, Option<u32>),
    Fires(String, Option<u32>),
    Quiet(String),
    Message(String),
}

/// The failed expectations of a test, each with what the decision held instead. `clauses`
/// are the test's `expect` clauses as written ([`expect_clauses`]); when they are empty the
/// expectations are rebuilt from the failures.
pub fn test_diff(t: &blastwall::TestOutcome, clauses: &[String]) -> Vec<Mismatch> {
    let written: Vec<(Option<Unmet>, &String)> =
        clauses.iter().map(|c| (parse_clause(c), c)).collect();
    let mut next = 0;
    t.failures
        .iter()
        .map(|failure| {
            let unmet = t.decision.as_ref().and_then(|d| parse_failure(failure, d));
            let (Some(u), Some(d)) = (unmet, &t.decision) else {
                return Mismatch {
                    failure: failure.clone(),
                    expected: None,
                    actual: None,
                };
            };
            // Failures come in the order the expectations are written, so the search for the
            // clause a failure is about starts after the previous one's.
            let found = written
                .iter()
                .enumerate()
                .skip(next)
                .find(|(_, (w, _))| w.as_ref().is_some_and(|w| same_expectation(w, &u)));
            let expected = match found {
                Some((i, (_, text))) => {
                    next = i + 1;
                    (*text).clone()
                }
                None => expectation_text(&u),
            };
            Mismatch {
                failure: failure.clone(),
                expected: Some(expected),
                actual: Some(actual_text(&u, d)),
            }
        })
        .collect()
}

/// The diff as text lines, `- ` for the expectation and `+ ` for what the decision held;
/// red and green when `colour`.
pub fn diff_text(diff: &[Mismatch], colour: bool) -> String {
    let mut out = String::new();
    for m in diff {
        match (&m.expected, &m.actual) {
            (Some(e), Some(a)) => {
                let _ = writeln!(out, "{}", paint(&format!("- {e}"), "31", colour));
                let _ = writeln!(out, "{}", paint(&format!("+ {a}"), "32", colour));
            }
            _ => {
                let _ = writeln!(out, "{}", m.failure);
            }
        }
    }
    out
}

/// The diff as JSON: one object per failed expectation.
pub fn diff_json(diff: &[Mismatch]) -> serde_json::Value {
    diff.iter()
        .map(|m| {
            serde_json::json!({
                "failure": m.failure,
                "expected": m.expected,
                "actual": m.actual,
            })
        })
        .collect()
}

fn parse_failure(f: &str, d: &blastwall::Decision) -> Option<Unmet> {
    if let Some(rest) = f.strip_prefix("expected outcome `") {
        let (o, _) = rest.split_once('`')?;
        return Some(Unmet::Outcome(o.to_string()));
    }
    if let Some(rest) = f.strip_prefix("expected a finding with message `") {
        // The list after `got` is rebuilt from the decision, so a message holding a backtick
        // or the word `got` still splits in the right place.
        let got: Vec<String> = d
            .findings
            .iter()
            .map(|x| format!("`{}` ({})", x.message, x.effect.as_str()))
            .collect();
        let m = rest
            .strip_suffix("`, but nothing fired")
            .or_else(|| rest.strip_suffix(&format!("`; got {}", got.join(", "))))?;
        return Some(Unmet::Message(m.to_string()));
    }
    if let Some(rest) = f.strip_prefix("expected a review from `") {
        let from = rest.strip_suffix("`, but none is required")?;
        return Some(Unmet::Review(from.to_string(), None));
    }
    if let Some(rest) = f.strip_prefix("expected an unmet review from `") {
        let (from, _) = rest.rsplit_once("`, but it is satisfied (")?;
        return Some(Unmet::Review(from.to_string(), None));
    }
    let rest = f.strip_prefix("expected `")?;
    // Rule names are identifiers; a review group, the other thing in backticks here, may not be.
    if let Some((name, tail)) = rest.split_once('`')
        && !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        if tail == " to fire, but it did not" || tail.starts_with(" to fire, but it failed: ") {
            return Some(Unmet::Fires(name.to_string(), None));
        }
        if tail.starts_with(" to stay quiet, but it fired: ") {
            return Some(Unmet::Quiet(name.to_string()));
        }
        if let Some(times) = tail.strip_prefix(" to fire ") {
            let (t, _) = times.split_once(" time(s), it fired ")?;
            return Some(Unmet::Fires(name.to_string(), Some(t.parse().ok()?)));
        }
    }
    let (from, tail) = rest.rsplit_once("` to need ")?;
    let (n, _) = tail.split_once(" approval(s), it needs ")?;
    Some(Unmet::Review(from.to_string(), Some(n.parse().ok()?)))
}

/// Whether a written expectation and a failure are about the same thing; a count the
/// failure does not state matches any.
fn same_expectation(written: &Unmet, failed: &Unmet) -> bool {
    let counts = |a: &Option<u32>, b: &Option<u32>| a.is_none() || b.is_none() || a == b;
    match (written, failed) {
        (Unmet::Outcome(a), Unmet::Outcome(b))
        | (Unmet::Quiet(a), Unmet::Quiet(b))
        | (Unmet::Message(a), Unmet::Message(b)) => a == b,
        (Unmet::Review(a, n), Unmet::Review(b, m)) | (Unmet::Fires(a, n), Unmet::Fires(b, m)) => {
            a == b && counts(n, m)
        }
        _ => false,
    }
}

/// The expectation in the language's syntax.
fn expectation_text(u: &Unmet) -> String {
    match u {
        Unmet::Outcome(o) => format!("expect {o}"),
        Unmet::Review(from, count) => {
            let mut s = format!("expect review from {}", quote(from));
            if let Some(n) = count {
                let _ = write!(s, " count {n}");
            }
            s
        }
        Unmet::Fires(rule, times) => {
            let mut s = format!("expect fires {rule}");
            if let Some(n) = times {
                let _ = write!(s, " times {n}");
            }
            s
        }
        Unmet::Quiet(rule) => format!("expect quiet {rule}"),
        Unmet::Message(m) => format!("expect message {}", quote(m)),
    }
}

/// The part of the decision an expectation is about, on one line.
fn actual_text(u: &Unmet, d: &blastwall::Decision) -> String {
    match u {
        Unmet::Outcome(_) => {
            let mut drivers: Vec<&str> = d
                .findings
                .iter()
                .filter(|f| f.overridden.is_none() && f.effect.as_str() == d.outcome.as_str())
                .map(|f| f.rule.as_str())
                .collect();
            drivers.dedup();
            if drivers.is_empty() {
                format!("outcome {}", d.outcome.as_str())
            } else {
                format!(
                    "outcome {} (from {})",
                    d.outcome.as_str(),
                    drivers.join(", ")
                )
            }
        }
        Unmet::Review(..) => {
            if d.reviews.is_empty() {
                return "reviews: none required".into();
            }
            let each: Vec<String> = d
                .reviews
                .iter()
                .map(|r| {
                    format!(
                        "{} {}/{}{}",
                        r.from,
                        r.have,
                        r.needed,
                        if r.satisfied { " satisfied" } else { "" }
                    )
                })
                .collect();
            format!("reviews: {}", each.join(", "))
        }
        Unmet::Fires(rule, _) | Unmet::Quiet(rule) => {
            let mine: Vec<&blastwall::Finding> =
                d.findings.iter().filter(|f| &f.rule == rule).collect();
            if let Some(e) = mine.iter().find(|f| f.error) {
                return format!("{rule} failed: {}", e.message);
            }
            let n: u32 = mine.iter().map(|f| 1 + f.omitted).sum();
            if n == 0 {
                return format!("{rule} did not fire");
            }
            const SHOWN: usize = 3;
            let mut messages: Vec<String> = mine
                .iter()
                .take(SHOWN)
                .map(|f| quote(&shorten(&f.message, 60)))
                .collect();
            if n as usize > messages.len() {
                messages.push("…".into());
            }
            format!(
                "{rule} fired {n} time{}: {}",
                if n == 1 { "" } else { "s" },
                messages.join(", ")
            )
        }
        Unmet::Message(_) => {
            if d.findings.is_empty() {
                return "messages: none (nothing fired)".into();
            }
            let all: Vec<String> = d.findings.iter().map(|f| quote(&f.message)).collect();
            format!("messages: {}", all.join(", "))
        }
    }
}

/// A string literal in the language's syntax.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// The `expect` clauses of the test block at `location` (`path:line:col`, as test results
/// give it) in `sources`, in order, each as written with runs of whitespace and comments
/// collapsed to one space. Empty when the source is not among `sources`.
pub fn expect_clauses(sources: &[blastwall::Source], location: &str) -> Vec<String> {
    let mut parts = location.rsplitn(3, ':');
    let (_col, line, path) = (parts.next(), parts.next(), parts.next());
    let (Some(line), Some(path)) = (line.and_then(|l| l.parse::<usize>().ok()), path) else {
        return Vec::new();
    };
    let Some(src) = sources.iter().find(|s| s.path == path) else {
        return Vec::new();
    };
    let start: usize = src
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let Some(text) = src.text.get(start..) else {
        return Vec::new();
    };
    clauses_of_block(text)
}

/// The `expect` clauses of the first `{ … }` block in `text`.
fn clauses_of_block(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The clause being read and whether it is an `expect` (a `given` is read and dropped).
    let mut clause: Option<(String, bool)> = None;
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    let push = |clause: &mut Option<(String, bool)>, s: &str| {
        if let Some((c, _)) = clause {
            c.push_str(s);
        }
    };
    let space = |clause: &mut Option<(String, bool)>| {
        if let Some((c, _)) = clause
            && !c.ends_with(' ')
        {
            c.push(' ');
        }
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '/' if text.get(i + 1..).is_some_and(|r| r.starts_with('/')) => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                space(&mut clause);
            }
            '"' => {
                let lit = plain_string_at(text, i);
                for _ in 1..lit.chars().count() {
                    chars.next();
                }
                push(&mut clause, lit);
            }
            '{' => {
                depth += 1;
                if depth > 1 {
                    push(&mut clause, "{");
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
                push(&mut clause, "}");
            }
            c if c.is_whitespace() => space(&mut clause),
            c if c.is_alphanumeric() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = text.get(i..end).unwrap_or_default();
                if word == "r" && chars.peek().is_some_and(|&(_, d)| d == '"') {
                    // A raw string runs to the next quote.
                    let body = text.get(end + 1..).unwrap_or_default();
                    let len = body.find('"').map_or(body.len(), |n| n + 1);
                    for _ in 0..=body.get(..len).unwrap_or_default().chars().count() {
                        chars.next();
                    }
                    push(&mut clause, text.get(i..end + 1 + len).unwrap_or_default());
                } else if depth == 1 && (word == "expect" || word == "given") {
                    if let Some((c, true)) = clause.take() {
                        out.push(c.trim_end().to_string());
                    }
                    clause = Some((word.to_string(), word == "expect"));
                } else {
                    push(&mut clause, word);
                }
            }
            c => push(&mut clause, c.encode_utf8(&mut [0; 4])),
        }
    }
    if let Some((c, true)) = clause {
        out.push(c.trim_end().to_string());
    }
    out
}

/// The plain string literal starting at byte `at` (a `"`), quotes included.
fn plain_string_at(text: &str, at: usize) -> &str {
    let rest = text.get(at..).unwrap_or_default();
    let mut escaped = false;
    for (i, c) in rest.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' | '\n' => return rest.get(..=i).unwrap_or(rest),
            _ => {}
        }
    }
    rest
}

/// A written `expect` clause read back into what it expects.
fn parse_clause(clause: &str) -> Option<Unmet> {
    let rest = clause.strip_prefix("expect ")?;
    let (head, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let count_after = |s: &str, kw: &str| -> Option<Option<u32>> {
        let s = s.trim();
        if s.is_empty() {
            return Some(None);
        }
        Some(Some(s.strip_prefix(kw)?.trim().parse().ok()?))
    };
    match head {
        "allow" | "warn" | "review" | "deny" if tail.is_empty() => {
            Some(Unmet::Outcome(head.to_string()))
        }
        "review" => {
            let lit = tail.strip_prefix("from ")?;
            let (value, after) = literal(lit)?;
            Some(Unmet::Review(value, count_after(after, "count")?))
        }
        "fires" => {
            let (rule, after) = tail.split_once(' ').unwrap_or((tail, ""));
            Some(Unmet::Fires(rule.to_string(), count_after(after, "times")?))
        }
        "quiet" => Some(Unmet::Quiet(tail.to_string())),
        "message" => {
            let (value, after) = literal(tail)?;
            after.trim().is_empty().then_some(Unmet::Message(value))
        }
        _ => None,
    }
}

/// The value of the string literal `s` starts with, and the text after it.
fn literal(s: &str) -> Option<(String, &str)> {
    if let Some(raw) = s.strip_prefix("r\"") {
        let (body, after) = raw.split_once('"')?;
        return Some((body.to_string(), after));
    }
    let body = s.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, body.get(i + 1..).unwrap_or_default())),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn decision(v: serde_json::Value) -> Decision {
        serde_json::from_value(v).unwrap()
    }

    fn finding(rule: &str, message: &str, error: bool) -> serde_json::Value {
        serde_json::json!({
            "rule": rule, "level": "hard", "effect": "deny", "message": message,
            "source": "p.bw:1:1", "error": error, "omitted": 0,
        })
    }

    /// The sentences of `blastwall-interp`'s `testing.rs` that no end-to-end test produces.
    #[test]
    fn failures_read_back_into_expectations() {
        let d = decision(serde_json::json!({
            "outcome": "deny",
            "findings": [finding("r", "division by zero", true)],
            "reviews": [{ "from": "team: a `b`", "needed": 1, "have": 1, "satisfied": true }],
        }));
        let t = blastwall::TestOutcome {
            name: "t".into(),
            location: "p.bw:1:1".into(),
            failures: vec![
                "expected `r` to fire, but it failed: division by zero".into(),
                "expected an unmet review from `team: a `b``, but it is satisfied (1 of 1)".into(),
                "expected `team: a `b`` to need 2 approval(s), it needs 1".into(),
                "something new".into(),
            ],
            decision: Some(d),
        };
        let clauses = clauses_of_block(
            "test \"t\" {\n  given change {}\n  expect fires r times 1\n  expect review from \"team: a `b`\"\n  expect review from \"team: a `b`\" count 2 }",
        );
        let diff = test_diff(&t, &clauses);
        let lines = diff_text(&diff, false);
        assert_eq!(
            lines,
            "- expect fires r times 1\n+ r failed: division by zero\n\
             - expect review from \"team: a `b`\"\n+ reviews: team: a `b` 1/1 satisfied\n\
             - expect review from \"team: a `b`\" count 2\n+ reviews: team: a `b` 1/1 satisfied\n\
             something new\n"
        );
        // Without the source the expectations are rebuilt, with what the failures state.
        let rebuilt = diff_text(&test_diff(&t, &[]), false);
        assert!(
            rebuilt.starts_with("- expect fires r\n+ r failed: division by zero\n"),
            "{rebuilt}"
        );
        assert!(
            rebuilt.contains("- expect review from \"team: a `b`\" count 2\n"),
            "{rebuilt}"
        );
    }

    #[test]
    fn the_diff_is_red_and_green_only_when_coloured() {
        let m = Mismatch {
            failure: String::new(),
            expected: Some("expect deny".into()),
            actual: Some("outcome allow".into()),
        };
        assert_eq!(
            diff_text(std::slice::from_ref(&m), true),
            "\x1b[31m- expect deny\x1b[0m\n\x1b[32m+ outcome allow\x1b[0m\n"
        );
        assert_eq!(diff_text(&[m], false), "- expect deny\n+ outcome allow\n");
    }
}
