//! The interpreter and the compiled module agree.
//!
//! - Every case under `tests/cases/decide/` runs through the reference interpreter and, compiled
//!   to WebAssembly, through the wasmtime host: the same decision JSON byte for byte, or the
//!   same refusal of the facts.
//! - Random well-typed facts (`common::arb`) for the shipped rules give the same decision in
//!   both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::OnceLock;

use blastwall_interp::{Facts, Interpreter};
use proptest::prelude::*;

fn engine() -> &'static blastwall_runtime::Engine {
    static ENGINE: OnceLock<blastwall_runtime::Engine> = OnceLock::new();
    // A key of this process's own seals the artifacts the precompiled tests make and load.
    ENGINE.get_or_init(|| {
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig {
            artifact_key: Some(blastwall_runtime::ArtifactKey::generate().unwrap()),
            ..Default::default()
        })
        .unwrap()
    })
}

fn sources(dir: &Path) -> Vec<blastwall_check::SourceFile> {
    common::files_with(dir, "bw")
        .into_iter()
        .map(|p| blastwall_check::SourceFile {
            path: p.file_name().unwrap().to_string_lossy().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect()
}

/// Both engines for one policy.
struct Both {
    interp: Interpreter,
    module: blastwall_runtime::Policy,
    /// The compiled module.
    wasm: Vec<u8>,
}

impl Both {
    fn new(files: Vec<blastwall_check::SourceFile>) -> Both {
        let checked = blastwall_check::check(files);
        Both::new_from(checked.policy.expect("the policy checks"))
    }

    fn new_from(policy: blastwall_check::Policy) -> Both {
        let wasm = blastwall_compile::compile(&policy).unwrap();
        let module = engine().load(&wasm).unwrap().policy();
        Both {
            interp: Interpreter::new(policy).unwrap(),
            module,
            wasm,
        }
    }

    /// (interpreter, module): the decision JSON, or the error text for refused facts.
    fn decide(&self, facts: &serde_json::Value) -> (String, String) {
        let expected = match Facts::from_json(self.interp.policy(), facts) {
            Ok(f) => self.interp.evaluate(&f).to_json_pretty(),
            Err(e) => format!("refused: {e}"),
        };
        (expected, module_answer(&self.module, facts))
    }
}

/// A module's decision JSON, or the error text for refused facts, as [`Both::decide`] gives it.
fn module_answer(policy: &blastwall_runtime::Policy, facts: &serde_json::Value) -> String {
    match policy.evaluate_json(facts) {
        Ok(d) => d.to_json_pretty(),
        Err(blastwall_runtime::EvalError::Facts(e)) => format!("refused: {e}"),
        Err(e) => format!("module error: {e}"),
    }
}

#[test]
fn every_decide_case_agrees_in_both_hosts() {
    let root = common::cases_dir("decide");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    for dir in &dirs {
        let both = Both::new(sources(dir));
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap())
                .unwrap();
        let (expected, actual) = both.decide(&facts);
        if expected != actual {
            failures.push(format!(
                "{}:\ninterpreter:\n{expected}\nmodule:\n{actual}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(dirs.len() >= 19, "the decide cases are missing");
}

#[test]
fn every_language_example_agrees_on_its_test_facts() {
    // docs/language.md has an example of every construct, each with tests: their facts,
    // decided by the example's rules in both hosts.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md"))
            .unwrap();
    let mut lines = text.lines().enumerate();
    let (mut examples, mut decided) = (0, 0);
    let mut failures = Vec::new();
    while let Some((n, line)) = lines.next() {
        if line.trim() != "```bw" {
            continue;
        }
        let mut src = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            src.push_str(l);
            src.push('\n');
        }
        let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
            path: format!("language.md:{}", n + 1),
            text: src,
        }]);
        let Some(policy) = checked.policy else {
            continue;
        };
        if policy.tests.is_empty() {
            continue;
        }
        examples += 1;
        let tests = policy.tests.clone();
        let both = Both::new_from(policy);
        // The example's own test facts, then random ones.
        let random: Vec<serde_json::Value> = {
            use proptest::strategy::ValueTree;
            use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &[n as u8; 32]),
            );
            let strategy = common::arb::facts();
            (0..40)
                .map(|_| strategy.new_tree(&mut runner).unwrap().current())
                .collect()
        };
        let facts = tests.iter().map(|t| (t.name.clone(), t.facts.clone()));
        let random = random.into_iter().map(|f| (format!("random {f}"), f));
        for (name, f) in facts.chain(random) {
            let (expected, actual) = both.decide(&f);
            decided += 1;
            if expected != actual {
                failures.push(format!(
                    "language.md:{} `{name}`:\ninterpreter:\n{expected}\nmodule:\n{actual}",
                    n + 1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        examples >= 10 && decided >= 400,
        "{examples} examples, {decided} facts"
    );
}

fn shipped() -> &'static Both {
    static SHIPPED: OnceLock<Both> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        Both::new(sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        ))
    })
}

