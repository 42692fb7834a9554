//! `GitRepo`: the commit walk `blastwall replay` lists a range with, and `GitRepo::change`, on
//! repositories each test builds in its own temp dir with the `git` CLI (tests only: the library
//! never runs it). Where git can say what the answer is (`rev-list`), the test asks it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use blastwall_facts::{GitError, GitOptions, GitRepo, RangeCommit, change_from_git};
use tempfile::TempDir;

struct Repo {
    dir: TempDir,
    clock: u64,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        let r = Repo {
            dir,
            clock: 1_700_000_000,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("{} +0000", self.clock);
        let out = Command::new("git")
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
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

    /// Write `file` and commit with `message`; the commit's id.
    fn commit(&mut self, file: &str, message: &str) -> String {
        self.clock += 60;
        let p = self.path().join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{message}\n")).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn merge(&mut self, branch: &str, message: &str) -> String {
        self.clock += 60;
        self.git(&["merge", "-q", "--no-ff", "-m", message, branch]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `git rev-list --reverse ARGS`.
    fn rev_list(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["rev-list", "--reverse"];
        all.extend_from_slice(args);
        let out = self.git(&all);
        out.lines().map(String::from).collect()
    }
}

/// Names of the commits of [`graph`].
struct Graph {
    repo: Repo,
    /// Every commit by name.
    ids: Vec<(&'static str, String)>,
}

impl Graph {
    fn id(&self, name: &str) -> &str {
        &self.ids.iter().find(|(n, _)| *n == name).unwrap().1
    }
}

/// ```text
///   a - b - c - d ------- m1 - e ------ m2     main
///        \           /              /
///         f1 ---- f2 (feature)     /
///              \                  /
///               g1 ------------ g2            other (from f1)
/// ```
fn graph() -> Graph {
    let mut repo = Repo::new();
    let mut ids = Vec::new();
    ids.push(("a", repo.commit("a.txt", "A root")));
    ids.push(("b", repo.commit("b.txt", "B")));
    repo.git(&["branch", "feature"]);
    ids.push(("c", repo.commit("c.txt", "C")));
    ids.push(("d", repo.commit("d.txt", "D")));
    repo.git(&["checkout", "-q", "feature"]);
    ids.push(("f1", repo.commit("f1.txt", "F1")));
    repo.git(&["branch", "other"]);
    ids.push(("f2", repo.commit("f2.txt", "F2")));
    repo.git(&["checkout", "-q", "other"]);
    ids.push(("g1", repo.commit("g1.txt", "G1")));
    ids.push(("g2", repo.commit("g2.txt", "G2")));
    repo.git(&["checkout", "-q", "main"]);
    ids.push(("m1", repo.merge("feature", "Merge feature")));
    ids.push(("e", repo.commit("e.txt", "E")));
    ids.push(("m2", repo.merge("other", "Merge other\n\nWith a body.")));
    Graph { repo, ids }
}

fn shas(commits: &[RangeCommit]) -> Vec<String> {
    commits.iter().map(|c| c.sha.clone()).collect()
}

/// Ranges worth comparing with git: from the root, from each side of a merge, from a commit
/// only a side branch reaches, diverged, empty.
const RANGES: [(&str, &str); 9] = [
    ("a", "m2"),
    ("b", "m2"),
    ("d", "m2"),
    ("f2", "m2"),
    ("g1", "m2"),
    ("m1", "m2"),
    ("c", "f2"),
    ("g2", "m1"),
    ("m2", "m2"),
];

#[test]
fn the_first_parent_line_is_what_git_log_first_parent_lists() {
    let g = graph();
    let git = GitRepo::open(&g.repo.path()).unwrap();
    for (base, head) in RANGES {
        let (b, h) = (g.id(base), g.id(head));
        let got = git.commits(b, h, true, 100).unwrap();
        let range = format!("{b}..{h}");
        let expected = g.repo.rev_list(&["--first-parent", &range]);
        assert_eq!(shas(&got), expected, "{base}..{head}");
    }
    // A merge's side branch is reached only through second parents: not on the line.
    let line = git.commits(g.id("a"), g.id("m2"), true, 100).unwrap();
    assert!(!shas(&line).contains(&g.id("f1").to_string()));
    assert_eq!(line.len(), 6, "b c d m1 e m2");
}

#[test]
fn all_parents_is_every_commit_of_git_log_parents_first() {
    let g = graph();
    let git = GitRepo::open(&g.repo.path()).unwrap();
    for (base, head) in RANGES {
        let (b, h) = (g.id(base), g.id(head));
        let got = git.commits(b, h, false, 100).unwrap();
        let range = format!("{b}..{h}");
        let mut expected = g.repo.rev_list(&[&range]);
        let mut sorted = shas(&got);
        sorted.sort();
        expected.sort();
        assert_eq!(sorted, expected, "{base}..{head}");
        // Each commit comes after every parent of it in the range.
        for (i, c) in got.iter().enumerate() {
            for p in &c.parents {
                if let Some(j) = got.iter().position(|x| x.sha == *p) {
                    assert!(j < i, "{base}..{head}: {} before its parent", c.subject);
                }
            }
        }
        // The same order as the `commits` of the change document.
        let change = change_from_git(&g.repo.path(), b, h, &GitOptions::default()).unwrap();
        let listed: Vec<String> = change["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sha"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(shas(&got), listed, "{base}..{head}");
    }
}

#[test]
fn each_commit_has_its_parents_in_order_and_its_subject() {
    let g = graph();
    let git = GitRepo::open(&g.repo.path()).unwrap();
    let got = git.commits(g.id("a"), "main", false, 100).unwrap();
    for c in &got {
        let line = g.repo.git(&["log", "-1", "--format=%P%x00%s", &c.sha]);
        let (parents, subject) = line.split_once('\0').unwrap();
        let parents: Vec<String> = parents.split_whitespace().map(String::from).collect();
        assert_eq!(c.parents, parents);
        assert_eq!(c.subject, subject);
        assert_eq!(c.first_parent(), parents.first().map(String::as_str));
    }
    let m2 = got.iter().find(|c| c.sha == g.id("m2")).unwrap();
    assert_eq!(m2.subject, "Merge other");
    assert_eq!(
        m2.parents,
        vec![g.id("e").to_string(), g.id("g2").to_string()]
    );
}

#[test]
fn a_root_commit_has_no_parent() {
    let mut g = graph();
    g.repo.git(&["checkout", "-q", "--orphan", "unrelated"]);
    g.repo.git(&["rm", "-rqf", "."]);
    let lone = g.repo.commit("z.txt", "Unrelated root");
    let git = GitRepo::open(&g.repo.path()).unwrap();
    let got = git.commits(&lone, "main", true, 100).unwrap();
    assert_eq!(got.len(), 7, "the whole first-parent line, root included");
    assert_eq!(got[0].sha, g.id("a"));
    assert_eq!(got[0].parents, Vec::<String>::new());
    assert_eq!(got[0].first_parent(), None);
}

#[test]
fn more_commits_than_the_limit_is_an_error_never_a_cut() {
    let g = graph();
    let git = GitRepo::open(&g.repo.path()).unwrap();
    let (a, m2) = (g.id("a"), g.id("m2"));
    assert_eq!(git.commits(a, m2, true, 6).unwrap().len(), 6);
    assert_eq!(
        git.commits(a, m2, true, 5).unwrap_err(),
        GitError::TooManyCommits { limit: 5 }
    );
    assert_eq!(git.commits(a, m2, false, 10).unwrap().len(), 10);
    assert_eq!(
        git.commits(a, m2, false, 9).unwrap_err(),
        GitError::TooManyCommits { limit: 9 }
    );
}

#[test]
fn revisions_resolve_as_in_change_from_git() {
    let g = graph();
    let git = GitRepo::open(&g.repo.path()).unwrap();
    let err = git.commits("nope", "main", true, 10).unwrap_err();
    assert!(
        matches!(&err, GitError::RevisionNotFound { which: "base", rev, .. } if rev == "nope"),
        "{err:?}"
    );
    let err = git.commits("main", "nope", false, 10).unwrap_err();
    assert!(matches!(
        err,
        GitError::RevisionNotFound { which: "head", .. }
    ));
    // Names, short forms and ancestry all resolve.
    let got = git.commits("main~2", "main", true, 10).unwrap();
    assert_eq!(shas(&got), vec![g.id("e"), g.id("m2")]);
    assert!(git.commits("main", "main", true, 10).unwrap().is_empty());
    assert!(matches!(
        GitRepo::open(&g.repo.path().join("nowhere")).unwrap_err(),
        GitError::Open { .. }
    ));
}

#[test]
fn change_on_an_open_repository_equals_change_from_git() {
    let g = graph();
    let path: &Path = &g.repo.path();
    let git = GitRepo::open(path).unwrap();
    let opts = GitOptions::default();
    for (base, head) in RANGES {
        let (b, h) = (g.id(base), g.id(head));
        assert_eq!(
            git.change(b, h, &opts).unwrap(),
            change_from_git(path, b, h, &opts).unwrap(),
            "{base}..{head}"
        );
    }
    // One commit against its first parent, as replay reads each commit.
    for c in git.commits(g.id("a"), g.id("m2"), false, 100).unwrap() {
        let parent = c.first_parent().unwrap();
        let change = git.change(parent, &c.sha, &opts).unwrap();
        assert_eq!(change["head"], c.sha.as_str());
        assert_eq!(change["base"], parent);
    }
}
