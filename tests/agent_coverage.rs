//! Agent actions through the action adapter and the shipped rules: each line of
//! `tests/agent/*.cases` is an expected outcome and an input, decided end to end with
//! `Policy::embedded()`.
//!
//! A line is `OUTCOME | KIND | CWD | INPUT`, where OUTCOME is `deny`, `ask` (a review: Claude
//! Code asks, Codex denies with the reason) or `allow`; KIND is `cmd` (a shell command line),
//! `json` (a payload `action_from_json` recognises) or `tool:SOURCE:NAME` (a tool call as a hook
//! front end reads it, INPUT being the tool's input object); CWD may be empty. A `\n` in a
//! `cmd` INPUT stands for a newline. Blank lines and lines starting with `#` are ignored.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use blastwall::{Outcome, Policy};
use blastwall_facts::{
    ActionOptions, ToolCall, action_from_command, action_from_json, action_from_tool_call,
};
use serde_json::Value;

struct Case {
    location: String,
    outcome: Outcome,
    kind: String,
    cwd: String,
    input: String,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agent");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cases"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.splitn(4, " | ").collect();
            let [outcome, kind, cwd, input] = parts.as_slice() else {
                panic!("{name}:{}: expected `OUTCOME | KIND | CWD | INPUT`", i + 1);
            };
            let outcome = match outcome.trim() {
                "deny" => Outcome::Deny,
                "ask" => Outcome::Review,
                "allow" => Outcome::Allow,
                other => panic!("{name}:{}: unknown outcome `{other}`", i + 1),
            };
            out.push(Case {
                location: format!("{name}:{}", i + 1),
                outcome,
                kind: kind.trim().to_string(),
                cwd: cwd.trim().to_string(),
                input: input.trim().to_string(),
            });
        }
    }
    out
}

/// The `action` document for one case, through the entry a hook front end would use.
fn action(case: &Case) -> Value {
    let opts = ActionOptions::default();
    if case.kind == "cmd" {
        return action_from_command(&case.input.replace("\\n", "\n"), &case.cwd, &opts);
    }
    if case.kind == "json" {
        return action_from_json(&case.input, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", case.location));
    }
    let Some(rest) = case.kind.strip_prefix("tool:") else {
        panic!("{}: unknown kind `{}`", case.location, case.kind);
    };
    let (source, tool) = rest.split_once(':').unwrap();
    let source: &'static str = match source {
        "claude-code" => "claude-code",
        "codex" => "codex",
        "cursor" => "cursor",
        "gemini" => "gemini",
        "copilot" => "copilot",
        "mcp" => "mcp",
        other => panic!("{}: unknown source `{other}`", case.location),
    };
    let input: Value =
        serde_json::from_str(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.location));
    action_from_tool_call(
        &ToolCall {
            source,
            tool,
            input: &input,
            cwd: &case.cwd,
        },
        &opts,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.location))
}

#[test]
fn agent_cases_decide_as_expected() {
    let policy = Policy::embedded().unwrap();
    let cases = cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let doc = action(case);
        let decision = policy
            .evaluate_json(&serde_json::json!({ "action": doc }))
            .unwrap_or_else(|e| panic!("{}: {e}", case.location));
        if decision.outcome != case.outcome {
            let rules: Vec<&str> = decision.findings.iter().map(|f| f.rule.as_str()).collect();
            failures.push(format!(
                "{}: want {:?}, got {:?} {rules:?}\n  {}\n  env {} classes {}",
                case.location,
                case.outcome,
                decision.outcome,
                case.input,
                doc["env"],
                doc["classes"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every kind of outcome is exercised, so that a policy that decides everything alike fails.
#[test]
fn the_cases_cover_every_outcome() {
    let cases = cases();
    for outcome in [Outcome::Deny, Outcome::Review, Outcome::Allow] {
        assert!(
            cases.iter().filter(|c| c.outcome == outcome).count() >= 20,
            "too few {outcome:?} cases"
        );
    }
}
