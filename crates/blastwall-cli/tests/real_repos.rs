//! The points of "real repositories" that concern what a check reads, end to end on
//! repositories the tests build in temp dirs: facts of a range come from its head, a person is
//! every name they have, admission requests are not plans.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::Repo;

fn blastwall(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A Cargo workspace of two crates where `app` depends on `core`, with owners.
fn workspace() -> Repo {
    let r = Repo::new();
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    r.write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\n",
    );
    r.write("crates/core/src/lib.rs", "pub fn core() {}\n");
    r.write(
        "crates/app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\ncore = { path = \"../core\" }\n",
    );
    r.write("crates/app/src/lib.rs", "pub fn app() {}\n");
    r.write(".github/CODEOWNERS", "/crates/core/ @org/core\n");
    r.commit("init");
    r
}

#[test]
fn a_range_is_checked_with_the_files_of_its_head_not_the_working_tree() {
    let r = workspace();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("crates/core/src/lib.rs", "pub fn core() { let _ = 1; }\n");
    r.commit("touch core");

    let args = [
        "check", "--base", "main", "--head", "feature", "--format", "json",
    ];
    let clean = blastwall(r.path(), &args);
    let clean_json = json_of(&clean);
    let head = clean_json["facts"]["change"]["head"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(clean_json["read_at"], head.as_str());
    assert_eq!(
        clean_json["facts"]["change"]["services"],
        serde_json::json!(["core"])
    );

    // A stray edit breaks the working tree's manifest, CODEOWNERS and configuration: none of
    // it is committed, so the check of the two commits is unchanged.
    r.write("crates/app/Cargo.toml", "[package\nname = broken\n");
    r.write(".github/CODEOWNERS", "* @someone-else\n");
    r.write("blastwall.toml", "this is not toml = = =\n");
    let dirty = blastwall(r.path(), &args);
    assert_eq!(
        dirty.status.code(),
        clean.status.code(),
        "{}",
        String::from_utf8_lossy(&dirty.stderr)
    );
    let dirty_json = json_of(&dirty);
    assert_eq!(dirty_json["facts"], clean_json["facts"]);
    assert_eq!(dirty_json["findings"], clean_json["findings"]);

    // The text report names the revision.
    let text = blastwall(r.path(), &["check", "--base", "main", "--head", "feature"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains(&format!("read at: {head}")), "{stdout}");

    // Without a range the working tree is the subject, and its broken manifest is an error.
    let work = blastwall(r.path(), &["check", "--format", "json"]);
    assert_eq!(work.status.code(), Some(3));
}

#[test]
fn replay_reads_owners_and_topology_at_the_head_of_its_range() {
    let r = workspace();
    r.write("crates/core/src/lib.rs", "pub fn core() { let _ = 1; }\n");
    r.commit("touch core");
    let range = "HEAD~1..HEAD";
    let before = blastwall(r.path(), &["replay", range, "--format", "json"]);
    assert_eq!(before.status.code(), Some(0));
    r.write("crates/app/Cargo.toml", "[package\n");
    let after = blastwall(r.path(), &["replay", range, "--format", "json"]);
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert_eq!(json_of(&after), json_of(&before));
}

#[test]
fn an_admission_request_alone_is_neither_a_plan_nor_short_of_code_owners() {
    let dir = tempfile::tempdir().unwrap();
    let request = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "1",
            "kind": { "group": "apps", "version": "v1", "kind": "Deployment" },
            "operation": "DELETE",
            "name": "web",
            "namespace": "prod",
            "oldObject": { "metadata": { "name": "web", "namespace": "prod" } }
        }
    });
    std::fs::write(dir.path().join("req.json"), request.to_string()).unwrap();
    let out = blastwall(
        dir.path(),
        &["check", "--no-git", "--admission", "req.json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("an admission request (1 resource)"),
        "{stdout}"
    );
    assert!(!stdout.contains("a plan"), "{stdout}");
    assert!(!stderr.contains("CODEOWNERS"), "{stderr}");
}

/// A repository whose `feature` branch holds one commit by `email`, and a policy asking one
/// review from anyone but the author.
fn one_review_repo(email: &str, extra: &[(&str, &str)]) -> (Repo, std::path::PathBuf) {
    let r = Repo::new();
    r.write("src/lib.rs", "pub fn a() {}\n");
    for (path, body) in extra {
        r.write(path, body);
    }
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("src/lib.rs", "pub fn a() { let _ = 1; }\n");
    r.git_as(&["add", "-A"], "Someone", email);
    r.git_as(&["commit", "-q", "-m", "change"], "Someone", email);
    let policy = r.path().join("review.bw");
    std::fs::write(
        &policy,
        "rule needs_review {\n    when some f in change.files: true\n    require review\n}\n",
    )
    .unwrap();
    (r, policy)
}

