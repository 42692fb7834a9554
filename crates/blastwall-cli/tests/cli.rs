//! End-to-end: the `blastwall` binary on real files, checking output and exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_blastwall"));
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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
rule big {
    level advisory
    when count(change.files) > 1
    warn "many files"
}
"#;

#[test]
fn demo_runs_with_no_configuration_and_denies() {
    let o = run(&["demo"]);
    let (out, err) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the demo gates nothing: {out}{err}"
    );
    assert!(out.contains("outcome: deny"), "{out}");
    assert!(
        out.contains("plan would replace production resource aws_db_instance.payments"),
        "{out}"
    );
    assert!(
        out.contains("needs 1 more approval from `@org/payments`"),
        "{out}"
    );
}

#[test]
fn eval_exit_codes_follow_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let p = policy.to_str().unwrap();
    let cases: [(&str, i32, &str); 4] = [
        (r#"{"change": {}}"#, 0, "outcome: allow"),
        (
            r#"{"change": {"files": [{"path": "a"}, {"path": "b"}], "approvals": [{"by": "x", "teams": ["@org/team"]}]}}"#,
            0,
            "outcome: warn",
        ),
        (
            r#"{"change": {"files": [{"path": "a"}]}}"#,
            1,
            "outcome: review",
        ),
        (
            r#"{"plan": {"resources": [{"address": "db", "action": "delete", "env": "production"}]}}"#,
            2,
            "outcome: deny",
        ),
    ];
    for (facts, code, want) in cases {
        let f = write(dir.path(), "facts.json", facts.as_bytes());
        let o = run(&["eval", p, "--input", f.to_str().unwrap()]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(code), "{facts}\n{out}{err}");
        assert!(out.contains(want), "{facts}\n{out}");
    }
}

#[test]
fn eval_json_is_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let f = write(
        dir.path(),
        "f.json",
        br#"{"change": {"files": [{"path": "a"}]}}"#,
    );
    let o = run(&[
        "eval",
        policy.to_str().unwrap(),
        "--input",
        f.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "review");
    assert_eq!(v["findings"][0]["rule"], "needs_review");
    assert_eq!(v["findings"][0]["effect"], "review");
    assert_eq!(
        v["reviews"][0],
        serde_json::json!({"from": "@org/team", "needed": 1, "have": 0, "satisfied": false})
    );
    // The first key is the outcome: people read it first.
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .trim_start()
            .starts_with("{\n  \"outcome\"")
    );
}

#[test]
fn eval_explain_names_bindings_and_false_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let f = write(dir.path(), "f.json", br#"{"plan": {"resources": [{"address": "db", "action": "delete", "env": "production"}, {"address": "x", "action": "create"}]}}"#);
    let o = run(&[
        "eval",
        policy.to_str().unwrap(),
        "--input",
        f.to_str().unwrap(),
        "--explain",
    ]);
    let (out, _) = text(&o);
    assert!(out.contains("fired    prod_delete"), "{out}");
    assert!(out.contains("with r = \"db\""), "{out}");
    assert!(out.contains("skipped  needs_review"), "{out}");
    assert!(out.contains("needs `change`, not given"), "{out}");
    let f2 = write(
        dir.path(),
        "g.json",
        br#"{"plan": {"resources": [{"address": "x", "action": "create", "env": "production"}]}}"#,
    );
    let o = run(&[
        "eval",
        policy.to_str().unwrap(),
        "--input",
        f2.to_str().unwrap(),
        "--explain",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let quiet = &v["explain"][0];
    assert_eq!(quiet["status"], "quiet");
    assert!(
        quiet["false"]
            .as_str()
            .unwrap()
            .starts_with("some r in plan.resources"),
        "{quiet}"
    );
    assert!(
        quiet["note"].as_str().unwrap().contains("1 examined"),
        "{quiet}"
    );
}

#[test]
fn bad_facts_and_bad_policies_exit_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "p.bw", POLICY.as_bytes());
    let p = policy.to_str().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "misspelt fact",
            br#"{"change": {"fiels": []}}"#.to_vec(),
            "unknown field `fiels` in `Change`; did you mean `files`?",
        ),
        ("not JSON", b"{\"change\": ".to_vec(), "is not valid JSON"),
        (
            "not an object",
            b"[1, 2]".to_vec(),
            "facts must be a JSON object",
        ),
        (
            "deep JSON",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            "is not valid JSON",
        ),
    ];
    for (what, body, want) in cases {
        let f = write(dir.path(), "f.json", &body);
        let o = run(&["eval", p, "--input", f.to_str().unwrap()]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(3), "{what}: {err}");
        assert!(err.contains(want), "{what}: {err}");
    }
    let facts = write(dir.path(), "ok.json", b"{}");
    let bad_policies: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "invalid UTF-8",
            b"rule r { when \xff\xfe }".to_vec(),
            "is not valid UTF-8",
        ),
        (
            "binary",
            vec![0u8, 159, 146, 150, 0, 1, 2],
            "is not valid UTF-8",
        ),
        ("empty", Vec::new(), "the policy file has no rules"),
        (
            "truncated",
            b"rule r { when change.author ==".to_vec(),
            "expected",
        ),
        (
            "a million parentheses",
            format!(
                "rule r {{ when {}1{} > 0 deny }}",
                "(".repeat(1_000_000),
                ")".repeat(1_000_000)
            )
            .into_bytes(),
            "nesting is deeper than the limit of 64",
        ),
        (
            "misspelt field",
            b"rule r { when change.aprovals == [] deny }".to_vec(),
            "did you mean `approvals`?",
        ),
    ];
    for (what, body, want) in bad_policies {
        let bw = write(dir.path(), "bad.bw", &body);
        let o = run(&[
            "eval",
            bw.to_str().unwrap(),
            "--input",
            facts.to_str().unwrap(),
        ]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(3), "{what}: {err}");
        assert!(err.contains(want), "{what}: {err}");
    }
    let o = run(&[
        "eval",
        "/nonexistent/policy.bw",
        "--input",
        facts.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).1.contains("cannot read `/nonexistent/policy.bw`"));
}

