//! `blastwall replay` end to end, on repositories the tests build in temp dirs with the `git`
//! CLI (isolated from the machine's configuration, fixed identities and dates).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const AI_TRAILER: &str = "Co-Authored-By: Claude <noreply@anthropic.com>";

/// A small policy whose expectations do not move when the shipped rules do: an AI-assisted
/// change to owned code needs its owner, a huge change two reviews, a medium one a warning, a
/// private key is denied.
const POLICY: &str = r#"
rule ai_owned {
    level hard
    when change.ai.assisted == "yes" and some f in change.files: some o in f.owners: true
    require review from o count 1
    message "AI-assisted change to {f.path} needs a review from {o}"
    about f.path
}

rule huge {
    level soft
    let lines = sum([f.added + f.removed for f in change.files])
    when lines > 1000
    require review count 2
    message "change touches {lines} lines"
}

rule medium {
    level advisory
    let lines = sum([f.added + f.removed for f in change.files])
    when lines > 100 and lines <= 1000
    warn "change touches {lines} lines"
}

rule no_private_keys {
    level hard
    when some f in change.files: f.path matches ["**/*.pem"]
    deny "{f.path} is a private key"
    about f.path
}
"#;

struct Repo {
    dir: tempfile::TempDir,
    clock: u64,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        let r = Repo {
            dir,
            clock: 1_767_225_600,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// Run git in the repository; its trimmed standard output.
    fn git(&self, args: &[&str]) -> String {
        let date = format!("{} +0000", self.clock);
        let out = Command::new("git")
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Alice")
            .env("GIT_AUTHOR_EMAIL", "alice@example.com")
            .env("GIT_COMMITTER_NAME", "Alice")
            .env("GIT_COMMITTER_EMAIL", "alice@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn write(&self, path: &str, body: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// Commit everything; the new commit's id. The clock moves a minute per commit.
    fn commit(&mut self, msg: &str) -> String {
        self.clock += 60;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The test policy, written outside the repository so it is not part of any commit.
    fn policy(&self) -> PathBuf {
        let p = self.dir.path().join("policy.bw");
        std::fs::write(&p, POLICY).unwrap();
        p
    }

    fn rev_list(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["rev-list"];
        all.extend_from_slice(args);
        self.git(&all).lines().map(String::from).collect()
    }
}

fn lines(n: usize, what: &str) -> String {
    (0..n).map(|i| format!("{what} line {i}\n")).collect()
}

/// The history most tests replay, from the tag `base` to `main`:
///
/// - `small`: a human edit to a README (allow);
/// - `ai`: an AI-assisted edit to owned payments code (review: `ai_owned`);
/// - `medium`: 500 added lines (warn: `medium`);
/// - `huge`: 2,000 added lines (review: `huge`);
/// - `key`: adds `certs/server.pem` (deny: `no_private_keys`);
/// - a branch `feature` with `feat-ai` (an AI-assisted edit to payments: review) and
///   `feat-docs` (human, allow), merged with `--no-ff` as `merge`: on the first-parent line the
///   merge is the branch's whole change, AI-assisted, so review by `ai_owned`.
struct History {
    repo: Repo,
    small: String,
    ai: String,
    medium: String,
    huge: String,
    key: String,
    feat_ai: String,
    feat_docs: String,
    merge: String,
}

fn history() -> History {
    let mut repo = Repo::new();
    repo.write(".github/CODEOWNERS", "/services/payments/ @org/payments\n");
    repo.write("services/payments/src/lib.rs", "pub fn pay() {}\n");
    repo.write("README.md", "# shop\n");
    repo.commit("Initial");
    repo.git(&["tag", "base"]);
    repo.write("README.md", "# shop\n\nSells things.\n");
    let small = repo.commit("Describe the shop");
    repo.write(
        "services/payments/src/lib.rs",
        "pub fn pay() { /* faster */ }\n",
    );
    let ai = repo.commit(&format!("Speed up payments\n\n{AI_TRAILER}"));
    repo.write("docs/guide.txt", &lines(500, "guide"));
    let medium = repo.commit("Write the guide");
    repo.write("vendor/big.txt", &lines(2000, "vendored"));
    let huge = repo.commit("Vendor a big file");
    repo.write("certs/server.pem", "-----BEGIN PRIVATE KEY-----\n");
    let key = repo.commit("Add the server key");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "services/payments/src/lib.rs",
        "pub fn pay() { /* fastest */ }\n",
    );
    let feat_ai = repo.commit(&format!("Speed up payments again\n\n{AI_TRAILER}"));
    repo.write("README.md", "# shop\n\nSells things, fast.\n");
    let feat_docs = repo.commit("Say it is fast");
    repo.git(&["checkout", "-q", "main"]);
    repo.clock += 60;
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    History {
        repo,
        small,
        ai,
        medium,
        huge,
        key,
        feat_ai,
        feat_docs,
        merge,
    }
}

fn replay(repo: &Path, args: &[&str]) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .arg("replay")
        .arg("--repo")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

/// Replay with the test policy, as JSON; the run must succeed.
fn replay_json(h: &Repo, args: &[&str]) -> Value {
    let policy = h.policy();
    let mut all = vec!["--format", "json", "--rules", policy.to_str().unwrap()];
    all.extend_from_slice(args);
    let (out, v) = replay(&h.path(), &all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

/// `(sha, outcome, rules)` of every decision.
fn decisions(v: &Value) -> Vec<(String, String, Vec<String>)> {
    v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["sha"].as_str().unwrap().to_string(),
                d["outcome"].as_str().unwrap().to_string(),
                d["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn decision(sha: &str, outcome: &str, rules: &[&str]) -> (String, String, Vec<String>) {
    (
        sha.to_string(),
        outcome.to_string(),
        rules.iter().map(|r| (*r).to_string()).collect(),
    )
}

#[test]
fn the_first_parent_line_is_decided_commit_by_commit() {
    let h = history();
    let v = replay_json(&h.repo, &["base..main"]);
    assert_eq!(v["range"], "base..main");
    assert_eq!(v["mode"], "first-parent");
    assert_eq!(v["commits"], 6);
    assert_eq!(
        v["outcomes"],
        json!({"allow": 1, "warn": 1, "review": 3, "deny": 1, "error": 0, "skipped": 0})
    );
    assert_eq!(
        v["rules"],
        json!([
            {"rule": "ai_owned", "commits": 2, "effects": {"deny": 0, "review": 2, "warn": 0}},
            {"rule": "huge", "commits": 1, "effects": {"deny": 0, "review": 1, "warn": 0}},
            {"rule": "medium", "commits": 1, "effects": {"deny": 0, "review": 0, "warn": 1}},
            {"rule": "no_private_keys", "commits": 1, "effects": {"deny": 1, "review": 0, "warn": 0}},
        ])
    );
    assert_eq!(
        decisions(&v),
        vec![
            decision(&h.small, "allow", &[]),
            decision(&h.ai, "review", &["ai_owned"]),
            decision(&h.medium, "warn", &["medium"]),
            decision(&h.huge, "review", &["huge"]),
            decision(&h.key, "deny", &["no_private_keys"]),
            decision(&h.merge, "review", &["ai_owned"]),
        ]
    );
    // Oldest first, exactly the commits `git log --first-parent` lists.
    let mut expected = h.repo.rev_list(&["--first-parent", "base..main"]);
    expected.reverse();
    let got: Vec<String> = decisions(&v).into_iter().map(|d| d.0).collect();
    assert_eq!(got, expected);
    assert_eq!(v["decisions"][1]["subject"], "Speed up payments");
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("no approvals")),
        "{v}"
    );
}

#[test]
fn all_parents_also_decides_the_merged_branch_commits() {
    let h = history();
    let v = replay_json(&h.repo, &["base..main", "--all-parents"]);
    assert_eq!(v["mode"], "all-parents");
    assert_eq!(v["commits"], 8);
    assert_eq!(
        v["outcomes"],
        json!({"allow": 2, "warn": 1, "review": 4, "deny": 1, "error": 0, "skipped": 0})
    );
    assert_eq!(v["rules"][0]["rule"], "ai_owned");
    assert_eq!(v["rules"][0]["commits"], 3);
    assert_eq!(
        v["rules"][0]["effects"],
        json!({"deny": 0, "review": 3, "warn": 0})
    );
    let got = decisions(&v);
    let find = |sha: &str| got.iter().find(|d| d.0 == sha).unwrap().clone();
    assert_eq!(
        find(&h.feat_ai),
        decision(&h.feat_ai, "review", &["ai_owned"])
    );
    assert_eq!(find(&h.feat_docs), decision(&h.feat_docs, "allow", &[]));
    assert_eq!(find(&h.merge), decision(&h.merge, "review", &["ai_owned"]));
    // Every commit of `git log base..main`, each after its parents.
    let mut expected = h.repo.rev_list(&["base..main"]);
    let mut shas: Vec<String> = got.iter().map(|d| d.0.clone()).collect();
    let pos = |sha: &str| shas.iter().position(|s| s == sha).unwrap();
    assert!(pos(&h.feat_ai) < pos(&h.feat_docs) && pos(&h.feat_docs) < pos(&h.merge));
    assert!(pos(&h.key) < pos(&h.merge) && pos(&h.small) < pos(&h.ai));
    expected.sort();
    shas.sort();
    assert_eq!(shas, expected);
}

#[test]
fn the_shipped_rules_hold_an_ai_change_to_owned_code_and_a_huge_one() {
    let h = history();
    // No `--rules` and no `rules/` in the repository: the shipped rules.
    let (out, v) = replay(&h.repo.path(), &["base..main", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = decisions(&v);
    let find = |sha: &str| got.iter().find(|d| d.0 == sha).unwrap().clone();
    assert_eq!(
        find(&h.ai),
        decision(&h.ai, "review", &["ai_change_needs_owner_review"])
    );
    assert_eq!(
        find(&h.huge),
        decision(&h.huge, "review", &["large_change_review"])
    );
    assert_eq!(
        find(&h.medium),
        decision(&h.medium, "warn", &["large_change_warning"])
    );
    assert_eq!(find(&h.small), decision(&h.small, "allow", &[]));
    let ai_rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "ai_change_needs_owner_review")
        .unwrap();
    assert_eq!(ai_rule["commits"], 2, "{v}");
    assert_eq!(ai_rule["effects"]["review"], 2);
}

#[test]
fn the_text_report_counts_attributes_and_lists() {
    let h = history();
    let policy = h.repo.policy();
    let (out, _) = replay(
        &h.repo.path(),
        &[
            "base..main",
            "--rules",
            policy.to_str().unwrap(),
            "--show",
            "2",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("replay of base..main: 6 commits (first-parent), 4 rules\n"),
        "{text}"
    );
    assert!(text.contains("no approvals are assumed"), "{text}");
    assert!(text.contains("\nallow           1    16.7%\n"), "{text}");
    assert!(text.contains("\nreview          3    50.0%\n"), "{text}");
    assert!(text.contains("\ndeny            1    16.7%\n"), "{text}");
    assert!(!text.contains("\nerror"), "{text}");
    assert!(
        text.contains("\nai_owned               2       0       2       0\n"),
        "{text}"
    );
    assert!(
        text.contains("first 2 of 5 commits not allowed (`--show N` for more):"),
        "{text}"
    );
    let short = &h.ai[..10];
    assert!(
        text.contains(&format!("  review  {short}  Speed up payments  ai_owned\n")),
        "{text}"
    );
    assert!(!text.contains(&h.huge[..10]), "only two are listed: {text}");
    // Not a terminal: no progress line on stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("replayed"));
}

#[test]
fn a_missing_base_is_an_error() {
    let h = history();
    let (out, v) = replay(&h.repo.path(), &["no-such-base..main", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(v, Value::Null, "nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`no-such-base` not found"), "{err}");
}

#[test]
fn a_range_must_be_base_dot_dot_head() {
    let h = history();
    for bad in ["main", "base...main"] {
        let (out, _) = replay(&h.repo.path(), &[bad]);
        assert_eq!(out.status.code(), Some(3), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn an_empty_range_replays_nothing() {
    let h = history();
    let v = replay_json(&h.repo, &["main..main"]);
    assert_eq!(v["commits"], 0);
    assert_eq!(
        v["outcomes"],
        json!({"allow": 0, "warn": 0, "review": 0, "deny": 0, "error": 0, "skipped": 0})
    );
    assert_eq!(v["rules"], json!([]));
    assert_eq!(v["decisions"], json!([]));
    // An empty side is `HEAD`, as in git: `main..` is `main..HEAD`.
    assert_eq!(replay_json(&h.repo, &["main.."])["commits"], 0);

    let (out, _) = replay(&h.repo.path(), &["main..main"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no commits in the range"), "{text}");
}

#[test]
fn a_root_commit_is_skipped_and_said_so() {
    let mut h = history();
    // An unrelated history as the base: every commit of `main` is in the range, the root too.
    h.repo.git(&["checkout", "-q", "--orphan", "elsewhere"]);
    h.repo.git(&["rm", "-rqf", "."]);
    h.repo.write("other.txt", "other\n");
    h.repo.commit("Unrelated");
    h.repo.git(&["checkout", "-q", "main"]);
    let v = replay_json(&h.repo, &["elsewhere..main"]);
    assert_eq!(v["commits"], 7);
    assert_eq!(v["outcomes"]["skipped"], 1);
    assert_eq!(v["decisions"][0]["subject"], "Initial");
    assert_eq!(v["decisions"][0]["outcome"], "skipped");
    assert_eq!(v["outcomes"]["allow"], 1);
}

#[test]
fn an_unreadable_commit_is_counted_not_fatal_unless_all_fail() {
    let mut h = history();
    h.repo
        .write("data/lost.txt", "a blob that will go missing\n");
    let lost = h.repo.commit("Add data");
    h.repo
        .write("README.md", "# shop\n\nSells things, fast, well.\n");
    h.repo.commit("Polish the readme");
    // Remove the new blob's loose object: the commit that adds it cannot be read any more.
    let blob = h.repo.git(&["rev-parse", "HEAD:data/lost.txt"]);
    let object = h
        .repo
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    std::fs::remove_file(&object).unwrap();

    let v = replay_json(&h.repo, &["base..main"]);
    assert_eq!(v["commits"], 8);
    assert_eq!(v["outcomes"]["error"], 1);
    assert_eq!(v["outcomes"]["allow"], 2);
    let failed = &v["decisions"][6];
    assert_eq!(failed["sha"], lost.as_str());
    assert_eq!(failed["outcome"], "error");
    assert!(
        failed["error"].as_str().unwrap().contains("corrupt"),
        "{failed}"
    );

    // Only that commit: every commit fails, so the replay does.
    let range = format!("{lost}~1..{lost}");
    let (out, _) = replay(&h.repo.path(), &[&range, "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("every commit"), "{err}");
}

#[test]
fn more_commits_than_the_limit_is_an_error() {
    let h = history();
    let (out, _) = replay(&h.repo.path(), &["base..main", "--max-commits", "5"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more than 5 commits"), "{err}");
}

/// Enough commits for the replay to split them over worker threads (on a machine with more
/// than one core): the order and the counts must not depend on it.
#[test]
fn a_long_range_is_decided_in_order() {
    let mut repo = Repo::new();
    repo.write(".github/CODEOWNERS", "/src/ @org/core\n");
    repo.write("src/lib.rs", "0\n");
    repo.commit("Initial");
    for i in 1..=100 {
        repo.write("src/lib.rs", &format!("{i}\n"));
        if i % 7 == 0 {
            repo.commit(&format!("Change {i}\n\n{AI_TRAILER}"));
        } else {
            repo.commit(&format!("Change {i}"));
        }
    }
    let v = replay_json(&repo, &["main~100..main"]);
    assert_eq!(v["commits"], 100);
    assert_eq!(v["outcomes"]["review"], 14);
    assert_eq!(v["outcomes"]["allow"], 86);
    let mut expected = repo.rev_list(&["main~100..main"]);
    expected.reverse();
    let got = decisions(&v);
    let shas: Vec<&str> = got.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(shas, expected);
    for (i, d) in got.iter().enumerate() {
        let n = i + 1;
        assert_eq!(v["decisions"][i]["subject"], format!("Change {n}"));
        let want = if n % 7 == 0 { "review" } else { "allow" };
        assert_eq!(d.1, want, "commit {n}");
    }
}

#[test]
fn replay_takes_the_topology_config_and_parameters_check_takes() {
    let h = history();
    let outcome_of = |v: &Value, sha: &str| -> (String, Vec<String>) {
        decisions(v)
            .into_iter()
            .find(|(s, _, _)| s == sha)
            .map(|(_, o, r)| (o, r))
            .unwrap()
    };
    let shipped = |args: &[&str]| {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let (out, v) = replay(&h.repo.path(), &all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        v
    };
    // 500 lines warn by default; `--set` raises the threshold, and so does a config file.
    let v = shipped(&["base..main"]);
    assert!(
        outcome_of(&v, &h.medium)
            .1
            .contains(&"large_change_warning".to_string())
    );
    let v = shipped(&["base..main", "--set", "large_change_warn=1000"]);
    assert!(
        !outcome_of(&v, &h.medium)
            .1
            .contains(&"large_change_warning".to_string())
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let config = elsewhere.path().join("strict.toml");
    std::fs::write(&config, "[params]\nlarge_change_warn = 1000\n").unwrap();
    let v = shipped(&["base..main", "--config", config.to_str().unwrap()]);
    assert!(
        !outcome_of(&v, &h.medium)
            .1
            .contains(&"large_change_warning".to_string())
    );
    // A topology given by file: payments is tier 1, so changing it needs the blast-radius review.
    let topology = elsewhere.path().join("topology.toml");
    std::fs::write(
        &topology,
        "[services.payments]\ntier = 1\npaths = [\"services/payments/**\"]\n",
    )
    .unwrap();
    let v = shipped(&["base..main", "--topology", topology.to_str().unwrap()]);
    assert!(
        outcome_of(&v, &h.ai)
            .1
            .contains(&"blast_radius_review".to_string()),
        "{v:#}"
    );
    let v = shipped(&["base..main"]);
    assert!(
        !outcome_of(&v, &h.ai)
            .1
            .contains(&"blast_radius_review".to_string())
    );
}
