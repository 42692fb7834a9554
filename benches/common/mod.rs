//! Repository generators shared by the benches (setup only; the library never runs `git`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Run `git` in `dir`, isolated from the machine's configuration.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// The text of generated file `i` at revision `rev`: 20 lines, one of which names the revision.
pub fn file_text(i: usize, rev: usize) -> String {
    (0..20)
        .map(|l| {
            if l == rev % 20 {
                format!("revision {rev} of file {i}\n")
            } else {
                format!("file {i} line {l} of ordinary text\n")
            }
        })
        .collect()
}

/// Initialise a repository in `dir` with branch `main`, import a `git fast-import` stream and
/// pack the result, as a long-lived clone is.
pub fn import(dir: &Path, stream: &str) {
    git(dir, &["init", "-q", "-b", "main"]);
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
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
    git(dir, &["repack", "-a", "-d", "-q"]);
}