#[test]
fn help_documents_exit_codes() {
    let o = run(&["--help"]);
    let (out, _) = text(&o);
    assert!(
        out.contains("0  allow or warn") && out.contains("2  deny") && out.contains("3  error"),
        "{out}"
    );
}

#[test]
fn test_command_passes_on_the_shipped_rules_and_fails_on_a_broken_test() {
    let o = run(&["test", repo().join("rules").to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
    assert!(
        !out.contains("no test makes rule"),
        "every shipped rule has a firing test:\n{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.bw",
        br#"rule r {
    when change.title == "x"
    deny "titled x"
}
rule never_fires {
    when change.title == "never"
    warn
}
test "wrong expectation" {
    given change { title: "x" }
    expect allow
    expect quiet r
}
"#,
    );
    let o = run(&["test", p.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL  wrong expectation"), "{out}");
    assert!(
        out.contains("      - expect allow\n      + outcome deny (from r)\n"),
        "{out}"
    );
    assert!(
        out.contains("      - expect quiet r\n      + r fired 1 time: \"titled x\"\n"),
        "{out}"
    );
    assert!(
        out.contains("note: no test makes rule `never_fires` fire"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
}

#[test]
fn fmt_rewrites_atomically_and_check_reports() {
    let dir = tempfile::tempdir().unwrap();
    let messy = b"rule   r {\n  when change.title==\"x\"\n      deny\n}\n";
    let p = write(dir.path(), "m.bw", messy);
    let o = run(&["fmt", "--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(std::fs::read(&p).unwrap(), messy, "--check must not write");
    let o = run(&["fmt", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let formatted = std::fs::read_to_string(&p).unwrap();
    assert_ne!(formatted.as_bytes(), messy);
    let o = run(&["fmt", "--check", p.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "formatting is idempotent: {:?}",
        text(&o)
    );
    // A file that does not parse is left untouched and the command fails.
    let bad = write(dir.path(), "bad.bw", b"rule r { when }");
    let o = run(&["fmt", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(std::fs::read(&bad).unwrap(), b"rule r { when }");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "no temporary files are left behind: {leftovers:?}"
    );
}

#[test]
fn text_reports_say_what_would_satisfy_each_finding_without_colour_off_a_terminal() {
    let o = bin().arg("demo").env_remove("NO_COLOR").output().unwrap();
    let (out, _) = text(&o);
    assert!(
        !out.contains('\u{1b}'),
        "no escape codes when stdout is not a terminal:\n{out}"
    );
    assert!(
        out.contains("to proceed: record an override naming who and why"),
        "{out}"
    );
    assert!(
        out.contains("to proceed: needs 1 more approval from `@org/payments`"),
        "{out}"
    );
}

#[test]
fn test_results_as_json_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.bw",
        br#"rule r {
    when change.title == "x"
    deny "titled <x> & \"quoted\""
}
test "passes" {
    given change { title: "x" }
    expect deny
}
test "fails" {
    given change { title: "x" }
    expect allow
}
rule never {
    when change.title == "never"
    warn
}
"#,
    );
    let o = run(&["test", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["untested_rules"], serde_json::json!(["never"]));
    assert_eq!(
        v["tests"][1]["failures"][0],
        "expected outcome `allow`, got `deny`"
    );
    assert_eq!(v["tests"][1]["decision"]["outcome"], "deny");
    assert_eq!(
        v["tests"][1]["diff"],
        serde_json::json!([{
            "failure": "expected outcome `allow`, got `deny`",
            "expected": "expect allow",
            "actual": "outcome deny (from r)",
        }])
    );
    assert_eq!(v["tests"][0]["diff"], serde_json::json!([]));

    let o = run(&["test", p.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    let (xml, _) = text(&o);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"blastwall\" tests=\"3\" failures=\"1\" skipped=\"1\">"), "{xml}");
    assert!(xml.contains("<testcase name=\"passes\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"expected outcome `allow`, got `deny`\">"),
        "{xml}"
    );
    assert!(
        xml.contains("- expect allow\n+ outcome deny (from r)\n"),
        "the failure carries the diff: {xml}"
    );
    assert!(
        xml.contains("titled &lt;x&gt; &amp; &quot;quoted&quot;"),
        "special characters are escaped: {xml}"
    );
    assert!(
        xml.contains("<skipped message=\"no test makes rule `never` fire\"/>"),
        "{xml}"
    );
}

#[test]
fn test_failures_show_each_expectation_against_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.bw",
        br#"rule titled {
    level hard
    when change.title == "x"
    deny "titled x"
}
rule owners {
    level hard
    when count(change.files) > 0
    require review from "@org/a" count 1
    message "owners of {join([f.path for f in change.files], \", \")} must approve"
}
rule per_file {
    level advisory
    when some f in change.files: f.added > 10
    warn "{f.path} adds {f.added} lines"
}
/// Every kind of expectation, each wrong; the one that holds is left out of the diff.
test "all wrong" {
    given change {
        title: "x",
        files: [{ path: "a.rs", added: 20 }, { path: "b.rs", added: 1 }],
    }
    expect review
    expect review from "@org/a"   count 2
    expect review from "@org/b"
    expect fires per_file times 2
    expect fires titled
    expect quiet titled // a comment is not part of the expectation
    expect message "titled \"y\""
}
test "a message when nothing fires" { given change { title: "z" } expect message r"none" }
test "facts that do not fit" {
    given change { title: 3 }
    expect allow
}
"#,
    );
    let o = run(&["test", p.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let expected = "\
FAIL  all wrong  (PATH:17:1)
      - expect review
      + outcome deny (from titled)
      - expect review from \"@org/a\" count 2
      + reviews: @org/a 0/1
      - expect review from \"@org/b\"
      + reviews: @org/a 0/1
      - expect fires per_file times 2
      + per_file fired 1 time: \"a.rs adds 20 lines\"
      - expect quiet titled
      + titled fired 1 time: \"titled x\"
      - expect message \"titled \\\"y\\\"\"
      + messages: \"titled x\", \"owners of a.rs, b.rs must approve\", \"a.rs adds 20 lines\"
FAIL  a message when nothing fires  (PATH:31:1)
      - expect message r\"none\"
      + messages: none (nothing fired)
FAIL  facts that do not fit  (PATH:32:1)
";
    let expected = expected.replace("PATH", p.to_str().unwrap());
    assert!(out.starts_with(&expected), "{out}");
    assert!(
        out.contains("the given facts do not fit the schema"),
        "a failure that is not about one expectation is shown as it is:\n{out}"
    );
    assert!(!out.contains('\u{1b}'), "no colour off a terminal:\n{out}");
    assert!(out.ends_with("0 passed, 3 failed\n"), "{out}");
}

#[test]
fn inputs_without_end_or_over_the_cap_fail_fast_and_say_why() {
    // A device that never ends is refused before a byte is read.
    let o = run(&["eval", "--input", "/dev/zero"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    // A facts file over the cap is refused by its size, naming the limit, without reading it.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let o = run(&["eval", "--input", big.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "is larger than the input limit of 67108864 bytes (raise it with `--max-input-size`)"
        ),
        "{err}"
    );
    // The same cap for every input kind `check` reads.
    let o = run(&["check", "--no-git", "--plan", big.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("is larger than"), "{err}");
    // The flag raises the cap (the file of zeros is then read, and is no JSON) and lowers it.
    let o = run(&[
        "eval",
        "--max-input-size",
        "128MiB",
        "--input",
        big.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(!err.contains("input limit"), "{err}");
    let small = dir.path().join("small.json");
    std::fs::write(&small, r#"{"change": {"files": []}}"#).unwrap();
    let o = run(&[
        "eval",
        "--input",
        small.to_str().unwrap(),
        "--max-input-size",
        "10",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("input limit of 10 bytes"), "{err}");
    let o = run(&[
        "eval",
        "--input",
        small.to_str().unwrap(),
        "--max-input-size",
        "lots",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a size"), "{err}");
}
