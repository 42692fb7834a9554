//! The Terraform adapter on real plans (see `tests/fixtures/PROVENANCE.md`) and generated bad ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::PLAN;
use blastwall_facts::{EnvPattern, InputError, PlanError, PlanOptions, plan_from_terraform};
use common::{assert_conforms, fixture, fixture_names};
use serde_json::{Value, json};

fn plan(name: &str) -> Value {
    plan_with(name, &PlanOptions::default())
}

fn plan_with(name: &str, opts: &PlanOptions) -> Value {
    let doc = plan_from_terraform(&fixture("terraform", name), opts)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_conforms(&doc, &PLAN);
    doc
}

/// The resource (or drift entry) at `address` in `list`.
fn find<'a>(doc: &'a Value, list: &str, address: &str) -> &'a Value {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("no {list} entry `{address}` in {doc:#}"))
}

fn actions(doc: &Value, list: &str) -> Vec<(String, String)> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_fixture_parses_and_conforms() {
    let names = fixture_names("terraform");
    assert_eq!(names.len(), 12);
    for name in names {
        let doc = plan(&name);
        assert_eq!(doc["source"], "terraform", "{name}");
        assert!(!doc["resources"].as_array().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn ovsds_delete_because_no_resource_config() {
    let doc = plan("ovsds_delete_no_resource_config_fv1.2.json");
    assert_eq!(doc["format_version"], "1.2");
    assert_eq!(doc["tool_version"], "1.7.5");
    // Terraform 1.7.5 predates the `complete` field (1.8), so absence means complete.
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["errored"], false);
    let r = find(&doc, "resources", "terraform_data.foo-bar");
    assert_eq!(r["action"], "delete");
    assert_eq!(r["replace_order"], "none");
    assert_eq!(r["reason"], "delete_because_no_resource_config");
    assert_eq!(r["type"], "terraform_data");
    assert_eq!(r["name"], "foo-bar");
    assert_eq!(r["module"], "");
    assert_eq!(r["provider"], "terraform.io/builtin/terraform");
    assert_eq!(r["env"], "unknown");
    assert!(r.get("previous_address").is_none());
}

#[test]
fn ovsds_replace_delete_first() {
    let doc = plan("ovsds_replace_delete_create_fv1.2.json");
    let r = find(&doc, "resources", "null_resource.foo-bar");
    assert_eq!(r["action"], "replace");
    assert_eq!(r["replace_order"], "delete_first");
    assert_eq!(r["reason"], "replace_because_cannot_update");
    assert_eq!(r["provider"], "registry.terraform.io/hashicorp/null");
}

#[test]
fn ovsds_update_and_noop() {
    let doc = plan("ovsds_update_fv1.2.json");
    assert_eq!(
        actions(&doc, "resources"),
        vec![("terraform_data.foo-bar".to_string(), "update".to_string())]
    );
    assert_eq!(
        find(&doc, "resources", "terraform_data.foo-bar")["reason"],
        ""
    );
    let doc = plan("ovsds_noop_fv1.2.json");
    assert_eq!(
        actions(&doc, "resources"),
        vec![("terraform_data.foo-bar".to_string(), "no-op".to_string())]
    );
}

#[test]
fn tfjson_replace_tainted_with_complete_field() {
    let doc = plan("tfjson_replace_tainted_fv1.2.json");
    assert_eq!(doc["tool_version"], "1.15.0");
    assert_eq!(doc["complete"], true);
    let r = find(&doc, "resources", "null_resource.example");
    assert_eq!(r["action"], "replace");
    assert_eq!(r["replace_order"], "delete_first");
    assert_eq!(r["reason"], "replace_because_tainted");
}

#[test]
fn tfjson_moved_block_keeps_previous_address() {
    let doc = plan("tfjson_moved_block_previous_address_fv1.2.json");
    let r = find(&doc, "resources", "random_id.test2");
    assert_eq!(r["action"], "no-op");
    assert_eq!(r["previous_address"], "random_id.test");
}

#[test]
fn tfjson_modules_and_count_indexes() {
    let doc = plan("tfjson_modules_count_outputs_fv1.1.json");
    assert_eq!(doc["format_version"], "1.1");
    assert_eq!(doc["tool_version"], "1.2.0-rc1");
    assert_eq!(doc["complete"], true);
    let acts = actions(&doc, "resources");
    assert_eq!(acts.len(), 7);
    assert!(acts.iter().all(|(_, a)| a == "create"));
    let r = find(&doc, "resources", "module.foo.null_resource.aliased");
    assert_eq!(r["module"], "module.foo");
    assert_eq!(r["name"], "aliased");
    for i in 0..3 {
        let r = find(&doc, "resources", &format!("null_resource.baz[{i}]"));
        assert_eq!(r["name"], "baz");
        assert_eq!(r["module"], "");
    }
}

#[test]
fn tfjson_old_format_replace_without_reason() {
    let doc = plan("tfjson_replace_no_action_reason_fv0.1.json");
    assert_eq!(doc["format_version"], "0.1");
    assert_eq!(doc["tool_version"], "0.12.11");
    assert_eq!(doc["complete"], true);
    let r = find(&doc, "resources", "null_resource.bar");
    assert_eq!(r["action"], "replace");
    assert_eq!(r["replace_order"], "delete_first");
    assert_eq!(r["reason"], "");
    assert_eq!(r["provider"], "null");
    assert_eq!(
        find(&doc, "resources", "null_resource.foo")["action"],
        "no-op"
    );
}

#[test]
fn tfsummarize_drift_deletes_in_for_each_module() {
    let doc = plan("tfsummarize_drift_deletes_module_for_each_fv1.0.json");
    assert_eq!(doc["format_version"], "1.0");
    let drift = actions(&doc, "drift");
    assert_eq!(
        drift,
        vec![
            (
                r#"module.github["terraform-plan-summary"].github_branch.demo"#.to_string(),
                "delete".to_string()
            ),
            (
                r#"module.github["terraform-plan-summary"].github_branch.main"#.to_string(),
                "delete".to_string()
            ),
            (
                r#"module.github["terraform-plan-summary"].github_repository.repository"#
                    .to_string(),
                "delete".to_string()
            ),
        ]
    );
    let d = find(
        &doc,
        "drift",
        r#"module.github["terraform-plan-summary"].github_branch.demo"#,
    );
    assert_eq!(d["module"], r#"module.github["terraform-plan-summary"]"#);
    // The no-op that carries a delete reason.
    let r = find(
        &doc,
        "resources",
        r#"module.github["terraform-plan-summary"].github_branch.demo"#,
    );
    assert_eq!(r["action"], "no-op");
    assert_eq!(r["reason"], "delete_because_no_resource_config");
    assert_eq!(doc["resources"].as_array().unwrap().len(), 8);
    // Two provider sources for `github`.
    assert_eq!(
        find(
            &doc,
            "resources",
            "github_repository.terraform_plan_summary"
        )["provider"],
        "registry.terraform.io/integrations/github"
    );
    assert_eq!(
        find(
            &doc,
            "resources",
            r#"module.github["demo-repository"].github_branch.main"#
        )["provider"],
        "registry.terraform.io/hashicorp/github"
    );
}

#[test]
fn tfcompliance_drift_entries_without_address_are_rebuilt() {
    let doc = plan("tfcompliance_drift_delete_tf1.0.0_fv0.1.json");
    assert_eq!(doc["format_version"], "0.1");
    assert_eq!(doc["tool_version"], "1.0.0");
    let drift = actions(&doc, "drift");
    assert_eq!(drift.len(), 15);
    assert_eq!(drift.iter().filter(|(_, a)| a == "delete").count(), 6);
    assert_eq!(drift.iter().filter(|(_, a)| a == "update").count(), 9);
    let d = find(&doc, "drift", "aws_lambda_function.lambda");
    assert_eq!(d["action"], "delete");
    assert_eq!(d["type"], "aws_lambda_function");
    // Its tags come from the object before the delete.
    assert!(
        d["tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "Name", "value": "metrics-lambda-primary-lambda"}))
    );
    assert_eq!(
        find(&doc, "drift", "aws_cloudwatch_event_rule.metrics_schedule")["action"],
        "update"
    );

    let res = actions(&doc, "resources");
    assert_eq!(res.len(), 15);
    let r = find(
        &doc,
        "resources",
        "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]",
    );
    assert_eq!(r["action"], "delete");
    assert!(
        r["tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "Team", "value": "Metricos"}))
    );
    assert_eq!(
        find(
            &doc,
            "resources",
            "aws_cloudwatch_event_target.metric_event_target"
        )["action"],
        "update"
    );
    assert_eq!(
        find(&doc, "resources", "aws_lambda_function.lambda")["action"],
        "create"
    );
    assert_eq!(
        find(&doc, "resources", "aws_iam_role.lambda_execution_role")["action"],
        "no-op"
    );
    // No tag names an environment, and no option does either.
    assert!(
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["env"] == "unknown")
    );
}

#[test]
fn tfcompliance_list_tags_name_the_environment() {
    let doc = plan("tfcompliance_update_noop_count_fv0.2.json");
    assert_eq!(doc["format_version"], "0.2");
    let r = find(
        &doc,
        "resources",
        "datadog_monitor.kubernetes_memory_limit_percentage_exceeded[2]",
    );
    assert_eq!(r["action"], "update");
    assert!(
        r["tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"key": "environment", "value": "dev"}))
    );
    assert_eq!(r["env"], "dev");
    assert_eq!(
        find(
            &doc,
            "resources",
            "datadog_monitor.kubernetes_memory_limit_reached[1]"
        )["action"],
        "no-op"
    );
    // No tags at all: the plan's root variable `environment` (`dev`) names it.
    assert_eq!(
        find(
            &doc,
            "resources",
            "datadog_monitor.kubernetes_memory_request[1]"
        )["env"],
        "dev"
    );
}

#[test]
fn tfcompliance_environment_tag_is_production() {
    let doc = plan("tfcompliance_create_env_production_tag_fv0.1.json");
    let t = find(&doc, "resources", "aws_dynamodb_table.test");
    assert_eq!(t["action"], "create");
    assert_eq!(t["env"], "production");
    assert_eq!(
        t["tags"],
        json!([
            {"key": "Environment", "value": "production"},
            {"key": "Name", "value": "dynamodb-table-1"}
        ])
    );
    let k = find(&doc, "resources", "aws_kms_key.test");
    assert_eq!(k["env"], "unknown");
    assert_eq!(k["tags"], json!([]));
}

#[test]
fn address_and_workspace_patterns() {
    let opts = PlanOptions {
        workspace: "blue".to_string(),
        address_patterns: vec![EnvPattern::new("aws_kms_*", "security")],
        ..PlanOptions::default()
    };
    let doc = plan_with("tfcompliance_create_env_production_tag_fv0.1.json", &opts);
    assert_eq!(doc["workspace"], "blue");
    // Tags come first; the pattern decides for the untagged key.
    assert_eq!(
        find(&doc, "resources", "aws_dynamodb_table.test")["env"],
        "production"
    );
    assert_eq!(
        find(&doc, "resources", "aws_kms_key.test")["env"],
        "security"
    );

    let opts = PlanOptions {
        workspace: "eu-prod".to_string(),
        ..PlanOptions::default()
    };
    let doc = plan_with("tfjson_modules_count_outputs_fv1.1.json", &opts);
    assert_eq!(
        find(&doc, "resources", "null_resource.bar")["env"],
        "production"
    );

    let opts = PlanOptions {
        workspace: "blue".to_string(),
        workspace_patterns: vec![EnvPattern::new("bl*", "staging")],
        address_patterns: vec![EnvPattern::new("module.foo.*", "dev")],
        ..PlanOptions::default()
    };
    let doc = plan_with("tfjson_modules_count_outputs_fv1.1.json", &opts);
    assert_eq!(
        find(&doc, "resources", "module.foo.null_resource.foo")["env"],
        "dev"
    );
    assert_eq!(
        find(&doc, "resources", "null_resource.foo")["env"],
        "staging"
    );
}

/// A minimal valid plan with one resource change, for generated cases.
fn synthetic(format_version: &str, extra: Value, change: Value) -> String {
    let mut doc = json!({
        "format_version": format_version,
        "terraform_version": "1.9.0",
        "planned_values": {},
        "resource_changes": [{
            "address": "aws_db_instance.main",
            "mode": "managed",
            "type": "aws_db_instance",
            "name": "main",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": change,
        }],
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
        d.extend(e);
    }
    doc.to_string()
}

fn eval(text: &str) -> Result<Value, PlanError> {
    let r = plan_from_terraform(text, &PlanOptions::default());
    if let Ok(doc) = &r {
        assert_conforms(doc, &PLAN);
    }
    r
}

#[test]
fn every_action_list() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["create"], "create", "none"),
        (&["update"], "update", "none"),
        (&["delete"], "delete", "none"),
        (&["delete", "create"], "replace", "delete_first"),
        (&["create", "delete"], "replace", "create_first"),
        (&["create", "forget"], "replace", "create_first"),
        (&["read"], "read", "none"),
        (&["no-op"], "no-op", "none"),
        (&["forget"], "forget", "none"),
    ];
    for (acts, action, order) in cases {
        let doc = eval(&synthetic(
            "1.2",
            json!({"complete": true}),
            json!({"actions": acts}),
        ))
        .unwrap();
        assert_eq!(doc["resources"][0]["action"], *action, "{acts:?}");
        assert_eq!(doc["resources"][0]["replace_order"], *order, "{acts:?}");
    }
    for bad in [
        json!([]),
        json!(["destroy"]),
        json!(["create", "create"]),
        json!(["delete", "create", "read"]),
        json!(["Create"]),
    ] {
        let err = eval(&synthetic("1.2", json!({}), json!({"actions": bad}))).unwrap_err();
        assert!(
            matches!(&err, PlanError::UnknownActions { address, .. } if address == "aws_db_instance.main"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn complete_and_errored() {
    let change = json!({"actions": ["create"]});
    // Format 1.2 from Terraform 1.9 without `complete`: the field should be there, so fail closed.
    let doc = eval(&synthetic("1.2", json!({}), change.clone())).unwrap();
    assert_eq!(doc["complete"], false);
    let doc = eval(&synthetic(
        "1.2",
        json!({"complete": false, "errored": true}),
        change.clone(),
    ))
    .unwrap();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["errored"], true);
    let doc = eval(&synthetic("1.1", json!({}), change.clone())).unwrap();
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["errored"], false);
    // An unknown minor version of format 1 is read.
    let doc = eval(&synthetic("1.9", json!({"complete": true}), change)).unwrap();
    assert_eq!(doc["format_version"], "1.9");
}

#[test]
fn tags_from_before_tags_all_and_lists() {
    // A delete takes the tags of the object before; `tags_all` adds provider default tags.
    let doc = eval(&synthetic(
        "1.2",
        json!({"complete": true}),
        json!({
            "actions": ["delete"],
            "before": {"tags": {"Name": "db"}, "tags_all": {"Name": "db", "Env": "Prod-EU"}},
            "after": null,
        }),
    ))
    .unwrap();
    let r = &doc["resources"][0];
    assert_eq!(
        r["tags"],
        json!([{"key": "Name", "value": "db"}, {"key": "Env", "value": "Prod-EU"}])
    );
    assert_eq!(r["env"], "production");
    // `stage` counts, in any case; non-string values become strings.
    let doc = eval(&synthetic(
        "1.2",
        json!({"complete": true}),
        json!({"actions": ["update"], "after": {"tags": {"stage": "QA", "count": 3}}}),
    ))
    .unwrap();
    assert_eq!(doc["resources"][0]["env"], "qa");
    assert_eq!(
        doc["resources"][0]["tags"][1],
        json!({"key": "count", "value": "3"})
    );
    let doc = eval(&synthetic(
        "1.2",
        json!({"complete": true}),
        json!({"actions": ["update"], "after": {"tags": {"Stage": "prod"}}}),
    ))
    .unwrap();
    assert_eq!(doc["resources"][0]["env"], "production");
}

#[test]
fn rebuilt_addresses() {
    let text = json!({
        "format_version": "1.0",
        "planned_values": {},
        "resource_drift": [
            {"module_address": "module.a[\"k\"]", "mode": "data", "type": "t", "name": "n",
             "index": 3, "change": {"actions": ["read"]}},
            {"mode": "managed", "type": "t", "name": "n", "index": "x",
             "change": {"actions": ["delete"]}},
        ],
    })
    .to_string();
    let doc = eval(&text).unwrap();
    assert_eq!(doc["drift"][0]["address"], r#"module.a["k"].data.t.n[3]"#);
    assert_eq!(doc["drift"][1]["address"], r#"t.n["x"]"#);
    assert_eq!(doc["resources"], json!([]));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let good = fixture("terraform", "tfjson_replace_tainted_fv1.2.json");

    // Empty and whitespace-only.
    assert_eq!(eval("").unwrap_err(), PlanError::Input(InputError::Empty));
    assert_eq!(
        eval(" \n\t").unwrap_err(),
        PlanError::Input(InputError::Empty)
    );

    // Truncated at many points: always an error, and mostly named as truncation.
    let mut truncated = 0;
    for cut in (1..good.trim_end().len()).step_by(37) {
        let Some(prefix) = good.get(..cut) else {
            continue;
        };
        let err = eval(prefix).unwrap_err();
        if matches!(err, PlanError::Input(InputError::Truncated { .. })) {
            truncated += 1;
        }
    }
    assert!(truncated > 20);
    let err = eval(good.get(..good.len() / 2).unwrap()).unwrap_err();
    assert!(err.to_string().contains("looks truncated"), "{err}");

    // Unknown major format versions and malformed ones.
    let v2 = good.replacen(
        "\"format_version\":\"1.2\"",
        "\"format_version\":\"2.0\"",
        1,
    );
    assert_ne!(v2, good);
    let err = eval(&v2).unwrap_err();
    assert_eq!(
        err,
        PlanError::UnsupportedFormatVersion {
            version: "2.0".to_string()
        }
    );
    assert_eq!(err.to_string(), "unsupported plan format version `2.0`");
    assert!(matches!(
        eval(&synthetic("one", json!({}), json!({"actions": ["create"]}))).unwrap_err(),
        PlanError::MalformedFormatVersion { .. }
    ));

    // Wrong types, with the path of the field.
    let cases = [
        (
            json!({"format_version": 1.2}),
            "`format_version` should be a string, found a number",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {}, "resource_changes": {}}),
            "`resource_changes` should be an array, found an object",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {}, "resource_changes": [7]}),
            "`resource_changes[0]` should be an object, found a number",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_changes": [{"address": "a.b", "change": {"actions": "create"}}]}),
            "`resource_changes[0].change.actions` should be an array, found a string",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_changes": [{"address": "a.b", "change": {"actions": [1]}}]}),
            "`resource_changes[0].change.actions[0]` should be a string, found a number",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_changes": [{"address": 5, "change": {"actions": ["create"]}}]}),
            "`resource_changes[0].address` should be a string, found a number",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {}, "errored": "no"}),
            "`errored` should be a boolean, found a string",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_changes": [{"address": "a.b"}]}),
            "missing field `resource_changes[0].change`",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_changes": [{"address": "a.b", "change": {}}]}),
            "missing field `resource_changes[0].change.actions`",
        ),
        (
            json!({"format_version": "1.2", "planned_values": {},
                   "resource_drift": [{"change": {"actions": ["delete"]}}]}),
            "missing field `resource_drift[0].address`",
        ),
        (
            json!({"planned_values": {}}),
            "missing field `format_version`",
        ),
        (
            json!({"format_version": "1.0"}),
            "missing field `planned_values`",
        ),
        (
            json!({"format_version": "1.0", "values": {}}),
            "this is terraform state, not a plan: it has `values` but no `planned_values` or `resource_changes`",
        ),
        (
            json!([1, 2]),
            "expected a json object at the top level, found an array",
        ),
    ];
    for (input, message) in cases {
        let err = eval(&input.to_string()).unwrap_err();
        assert_eq!(err.to_string(), message, "{input}");
    }

    // Not JSON at all, and nesting deeper than the JSON parser allows.
    let err = eval("format_version: 1.2").unwrap_err();
    assert!(
        matches!(err, PlanError::Input(InputError::Syntax { line: 1, .. })),
        "{err}"
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        eval(&deep).unwrap_err(),
        PlanError::Input(InputError::Syntax { .. })
    ));
}

#[test]
fn byte_flips_never_panic() {
    // Every single-byte corruption of a real plan gives a document or an error, never a panic.
    let good = fixture("terraform", "ovsds_replace_delete_create_fv1.2.json");
    let bytes = good.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'"', b'}', b'x', b'0'] {
            let mut b = bytes.to_vec();
            b[i] = replacement;
            if let Ok(s) = std::str::from_utf8(&b) {
                let _ = eval(s);
            }
        }
    }
}
