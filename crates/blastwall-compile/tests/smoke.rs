//! Every policy in the repository compiles to a module that validates.

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
