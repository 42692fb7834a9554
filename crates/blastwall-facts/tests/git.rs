//! The git adapter on repositories each test builds in its own temp dir.
//!
//! Repositories are made with the `git` CLI (tests only: the library never runs it), isolated
//! from the machine's configuration (`GIT_CONFIG_NOSYSTEM`, `HOME` in the temp dir) and with
//! fixed identities and dates, so every run builds the same objects. Where git itself can say
//! what the answer is (`--numstat`, `rev-list`, `merge-base`), the test asks it and compares.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use blastwall_abi::schema::CHANGE;
use blastwall_facts::GitError;
use blastwall_facts::git::{GitOptions, change_from_git, default_branch, merge_base};
use blastwall_facts::provenance::ProvenanceOptions;
use common::assert_conforms;
use serde_json::Value;
use tempfile::TempDir;

const ALICE: (&str, &str) = ("Alice Example", "alice@example.com");

/// A repository in a temp dir, with a clock that moves one minute per commit.
struct Repo {
    dir: TempDir,
    path: PathBuf,
    clock: u64,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo {
            dir,
            path,
            clock: 1_700_000_000,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .env("GIT_AUTHOR_NAME", ALICE.0)
            .env("GIT_AUTHOR_EMAIL", ALICE.1)
            .env("GIT_COMMITTER_NAME", ALICE.0)
            .env("GIT_COMMITTER_EMAIL", ALICE.1)
            .env("GIT_AUTHOR_DATE", format!("{} +0000", self.clock))
            .env("GIT_COMMITTER_DATE", format!("{} +0000", self.clock))
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"]);
        cmd
    }

