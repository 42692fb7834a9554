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
use std::sync::OnceLock;

/// The cache directory, and so the artifact key, of every run of this test binary: this user's.
fn cache() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn run_with_cache(args: &[&std::ffi::OsStr], cache_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .env("NO_COLOR", "1")
        .env("BLASTWALL_CACHE_DIR", cache_dir)
        .args(args)
        .output()
        .unwrap()
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    run_with_cache(args, cache())
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
    eval_with(&[s(target)], facts)
}

fn eval_precompiled(target: &Path, facts: &Path) -> (Option<i32>, serde_json::Value) {
    eval_with(&["--precompiled".as_ref(), s(target)], facts)
}

fn eval_with(target: &[&std::ffi::OsStr], facts: &Path) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["eval".as_ref()];
    args.extend_from_slice(target);
    args.extend([
        "--input".as_ref(),
        s(facts),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let o = run(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), v)
}

/// `eval` of `args`, which must fail with exit 3 and an error that says `words`.
fn refused(args: &[&std::ffi::OsStr], cache_dir: &Path, words: &str) {
    let o = run_with_cache(args, cache_dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
    assert!(err.contains(words), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty(), "{args:?}: no decision");
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
        assert_eq!(eval_precompiled(&cwasm, &f), from_source, "{facts}");
    }

    // A precompiled artifact cut short has lost its trailer, but is still recognised as one.
    let artifact = std::fs::read(&cwasm).unwrap();
    let cut = write(dir.path(), "cut.cwasm", &artifact[..artifact.len() - 10]);
    let facts = write(dir.path(), "facts.json", b"{}");
    refused(
        &[
            "eval".as_ref(),
            "--precompiled".as_ref(),
            s(&cut),
            "--input".as_ref(),
            s(&facts),
        ],
        cache(),
        "truncated",
    );
}

/// An artifact of `build --precompile` with its code overwritten by `int3` and its CRC-32
/// recomputed: what a forged artifact that carries shellcode looks like.
fn forge(artifact: &[u8]) -> Vec<u8> {
    const TRAILER: usize = 132;
    const CRC_AT: usize = 88;
    let mut forged = artifact.to_vec();
    // Past the ELF header, well inside wasmtime's module.
    let code = (artifact.len() - TRAILER) / 2;
    forged[code..code + 256].fill(0xcc);
    let at = forged.len() - TRAILER + CRC_AT;
    let crc = crc32(&forged[..at]);
    forged[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    forged
}

/// CRC-32 (ISO-HDLC), bit by bit: what the artifact's checksum is.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn precompiled_code_runs_only_when_asked_for_and_sealed_by_this_user() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
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
    let artifact = std::fs::read(&cwasm).unwrap();
    let facts = write(
        dir.path(),
        "facts.json",
        br#"{"change": {"files": [{"path": "a"}]}}"#,
    );
    assert_eq!(eval_precompiled(&cwasm, &facts).0, Some(1));

    // Named like a module, an artifact is still native code: `eval` refuses it, whatever the
    // name, and runs nothing.
    let named_wasm = write(dir.path(), "policy.wasm", &artifact);
    for file in [&named_wasm, &cwasm] {
        refused(
            &["eval".as_ref(), s(file), "--input".as_ref(), s(&facts)],
            cache(),
            "is a precompiled module, which is native code",
        );
    }

    // A forged artifact (code overwritten, CRC recomputed) fails its seal, by either road.
    let forged = write(dir.path(), "forged.wasm", &forge(&artifact));
    refused(
        &["eval".as_ref(), s(&forged), "--input".as_ref(), s(&facts)],
        cache(),
        "native code",
    );
    refused(
        &[
            "eval".as_ref(),
            "--precompiled".as_ref(),
            s(&forged),
            "--input".as_ref(),
            s(&facts),
        ],
        cache(),
        "not sealed with this user's artifact key",
    );

    // Another user (another cache directory, another key) does not load this user's artifact.
    let other = tempfile::tempdir().unwrap();
    refused(
        &[
            "eval".as_ref(),
            "--precompiled".as_ref(),
            s(&cwasm),
            "--input".as_ref(),
            s(&facts),
        ],
        other.path(),
        "not sealed with this user's artifact key",
    );
}

