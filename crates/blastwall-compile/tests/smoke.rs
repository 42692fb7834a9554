//! Every policy in the repository compiles to a module that validates.
#![allow(clippy::expect_used)]

use std::path::Path;

fn sources_in(dir: &Path) -> Vec<blastwall_check::SourceFile> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "bw"))
        .map(|p| blastwall_check::SourceFile {
            path: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: std::fs::read_to_string(&p).unwrap_or_default(),
        })
        .collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
}

#[test]
fn shipped_rules_and_cases_compile() {
    let mut dirs = vec![root().join("rules")];
    if let Ok(rd) = std::fs::read_dir(root().join("tests/cases/decide")) {
        dirs.extend(rd.filter_map(Result::ok).map(|e| e.path()));
    }
    let mut failures = Vec::new();
    for dir in dirs {
        let checked = blastwall_check::check(sources_in(&dir));
        let Some(policy) = checked.policy else {
            continue;
        };
        match blastwall_compile::compile(&policy) {
            Ok(wasm) => {
                if std::env::var_os("BW_DUMP").is_some() {
                    let name = dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let _ = std::fs::write(format!("/tmp/bw-{name}.wasm"), &wasm);
                }
            }
            Err(e) => failures.push(format!("{}: {e}", dir.display())),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The shipped rules, checked, and their module.
fn shipped() -> (blastwall_check::Policy, Vec<u8>) {
    let checked = blastwall_check::check(sources_in(&root().join("rules")));
    let policy = checked.policy.expect("the shipped rules check");
    let wasm = blastwall_compile::compile(&policy).expect("they compile");
    (policy, wasm)
}

#[test]
fn the_shipped_rules_module_imports_nothing_and_carries_its_metadata() {
    let (policy, wasm) = shipped();
    let mut imports = 0;
    let mut metadata = None;
    let mut exports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload.expect("the module parses") {
            wasmparser::Payload::ImportSection(s) => imports += s.count(),
            wasmparser::Payload::ExportSection(s) => {
                for e in s {
                    exports.push(e.expect("an export").name.to_string());
                }
            }
            wasmparser::Payload::CustomSection(c) if c.name() == "blastwall" => {
                metadata = Some(c.data().to_vec());
            }
            _ => {}
        }
    }
    assert_eq!(imports, 0);
    for name in [
        "memory",
        "bw_abi_version",
        "bw_reserve",
        "bw_input",
        "bw_evaluate",
    ] {
        assert!(exports.iter().any(|e| e == name), "{name} in {exports:?}");
    }
    let meta: blastwall_abi::layout::Metadata =
        serde_json::from_slice(&metadata.expect("a metadata section")).expect("metadata JSON");
    assert_eq!(meta.abi, blastwall_abi::layout::ABI_VERSION);
    assert_eq!(meta.rules.len(), policy.rules.len());
    assert!(meta.graph, "the blast-radius rules walk the topology");
    assert!(meta.params.iter().any(|p| p.glob));
    assert_eq!(meta.digest.len(), 64);
}

#[test]
fn the_name_section_names_every_function() {
    let (policy, wasm) = shipped();
    let mut functions = 0;
    let mut names = std::collections::BTreeMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload.expect("the module parses") {
            wasmparser::Payload::FunctionSection(s) => functions = s.count(),
            wasmparser::Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(reader) = c.as_known() {
                    for sub in reader {
                        if let wasmparser::Name::Function(map) = sub.expect("a name subsection") {
                            for n in map {
                                let n = n.expect("a function name");
                                names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Every function has a name, and the exports, the walker and every rule are found by it.
    assert_eq!(names.len() as u32, functions, "{names:?}");
    let named = |n: &str| names.values().any(|v| v == n);
    for n in ["bw_evaluate", "bw_input", "dfa", "lower", "str_eq_ascii_ci"] {
        assert!(named(n), "{n} in {names:?}");
    }
    for rule in &policy.rules {
        assert!(named(&format!("rule {}", rule.name)), "rule {}", rule.name);
    }
    assert!(named("fn ai_file"), "{names:?}");
}

#[test]
fn compiling_twice_gives_the_same_bytes() {
    // Patterns are built on several threads; the module must not depend on their timing.
    let (policy, a) = shipped();
    let b = blastwall_compile::compile(&policy).expect("they compile again");
    assert!(a == b, "two builds of the same policy differ");
}
