//! `fuzz/Cargo.lock` is the root lock plus the fuzzing harness: every package the two share is
//! at the same version, so the fuzzers exercise the wasmtime, cranelift, gix and regex builds
//! that ship, and what is only in the fuzz lock is libfuzzer-sys and what it alone needs.
//!
//! After `cargo update` at the root: `cp Cargo.lock fuzz/Cargo.lock && cargo metadata
//! --manifest-path fuzz/Cargo.toml --format-version 1 > /dev/null`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Name → versions of every package in a lock file, and name → dependency names.
type Lock = (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, Vec<String>>,
);

/// The packages of a lock file, read line by line: a lock is `[[package]]` tables of `name`,
/// `version` and a `dependencies` list of `"name"` or `"name version"` strings, one per line.
fn read_lock(path: &Path) -> Lock {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = String::new();
    let quoted = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(" = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .map(str::to_string)
    };
    for line in text.lines() {
        if let Some(n) = quoted(line, "name") {
            name = n;
        } else if let Some(v) = quoted(line, "version") {
            versions.entry(name.clone()).or_default().insert(v);
        } else if let Some(dep) = line
            .strip_prefix(" \"")
            .and_then(|rest| rest.strip_suffix("\","))
        {
            let dep = dep.split(' ').next().unwrap_or(dep).to_string();
            deps.entry(name.clone()).or_default().push(dep);
        }
    }
    assert!(
        versions.len() > 10,
        "{} does not read as a lock",
        path.display()
    );
    (versions, deps)
}

#[test]
fn the_fuzz_lock_is_the_root_lock_plus_the_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (shipped, _) = read_lock(&root.join("Cargo.lock"));
    let (fuzz, deps) = read_lock(&root.join("fuzz/Cargo.lock"));
    // What only the harness brings: libfuzzer-sys and everything reachable from it.
    let mut harness = BTreeSet::from(["blastwall-fuzz".to_string()]);
    let mut todo = vec!["libfuzzer-sys".to_string()];
    while let Some(name) = todo.pop() {
        if harness.insert(name.clone()) {
            todo.extend(deps.get(&name).cloned().unwrap_or_default());
        }
    }
    let mut wrong = Vec::new();
    for (name, versions) in &fuzz {
        match shipped.get(name) {
            Some(v) if v.is_superset(versions) => {}
            Some(v) => wrong.push(format!("{name}: fuzz {versions:?}, shipped {v:?}")),
            None if harness.contains(name) => {}
            None => wrong.push(format!("{name} {versions:?} is in the fuzz lock only")),
        }
    }
    assert!(
        wrong.is_empty(),
        "fuzz/Cargo.lock is out of step with Cargo.lock (see this test's header):\n{}",
        wrong.join("\n")
    );
    // The product's engine is in the fuzz lock at all.
    for name in ["wasmtime", "cranelift-codegen", "gix", "regex-automata"] {
        assert!(fuzz.contains_key(name), "{name} is not in the fuzz lock");
    }
}
