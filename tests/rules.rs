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
