//! Embeds the shipped rule library (`rules/*.bw`) so the binary works with no rules folder.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The manifest directory as cargo gives it to this run, not as it was when the script was
    // compiled: cargo reuses a compiled build script for a checkout at another path.
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| fail("CARGO_MANIFEST_DIR is not set"));
    let dir = Path::new(&manifest).join("../../rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        fail(&format!(
            "cannot read the rule library {}: {e}",
            dir.display()
        ))
    });
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bw"))
        .collect();
    if files.is_empty() {
        fail(&format!(
            "the rule library {} has no .bw files",
            dir.display()
        ));
    }
    files.sort();
    let mut out = String::from(
        "/// The shipped rules: (path, source).\npub static EMBEDDED_RULES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(
            out,
            "    (\"rules/{name}\", include_str!({:?})),",
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("embedded.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        fail(&format!("could not write {}: {e}", dest.display()));
    }
}

/// Stops the build: an empty rule library would make `check` allow everything.
fn fail(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(1);
}
