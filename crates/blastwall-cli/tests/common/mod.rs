//! What the end-to-end tests share: a git repository in a temp dir, made with the git CLI
//! under a fixed identity and date, so that its commits are the same on every run.

use std::path::Path;
use std::process::Command;

/// A repository in a temporary directory, on branch `main`.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Run git with `name <email>` as author and committer, nothing of the user's config.
    pub fn git_as(&self, args: &[&str], name: &str, email: &str) {
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

    /// Run git as Alice.
    pub fn git(&self, args: &[&str]) {
        self.git_as(args, "Alice", "alice@example.com");
    }

    pub fn write(&self, path: &str, body: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    pub fn commit(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }
}
