//! The shipped rules: their tests pass, every rule has a test that makes it fire, and the
//! embedded copy is what is in `rules/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blastwall::Policy;

#[test]
fn shipped_rule_tests_pass() {
    let policy = Policy::embedded().unwrap_or_else(|e| match e {
        blastwall::Error::Invalid { rendered, .. } => panic!("{rendered}"),
        other => panic!("{other}"),
    });
    let results = policy.run_tests();
    assert!(results.len() >= 10, "only {} tests", results.len());
    let failed: Vec<String> = results
        .iter()
        .filter(|t| !t.failures.is_empty())
        .map(|t| format!("{} ({}): {}", t.name, t.location, t.failures.join("; ")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(policy.untested_rules(), Vec::<String>::new());
}

#[test]
fn embedded_rules_are_the_rules_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bw"))
        .map(|p| format!("rules/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = blastwall::embedded_rules()
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(embedded, on_disk);
    for s in blastwall::embedded_rules() {
        let disk = std::fs::read_to_string(dir.join(s.path.trim_start_matches("rules/"))).unwrap();
        assert_eq!(s.text, disk, "{} is stale in the binary", s.path);
    }
}

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
}

#[test]
fn shipped_rules_are_formatted() {
    for s in blastwall::embedded_rules() {
        let formatted =
            blastwall::format_source(&s.text).unwrap_or_else(|e| panic!("{}: {e}", s.path));
        assert!(
            formatted == s.text,
            "{} is not formatted: run `blastwall fmt rules`",
            s.path
        );
    }
}

mod blast_radius_is_monotone {
    use blastwall::{Outcome, Policy};
    use proptest::prelude::*;
    use serde_json::json;

    /// A topology of up to 12 nodes whose edges point only to earlier nodes (no cycles), with
    /// tiers 1 to 3 and an owner on some; and two change sets, the second holding the first.
    fn case() -> impl Strategy<Value = (serde_json::Value, Vec<String>, Vec<String>)> {
        (2usize..12)
            .prop_flat_map(|n| {
                (
                    proptest::collection::vec((1i64..4, any::<bool>(), any::<u16>()), n),
                    proptest::collection::vec(any::<bool>(), n),
                    proptest::collection::vec(any::<bool>(), n),
                )
            })
            .prop_map(|(nodes, small, extra)| {
                let topo: Vec<serde_json::Value> = nodes
                    .iter()
                    .enumerate()
                    .map(|(i, (tier, owned, edges))| {
                        let deps: Vec<String> = (0..i)
                            .filter(|j| edges & (1 << (j % 16)) != 0)
                            .map(|j| format!("s{j}"))
                            .collect();
                        let mut node =
                            json!({ "name": format!("s{i}"), "tier": tier, "depends_on": deps });
                        if *owned {
                            node["owner"] = json!(format!("@org/t{i}"));
                        }
                        node
                    })
                    .collect();
                let a: Vec<String> = (0..nodes.len())
                    .filter(|i| small[*i])
                    .map(|i| format!("s{i}"))
                    .collect();
                let b: Vec<String> = (0..nodes.len())
                    .filter(|i| small[*i] || extra[*i])
                    .map(|i| format!("s{i}"))
                    .collect();
                (json!({ "nodes": topo }), a, b)
            })
    }

    fn severity(o: Outcome) -> u8 {
        match o {
            Outcome::Allow => 0,
            Outcome::Warn => 1,
            Outcome::Review => 2,
            Outcome::Deny => 3,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Touching more services never reaches fewer nodes, never lowers the outcome and never
        /// asks fewer review groups or approvals.
        #[test]
        fn adding_services_never_lowers_what_a_change_needs((topology, small, wide) in case()) {
            let policy = Policy::embedded().unwrap();
            let decide = |services: &[String]| {
                policy
                    .evaluate_json(&json!({
                        "change": { "services": services },
                        "topology": topology,
                        "config": { "max_dependents": 4, "blast_depth": 2 },
                    }))
                    .unwrap()
            };
            let (a, b) = (decide(&small), decide(&wide));
            prop_assert!(severity(b.outcome) >= severity(a.outcome), "{a:?}\n{b:?}");
            for r in &a.reviews {
                let wider = b.reviews.iter().find(|x| x.from == r.from);
                prop_assert!(wider.is_some_and(|w| w.needed >= r.needed), "{:?} lost in {:?}", r, b.reviews);
            }
        }
    }
}