    /// Run git in the repository and return its standard output; fail the test on an error.
    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    fn git_in(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.command(cwd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn write(&self, file: &str, content: impl AsRef<[u8]>) {
        let p = self.path.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn remove(&self, file: &str) {
        std::fs::remove_file(self.path.join(file)).unwrap();
    }

    /// Stage everything and commit as `author` (committer Alice); return the commit id.
    fn commit_as(&mut self, message: &str, author: (&str, &str)) -> String {
        self.clock += 60;
        self.git(&["add", "-A"]);
        let mut cmd = self.command(&self.path);
        cmd.env("GIT_AUTHOR_NAME", author.0)
            .env("GIT_AUTHOR_EMAIL", author.1)
            .args([
                "commit",
                "-q",
                "--allow-empty",
                "--cleanup=verbatim",
                "-F",
                "-",
            ])
            .stdin(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(message.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        self.head()
    }

    fn commit(&mut self, message: &str) -> String {
        self.commit_as(message, ALICE)
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `git merge --no-ff` of `branch` into the current branch.
    fn merge(&mut self, branch: &str, message: &str) -> String {
        self.clock += 60;
        self.git(&["merge", "-q", "--no-ff", "-m", message, branch]);
        self.head()
    }
}

fn facts(repo: &Repo, base: &str, head: &str) -> Value {
    facts_with(repo.path(), base, head, &GitOptions::default())
}

/// The change document, checked against the schema and for determinism.
fn facts_with(path: &Path, base: &str, head: &str, opts: &GitOptions) -> Value {
    let doc = change_from_git(path, base, head, opts).unwrap();
    assert_conforms(&doc, &CHANGE);
    let again = change_from_git(path, base, head, opts).unwrap();
    assert_eq!(doc, again, "the same range gives the same document");
    doc
}

fn err(repo: &Path, base: &str, head: &str) -> GitError {
    change_from_git(repo, base, head, &GitOptions::default()).unwrap_err()
}

/// `path → file fact`.
fn files(doc: &Value) -> HashMap<String, Value> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

fn paths(doc: &Value) -> Vec<String> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

fn shas(doc: &Value) -> Vec<String> {
    doc["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect()
}

/// Compare the document's files with `git diff --numstat` and `--name-status` of `base...head`.
fn assert_matches_git(repo: &Repo, doc: &Value, base: &str, head: &str) {
    assert_matches_git_with(repo, doc, base, head, "-M");
}

fn assert_matches_git_with(repo: &Repo, doc: &Value, base: &str, head: &str, detect: &str) {
    let range = format!("{base}...{head}");
    let numstat = repo.git(&["diff", "--numstat", detect, "--no-ext-diff", &range]);
    let status = repo.git(&["diff", "--name-status", detect, "--no-ext-diff", &range]);
    let ours = files(doc);
    let mut seen = 0;
    for (n, s) in numstat.lines().zip(status.lines()) {
        let n: Vec<&str> = n.split('\t').collect();
        let s: Vec<&str> = s.split('\t').collect();
        let path = *s.last().unwrap();
        let f = ours
            .get(path)
            .unwrap_or_else(|| panic!("`{path}` missing from {:#?}", doc["files"]));
        seen += 1;
        let letter = &s[0][..1];
        let want_status = match letter {
            "A" => "added",
            "M" => "modified",
            "D" => "deleted",
            "R" => "renamed",
            "C" => "copied",
            "T" => "type_changed",
            other => panic!("unexpected status {other}"),
        };
        assert_eq!(f["status"], want_status, "{path}");
        if letter == "R" || letter == "C" {
            assert_eq!(f["previous_path"], s[1], "{path}");
        } else {
            assert!(f.get("previous_path").is_none(), "{path}");
        }
        if n[0] == "-" {
            assert_eq!(f["binary"], true, "{path}");
            assert_eq!(
                (f["added"].as_i64(), f["removed"].as_i64()),
                (Some(0), Some(0))
            );
        } else {
            assert_eq!(f["binary"], false, "{path}");
            assert_eq!(
                f["added"].as_i64().unwrap().to_string(),
                n[0],
                "{path} added"
            );
            assert_eq!(
                f["removed"].as_i64().unwrap().to_string(),
                n[1],
                "{path} removed"
            );
        }
    }
    assert_eq!(seen, ours.len(), "same number of files as git");
    let mut sorted = paths(doc);
    sorted.sort();
    assert_eq!(paths(doc), sorted, "files are sorted by path");
}

fn lines(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag} line {i}\n")).collect()
}

#[test]
fn adds_modifies_deletes_renames_and_binaries() {
    let mut r = Repo::new();
    r.write("a.txt", "one\ntwo\nthree\n");
    r.write("b.txt", "to be deleted\nsecond\n");
    r.write("src/c.rs", lines(40, "c"));
    r.write("moved.txt", lines(10, "same"));
    r.write("bin.dat", b"\x00\x01\x02binary\n".as_slice());
    r.write("no-newline.txt", "last");
    r.write("mode.sh", "#!/bin/sh\necho hi\n");
    let base = r.commit("Base\n");

    r.write("a.txt", "one\nTWO\nthree\nfour\nfive\n");
    r.remove("b.txt");
    r.remove("src/c.rs");
    let mut c = lines(40, "c");
    c.push_str("one more\n");
    r.write("lib/c2.rs", c);
    r.remove("moved.txt");
    r.write("dir/moved.txt", lines(10, "same"));
    r.write("bin.dat", b"\x00\x01\x03binary changed\n".as_slice());
    r.write("new.txt", "fresh\nlines\n");
    r.write("new.bin", b"PNG\x00\x00data".as_slice());
    r.write("no-newline.txt", "last\n");
    r.write("empty.txt", "");
    {
        use std::os::unix::fs::PermissionsExt;
        let p = r.path().join("mode.sh");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let head = r.commit("Change everything\n");

    let doc = facts(&r, &base, &head);
    assert_matches_git(&r, &doc, &base, &head);
    let f = files(&doc);
    assert_eq!(f["a.txt"]["status"], "modified");
    assert_eq!(
        (f["a.txt"]["added"].as_i64(), f["a.txt"]["removed"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(f["b.txt"]["status"], "deleted");
    assert_eq!(f["b.txt"]["removed"], 2);
    assert_eq!(f["lib/c2.rs"]["status"], "renamed");
    assert_eq!(f["lib/c2.rs"]["previous_path"], "src/c.rs");
    assert_eq!(f["lib/c2.rs"]["added"], 1);
    assert_eq!(f["dir/moved.txt"]["previous_path"], "moved.txt");
    assert_eq!(f["dir/moved.txt"]["added"], 0);
    assert_eq!(f["bin.dat"]["binary"], true);
    assert_eq!(f["new.bin"]["binary"], true);
    assert_eq!(f["new.bin"]["status"], "added");
    assert_eq!(f["new.txt"]["added"], 2);
    assert_eq!(f["empty.txt"]["status"], "added");
    assert_eq!(f["empty.txt"]["added"], 0);
    // A missing final newline is a changed line, as in git.
    assert_eq!(
        (
            f["no-newline.txt"]["added"].as_i64(),
            f["no-newline.txt"]["removed"].as_i64()
        ),
        (Some(1), Some(1))
    );
    // A mode change alone is a modification with no lines.
    assert_eq!(f["mode.sh"]["status"], "modified");
    assert_eq!(f["mode.sh"]["added"], 0);
    assert_eq!(f["a.txt"]["owners"], serde_json::json!([]));

    assert_eq!(doc["base"], base);
    assert_eq!(doc["head"], head);
    assert_eq!(doc["title"], "Change everything");
    assert_eq!(doc["author"], ALICE.1);
}

#[test]
fn larger_edits_match_git_numstat() {
    let mut r = Repo::new();
    let text: String = (0..300)
        .map(|i| format!("fn f{i}() {{ {} }}\n", i % 7))
        .collect();
    r.write("big.rs", &text);
    r.write("crlf.txt", "a\r\nb\r\nc\r\n");
    let base = r.commit("Base\n");
    let edited: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 11 != 0)
        .map(|(i, l)| {
            if i % 13 == 0 {
                format!("{l} // edited\n")
            } else {
                format!("{l}\n")
            }
        })
        .chain((0..20).map(|i| format!("fn extra{i}() {{}}\n")))
        .collect();
    r.write("big.rs", edited);
    r.write("crlf.txt", "a\nb\r\nc\r\n");
    let head = r.commit("Edit\n");
    let doc = facts(&r, &base, &head);
    assert_matches_git(&r, &doc, &base, &head);
}

#[test]
fn type_changes_and_copies() {
    let mut r = Repo::new();
    r.write("target.txt", "target\n");
    r.write("link", "not yet a link\n");
    r.write("orig.txt", lines(30, "orig"));
    let base = r.commit("Base\n");
    r.remove("link");
    std::os::unix::fs::symlink("target.txt", r.path().join("link")).unwrap();
    let mut modified = lines(30, "orig");
    modified.push_str("changed\n");
    r.write("orig.txt", modified);
    r.write("copy.txt", lines(30, "orig"));
    let head = r.commit("Link and copy\n");

    let doc = facts(&r, &base, &head);
    let f = files(&doc);
    assert_eq!(f["link"]["status"], "type_changed");
    // Copies are off by default, as in git.
    assert_eq!(f["copy.txt"]["status"], "added");

    let opts = GitOptions {
        detect_copies: true,
        ..GitOptions::default()
    };
    let doc = facts_with(r.path(), &base, &head, &opts);
    let f = files(&doc);
    assert_eq!(f["copy.txt"]["status"], "copied");
    assert_eq!(f["copy.txt"]["previous_path"], "orig.txt");
    assert_eq!(f["orig.txt"]["status"], "modified");
    assert_matches_git_with(&r, &doc, &base, &head, "-C");
}

#[test]
fn commits_oldest_first_with_trailers_and_ai() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let base = r.commit("Base\n");
    r.write("f", "1\n");
    let c1 = r.commit(
        "Add the cache\n\nLonger body.\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nSigned-off-by: Alice Example <alice@example.com>\n",
    );
    r.write("f", "2\n");
    let c2 = r.commit_as(
        "Tidy up\n",
        (
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com",
        ),
    );
    r.write("f", "3\n");
    let c3 = r.commit_as("Port to the new API\n", ("Codex", "noreply@openai.com"));

    let doc = facts(&r, &base, &c3);
    assert_eq!(shas(&doc), [c1.clone(), c2.clone(), c3.clone()]);
    let commits = doc["commits"].as_array().unwrap();
    assert_eq!(
        commits[0]["trailers"],
        serde_json::json!([
            {"key": "Co-Authored-By", "value": "Claude <noreply@anthropic.com>"},
            {"key": "Signed-off-by", "value": "Alice Example <alice@example.com>"},
        ])
    );
    assert_eq!(commits[0]["ai"], "yes");
    assert_eq!(commits[1]["ai"], "unknown");
    assert_eq!(commits[1]["author"]["bot"], true);
    assert_eq!(commits[1]["committer"]["bot"], false);
    assert_eq!(commits[2]["ai"], "yes");
    assert_eq!(commits[2]["author"]["email"], "noreply@openai.com");
    assert_eq!(
        commits[0]["message"].as_str().unwrap().lines().next(),
        Some("Add the cache")
    );
    assert_eq!(doc["title"], "Add the cache");
    assert_eq!(doc["author"], "noreply@openai.com");
    assert_eq!(doc["ai"]["assisted"], "yes");
    assert_eq!(
        doc["ai"]["tools"],
        serde_json::json!(["claude-code", "codex"])
    );
    assert_eq!(doc["ai"]["evidence"][0]["commit"], c1);
    assert_eq!(doc["ai"]["evidence"][1]["commit"], c3);
    assert_eq!(
        doc["ai"]["evidence"][1]["marker"],
        "author: Codex <noreply@openai.com>"
    );

    // The author can be given; unmarked can be configured to mean human.
    let opts = GitOptions {
        author: Some("octocat".into()),
        provenance: ProvenanceOptions {
            unmarked_means_human: true,
            ..ProvenanceOptions::default()
        },
        ..GitOptions::default()
    };
    let doc = facts_with(r.path(), &c1, &c2, &opts);
    assert_eq!(doc["author"], "octocat");
    assert_eq!(doc["commits"][0]["ai"], "no");
    assert_eq!(doc["ai"]["assisted"], "no");
}

#[test]
fn merges_in_the_range_come_after_their_parents() {
    let mut r = Repo::new();
    r.write("main.txt", "m0\n");
    let base = r.commit("Base\n");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("feature.txt", "f1\n");
    r.commit("Feature one\n");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "m1\n");
    r.commit("Main one\n");
    r.git(&["checkout", "-q", "feature"]);
    let merge = r.merge("main", "Merge main into feature\n");
    r.write("feature.txt", "f2\n");
    let head = r.commit_as(
        "Feature two\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n",
        ALICE,
    );

    let doc = facts(&r, &base, &head);
    let got = shas(&doc);
    // The same set as git's, and every parent before its child.
    let mut want: Vec<String> = r
        .git(&["rev-list", &format!("{base}..{head}")])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got.len(), 4);
    let mut sorted = got.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    for (i, sha) in got.iter().enumerate() {
        let parents = r.git(&["rev-list", "--parents", "-n1", sha]);
        for p in parents.split_whitespace().skip(1) {
            if let Some(j) = got.iter().position(|s| s == p) {
                assert!(j < i, "parent {p} after child {sha}");
            }
        }
    }
    assert_eq!(got[2], merge);
    assert_eq!(got[3], head);
    assert_eq!(doc["title"], "Feature one");
    assert_eq!(doc["ai"]["tools"], serde_json::json!(["cursor"]));
    // Files: base...head; main's change reached the feature through the merge.
    assert_matches_git(&r, &doc, &base, &head);

    // Against main: the three-dot diff leaves out what main did meanwhile.
    let doc = facts(&r, "main", "feature");
    assert_matches_git(&r, &doc, "main", "feature");
    let main_tip = r.git(&["rev-parse", "main"]);
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "m2\n");
    r.write("other.txt", "only on main\n");
    r.commit("Main two\n");
    let doc = facts(&r, "main", "feature");
    assert_eq!(paths(&doc), ["feature.txt"]);
    assert_eq!(doc["base"], r.head());
    assert_ne!(doc["base"], main_tip.trim());
    assert_matches_git(&r, &doc, "main", "feature");
}

#[test]
fn revisions_in_every_form() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let first = r.commit("First\n");
    r.git(&["tag", "v1"]);
    r.git(&["tag", "-a", "-m", "annotated", "v1-annotated"]);
    for i in 1..=3 {
        r.write("f", format!("{i}\n"));
        r.commit(&format!("Commit {i}\n"));
    }
    let head = r.head();
    for base in [
        "v1",
        "v1-annotated",
        &first,
        &first[..10],
        "HEAD~3",
        "main~3",
        "HEAD^^^",
    ] {
        let doc = facts(&r, base, "HEAD");
        assert_eq!(doc["base"], first, "{base}");
        assert_eq!(doc["head"], head, "{base}");
        assert_eq!(doc["commits"].as_array().unwrap().len(), 3, "{base}");
    }
}

#[test]
fn missing_revisions_are_named() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    r.commit("First\n");
    let e = err(r.path(), "nope", "HEAD");
    assert!(
        matches!(e, GitError::RevisionNotFound { which: "base", .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("base revision `nope` not found in `"),
        "{msg}"
    );
    assert!(msg.contains(&r.path().display().to_string()), "{msg}");

    let e = err(r.path(), "HEAD", "feature/missing");
    assert!(
        e.to_string()
            .starts_with("head revision `feature/missing` not found"),
        "{e}"
    );

    // A well-formed id of an object that does not exist.
    let e = err(r.path(), "0123456789abcdef0123456789abcdef01234567", "HEAD");
    assert!(matches!(e, GitError::RevisionNotFound { .. }), "{e:?}");

    let e = err(r.path(), "", "HEAD");
    assert!(matches!(e, GitError::RevisionNotFound { .. }), "{e:?}");

    // A tree is not a commit.
    let e = err(r.path(), "HEAD^{tree}", "HEAD");
    assert!(
        matches!(e, GitError::NotACommit { which: "base", .. }),
        "{e:?}"
    );
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let e = err(dir.path(), "main", "HEAD");
    assert!(matches!(e, GitError::Open { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot open a git repository"),
        "{e}"
    );
}

#[test]
fn same_base_and_head_is_an_empty_change() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let c = r.commit("Only\n");
    let doc = facts(&r, "HEAD", &c);
    assert_eq!(doc["files"], serde_json::json!([]));
    assert_eq!(doc["commits"], serde_json::json!([]));
    assert_eq!(doc["title"], "");
    assert_eq!(doc["ai"]["assisted"], "unknown");
    assert_eq!(doc["base"], c);
    assert_eq!(doc["head"], c);
    assert_eq!(doc["author"], ALICE.1);
}

#[test]
fn head_behind_base_has_no_commits_or_files() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let old = r.commit("Old\n");
    r.write("f", "1\n");
    r.commit("New\n");
    // Like `git diff HEAD...old`: the merge base is `old` itself.
    let doc = facts(&r, "HEAD", &old);
    assert_eq!(doc["files"], serde_json::json!([]));
    assert_eq!(doc["commits"], serde_json::json!([]));
}

#[test]
fn unrelated_histories_have_no_merge_base() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    r.commit("Main\n");
    r.git(&["checkout", "-q", "--orphan", "other"]);
    r.write("g", "0\n");
    r.commit("Other\n");
    let e = err(r.path(), "main", "other");
    assert!(matches!(e, GitError::NoMergeBase { .. }), "{e:?}");
    let e = merge_base(r.path(), "main", "other").unwrap_err();
    assert!(matches!(e, GitError::NoMergeBase { .. }), "{e:?}");
}

#[test]
fn non_utf8_paths_are_kept_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let base = r.commit("Base\n");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(r.path().join(name), "latin-1 name\n").unwrap();
    let head = r.commit("Add a latin-1 file name\n");
    let doc = facts(&r, &base, &head);
    assert_eq!(paths(&doc), ["caf\u{fffd}.txt"]);
    assert_eq!(doc["files"][0]["status"], "added");
    assert_eq!(doc["files"][0]["added"], 1);
    // The document stays valid JSON text: the lossy path serialises.
    assert!(
        serde_json::to_string(&doc)
            .unwrap()
            .contains("caf\u{fffd}.txt")
    );
}

#[test]
fn limits_are_errors() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let base = r.commit("Base\n");
    for i in 1..=3 {
        r.write(&format!("f{i}"), "x\n");
        r.commit(&format!("Commit {i}\n"));
    }
    let opts = GitOptions {
        max_commits: 2,
        ..GitOptions::default()
    };
    let e = change_from_git(r.path(), &base, "HEAD", &opts).unwrap_err();
    assert_eq!(e, GitError::TooManyCommits { limit: 2 });
    assert!(e.to_string().contains("`max_commits`"), "{e}");
    let opts = GitOptions {
        max_commits: 3,
        ..GitOptions::default()
    };
    assert!(change_from_git(r.path(), &base, "HEAD", &opts).is_ok());

    let opts = GitOptions {
        max_files: 2,
        ..GitOptions::default()
    };
    let e = change_from_git(r.path(), &base, "HEAD", &opts).unwrap_err();
    assert_eq!(e, GitError::TooManyFiles { limit: 2 });
    let opts = GitOptions {
        max_files: 3,
        ..GitOptions::default()
    };
    assert!(change_from_git(r.path(), &base, "HEAD", &opts).is_ok());
}

#[test]
fn blobs_over_the_size_limit_count_as_binary() {
    let mut r = Repo::new();
    r.write("small.txt", "a\n");
    r.write("big.txt", lines(100, "big"));
    let base = r.commit("Base\n");
    r.write("small.txt", "a\nb\n");
    r.write("big.txt", lines(101, "big"));
    let head = r.commit("Grow\n");
    let opts = GitOptions {
        max_blob_bytes: 200,
        ..GitOptions::default()
    };
    let doc = facts_with(r.path(), &base, &head, &opts);
    let f = files(&doc);
    assert_eq!(f["big.txt"]["binary"], true);
    assert_eq!(f["big.txt"]["added"], 0);
    assert_eq!(f["small.txt"]["binary"], false);
    assert_eq!(f["small.txt"]["added"], 1);
    let doc = facts(&r, &base, &head);
    assert_eq!(files(&doc)["big.txt"]["added"], 1);
}

#[test]
fn binary_detection_looks_at_the_first_8000_bytes() {
    let mut r = Repo::new();
    let mut late_nul = vec![b'a'; 8000];
    late_nul.extend_from_slice(b"\x00tail\n");
    let mut early_nul = vec![b'a'; 7999];
    early_nul.extend_from_slice(b"\x00tail\n");
    r.write("keep", "k\n");
    let base = r.commit("Base\n");
    r.write("late.bin", &late_nul);
    r.write("early.bin", &early_nul);
    let head = r.commit("Add\n");
    let doc = facts(&r, &base, &head);
    let f = files(&doc);
    assert_eq!(f["late.bin"]["binary"], false);
    assert_eq!(f["early.bin"]["binary"], true);
    assert_matches_git(&r, &doc, &base, &head);
}

/// The path of the loose object `id` in `repo`.
fn loose_object(repo: &Path, id: &str) -> PathBuf {
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn corrupt_repositories_are_errors() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let base = r.commit("Base\n");
    r.write("a.txt", "a\nchanged\n");
    let middle = r.commit("Middle\n");
    r.write("b.txt", "b\n");
    let head = r.commit("Head\n");

    // A missing blob.
    let blob = r.git(&["rev-parse", &format!("{head}:b.txt")]);
    std::fs::remove_file(loose_object(r.path(), blob.trim())).unwrap();
    let e = err(r.path(), &base, &head);
    assert!(matches!(e, GitError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("may be corrupt"), "{e}");

    // A missing commit in the middle of the range.
    std::fs::remove_file(loose_object(r.path(), &middle)).unwrap();
    let e = err(r.path(), &base, &head);
    assert!(
        matches!(e, GitError::Corrupt { .. }),
        "a missing commit is corruption: {e:?}"
    );
    assert!(e.to_string().contains("may be corrupt"), "{e}");

    // A commit that does not decode.
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let base = r.commit("Base\n");
    r.write("a.txt", "b\n");
    let head = r.commit("Head\n");
    let path = loose_object(r.path(), &head);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b"garbage that is not zlib").unwrap();
    let e = err(r.path(), &base, &head);
    assert!(
        matches!(
            e,
            GitError::Corrupt { .. } | GitError::RevisionNotFound { .. }
        ),
        "{e:?}"
    );
}

#[test]
fn missing_history_on_either_side_is_corruption() {
    // main: c0 - m1 - m2; feature: c0 - f1 - f2. Each case deletes one commit.
    let build = || {
        let mut r = Repo::new();
        r.write("f", "0\n");
        let c0 = r.commit("C0\n");
        r.git(&["checkout", "-q", "-b", "feature"]);
        r.write("g", "1\n");
        let f1 = r.commit("F1\n");
        r.write("g", "2\n");
        let f2 = r.commit("F2\n");
        r.git(&["checkout", "-q", "main"]);
        r.write("f", "1\n");
        let m1 = r.commit("M1\n");
        r.write("f", "2\n");
        r.commit("M2\n");
        (r, [c0, f1, f2, m1])
    };
    for victim in 0..4 {
        let (r, ids) = build();
        std::fs::remove_file(loose_object(r.path(), &ids[victim])).unwrap();
        let e = err(r.path(), "main", "feature");
        assert!(
            matches!(e, GitError::Corrupt { .. }),
            "deleting commit {victim}: {e:?}"
        );
    }

    // A missing tree.
    let (r, ids) = build();
    let tree = r.git(&["rev-parse", &format!("{}^{{tree}}", ids[2])]);
    std::fs::remove_file(loose_object(r.path(), tree.trim())).unwrap();
    let e = err(r.path(), "main", "feature");
    assert!(matches!(e, GitError::Corrupt { .. }), "{e:?}");
}

#[test]
fn shallow_clones_error_past_the_boundary() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    r.commit("C0\n");
    for i in 1..=3 {
        r.write("f", format!("{i}\n"));
        r.commit(&format!("Main {i}\n"));
    }
    r.git(&["checkout", "-q", "-b", "feature", "HEAD~3"]);
    for i in 1..=3 {
        r.write("g", format!("{i}\n"));
        r.commit(&format!("Feature {i}\n"));
    }
    r.git(&["checkout", "-q", "main"]);

    let clone = r.dir.path().join("shallow");
    let url = format!("file://{}", r.path().display());
    r.git_in(
        r.dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            "--no-single-branch",
            &url,
            clone.to_str().unwrap(),
        ],
    );

