//! Real inputs written by others, through the fact adapters, into the shipped rules: the
//! documents the adapters produce load under the schemas and drive the expected decisions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use blastwall::{Outcome, Policy};
use blastwall_facts::{
    ActionOptions, PlanOptions, action_from_command, action_from_json, plan_from_admission,
    plan_from_terraform,
};

fn fixture(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/blastwall-facts/tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn decide(doc: &str, value: serde_json::Value) -> blastwall::Decision {
    let policy = Policy::embedded().unwrap();
    policy
        .evaluate_json(&serde_json::json!({ doc: value }))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_terraform_fixture_loads_and_none_is_a_production_delete() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/blastwall-facts/tests/fixtures/terraform");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let plan = plan_from_terraform(
            &std::fs::read_to_string(&path).unwrap(),
            &PlanOptions::default(),
        )
        .unwrap();
        let d = decide("plan", plan);
        // None of these plans deletes or replaces a resource tagged for production.
        assert!(
            d.findings
                .iter()
                .all(|f| f.rule != "no_destructive_prod_plan"),
            "{name}: {d:?}"
        );
        n += 1;
    }
    assert_eq!(n, 12);
}

#[test]
fn a_replace_in_a_production_workspace_is_denied() {
    let opts = PlanOptions {
        workspace: "payments-prod".into(),
        ..PlanOptions::default()
    };
    let plan = plan_from_terraform(
        &fixture("terraform/tfjson_replace_tainted_fv1.2.json"),
        &opts,
    )
    .unwrap();
    let d = decide("plan", plan);
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert_eq!(
        d.findings[0].message,
        "plan would replace production resource null_resource.example"
    );
}

#[test]
fn the_production_tagged_create_is_allowed() {
    let plan = plan_from_terraform(
        &fixture("terraform/tfcompliance_create_env_production_tag_fv0.1.json"),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(
        plan["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["env"] == "production")
    );
    assert_eq!(decide("plan", plan).outcome, Outcome::Allow);
}

#[test]
fn agent_hook_payloads_drive_the_agent_rules() {
    let rm = action_from_json(
        &fixture("agent-hooks/claude_pretooluse_bash_rm_rf_cupcake.json"),
        &ActionOptions::default(),
    )
    .unwrap();
    let d = decide("action", rm);
    assert_eq!(d.outcome, Outcome::Review, "{d:?}");
    assert!(d.findings[0].message.contains("rm -rf /tmp/test"), "{d:?}");

    let npm = action_from_json(
        &fixture("agent-hooks/claude_pretooluse_bash_npm_test_official_docs.json"),
        &ActionOptions::default(),
    )
    .unwrap();
    assert_eq!(decide("action", npm).outcome, Outcome::Allow);

    let prod = action_from_command(
        "kubectl --context prod-eu delete namespace payments",
        "/",
        &ActionOptions::default(),
    );
    assert_eq!(decide("action", prod).outcome, Outcome::Deny);

    let broken = action_from_command("echo 'unterminated", "/", &ActionOptions::default());
    assert_eq!(
        decide("action", broken).outcome,
        Outcome::Deny,
        "an unparsable command fails closed"
    );
}

#[test]
fn admission_requests_load() {
    for f in [
        "kubewarden_pod_delete_request.json",
        "kubewarden_pod_create_privileged_request.json",
        "kubewarden_endpoints_update_serviceaccount_request.json",
    ] {
        let plan =
            plan_from_admission(&fixture(&format!("admission/{f}")), &PlanOptions::default())
                .unwrap();
        let d = decide("plan", plan);
        assert_eq!(d.outcome, Outcome::Allow, "{f}: {d:?}");
    }
}
