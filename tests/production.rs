//! Production detection end to end: hostile and benign Terraform plans, admission requests and
//! raw agent actions (`tests/production/cases.json`) go through the adapters and the shipped
//! rules, in the interpreter and in the compiled module, which must agree with each other and
//! with the case's expected outcome and firing rules.
//!
//! A case is `{name, input, expect, fires?}` and, by `input`:
//! - `terraform`: `resource` is one `resource_changes` entry (`workspace` the optional
//!   workspace, `variables` the plan's optional root variables), wrapped into a complete
//!   format-1.2 plan and read by `plan_from_terraform`;
//! - `admission`: `fixture` names a real request under
//!   `crates/blastwall-facts/tests/fixtures/admission/`, `set` maps JSON pointers to new
//!   values (`null` removes the member), and `plan_from_admission` reads the result;
//! - `facts`: `facts` go to the facade as they are (raw actions are classified there).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::OnceLock;

use blastwall::{Compiled, Engine, Outcome, Policy};
use blastwall_facts::{PlanOptions, plan_from_admission, plan_from_terraform};
use serde_json::{Value, json};

fn shipped() -> &'static (Policy, Compiled) {
    static SHIPPED: OnceLock<(Policy, Compiled)> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let policy = Policy::embedded().unwrap();
        let engine = Engine::new(Default::default()).unwrap();
        let compiled = Policy::load(&engine, &policy.to_wasm().unwrap()).unwrap();
        (policy, compiled)
    })
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Set the member a JSON pointer names, creating it in its parent object; `null` removes it.
fn set(doc: &mut Value, pointer: &str, value: &Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
        .as_object_mut()
        .unwrap();
    if value.is_null() {
        parent.remove(key);
    } else {
        parent.insert(key.to_string(), value.clone());
    }
}

/// The facts a case decides on.
fn facts_of(case: &Value) -> Value {
    match case["input"].as_str().unwrap() {
        "terraform" => {
            let mut plan = json!({
                "format_version": "1.2",
                "terraform_version": "1.9.0",
                "complete": true,
                "planned_values": {},
                "resource_changes": [case["resource"]],
            });
            if let Some(vars) = case.get("variables") {
                plan["variables"] = vars.clone();
            }
            let opts = PlanOptions {
                workspace: case["workspace"].as_str().unwrap_or("").to_string(),
                ..PlanOptions::default()
            };
            json!({"plan": plan_from_terraform(&plan.to_string(), &opts).unwrap()})
        }
        "admission" => {
            let path = root()
                .join("crates/blastwall-facts/tests/fixtures/admission")
                .join(case["fixture"].as_str().unwrap());
            let mut request: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            for (pointer, value) in case["set"].as_object().unwrap() {
                set(&mut request, pointer, value);
            }
            let doc = plan_from_admission(&request.to_string(), &PlanOptions::default()).unwrap();
            json!({"plan": doc})
        }
        "facts" => case["facts"].clone(),
        other => panic!("unknown input `{other}`"),
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allow",
        Outcome::Warn => "warn",
        Outcome::Review => "review",
        Outcome::Deny => "deny",
    }
}

#[test]
fn production_cases_decide_as_expected() {
    let text = std::fs::read_to_string(root().join("tests/production/cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let (policy, compiled) = shipped();
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let facts = facts_of(case);
        let interp = policy.evaluate_json(&facts).unwrap();
        let module = compiled.evaluate_json(&facts).unwrap();
        assert_eq!(
            serde_json::to_value(&interp).unwrap(),
            serde_json::to_value(&module).unwrap(),
            "{name}: the interpreter and the module disagree"
        );
        let got = outcome_name(interp.outcome);
        let fired: Vec<&str> = interp.findings.iter().map(|f| f.rule.as_str()).collect();
        let want_fired: Vec<&str> = case["fires"]
            .as_array()
            .map(|a| a.iter().map(|r| r.as_str().unwrap()).collect())
            .unwrap_or_default();
        let missing: Vec<&&str> = want_fired.iter().filter(|r| !fired.contains(r)).collect();
        if got != case["expect"] || !missing.is_empty() {
            wrong.push(format!(
                "{name}: expected {} firing {want_fired:?}, got {got} firing {fired:?}\n  facts: {facts}",
                case["expect"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_unknown_environment_is_named_in_the_message() {
    let facts = json!({"plan": {"format_version": "1.2", "resources": [
        {"address": "aws_db_instance.main", "type": "aws_db_instance", "action": "delete"},
    ]}});
    let decision = shipped().0.evaluate_json(&facts).unwrap();
    assert_eq!(decision.outcome, Outcome::Review);
    assert!(
        decision.findings[0]
            .message
            .contains("environment could not be determined"),
        "{}",
        decision.findings[0].message
    );
}

#[test]
fn a_raw_command_is_classified_and_a_classified_one_is_not_touched() {
    let raw = json!({"action": {
        "command": "terraform destroy -auto-approve",
        "cwd": "/srv/infra/envs/production",
    }});
    let classified = blastwall::classify_action(&raw);
    let action = &classified["action"];
    assert_eq!(action["env"], "production");
    assert_eq!(action["commands"][0]["program"], "terraform");
    let classes: Vec<&str> = action["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains(&"terraform_destroy"), "{classes:?}");
    // The caller's own classes and cwd are kept.
    let given = json!({"action": {"command": "rm -rf x", "classes": ["custom"], "cwd": "/w"}});
    let merged = blastwall::classify_action(&given);
    assert_eq!(merged["action"]["cwd"], "/w");
    assert_eq!(
        merged["action"]["classes"],
        json!(["custom", "not_read_only", "recursive_delete"])
    );
    // An action with commands, a parse error or no command is left exactly as given.
    for facts in [
        json!({"action": {"command": "rm -rf /", "commands": [{"program": "ls"}]}}),
        json!({"action": {"command": "rm -rf /", "parse_error": "given"}}),
        json!({"action": {"tool": "mcp__x__y"}}),
        json!({"action": {"command": "   "}}),
        json!({"action": {"command": 3}}),
        json!({"action": "not an object"}),
        json!([]),
    ] {
        assert!(
            matches!(
                blastwall::classify_action(&facts),
                std::borrow::Cow::Borrowed(_)
            ),
            "{facts}"
        );
    }
}

/// The golden list of which actions need classifying, which the JS host's refusal is checked
/// against too (`bindings/js/test/shipped.test.mjs`), so that both hosts draw the line alike.
#[test]
fn which_actions_need_classifying() {
    let text =
        std::fs::read_to_string(root().join("tests/production/needs-classifying.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.iter().any(|c| c["needs"] == true) && cases.iter().any(|c| c["needs"] == false));
    for case in cases {
        let facts = json!({"action": case["action"]});
        let classified = blastwall::classify_action(&facts);
        let needs = matches!(classified, std::borrow::Cow::Owned(_));
        assert_eq!(json!(needs), case["needs"], "{facts}");
        // Whatever was done, the result decides (or is refused) like any facts.
        shipped().0.evaluate_json(&facts).unwrap();
    }
}