    // Within the boundary: correct facts.
    let doc = facts_with(&clone, "HEAD~1", "HEAD", &GitOptions::default());
    assert_eq!(doc["commits"].as_array().unwrap().len(), 1);
    assert_eq!(paths(&doc), ["f"]);

    // A base beyond the boundary cannot even be resolved, and the help says why.
    let e = err(&clone, "HEAD~2", "HEAD");
    assert!(matches!(e, GitError::RevisionNotFound { .. }), "{e:?}");
    let GitError::RevisionNotFound { detail, .. } = &e else {
        unreachable!()
    };
    assert!(detail.contains("shallow"), "{detail}");

    // The fork point of main and feature lies beyond the boundary: an error, not a guess.
    let e = err(&clone, "origin/main", "origin/feature");
    assert!(matches!(e, GitError::Shallow { .. }), "{e:?}");
    assert!(e.to_string().contains("shallow clone"), "{e}");

    // The full repository gives the answer the shallow one could not.
    let doc = facts(&r, "main", "feature");
    assert_eq!(doc["commits"].as_array().unwrap().len(), 3);
}

#[test]
fn merge_base_like_git() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let fork = r.commit("Fork\n");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.write("t", "1\n");
    r.commit("Topic\n");
    r.git(&["checkout", "-q", "main"]);
    r.write("f", "1\n");
    r.commit("Main\n");
    assert_eq!(merge_base(r.path(), "main", "topic").unwrap(), fork);
    assert_eq!(merge_base(r.path(), "topic", "main").unwrap(), fork);
    assert_eq!(
        merge_base(r.path(), "main", "topic").unwrap(),
        r.git(&["merge-base", "main", "topic"]).trim()
    );
    assert_eq!(merge_base(r.path(), "main", "main").unwrap(), r.head());
    let e = merge_base(r.path(), "main", "nope").unwrap_err();
    assert!(e.to_string().contains("revision `nope` not found"), "{e}");
}