#[test]
fn shipped_rules_agree_on_their_own_test_facts() {
    // The facts of every `test` block of the shipped rules, decided by the whole library.
    let both = shipped();
    let mut n = 0;
    for t in &both.interp.policy().tests {
        let (expected, actual) = both.decide(&t.facts);
        assert_eq!(expected, actual, "test `{}`", t.name);
        n += 1;
    }
    assert!(n > 50, "only {n} test facts");
}

#[test]
fn blast_radius_walks_agree_at_every_size_of_a_chain() {
    // The walk's buckets once had one entry written past their end: harmless until they
    // ended exactly at the end of memory, which some size of topology always reaches. Every
    // size up to 160 nodes is decided by both hosts, with and without a depth that cuts the
    // walk short.
    let both = shipped();
    for n in 1..=160usize {
        let nodes: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "name": format!("service-number-{i}"),
                    "tier": 1 + (i % 3),
                    "owner": format!("@org/team-{}", i % 5),
                    "depends_on": if i == 0 { vec![] } else { vec![format!("service-number-{}", i - 1)] },
                })
            })
            .collect();
        for config in [
            None,
            Some(serde_json::json!({"blast_depth": 2, "max_dependents": 1})),
        ] {
            let mut facts = serde_json::json!({
                "change": {"services": ["service-number-0"]},
                "topology": {"nodes": nodes},
            });
            if let Some(c) = &config {
                facts["config"] = c.clone();
            }
            let (expected, actual) = both.decide(&facts);
            assert_eq!(expected, actual, "{n} nodes, config {config:?}");
            assert!(!actual.starts_with("module error"), "{n} nodes: {actual}");
        }
    }
}

