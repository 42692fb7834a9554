//! The `decide` bench's policy in every engine it is compared with, its facts, and a summary
//! that makes their answers comparable. Shared by `benches/decide.rs` and
//! `tests/peers_agree.rs` (which includes this file by path), so that what is timed is exactly
//! what is checked.
//!
//! One logical policy, `decide.bw`, and its equivalents: `decide.rego` (regorus, compiled to
//! its RVM), `decide.cedar` (cedar-policy, with the host work Cedar needs in [`cedar`]) and
//! [`native`] (the same logic by hand over typed structs).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod cedar;
pub mod native;
pub mod rego;

use std::collections::BTreeSet;

use blastwall_abi::decision::Decision;
use serde_json::{Value, json};

pub const DECIDE_BW: &str = include_str!("decide.bw");
pub const DECIDE_REGO: &str = include_str!("decide.rego");
pub const DECIDE_CEDAR: &str = include_str!("decide.cedar");

/// What every engine must agree on: the outcome, and each finding as (rule, what it is about,
/// the group asked for a review or `""`). Messages are left out: Cedar has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub outcome: String,
    pub findings: BTreeSet<(String, String, String)>,
}

impl Summary {
    pub fn new<'a>(
        outcome: &str,
        findings: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Summary {
        Summary {
            outcome: outcome.to_string(),
            findings: findings
                .into_iter()
                .map(|(r, a, f)| (r.to_string(), a.to_string(), f.to_string()))
                .collect(),
        }
    }
}

/// A blastwall decision (module or interpreter) as a [`Summary`].
pub fn summarize_decision(d: &Decision) -> Summary {
    assert!(d.findings.iter().all(|f| !f.error && f.omitted == 0));
    Summary::new(
        d.outcome.as_str(),
        d.findings.iter().map(|f| {
            (
                f.rule.as_str(),
                f.about.as_deref().unwrap_or(""),
                f.from.as_deref().unwrap_or(""),
            )
        }),
    )
}

/// Compiles `decide.bw` with the checker and compiler, as `blastwall build` does.
pub fn decide_policy() -> blastwall_check::Policy {
    let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
        path: "benches/peers/decide.bw".into(),
        text: DECIDE_BW.into(),
    }]);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    checked.policy.unwrap()
}

/// The bench's facts: an AI-assisted change of 20 files with 3 approvals and CODEOWNERS
/// owners, a plan of 50 resource changes, and a 50-node topology. The decision is `review`:
/// 13 files still need an owner's approval (the approver who started the agent and a stale
/// approval do not count) and 2 sensitive files need security's; the plan destroys nothing in
/// production; the tier-1 services the change reaches are unowned or approved.
pub fn bench_facts() -> Value {
    let mut files = Vec::new();
    let mut file = |path: String, owners: &[&str]| {
        files.push(json!({"path": path, "status": "modified", "added": 10, "removed": 2, "owners": owners}));
    };
    for i in 0..5 {
        file(format!("services/cart/src/cart{i}.rs"), &["@org/cart"]);
    }
    for i in 0..4 {
        file(
            format!("services/payments/src/pay{i}.rs"),
            &["@org/payments", "@dave"],
        );
    }
    for i in 0..3 {
        file(format!("web/src/checkout/step{i}.ts"), &["@org/web"]);
    }
    for i in 0..2 {
        file(format!("services/cart/tests/cart{i}.rs"), &["@org/cart"]);
    }
    for i in 0..2 {
        file(format!("docs/cart/guide{i}.md"), &["@org/docs"]);
    }
    file("infra/iam/deployer.tf".into(), &["@org/platform"]);
    file(".github/workflows/release.yml".into(), &["@org/platform"]);
    file("services/cart/README.md".into(), &["@org/cart"]);
    file("lib/util/src/strings.rs".into(), &[]);

    let types = [
        "aws_instance",
        "aws_db_instance",
        "aws_s3_bucket",
        "aws_lambda_function",
        "aws_rds_cluster_instance",
    ];
    let resources: Vec<Value> = (0..50)
        .map(|i| {
            let env = ["production", "staging", "dev"][i % 3];
            let action = match (env, i % 4) {
                ("production", 0) => "create",
                ("production", _) => "update",
                (_, 0) => "delete",
                (_, 1) => "replace",
                _ => "update",
            };
            let ty = types[i % types.len()];
            json!({"address": format!("module.m{}.{ty}.r{i}", i % 7), "type": ty, "action": action, "env": env})
        })
        .collect();

    json!({
        "change": {
            "author": "alice",
            "title": "Speed up checkout",
            "ai": {"assisted": "yes", "tools": ["claude-code"], "initiator": "carol"},
            "files": files,
            "approvals": [
                {"by": "bob", "teams": ["@org/cart"]},
                {"by": "carol", "teams": ["@org/web"]},
                {"by": "erin", "teams": ["@org/security"], "stale": true},
            ],
            "services": ["db-0"],
        },
        "plan": {"resources": resources},
        "topology": {"nodes": topology_nodes()},
    })
}

