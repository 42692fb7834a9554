//! A real-size monorepo, generated: a pnpm workspace of 230 packages (30 of them fixtures that
//! share one name, as pnpm allows), owners in CODEOWNERS, a CI workflow, and 1,000 commits of
//! people and coding agents. `replay` decides every commit without any configuration; the
//! tallies must add up and each kind of commit must be decided as its rules say.
//!
//! The history is written with `git fast-import` (one process for all 1,000 commits), so the
//! test spends its time deciding, not building the repository.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Packages with a name of their own.
const PACKAGES: usize = 200;
/// Fixture packages that all share one name.
const FIXTURES: usize = 30;
/// Commits after the first.
const COMMITS: usize = 999;

/// What each generated commit is, and so how it must be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A person edits one source file of a leaf package: nothing to ask.
    Human,
    /// A coding agent edits one owned source file: its owners must review.
    Agent,
    /// A person edits the CI workflow: the security group must review.
    Ci,
    /// A person regenerates protobuf output, thousands of lines: not a large change.
    Generated,
    /// A person changes many lines by hand: a large change.
    Large,
}

fn kind_of(i: usize) -> Kind {
    match i % 10 {
        0 | 5 => Kind::Agent,
        3 => Kind::Ci,
        7 => Kind::Generated,
        9 => Kind::Large,
        _ => Kind::Human,
    }
}

fn pkg(i: usize) -> String {
    format!("packages/pkg-{i:03}")
}

/// A leaf package: none depends on it (see `manifest`).
fn leaf(i: usize) -> usize {
    PACKAGES / 2 + (i * 7) % (PACKAGES / 2)
}

/// Package `k` depends on `k / 2` (a tree rooted at `pkg-000`), by `workspace:` specifier,
/// and every tenth also on its sibling by a `file:` path.
fn manifest(k: usize) -> String {
    let mut deps = Vec::new();
    if k > 0 {
        deps.push(format!("\"@mono/pkg-{:03}\": \"workspace:*\"", k / 2));
    }
    if k.is_multiple_of(10) && k + 1 < PACKAGES / 2 {
        deps.push(format!(
            "\"@mono/pkg-{:03}\": \"file:../pkg-{:03}\"",
            k + 1,
            k + 1
        ));
    }
    format!(
        "{{\n  \"name\": \"@mono/pkg-{k:03}\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {{ {} }}\n}}\n",
        deps.join(", ")
    )
}

fn inline(out: &mut Vec<u8>, path: &str, body: &str) {
    write!(out, "M 100644 inline {path}\ndata {}\n{body}\n", body.len()).unwrap();
}

fn commit_header(out: &mut Vec<u8>, n: usize, who: (&str, &str), message: &str) {
    let time = 1_767_225_600 + n * 60;
    write!(
        out,
        "commit refs/heads/main\nmark :{n}\nauthor {} <{}> {time} +0000\ncommitter {} <{}> {time} +0000\ndata {}\n{message}\n",
        who.0,
        who.1,
        who.0,
        who.1,
        message.len()
    )
    .unwrap();
    if n > 1 {
        writeln!(out, "from :{}", n - 1).unwrap();
    }
}

/// The fast-import stream of the whole history.
fn history() -> Vec<u8> {
    let mut out = Vec::new();
    let person = ("Dana Dev", "dana@example.com");
    commit_header(&mut out, 1, person, "initial import");
    inline(
        &mut out,
        "package.json",
        "{ \"name\": \"mono\", \"private\": true }\n",
    );
    inline(
        &mut out,
        "pnpm-workspace.yaml",
        "packages:\n  - 'packages/*'\n  - 'fixtures/*'\n",
    );
    inline(
        &mut out,
        ".github/CODEOWNERS",
        "/packages/ @mono/web\n/packages/pkg-00*/ @mono/core @mono/platform\n/.github/ @mono/infra\n",
    );
    inline(
        &mut out,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    );
    inline(&mut out, ".github/workflows/README.md", "How CI runs.\n");
    for k in 0..PACKAGES {
        inline(&mut out, &format!("{}/package.json", pkg(k)), &manifest(k));
        inline(
            &mut out,
            &format!("{}/src/index.js", pkg(k)),
            &format!("export const v = 0; // {k}\n"),
        );
    }
    for f in 0..FIXTURES {
        // pnpm allows two packages of one name; unnamed ones are named after their folder.
        let body = if f.is_multiple_of(3) {
            "{ \"private\": true }\n".to_string()
        } else {
            "{ \"name\": \"fixture\", \"private\": true }\n".to_string()
        };
        inline(&mut out, &format!("fixtures/f{f:02}/package.json"), &body);
    }
    for i in 0..COMMITS {
        let n = i + 2;
        let k = leaf(i);
        match kind_of(i) {
            Kind::Human => {
                commit_header(&mut out, n, person, &format!("tweak pkg-{k:03} ({i})\n"));
                inline(
                    &mut out,
                    &format!("{}/src/index.js", pkg(k)),
                    &format!("export const v = {i}; // {k}\n"),
                );
            }
            Kind::Agent => {
                let message = format!(
                    "refactor pkg-{k:03} ({i})\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
                );
                commit_header(&mut out, n, person, &message);
                inline(
                    &mut out,
                    &format!("{}/src/index.js", pkg(k)),
                    &format!("export const v = {i}; // agent {k}\n"),
                );
            }
            Kind::Ci => {
                commit_header(&mut out, n, person, &format!("ci: cache ({i})\n"));
                inline(
                    &mut out,
                    ".github/workflows/ci.yml",
                    &format!("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest # {i}\n"),
                );
                inline(
                    &mut out,
                    ".github/workflows/README.md",
                    &format!("How CI runs ({i}).\n"),
                );
            }
            Kind::Generated => {
                let mut body = String::from("// Code generated by protoc-gen-go. DO NOT EDIT.\n");
                for line in 0..3000 {
                    writeln!(body, "var x{line} = {i}").unwrap();
                }
                commit_header(&mut out, n, person, &format!("regenerate api ({i})\n"));
                inline(&mut out, &format!("{}/gen/api.pb.go", pkg(k)), &body);
            }
            Kind::Large => {
                let mut body = String::new();
                for line in 0..2000 {
                    writeln!(body, "export const l{line} = {i};").unwrap();
                }
                commit_header(&mut out, n, person, &format!("rewrite pkg-{k:03} ({i})\n"));
                inline(&mut out, &format!("{}/src/big.js", pkg(k)), &body);
            }
        }
    }
    out.extend_from_slice(b"done\n");
    out
}

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    c
}

