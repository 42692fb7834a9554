//! A typical change for the shipped rules, shared by `benches/shipped.rs` and
//! `benches/load.rs`: an AI-assisted change of 20 files with CODEOWNERS owners and 3
//! approvals, touching one service of a 50-node topology.
#![allow(dead_code, clippy::indexing_slicing)]

use serde_json::{Value, json};

pub fn typical_change() -> Value {
    let areas = [
        ("services/cart/src", "@org/cart"),
        ("services/payments/src", "@org/payments"),
        ("web/src/checkout", "@org/web"),
        ("services/cart/tests", "@org/cart"),
        ("docs/cart", "@org/docs"),
    ];
    let files: Vec<Value> = (0..20)
        .map(|i| {
            let (dir, owner) = areas[i % areas.len()];
            json!({"path": format!("{dir}/file{i}.rs"), "status": "modified", "added": 12 + i, "removed": 3, "owners": [owner]})
        })
        .collect();
    let mut nodes = Vec::new();
    for i in 0..50 {
        let layer = i / 13;
        let deps: Vec<String> = if layer == 0 {
            Vec::new()
        } else {
            vec![
                format!("svc-{}", (i + 1) % 13 + (layer - 1) * 13),
                format!("svc-{}", (i + 5) % 13 + (layer - 1) * 13),
            ]
        };
        nodes.push(json!({"name": format!("svc-{i}"), "tier": 1 + i % 3, "owner": format!("@org/team{}", i % 7), "depends_on": deps}));
    }
    json!({
        "change": {
            "author": "alice",
            "title": "Speed up checkout",
            "ai": {"assisted": "yes", "tools": ["claude-code"], "initiator": "carol"},
            "files": files,
            "approvals": [
                {"by": "bob", "teams": ["@org/cart"]},
                {"by": "dave", "teams": ["@org/web"]},
                {"by": "erin", "teams": ["@org/security"]},
            ],
            "services": ["svc-3"],
        },
        "topology": {"nodes": nodes},
    })
}