/// 50 services in four layers — 5 data stores, and 15 each of services, APIs and web front
/// ends — each depending on two nodes of the layer below, so nothing is more than three hops
/// from a data store. Every fifth front end is tier 1 and owned by `@org/cart`; `api-7` is
/// tier 1 with no owner.
fn topology_nodes() -> Vec<Value> {
    let mut nodes = Vec::new();
    for i in 0..5 {
        nodes.push(json!({"name": format!("db-{i}"), "kind": "datastore", "tier": 2, "owner": "@org/data"}));
    }
    for i in 0..15 {
        nodes.push(json!({"name": format!("svc-{i}"), "owner": "@org/core",
            "depends_on": [format!("db-{}", i % 5), format!("db-{}", (i + 1) % 5)]}));
    }
    for i in 0..15 {
        let (tier, owner) = if i == 7 { (1, "") } else { (3, "@org/api") };
        nodes.push(
            json!({"name": format!("api-{i}"), "tier": tier, "owner": owner,
            "depends_on": [format!("svc-{i}"), format!("svc-{}", (i + 3) % 15)]}),
        );
    }
    for i in 0..15 {
        let (tier, owner) = if i % 5 == 0 {
            (1, "@org/cart")
        } else {
            (2, "@org/web")
        };
        nodes.push(
            json!({"name": format!("web-{i}"), "tier": tier, "owner": owner,
            "depends_on": [format!("api-{i}"), format!("api-{}", (i + 5) % 15)]}),
        );
    }
    nodes
}

/// The bench facts and variants of them, each with the summary every engine must produce.
pub fn cases() -> Vec<(&'static str, Value, Summary)> {
    let base = bench_facts();
    let pay = |i| format!("services/payments/src/pay{i}.rs");
    let mut base_findings: Vec<(String, String, String)> = Vec::new();
    for i in 0..4 {
        base_findings.push(("ai_owner_review".into(), pay(i), "@org/payments".into()));
        base_findings.push(("ai_owner_review".into(), pay(i), "@dave".into()));
    }
    for i in 0..3 {
        base_findings.push((
            "ai_owner_review".into(),
            format!("web/src/checkout/step{i}.ts"),
            "@org/web".into(),
        ));
    }
    for p in ["infra/iam/deployer.tf", ".github/workflows/release.yml"] {
        base_findings.push(("ai_owner_review".into(), p.into(), "@org/platform".into()));
        base_findings.push(("sensitive_path".into(), p.into(), "@org/security".into()));
    }
    let summary = |outcome: &str, findings: &[(String, String, String)]| Summary {
        outcome: outcome.into(),
        findings: findings.iter().cloned().collect(),
    };
    let sensitive: Vec<_> = base_findings
        .iter()
        .filter(|f| f.0 == "sensitive_path")
        .cloned()
        .collect();

    let mut no_ai = base.clone();
    no_ai["change"]["ai"] = json!({"assisted": "no"});

    let mut approved = base.clone();
    approved["change"]["approvals"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"by": "dave", "teams": ["@org/web", "@org/security"]}),
            json!({"by": "frank", "teams": ["@org/platform"]}),
        ]);

    let mut prod_delete = base.clone();
    prod_delete["plan"]["resources"][6] = json!({"address": "aws_db_instance.main", "type": "aws_db_instance", "action": "delete", "env": "production"});
    prod_delete["plan"]["resources"][9] = json!({"address": "aws_instance.web", "type": "aws_instance", "action": "replace", "env": "prod"});
    let mut prod_findings = base_findings.clone();
    for (rule, about) in [
        ("no_destructive_prod_plan", "aws_db_instance.main"),
        ("no_destructive_prod_datastore", "aws_db_instance.main"),
        ("no_destructive_prod_plan", "aws_instance.web"),
    ] {
        prod_findings.push((rule.into(), about.into(), String::new()));
    }

    // `web-1` (depends on api-1 and api-6; api-1 on svc-1 and svc-4; svc-4 on db-4 and db-0)
    // is reached in three hops.
    let mut tier1 = base.clone();
    let web1 = tier1["topology"]["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["name"] == "web-1")
        .unwrap();
    web1["tier"] = json!(1);
    web1["owner"] = json!("@org/shop");
    let mut tier1_findings = base_findings.clone();
    tier1_findings.push(("tier1_dependent".into(), "web-1".into(), "@org/shop".into()));

    // A human change to unowned, insensitive files; a plan that destroys only outside
    // production; a change to a service nothing depends on.
    let mut nothing = base.clone();
    nothing["change"]["ai"] = json!({"assisted": "no"});
    nothing["change"]["files"] =
        json!([{"path": "lib/util/src/strings.rs"}, {"path": "README.md"}]);
    nothing["change"]["services"] = json!(["web-3"]);

    vec![
        ("bench", base, summary("review", &base_findings)),
        ("no_ai", no_ai, summary("review", &sensitive)),
        ("approvals_present", approved, summary("allow", &[])),
        ("prod_delete", prod_delete, summary("deny", &prod_findings)),
        ("tier1_dependent", tier1, summary("review", &tier1_findings)),
        ("nothing_matching", nothing, summary("allow", &[])),
    ]
}

/// `decide.bw` compiled to a module and loaded by a default engine.
pub fn decide_module() -> blastwall_runtime::Policy {
    let wasm = blastwall_compile::compile(&decide_policy()).unwrap();
    let engine =
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig::default()).unwrap();
    engine.load(&wasm).unwrap().policy()
}
