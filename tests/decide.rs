//! Decision cases: `tests/cases/decide/NAME/` holds `policy.bw` (one or more `.bw` files),
//! `facts.json`, and the expected `decision.json` — or `error.txt` when the facts must be
//! refused. These cases are the conformance suite every host must pass.
//! `BLESS=1 cargo test --test decide` rewrites the expectations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use blastwall::{Policy, Source};

fn run(dir: &std::path::Path) -> (String, &'static str) {
    let sources: Vec<Source> = common::files_with(dir, "bw")
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            Source::new(name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    let policy = match Policy::compile(sources) {
        Ok(p) => p,
        Err(blastwall::Error::Invalid { rendered, .. }) => {
            panic!("{}: policy does not check:\n{rendered}", dir.display())
        }
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    match policy.evaluate_json(&facts) {
        Ok(d) => {
            // Determinism: the same facts give byte-identical JSON.
            let again = policy.evaluate_json(&facts).unwrap();
            assert_eq!(d.to_json_pretty(), again.to_json_pretty());
            (d.to_json_pretty() + "\n", "decision.json")
        }
        Err(e) => (format!("{e}\n"), "error.txt"),
    }
}

#[test]
fn decide_cases() {
    let root = common::cases_dir("decide");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    for dir in &dirs {
        let (actual, file) = run(dir);
        let other = if file == "decision.json" {
            "error.txt"
        } else {
            "decision.json"
        };
        if dir.join(other).exists() && std::env::var("BLESS").is_err() {
            failures.push(format!(
                "{}: expected {other}, but the run produced {file}:\n{actual}",
                dir.display()
            ));
            continue;
        }
        if let Err(e) = common::expect_file(&dir.join(file), &actual) {
            failures.push(e);
        }
    }
    common::report(failures, dirs.len());
}
