//! Helpers shared by the data-driven tests: case discovery and blessing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// The folder of a case family under `tests/cases/`.
pub fn cases_dir(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(family)
}

/// Every file in `dir` with extension `ext`, sorted.
pub fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Compare `actual` with the expectation file, or rewrite it when `BLESS=1`.
/// Returns a failure description instead of panicking so a run reports every case.
pub fn expect_file(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var("BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(path, actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|_| {
        format!(
            "{} is missing; run with BLESS=1 to create it, then review it",
            path.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ))
    }
}

/// Fail with every collected failure at once.
pub fn report(failures: Vec<String>, count: usize) {
    assert!(count > 0, "no cases found");
    if !failures.is_empty() {
        panic!(
            "{} of {count} cases failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
pub mod arb;