#[test]
fn replay_of_a_thousand_commits_in_a_monorepo_adds_up_and_decides_sanely() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    assert!(
        git(repo)
            .args(["init", "-q", "-b", "main"])
            .status()
            .unwrap()
            .success()
    );
    let mut import = git(repo)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(&history()).unwrap();
    assert!(import.wait().unwrap().success());
    assert!(
        git(repo)
            .args(["checkout", "-q", "main"])
            .status()
            .unwrap()
            .success()
    );
    let root = git(repo)
        .args(["rev-list", "--max-parents=0", "HEAD"])
        .output()
        .unwrap();
    let root = String::from_utf8(root.stdout).unwrap().trim().to_string();

    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["replay", &format!("{root}..HEAD"), "--format", "json"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing on standard error in a pipe: no progress line, no warning.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // The tallies add up.
    assert_eq!(v["commits"], COMMITS);
    let outcomes = v["outcomes"].as_object().unwrap();
    let total: u64 = outcomes.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total, COMMITS as u64, "{outcomes:?}");
    assert_eq!(v["outcomes"]["error"], 0, "{outcomes:?}");
    assert_eq!(v["outcomes"]["skipped"], 0);
    let decisions = v["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), COMMITS);
    let mut by_outcome: BTreeMap<&str, u64> = BTreeMap::new();
    for d in decisions {
        *by_outcome
            .entry(d["outcome"].as_str().unwrap())
            .or_default() += 1;
    }
    for (outcome, n) in &by_outcome {
        assert_eq!(v["outcomes"][*outcome], *n, "{outcome}");
    }
    // Each rule's count is the number of decisions it appears in.
    for rule in v["rules"].as_array().unwrap() {
        let name = rule["rule"].as_str().unwrap();
        let listed = decisions
            .iter()
            .filter(|d| d["rules"].as_array().unwrap().iter().any(|r| r == name))
            .count();
        assert_eq!(rule["commits"], listed, "{name}");
    }

    // The topology was derived from the workspace without configuration: every package,
    // the fixtures of one name told apart, `workspace:` and `file:` specifiers both edges.
    let check = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args([
            "check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ])
        .current_dir(repo)
        .output()
        .unwrap();
    let c: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let nodes = c["facts"]["topology"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), PACKAGES + FIXTURES);
    let depends = |name: &str| -> Vec<String> {
        let node = nodes.iter().find(|n| n["name"] == name).unwrap();
        node["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(depends("@mono/pkg-010"), ["@mono/pkg-005", "@mono/pkg-011"]);

    // Each kind of commit is decided as its rules say. Decisions are oldest first, as the
    // commits were written.
    for (i, d) in decisions.iter().enumerate() {
        let rules: Vec<&str> = d["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let outcome = d["outcome"].as_str().unwrap();
        let subject = d["subject"].as_str().unwrap();
        match kind_of(i) {
            Kind::Human => {
                assert_eq!(outcome, "allow", "{subject}: {rules:?}");
            }
            Kind::Agent => {
                assert_eq!(outcome, "review", "{subject}");
                assert!(
                    rules.contains(&"ai_change_needs_owner_review"),
                    "{subject}: {rules:?}"
                );
            }
            Kind::Ci => {
                assert_eq!(outcome, "review", "{subject}");
                assert_eq!(rules, ["sensitive_ci_change"], "{subject}");
            }
            Kind::Generated => {
                assert_eq!(outcome, "allow", "{subject}: {rules:?}");
            }
            Kind::Large => {
                assert!(
                    rules.iter().any(|r| r.starts_with("large_change")),
                    "{subject}: {rules:?}"
                );
            }
        }
    }
}