#[test]
fn default_branch_prefers_origin_head() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    r.commit("First\n");
    assert_eq!(default_branch(r.path()).unwrap(), "main");

    // A clone has `origin/HEAD`.
    r.git(&["branch", "-q", "-m", "main", "trunk"]);
    let clone = r.dir.path().join("clone");
    let url = format!("file://{}", r.path().display());
    r.git_in(
        r.dir.path(),
        &["clone", "-q", &url, clone.to_str().unwrap()],
    );
    assert_eq!(default_branch(&clone).unwrap(), "origin/trunk");
    let doc = facts_with(
        &clone,
        &default_branch(&clone).unwrap(),
        "HEAD",
        &GitOptions::default(),
    );
    assert_eq!(doc["commits"], serde_json::json!([]));

    // Neither origin/HEAD, main nor master.
    let e = default_branch(r.path()).unwrap_err();
    assert!(matches!(e, GitError::NoDefaultBranch { .. }), "{e:?}");

    r.git(&["branch", "-q", "-m", "trunk", "master"]);
    assert_eq!(default_branch(r.path()).unwrap(), "master");
    r.git(&["branch", "-q", "main"]);
    assert_eq!(default_branch(r.path()).unwrap(), "main");
}

/// Build a range of 1000 commits touching 10,000 files with `git fast-import` and check the
/// facts at that scale. Run with `cargo test --release -p blastwall-facts --test git -- --ignored`.
#[test]
#[ignore = "builds a 10,000-file repository: slow in a debug build"]
fn large_range() {
    let r = Repo::new();
    let mut stream = String::new();
    let mut mark = 0;
    let file = |i: usize, rev: usize| -> String {
        let mut s = String::new();
        for l in 0..20 {
            if l == rev % 20 {
                s.push_str(&format!("revision {rev} of file {i}\n"));
            } else {
                s.push_str(&format!("file {i} line {l} with some ordinary text\n"));
            }
        }
        s
    };
    let commit = |stream: &mut String,
                  mark: &mut usize,
                  msg: &str,
                  files: Vec<(String, String)>| {
        *mark += 1;
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{mark}\nauthor A <a@example.com> {} +0000\ncommitter A <a@example.com> {} +0000\ndata {}\n{msg}\n",
            1_700_000_000 + *mark,
            1_700_000_000 + *mark,
            msg.len()
        ));
        for (path, content) in files {
            stream.push_str(&format!(
                "M 100644 inline {path}\ndata {}\n{content}\n",
                content.len()
            ));
        }
    };
    commit(
        &mut stream,
        &mut mark,
        "Base",
        (0..10_000)
            .map(|i| (format!("dir{}/file{i}.txt", i % 100), file(i, 0)))
            .collect(),
    );
    for c in 1..=1000 {
        let msg = if c % 10 == 0 {
            format!("Commit {c}\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
        } else {
            format!("Commit {c}")
        };
        commit(
            &mut stream,
            &mut mark,
            &msg,
            (0..10)
                .map(|k| {
                    let i = (c - 1) * 10 + k;
                    (format!("dir{}/file{i}.txt", i % 100), file(i, c))
                })
                .collect(),
        );
    }
    let mut child = r
        .command(r.path())
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    r.git(&["repack", "-a", "-d", "-q"]);

    // Correctness at scale only: the time is measured by `cargo bench --bench facts`.
    let doc = change_from_git(r.path(), "main~1000", "main", &GitOptions::default()).unwrap();
    assert_eq!(doc["commits"].as_array().unwrap().len(), 1000);
    assert_eq!(doc["files"].as_array().unwrap().len(), 10_000);
    // Line `rev % 20` holds the revision: two lines differ from the base.
    assert_eq!(doc["files"][0]["added"], 2);
    assert_eq!(doc["files"][0]["removed"], 2);
    assert_eq!(doc["ai"]["assisted"], "yes");
}

#[test]
fn submodules_and_non_utf8_messages() {
    let mut r = Repo::new();
    r.write("f", "0\n");
    let base = r.commit("Base\n");
    // A submodule entry (gitlink) pointing at some commit, staged without a checkout.
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{base},vendor/lib"),
    ]);
    let message = r.dir.path().join("message.txt");
    std::fs::write(
        &message,
        b"Caf\xe9 au lait\n\nSigned-off-by: Ren\xe9 <rene@example.com>\n",
    )
    .unwrap();
    r.git(&[
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "-F",
        message.to_str().unwrap(),
    ]);
    let head = r.head();
    let doc = facts(&r, &base, &head);
    let f = files(&doc);
    assert_eq!(f["vendor/lib"]["status"], "added");
    assert_eq!(f["vendor/lib"]["added"], 0);
    assert_eq!(f["vendor/lib"]["binary"], false);
    assert_eq!(doc["title"], "Caf\u{fffd} au lait");
    assert_eq!(
        doc["commits"][0]["trailers"][0]["value"],
        "Ren\u{fffd} <rene@example.com>"
    );
}