#[test]
fn the_hostile_fixtures_are_refused() {
    let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile");
    let dir = tempfile::tempdir().unwrap();
    let facts = write(dir.path(), "facts.json", b"{}");
    for name in ["result-0.wasm", "result-8.wasm", "result-unwritten.wasm"] {
        refused(
            &[
                "eval".as_ref(),
                s(&hostile.join(name)),
                "--input".as_ref(),
                s(&facts),
            ],
            cache(),
            "the module wrote no result there",
        );
    }
    let forged = hostile.join("forged-artifact.wasm");
    refused(
        &["eval".as_ref(), s(&forged), "--input".as_ref(), s(&facts)],
        cache(),
        "is a precompiled module, which is native code",
    );
    refused(
        &[
            "eval".as_ref(),
            "--precompiled".as_ref(),
            s(&forged),
            "--input".as_ref(),
            s(&facts),
        ],
        cache(),
        "not sealed with this user's artifact key",
    );
}

#[cfg(unix)]
#[test]
fn a_key_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let cwasm = dir.path().join("p.cwasm");
    let keys = dir.path().join("cache");
    let build = || {
        run_with_cache(
            &[
                "build".as_ref(),
                s(&policy),
                "-o".as_ref(),
                s(&cwasm),
                "--precompile".as_ref(),
            ],
            &keys,
        )
    };
    assert_eq!(build().status.code(), Some(0));
    let key = keys.join("artifact-key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = build();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("may be read or written by others"), "{err}");
    let facts = write(dir.path(), "facts.json", b"{}");
    refused(
        &[
            "eval".as_ref(),
            "--precompiled".as_ref(),
            s(&cwasm),
            "--input".as_ref(),
            s(&facts),
        ],
        &keys,
        "mode 644",
    );
}

#[test]
fn build_with_no_paths_compiles_the_shipped_rules() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("rules.wasm");
    let o = run(&["build".as_ref(), "-o".as_ref(), s(&wasm)]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    let shipped = blastwall::Policy::embedded().unwrap().rule_names().len();
    assert!(err.contains(&format!("{shipped} rules")), "{err}");
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

/// Ten globs like `*a*b*c…` of a thousand letters: small automata whose states are large sets,
/// so building their tables takes more than the builder's limit of steps.
fn costly_globs() -> Vec<String> {
    let mut seed = 7u32;
    let mut letter = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        char::from(b'a' + (seed >> 16) as u8 % 8)
    };
    (0..10)
        .map(|_| {
            let letters: Vec<String> = (0..1000).map(|_| letter().to_string()).collect();
            format!("\"*{}*\"", letters.join("*"))
        })
        .collect()
}

#[test]
fn build_test_and_eval_refuse_the_same_uncompilable_patterns_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let list = costly_globs().join(", ");
    let cases = [
        (
            format!(
                "rule wide {{\n    level hard\n    when some f in change.files: f.path matches [{list}]\n    deny \"{{f.path}}\"\n}}\n"
            ),
            "these 10 globs take more than the limit of 50000000 steps to compile",
        ),
        (
            format!(
                "param pats: [str] = [{list}]\nrule wide {{\n    level hard\n    when some f in change.files: f.path matches config.pats\n    deny \"{{f.path}}\"\n}}\n"
            ),
            "parameter `config.pats`: these 10 globs take more than the limit",
        ),
        (
            "rule long {\n    level hard\n    when some f in change.files: f.path matches \"*a??????????????\"\n    deny \"{f.path}\"\n}\n".to_string(),
            "glob `*a??????????????` needs an automaton larger than the limit of 10000 states",
        ),
    ];
    let facts = write(
        dir.path(),
        "facts.json",
        br#"{"change": {"files": [{"path": "a"}]}}"#,
    );
    for (i, (policy, expected)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("p{i}.bw"), policy.as_bytes());
        let out_wasm = dir.path().join(format!("p{i}.wasm"));
        let runs = [
            run(&[
                "build".as_ref(),
                s(&file),
                "--output".as_ref(),
                s(&out_wasm),
            ]),
            run(&["test".as_ref(), s(&file)]),
            run(&["eval".as_ref(), s(&file), "--input".as_ref(), s(&facts)]),
        ];
        for (command, out) in ["build", "test", "eval"].iter().zip(runs) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{command} case {i}: {stderr}");
            assert!(stderr.contains(expected), "{command} case {i}: {stderr}");
            // The whole report is a few lines however long the list: the source line is cut
            // to a window, the list is not repeated.
            assert!(
                stderr.len() < 1500,
                "{command} case {i}: {} bytes",
                stderr.len()
            );
        }
        assert!(!out_wasm.exists(), "case {i}");
    }
}
