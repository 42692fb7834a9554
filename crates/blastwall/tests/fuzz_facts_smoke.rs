//! The `facts` fuzz target (`fuzz/fuzz_targets/facts.rs`) run under `cargo test` on inputs
//! made by a small deterministic mutator (`mutate`): a handful of seed facts (a change with
//! owners, approvals and a topology, a Terraform plan, an agent action with an override, a
//! config), each node of each replaced by values of every JSON kind (and odd strings and
//! numbers), each object member removed, an unknown member added to each object, and each list
//! emptied and its first element repeated. Both hosts must decide alike or refuse alike on
//! every mutant.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod mutate;

use serde_json::{Value, json};

fn seeds() -> Vec<Value> {
    vec![
        json!({
            "change": {
                "author": "alice",
                "ai": {"assisted": "yes", "tools": ["claude-code"], "initiator": "Carol"},
                "files": [
                    {"path": "services/cart/src/lib.rs", "status": "modified", "added": 12, "removed": 3, "owners": ["@org/cart"]},
                    {"path": ".github/workflows/ci.yml", "previous_path": "ci.yml", "status": "renamed", "owners": []},
                ],
                "approvals": [{"by": "Bob", "teams": ["@org/CART"]}],
                "owners": {"file": "CODEOWNERS", "unowned": [".github/workflows/ci.yml"]},
                "services": ["svc-0"],
            },
            "topology": {"nodes": [
                {"name": "svc-0", "tier": 2, "owner": "@org/cart", "depends_on": []},
                {"name": "svc-1", "tier": 1, "owner": "@org/pay", "depends_on": ["svc-0"]},
            ]},
        }),
        json!({"plan": {"source": "terraform", "format_version": "1.2", "resources": [
            {"address": "aws_db_instance.main", "type": "aws_db_instance", "action": "replace", "env": "production"},
            {"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "action": "delete", "env": "staging"},
        ]}}),
        json!({
            "action": {"command": "kubectl --context prod delete ns payments", "env": "production", "classes": ["kubectl_delete"]},
            "overrides": [{"rule": "agent_destructive_command_in_prod", "by": "alice", "reason": "cleanup"}],
        }),
        json!({
            "change": {"files": [{"path": "migrations/0001.sql", "added": 2000}]},
            "config": {"large_change_warn": 10, "migration_paths": ["migrations/**", "[z-a]"], "ai_unknown_counts": true},
        }),
    ]
}

/// Values of every kind, and the odd ones a schema check must refuse or keep apart.
fn replacements() -> Vec<Value> {
    let mut values = mutate::every_kind();
    values.extend([
        json!(i64::MAX),
        json!("é/./a//b"),
        json!("x".repeat(300)),
        json!([1, "a"]),
    ]);
    values
}

#[test]
fn both_hosts_agree_on_mutated_facts() {
    let mut all = Vec::new();
    for seed in seeds() {
        all.extend(mutate::mutants(&seed, &replacements()));
        all.push(seed);
    }
    assert!(all.len() > 1_000, "{} mutants", all.len());
    let policy = blastwall::Policy::embedded().unwrap();
    let mut refused = 0;
    for facts in &all {
        let text = serde_json::to_vec(facts).unwrap();
        blastwall::fuzz::check_facts(&text);
        refused += usize::from(policy.evaluate_json(facts).is_err());
    }
    // The mutants must reach both sides of the schema check, or the comparison proves little.
    assert!(
        refused > 100 && refused < all.len() - 100,
        "{refused} of {} refused",
        all.len()
    );
    eprintln!("{} mutants, {refused} refused", all.len());
}

#[test]
fn bytes_that_are_not_json_are_skipped() {
    for data in [&b""[..], b"{", b"\xff\xfe", b"[1,", b"nul"] {
        blastwall::fuzz::check_facts(data);
    }
}