#[test]
fn precompiled_shipped_rules_agree_from_bytes_and_from_a_file() {
    // The code and the pattern tables come from the artifact: in memory (copied into a sealed
    // in-memory file on Linux) and memory-mapped from a file.
    let both = shipped();
    let artifact = engine().precompile(&both.wasm).unwrap();
    let from_bytes = engine().load_precompiled(&artifact).unwrap().policy();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipped.bwc");
    std::fs::write(&path, &artifact).unwrap();
    // SAFETY: the file is this test's own, and nothing writes it while the module lives.
    #[allow(unsafe_code)]
    let from_file = unsafe { engine().load_precompiled_file(&path) }
        .unwrap()
        .policy();
    let mut n = 0;
    for t in &both.interp.policy().tests {
        let (expected, _) = both.decide(&t.facts);
        for (how, policy) in [("bytes", &from_bytes), ("file", &from_file)] {
            let actual = module_answer(policy, &t.facts);
            assert_eq!(expected, actual, "test `{}` from {how}", t.name);
        }
        n += 1;
    }
    assert!(n > 50, "only {n} test facts");

    // Loading reads the artifact's copy of the metadata without docs; the docs come from the
    // whole copy when asked for, and match the module's.
    let compiled = engine().load(&both.wasm).unwrap();
    for loaded in [from_bytes.module(), from_file.module()] {
        assert_eq!(loaded.metadata(), compiled.metadata());
    }
    assert!(
        compiled.metadata().rules.iter().all(|r| !r.doc.is_empty()),
        "every shipped rule has a doc"
    );
    // Parameters reach the encoder of a precompiled module: a config is checked against them.
    let config = |v: serde_json::Value| v.as_object().cloned().unwrap();
    let bad = config(serde_json::json!({"production_paths": 3}));
    assert!(from_bytes.with_config(&bad).is_err());
    let good = config(serde_json::json!({"production_paths": ["srv/**"]}));
    assert!(from_file.with_config(&good).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn shipped_rules_agree_on_random_facts(facts in common::arb::facts()) {
        let (expected, actual) = shipped().decide(&facts);
        prop_assert_eq!(&expected, &actual, "facts: {}", facts);
        // Again into one `Decision` reused across every case, holding whatever the case
        // before left in it: more or fewer findings, reviews, absent or present fields.
        let again = REUSED.with_borrow_mut(|reused| {
            let (session, decision) = reused.get_or_insert_with(|| {
                let session = shipped().module.session().unwrap();
                (session, blastwall_abi::decision::Decision {
                    outcome: blastwall_abi::decision::Outcome::Allow,
                    findings: Vec::new(),
                    reviews: Vec::new(),
                })
            });
            match session.evaluate_json_into(&facts, decision) {
                Ok(()) => decision.to_json_pretty(),
                Err(blastwall_runtime::EvalError::Facts(e)) => {
                    // A refusal leaves a decision that fails closed.
                    assert_eq!(decision.outcome, blastwall_abi::decision::Outcome::Deny);
                    assert!(decision.findings.is_empty() && decision.reviews.is_empty());
                    format!("refused: {e}")
                }
                Err(e) => format!("module error: {e}"),
            }
        });
        prop_assert_eq!(expected, again, "facts, deciding into a reused decision: {}", facts);
    }
}

thread_local! {
    /// A session and the decision it decides into, kept from one random case to the next.
    static REUSED: std::cell::RefCell<
        Option<(blastwall_runtime::Session, blastwall_abi::decision::Decision)>,
    > = const { std::cell::RefCell::new(None) };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// A topology kept in the instances' reserved memory (`Policy::with_topology`) decides as
    /// the same topology carried by the facts, and a topology in the facts replaces it.
    #[test]
    fn a_resident_topology_decides_as_one_in_the_facts(
        facts in common::arb::facts(),
        other in common::arb::record(&blastwall_abi::schema::TOPOLOGY, 0),
    ) {
        let both = shipped();
        let serde_json::Value::Object(mut rest) = facts.clone() else {
            panic!("facts are an object");
        };
        let resident = rest.remove("topology").unwrap_or_else(|| other.clone());
        let policy = both.module.with_topology(&resident).unwrap();
        let rest = serde_json::Value::Object(rest);
        let mut full = rest.clone();
        full["topology"] = resident.clone();
        let (expected, _) = both.decide(&full);
        let actual = answer(policy.evaluate_json(&rest));
        prop_assert_eq!(&expected, &actual, "facts: {}", full);
        // The same through a session's encoded facts.
        let mut session = policy.session().unwrap();
        let encoded = session.encode(&rest).unwrap();
        let again = session.evaluate_encoded(&encoded).unwrap().to_json_pretty();
        prop_assert_eq!(&expected, &again);
        // The facts' own topology wins over the resident one.
        let mut mine = rest.clone();
        mine["topology"] = other.clone();
        let (expected, _) = both.decide(&mine);
        let actual = answer(policy.evaluate_json(&mine));
        prop_assert_eq!(expected, actual, "facts: {}", mine);
    }
}

#[test]
fn a_resident_topology_is_checked_when_it_is_set() {
    let both = shipped();
    let bad = serde_json::json!({"nodes": [{"name": "a", "tier": "one"}]});
    let err = both.module.with_topology(&bad).unwrap_err().to_string();
    assert!(err.contains("topology.nodes[0].tier"), "{err}");
    let unknown = serde_json::json!({"nodes": [], "edges": []});
    let err = both.module.with_topology(&unknown).unwrap_err().to_string();
    assert!(err.contains("edges"), "{err}");
    // Parameters and a topology are kept together, whichever is set first.
    let topology = serde_json::json!({"nodes": [
        {"name": "svc-0", "tier": 1, "owner": "@org/a"},
        {"name": "svc-1", "tier": 3, "owner": "@org/b", "depends_on": ["svc-0"]},
    ]});
    let config = serde_json::json!({"blast_depth": 1, "critical_tier": 3});
    let config = config.as_object().unwrap();
    let facts = serde_json::json!({"change": {"services": ["svc-0"]}});
    let mut full = facts.clone();
    full["topology"] = topology.clone();
    full["config"] = serde_json::Value::Object(config.clone());
    let (expected, _) = both.decide(&full);
    assert!(expected.contains("blast_radius_review"), "{expected}");
    for policy in [
        both.module
            .with_config(config)
            .unwrap()
            .with_topology(&topology)
            .unwrap(),
        both.module
            .with_topology(&topology)
            .unwrap()
            .with_config(config)
            .unwrap(),
    ] {
        // Decisions in a row reuse the instance, and the module must leave the resident
        // topology as it found it.
        for _ in 0..3 {
            assert_eq!(
                policy.evaluate_json(&facts).unwrap().to_json_pretty(),
                expected
            );
        }
        let mut session = policy.session().unwrap();
        let encoded = session.encode(&facts).unwrap();
        for _ in 0..3 {
            let d = session.evaluate_encoded(&encoded).unwrap();
            assert_eq!(d.to_json_pretty(), expected);
        }
    }
}

/// The random facts reach the rules: many decisions have findings, and most rules fire on some
/// of them (otherwise agreeing on them would prove little).
#[test]
fn random_facts_make_most_shipped_rules_fire() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = common::arb::facts();
    let both = shipped();
    let mut fired = std::collections::BTreeSet::new();
    let (mut decided, mut with_findings) = (0, 0);
    for _ in 0..300 {
        let facts = strategy.new_tree(&mut runner).unwrap().current();
        let Ok(d) = both.module.evaluate_json(&facts) else {
            continue;
        };
        decided += 1;
        if !d.findings.is_empty() {
            with_findings += 1;
        }
        fired.extend(
            d.findings
                .iter()
                .filter(|f| !f.error)
                .map(|f| f.rule.clone()),
        );
    }
    let rules = both.interp.policy().rules.len();
    assert!(
        decided > 200,
        "only {decided} of 300 random facts were accepted"
    );
    assert!(
        with_findings > 100,
        "only {with_findings} decisions had findings"
    );
    assert!(
        fired.len() * 3 >= rules * 2,
        "only {} of {rules} rules fired on random facts: {fired:?}",
        fired.len()
    );
}

