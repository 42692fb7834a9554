//! End-to-end: `blastwall build` writes modules that `blastwall eval` runs with the same
//! decisions as the sources; bad modules are clear errors with exit 3.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const POLICY: &str = r#"
rule prod_delete {
    level hard
    when some r in plan.resources: r.env == "production" and r.action == "delete"
    deny "deletes {r.address}"
}
rule needs_review {
    level hard
    when count(change.files) > 0
    require review from "@org/team" count 1
}
"#;

fn eval(target: &Path, facts: &Path) -> (Option<i32>, serde_json::Value) {
    let o = run(&[
        "eval".as_ref(),
        s(target),
        "--input".as_ref(),
        s(facts),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v)
}

#[test]
fn built_modules_decide_like_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let wasm = dir.path().join("p.wasm");
    let o = run(&["build".as_ref(), s(&policy), "-o".as_ref(), s(&wasm)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&wasm).unwrap();
    assert!(bytes.starts_with(b"\0asm"));

    let cwasm = dir.path().join("p.cwasm");
    let o = run(&[
        "build".as_ref(),
        s(&policy),
        "-o".as_ref(),
        s(&cwasm),
        "--precompile".as_ref(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    for (facts, code) in [
        (
            r#"{"plan": {"resources": [{"address": "db", "action": "delete", "env": "production"}]}}"#,
            2,
        ),
        (r#"{"change": {"files": [{"path": "a"}]}}"#, 1),
        (
            r#"{"change": {"files": [{"path": "a"}], "approvals": [{"by": "x", "teams": ["org/team"]}]}}"#,
            0,
        ),
    ] {
        let f = write(dir.path(), "facts.json", facts.as_bytes());
        let from_source = eval(&policy, &f);
        assert_eq!(from_source.0, Some(code), "{facts}");
        assert_eq!(eval(&wasm, &f), from_source, "{facts}");
        assert_eq!(eval(&cwasm, &f), from_source, "{facts}");
    }

    // A precompiled artifact cut short has lost its trailer, but is still recognised as one.
    let artifact = std::fs::read(&cwasm).unwrap();
    let cut = write(dir.path(), "cut.cwasm", &artifact[..artifact.len() - 10]);
    let facts = write(dir.path(), "facts.json", b"{}");
    let o = run(&["eval".as_ref(), s(&cut), "--input".as_ref(), s(&facts)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn build_with_no_paths_compiles_the_shipped_rules() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("rules.wasm");
    let o = run(&["build".as_ref(), "-o".as_ref(), s(&wasm)]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("21 rules"), "{err}");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-facts.json");
    let (code, v) = eval(&wasm, &demo);
    assert_eq!(code, Some(2));
    assert_eq!(v["outcome"], "deny");
}

#[test]
fn bad_modules_are_errors_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let wasm = dir.path().join("p.wasm");
    assert_eq!(
        run(&["build".as_ref(), s(&policy), "-o".as_ref(), s(&wasm)])
            .status
            .code(),
        Some(0)
    );
    let good = std::fs::read(&wasm).unwrap();
    let facts = write(dir.path(), "facts.json", b"{}");

    // Cut inside the last section (the metadata): a prefix that ends between sections would
    // be a valid, smaller module.
    let truncated = write(dir.path(), "truncated.wasm", &good[..good.len() - 10]);
    let foreign = write(dir.path(), "foreign.wasm", b"\0asm\x01\0\0\0");
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 3] ^= 0xff; // inside the metadata section at the end
    let tampered = write(dir.path(), "tampered.wasm", &flipped);
    let artifact = write(dir.path(), "bad.cwasm", b"\0bwmod\r\n not an artifact");
    let garbage = write(dir.path(), "garbage.wasm", &[0u8, 1, 2, 3, 0, 0, 0, 9]);
    for (file, words) in [
        (&truncated, "policy module"),
        (&foreign, "does not export `memory`"),
        (&tampered, "metadata"),
        (&artifact, "precompiled module"),
        (&garbage, "neither a blastwall module"),
    ] {
        let o = run(&["eval".as_ref(), s(file), "--input".as_ref(), s(&facts)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{}: {err}", file.display());
        assert!(err.contains(words), "{}: {err}", file.display());
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_facts_for_a_module_are_errors_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let wasm = dir.path().join("p.wasm");
    assert_eq!(
        run(&["build".as_ref(), s(&policy), "-o".as_ref(), s(&wasm)])
            .status
            .code(),
        Some(0)
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (facts, words) in [
        (
            r#"{"change": {"files": [{"path": 3}]}}"#.to_string(),
            "change.files[0].path",
        ),
        (
            r#"{"change": {"filez": []}}"#.to_string(),
            "did you mean `files`",
        ),
        (format!(r#"{{"change": {{"labels": {deep}}}}}"#), "facts"),
    ] {
        let f = write(dir.path(), "facts.json", facts.as_bytes());
        let o = run(&["eval".as_ref(), s(&wasm), "--input".as_ref(), s(&f)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains(words), "{err}");
        // The policy's sources, decided by the interpreter, say the same words.
        let o = run(&["eval".as_ref(), s(&policy), "--input".as_ref(), s(&f)]);
        assert_eq!(o.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&o.stderr), err);
    }
}

#[test]
fn a_failed_build_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", b"rule broken { when nope deny \"x\" }");
    let wasm = dir.path().join("p.wasm");
    let o = run(&["build".as_ref(), s(&policy), "-o".as_ref(), s(&wasm)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!wasm.exists());
}
