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

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git_as(&self, args: &[&str], name: &str, email: &str) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    fn git(&self, args: &[&str]) {
        self.git_as(args, "Alice", "alice@example.com");
    }

    fn write(&self, path: &str, body: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    fn commit(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }
}

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