fn check_approved(r: &Repo, policy: &Path, approvers: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec![
        "check".to_string(),
        "--base".into(),
        "main".into(),
        "--head".into(),
        "feature".into(),
        "--rules".into(),
        policy.display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    for a in approvers {
        args.push("--approved-by".into());
        args.push((*a).to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = blastwall(r.path(), &refs);
    let v = json_of(&out);
    (out, v)
}

#[test]
fn an_approval_under_any_name_of_the_author_never_counts() {
    // The commit email is linked by `.mailmap` to the email `[people]` maps to a login.
    let (r, policy) = one_review_repo(
        "alice@laptop.local",
        &[
            (
                ".mailmap",
                "Alice <alice@example.com> <alice@laptop.local>\n",
            ),
            (
                "blastwall.toml",
                "[people]\n\"alice@example.com\" = \"alice-gh\"\n",
            ),
        ],
    );
    let (out, v) = check_approved(&r, &policy, &["Alice-GH"]);
    assert_eq!(v["facts"]["change"]["author"], "alice-gh");
    assert_eq!(v["facts"]["change"]["approvals"], serde_json::json!([]));
    assert_eq!(v["outcome"], "review");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the approval by `Alice-GH` does not count"),
        "{stderr}"
    );

    // Someone else's approval counts.
    let (out, v) = check_approved(&r, &policy, &["Alice-GH", "bob"]);
    assert_eq!(
        v["outcome"],
        "allow",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["reviews"][0]["have"], 1);
}

#[test]
fn a_noreply_author_is_their_login_and_an_email_only_author_is_reported() {
    let (r, policy) = one_review_repo("4242+carol@users.noreply.github.com", &[]);
    let (_, v) = check_approved(&r, &policy, &["carol"]);
    assert_eq!(v["facts"]["change"]["author"], "carol");
    assert_eq!(v["outcome"], "review");

    let (r, policy) = one_review_repo("dave@example.com", &[]);
    let (out, v) = check_approved(&r, &policy, &["erin"]);
    assert_eq!(v["facts"]["change"]["author"], "dave@example.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("known only by the email `dave@example.com`, and approvals are logins"),
        "{stderr}"
    );
}

#[test]
fn generated_files_are_marked_and_do_not_make_a_change_large() {
    let r = Repo::new();
    r.write("src/lib.rs", "pub fn a() {}\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    let many = |prefix: &str| -> String { (0..2000).map(|i| format!("{prefix}{i}\n")).collect() };
    r.write(
        "Cargo.lock",
        &format!(
            "# This file is automatically @generated by Cargo.\n{}",
            many("x = ")
        ),
    );
    r.write("api/user.pb.go", &many("// line "));
    r.write(
        "internal/kind_string.go",
        &format!(
            "// Code generated by \"stringer -type=Kind\"; DO NOT EDIT.\n\npackage internal\n{}",
            many("// ")
        ),
    );
    r.write("src/lib.rs", "pub fn a() { let _ = 1; }\n");
    r.commit("regenerate");
    let out = blastwall(
        r.path(),
        &[
            "check", "--base", "main", "--head", "feature", "--format", "json",
        ],
    );
    let v = json_of(&out);
    let files = v["facts"]["change"]["files"].as_array().unwrap();
    let generated: Vec<(&str, bool)> = files
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["generated"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        generated,
        vec![
            ("Cargo.lock", true),
            ("api/user.pb.go", true),
            ("internal/kind_string.go", true),
            ("src/lib.rs", false),
        ]
    );
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !rules.iter().any(|r| r.starts_with("large_change")),
        "{rules:?}"
    );
}

#[test]
fn explain_prints_the_values_that_made_a_condition_false() {
    let r = Repo::new();
    r.write("src/a.rs", "fn a() {}\n");
    r.commit("init");
    r.write("src/a.rs", "fn a() { let _ = 1; }\n");
    r.write("src/b.rs", "fn b() {}\n");
    r.commit("two files");
    let policy = r.path().join("p.bw");
    std::fs::write(
        &policy,
        "rule many {\n    let hit = [f for f in change.files where f.added > 0]\n    when count(hit) > 6\n    warn \"many\"\n}\n\nrule big {\n    when some f in change.files: f.added > 0 and f.added > 100\n    warn \"big\"\n}\n",
    )
    .unwrap();
    let policy = policy.display().to_string();
    let out = blastwall(
        r.path(),
        &[
            "explain", "--rules", &policy, "--base", "HEAD~1", "--head", "HEAD",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("`count(hit)` = 2"), "{text}");
    assert!(
        text.contains("`change.files[0] (src/a.rs)` = false: `f.added > 100` (`f.added` = 1)"),
        "{text}"
    );
    assert!(text.contains("`change.files[1] (src/b.rs)`"), "{text}");

    let json = blastwall(
        r.path(),
        &[
            "explain", "--rules", &policy, "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ],
    );
    let v = json_of(&json);
    let quiet = &v["explain"][0];
    assert_eq!(quiet["values"][0]["expr"], "count(hit)");
    assert_eq!(quiet["values"][0]["value"], "2");
}