/// One field of each finding of a decision given as JSON (`Both::decide`'s text).
fn findings_field(decision: &str, field: &str) -> Vec<String> {
    let d: serde_json::Value = serde_json::from_str(decision).unwrap();
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[field].as_str().unwrap().to_string())
        .collect()
}

/// A module's decision as JSON, or its error.
fn answer(r: Result<blastwall_abi::decision::Decision, blastwall_runtime::EvalError>) -> String {
    match r {
        Ok(d) => d.to_json_pretty(),
        Err(e) => format!("error: {e}"),
    }
}

fn globs() -> &'static Both {
    static GLOBS: OnceLock<Both> = OnceLock::new();
    GLOBS.get_or_init(|| {
        Both::new(vec![blastwall_check::SourceFile {
            path: "globs.bw".into(),
            text: r#"
param pats: [str] = ["a/**", "*.b", "/a/./b", ".a", "a/", "**/a/**/b", "é*", "[a.]?/b"]
rule by_param {
    level advisory
    when some f in change.files: f.path matches config.pats
    warn "{f.path}"
}
rule by_literal {
    level advisory
    when some f in change.files: f.path matches "a/*/b" or f.path matches "**/.."
    warn "{f.path}"
}
"#
            .into(),
        }])
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The module normalises paths (empty and `.` segments dropped) as `Glob::matches` does.
    #[test]
    fn path_normalisation_agrees(paths in proptest::collection::vec(
        proptest::collection::vec(proptest::sample::select(&["a", "b", ".", "/", "é", ".b", ".."][..]), 0..7)
            .prop_map(|parts| parts.concat()),
        1..6,
    )) {
        let files: Vec<serde_json::Value> =
            paths.iter().map(|p| serde_json::json!({"path": p})).collect();
        let facts = serde_json::json!({"change": {"files": files}});
        let (expected, actual) = globs().decide(&facts);
        prop_assert_eq!(expected, actual, "facts: {}", facts);
    }
}

fn filtered_globs() -> &'static Both {
    static GLOBS: OnceLock<Both> = OnceLock::new();
    GLOBS.get_or_init(|| {
        Both::new(vec![blastwall_check::SourceFile {
            path: "filtered.bw".into(),
            text: r#"
param dirs: [str] = ["**/migrations/**", "*.tf", "CODEOWNERS", "docs/**", "**/tests/**", "é*é"]
param more: [str] = ["*.md", "**/ab/**", "ba*", "xa?yb/**"]
rule dirs {
    level advisory
    when some f in change.files: f.path matches config.dirs
    warn "{f.path}"
}
rule more {
    level advisory
    when some f in change.files: f.path matches config.more and not (f.path matches config.dirs)
    warn "{f.path}"
}
rule lowered {
    level advisory
    when some f in change.files: lower(f.path) matches config.dirs or (f.previous_path ?? "") matches config.more
    warn "{f.path}"
}
rule literal {
    level advisory
    when some f in change.files: f.path matches "**/ab*cd/*.rs"
    warn "{f.path}"
}
"#
            .into(),
        }])
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Paths built from the lists' literals and their near misses, decided several in a row by
    /// one module instance: the literal filters never refuse a path a glob matches, and a
    /// subject's cached mask never outlives its evaluation (the same input address holds
    /// another path in the next one).
    #[test]
    fn literal_filters_agree_with_the_interpreter(changes in proptest::collection::vec(
        proptest::collection::vec(
            proptest::collection::vec(proptest::sample::select(&[
                "migrations", "Migrations", "migration", "tests", "test", "docs", "doc", "a.tf",
                "tf", "CODEOWNERS", "codeowners", "a.md", "md", "ab", "ba", "bad",
                "ab_cd", "abxcd", "x.rs", "xazyb", "xayb", "é", "éaé", ".", "",
            ][..]), 1..5).prop_map(|parts| parts.join("/")),
            1..5,
        ),
        1..4,
    )) {
        for paths in changes {
            let files: Vec<serde_json::Value> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| if i % 2 == 0 {
                    serde_json::json!({"path": p})
                } else {
                    serde_json::json!({"path": p, "previous_path": paths[0]})
                })
                .collect();
            let facts = serde_json::json!({"change": {"files": files}});
            let (expected, actual) = filtered_globs().decide(&facts);
            prop_assert_eq!(expected, actual, "facts: {}", facts);
        }
    }
}

#[test]
fn the_filtered_lists_have_filters_and_still_match() {
    // The test above means something only if the lists are filtered.
    for list in [
        vec![
            "**/migrations/**",
            "*.tf",
            "CODEOWNERS",
            "docs/**",
            "**/tests/**",
            "é*é",
        ],
        vec!["*.md", "**/ab/**", "ba*", "xa?yb/**"],
    ] {
        let dfas = blastwall_abi::dfa::glob_list_dfas(&list).unwrap();
        assert!(dfas.iter().all(|d| !d.filters().is_empty()), "{list:?}");
    }
    let facts = serde_json::json!({"change": {"files": [
        {"path": "svc/migrations/1.sql"}, {"path": "svc/src/x.rs"}, {"path": "Docs/ab/cd.md"},
        {"path": "q/abxcd/x.rs", "previous_path": "ba/x"}, {"path": "éaé"},
    ]}});
    let (expected, actual) = filtered_globs().decide(&facts);
    assert_eq!(expected, actual);
    assert_eq!(
        findings_field(&actual, "message"),
        [
            "svc/migrations/1.sql",
            "éaé",
            "Docs/ab/cd.md",
            "svc/migrations/1.sql",
            "Docs/ab/cd.md",
            "q/abxcd/x.rs",
            "éaé",
            "q/abxcd/x.rs",
        ],
        "{actual}"
    );
}

#[test]
fn the_wide_tables_case_has_tables_of_both_entry_sizes() {
    // `cases/decide/wide-tables` runs the module's walk of 4-byte entries (its own tables and
    // a host's) beside that of 2-byte ones only if its patterns compile to both.
    use blastwall_abi::dfa::{glob_dfa, glob_list_dfas, regex_dfa};
    let glob = blastwall_abi::glob::Glob::new("*a????????????").unwrap();
    assert_eq!(glob_dfa(&glob).unwrap().entry_size(), 4);
    assert_eq!(regex_dfa("a.{9}$").unwrap().entry_size(), 4);
    assert_eq!(regex_dfa("^notes/").unwrap().entry_size(), 2);
    let param: Vec<u32> = glob_list_dfas(&["*a????????????", "docs/**"])
        .unwrap()
        .iter()
        .map(|d| d.entry_size())
        .collect();
    assert!(param.contains(&4), "{param:?}");
    let facts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/decide/wide-tables/facts.json"),
    )
    .unwrap();
    assert!(facts.contains(r#""names": ["*a????????????", "docs/**"]"#));
}

#[test]
fn a_config_glob_too_large_to_compile_is_refused_by_both_hosts() {
    // A host compiles a glob parameter's patterns when they are given, and refuses a list it
    // cannot compile (docs/abi.md, Patterns); the interpreter must refuse the same facts.
    let too_large = format!("*a{}", "?".repeat(14));
    let cases = [
        (serde_json::json!([too_large]), true),
        (serde_json::json!(["a/**", too_large]), true),
        // A union with `**` would be small whatever else it holds; the pattern is refused
        // all the same, so that no host's grouping decides.
        (serde_json::json!(["**", too_large]), true),
        // Patterns after an invalid one are dropped, and never compiled.
        (serde_json::json!(["[z-a]", too_large]), false),
    ];
    for (pats, refused) in cases {
        let facts = serde_json::json!({
            "change": {"files": [{"path": "a/b"}]},
            "config": {"pats": pats},
        });
        let (expected, actual) = globs().decide(&facts);
        assert_eq!(expected, actual, "{pats}");
        assert_eq!(actual.starts_with("refused: "), refused, "{pats}: {actual}");
        if refused {
            assert!(
                actual.contains("`config.pats`") && actual.contains("larger than the limit"),
                "{actual}"
            );
        }
    }
}

#[test]
fn a_config_glob_list_too_costly_to_compile_is_refused_by_both_hosts() {
    // Ten globs like `*a*b*c…` of a thousand letters have small automata whose states are
    // large sets: such a list compiled, in ten seconds. The work of a whole list is bounded
    // (`dfa::MAX_WORK`), so such facts are now refused, by both hosts alike.
    let mut seed = 7u32;
    let mut letter = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        char::from(b'a' + (seed >> 16) as u8 % 8)
    };
    let costly: Vec<String> = (0..10)
        .map(|_| {
            let letters: Vec<String> = (0..1000).map(|_| letter().to_string()).collect();
            format!("*{}*", letters.join("*"))
        })
        .collect();
    let facts = serde_json::json!({
        "change": {"files": [{"path": "a/b"}]},
        "config": {"pats": costly},
    });
    let (expected, actual) = globs().decide(&facts);
    assert_eq!(expected, actual);
    assert!(
        actual.starts_with("refused: `config.pats`: pattern `*")
            && actual.ends_with("takes more than the limit of 50000000 steps to compile"),
        "{}",
        actual.get(..300).unwrap_or(&actual)
    );
    // A long list of the usual kinds of path globs compiles.
    let usual: Vec<String> = (0..500)
        .map(|i| match i % 4 {
            0 => format!("services/svc{i}/**"),
            1 => format!("**/dir{i}/**"),
            2 => format!("*.ext{i}"),
            _ => format!("apps/*/src{i}/*.rs"),
        })
        .collect();
    let facts = serde_json::json!({
        "change": {"files": [{"path": "services/svc4/x"}]},
        "config": {"pats": usual},
    });
    let (expected, actual) = globs().decide(&facts);
    assert_eq!(expected, actual);
    assert!(!actual.starts_with("refused"), "{actual}");
}

#[test]
fn unusual_paths_match_after_normalisation_in_both_hosts() {
    let facts = serde_json::json!({"change": {"files": [
        {"path": "./a//x/b"}, {"path": "/a/./b/"}, {"path": "."}, {"path": "x/../y"}, {"path": "éa"},
    ]}});
    let (expected, actual) = globs().decide(&facts);
    assert_eq!(expected, actual);
    let messages = findings_field(&actual, "message");
    assert_eq!(
        messages,
        ["./a//x/b", "/a/./b/", "éa", "./a//x/b", "x/../y"],
        "{actual}"
    );
}

#[test]
fn case_mapping_of_long_strings_agrees_with_ascii_folding() {
    // The module scans eight bytes at a time for a byte to change: put one (or a byte next to
    // a letter's range, or a non-ASCII letter) at every position of strings around the word
    // size, and check both hosts against Rust's ASCII folding.
    let both = Both::new(vec![blastwall_check::SourceFile {
        path: "fold.bw".into(),
        text: r#"
rule folds {
    level advisory
    when some c in action.commands: true
    warn "{c.env}:{lower(c.program)}|{upper(c.program)}"
}
"#
        .into(),
    }]);
    let mut checked = 0;
    for len in [1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 33] {
        for odd in [
            'A', 'Z', 'a', 'z', '@', '[', '`', '{', 'É', 'é', '\u{c1}', '\u{fa}',
        ] {
            let subjects: Vec<String> = (0..len)
                .flat_map(|at| {
                    let put = |fill: char| -> String {
                        (0..len).map(|k| if k == at { odd } else { fill }).collect()
                    };
                    [put('m'), put('M')]
                })
                .collect();
            // A rule reports at most 20 findings, so 20 subjects per decision.
            for batch in subjects.chunks(20) {
                let commands: Vec<serde_json::Value> = batch
                    .iter()
                    .enumerate()
                    .map(|(k, s)| serde_json::json!({"program": s, "env": k.to_string()}))
                    .collect();
                let facts = serde_json::json!({"action": {"commands": commands}});
                let (expected, actual) = both.decide(&facts);
                assert_eq!(expected, actual, "length {len}, {odd}");
                let messages = findings_field(&actual, "message");
                let wanted: Vec<String> = batch
                    .iter()
                    .enumerate()
                    .map(|(k, s)| {
                        format!("{k}:{}|{}", s.to_ascii_lowercase(), s.to_ascii_uppercase())
                    })
                    .collect();
                assert_eq!(messages, wanted, "length {len}, {odd}");
            }
            checked += subjects.len();
        }
    }
    assert_eq!(
        checked,
        2 * 12 * (1 + 7 + 8 + 9 + 15 + 16 + 17 + 23 + 24 + 25 + 33)
    );
}

#[test]
fn membership_in_a_lower_cased_comprehension_agrees() {
    // `lower(x) in [lower(t) for t in …]` is compiled as a loop that compares without building
    // the list, and stops at the first match; with a filter, and with a map that is not a bare
    // `lower` (which takes the general path), both hosts must still agree.
    let both = Both::new(vec![blastwall_check::SourceFile {
        path: "member.bw".into(),
        text: r#"
rule plain {
    level advisory
    when some a in change.approvals: lower(change.author) in [lower(t) for t in a.teams]
    warn "plain {a.by}"
}
rule filtered {
    level advisory
    when some a in change.approvals: lower(change.author) in [lower(t) for t in a.teams where t != "@Skip"]
    warn "filtered {a.by}"
}
rule prefixed {
    level advisory
    when some a in change.approvals: lower(change.author) in [lower("@" + t) for t in a.teams]
    warn "prefixed {a.by}"
}
"#
        .into(),
    }]);
    let cases: [(&str, &[&str], &[&str]); 7] = [
        ("Bob", &["x", "BOB"], &["plain", "filtered"]),
        ("bob", &[], &[]),
        ("@skip", &["@Skip"], &["plain"]),
        ("@skip", &["@Skip", "@SKIP"], &["plain", "filtered"]),
        ("@Bob", &["bob"], &["prefixed"]),
        (
            "ÉMILE",
            &["émile", "Émile", "ÉMILE"],
            &["plain", "filtered"],
        ),
        ("", &[""], &["plain", "filtered"]),
    ];
    for (author, teams, fired) in cases {
        let facts = serde_json::json!({"change": {"author": author, "approvals": [{"by": "x", "teams": teams}]}});
        let (expected, actual) = both.decide(&facts);
        assert_eq!(expected, actual, "{author} in {teams:?}");
        let rules = findings_field(&actual, "rule");
        assert_eq!(rules, fired, "{author} in {teams:?}");
    }
}

#[test]
fn case_insensitive_comparisons_agree() {
    let both = Both::new(vec![blastwall_check::SourceFile {
        path: "case.bw".into(),
        text: r#"
rule same_person {
    level advisory
    when some a in change.approvals: lower(a.by) == lower(change.author)
    warn "{a.by} is {change.author}"
}
rule other_person {
    level advisory
    when some a in change.approvals: lower(a.by) != lower(change.author)
    warn "{a.by} is not {change.author}"
}
"#
        .into(),
    }]);
    let mut fired = 0;
    for (by, author) in [
        ("Bob", "bOB"),
        ("ÉMILE", "émile"),
        ("alice", "alice2"),
        ("", ""),
        ("[Z]", "[z]"),
        ("@x", "@X"),
    ] {
        let facts = serde_json::json!({"change": {"author": author, "approvals": [{"by": by}]}});
        let (expected, actual) = both.decide(&facts);
        assert_eq!(expected, actual, "{by} / {author}");
        fired += usize::from(actual.contains("same_person"));
    }
    // Bob/bOB, the empty pair, [Z]/[z] and @x/@X are the same under ASCII folding; ÉMILE is not.
    assert_eq!(fired, 4);
}
