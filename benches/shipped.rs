//! One decision of the shipped rules on a typical change: issue 3's targets (≤ 300 ns with
//! facts already encoded, ≤ 2 µs from a `serde_json::Value`), with the reference interpreter
//! beside them. See `benches/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod typical;

use std::hint::black_box;

use blastwall_interp::{Facts, Interpreter};
use criterion::{Criterion, criterion_group, criterion_main};

fn shipped_policy() -> blastwall_check::Policy {
    let sources = blastwall::embedded_rules()
        .into_iter()
        .map(|s| blastwall_check::SourceFile {
            path: s.path,
            text: s.text,
        })
        .collect();
    blastwall_check::check(sources).policy.unwrap()
}

fn shipped(c: &mut Criterion) {
    let json = typical::typical_change();
    let ir = shipped_policy();
    let wasm = blastwall_compile::compile(&ir).unwrap();
    let engine =
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig::default()).unwrap();
    let module = engine.load(&wasm).unwrap();
    let floor = PathsFloor::new(&module.metadata().params);
    let policy = module.policy();
    let mut session = policy.session().unwrap();
    let encoded = session.encode(&json).unwrap();
    let interp = Interpreter::new(ir).unwrap();
    let facts = Facts::from_json(interp.policy(), &json).unwrap();

    // The module and the interpreter agree on what is timed, and the decision is not trivial.
    let decision = session.evaluate_encoded(&encoded).unwrap();
    assert_eq!(decision, interp.evaluate(&facts));
    assert!(
        !decision.findings.is_empty(),
        "{}",
        decision.to_json_pretty()
    );

    let mut g = c.benchmark_group("shipped");
    g.bench_function("module_encoded", |b| {
        b.iter(|| session.evaluate_encoded(black_box(&encoded)).unwrap())
    });
    // The same into one `Decision` kept across iterations (`Session::evaluate_encoded_into`),
    // as a host deciding many times in a row can: its strings and vectors are reused.
    let mut reused = decision.clone();
    g.bench_function("module_encoded_into", |b| {
        b.iter(|| {
            session
                .evaluate_encoded_into(black_box(&encoded), &mut reused)
                .unwrap()
        })
    });
    assert_eq!(reused, decision);
    g.bench_function("module_json", |b| {
        b.iter(|| session.evaluate_json(black_box(&json)).unwrap())
    });
    g.bench_function("module_json_into", |b| {
        b.iter(|| {
            session
                .evaluate_json_into(black_box(&json), &mut reused)
                .unwrap()
        })
    });
    assert_eq!(reused, decision);
    // The host's part of `module_json` alone: the facts checked and encoded, not decided.
    g.bench_function("encode", |b| {
        b.iter(|| session.encode(black_box(&json)).unwrap())
    });
    // The topology kept in the instance (`Policy::with_topology`), as a proxy deciding many
    // changes against one service graph would: the facts carry the change only.
    let resident = policy.with_topology(&json["topology"]).unwrap();
    let mut resident_session = resident.session().unwrap();
    let change_only = serde_json::json!({"change": json["change"]});
    assert_eq!(
        resident_session.evaluate_json(&change_only).unwrap(),
        decision
    );
    g.bench_function("module_json_resident_topology", |b| {
        b.iter(|| {
            resident_session
                .evaluate_json(black_box(&change_only))
                .unwrap()
        })
    });
    g.bench_function("interp", |b| b.iter(|| interp.evaluate(black_box(&facts))));

    // Floors: parts of the work that any implementation of these rules does, done natively.
    let paths: Vec<String> = json["change"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    // Sanity: the floor does real work on these paths: some (path, list) pairs match, and
    // not all of them.
    let hits = floor.classify(&paths);
    assert!(hits > 0 && hits < paths.len() * PATH_LISTS.len(), "{hits}");
    g.bench_function("native_paths_floor", |b| {
        b.iter(|| floor.classify(black_box(&paths)))
    });
    g.bench_function("native_json_walk_floor", |b| {
        b.iter(|| json_walk(black_box(&json)))
    });
    g.finish();
}

/// The path lists the rules that read the typical change match each changed path against, the
/// first being `ai_review_exempt` (the rules of plans and agent actions have no document in it
/// and are not evaluated).
const PATH_LISTS: [&str; 8] = [
    "ai_review_exempt",
    "large_change_exempt",
    "production_paths",
    "ci_paths",
    "codeowners_paths",
    "iam_paths",
    "migration_paths",
    "policy_paths",
];

/// Classifying the changed paths natively, with the tables and literal filters the module
/// walks (`Dfa::is_match`, the mask of a path computed once): each path against every list of
/// [`PATH_LISTS`], and against `ai_always_review` where it is exempt from AI review, as the
/// rules ask. It leaves out the
/// rest of a decision (owners, approvals, the graph, messages), so it is below what any
/// implementation that matches paths when it decides can take.
struct PathsFloor {
    lists: Vec<Vec<blastwall_abi::dfa::Dfa>>,
    always: Vec<blastwall_abi::dfa::Dfa>,
}

impl PathsFloor {
    fn new(params: &[blastwall_abi::layout::ParamMeta]) -> PathsFloor {
        let tables = |name: &str| {
            let p = params.iter().find(|p| p.name == name).unwrap();
            assert!(p.glob, "{name} is not matched as globs");
            blastwall_abi::dfa::glob_list_dfas(&blastwall_abi::dfa::param_patterns(&p.default))
                .unwrap()
        };
        PathsFloor {
            lists: PATH_LISTS.iter().map(|n| tables(n)).collect(),
            always: tables("ai_always_review"),
        }
    }

    /// How many (path, list) pairs match. Each path's literal mask is computed once, as the
    /// module caches it; a table it passes is walked (`is_match` tests the filter again, and
    /// normalises the path without allocating when it is already normal).
    fn classify(&self, paths: &[String]) -> usize {
        use blastwall_abi::dfa::filter::{passes, subject_mask};
        let mut hits = 0;
        for p in paths {
            let mask = subject_mask(p.as_bytes());
            let matches = |list: &[blastwall_abi::dfa::Dfa]| {
                list.iter()
                    .any(|d| passes(d.filters(), mask) && d.is_match(p))
            };
            for (k, list) in self.lists.iter().enumerate() {
                if matches(list) {
                    hits += 1;
                    if k == 0 && matches(&self.always) {
                        hits += 1;
                    }
                }
            }
        }
        hits
    }
}

/// Visiting every value of the facts once, reading each string's length and each number:
/// less than checking them against the schema, which a host that takes JSON must do.
fn json_walk(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Null => 0,
        serde_json::Value::Bool(b) => u64::from(*b),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(1),
        serde_json::Value::String(s) => s.len() as u64,
        serde_json::Value::Array(xs) => xs.iter().map(json_walk).sum(),
        serde_json::Value::Object(m) => m.iter().map(|(k, x)| k.len() as u64 + json_walk(x)).sum(),
    }
}

criterion_group!(benches, shipped);
criterion_main!(benches);
