//! Fact gathering: a git range of 1,000 commits touching 10,000 files, and the topology of a
//! 500-crate Cargo workspace. See `benches/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

mod common;

use blastwall_facts::{GitOptions, change_from_git, topology_from_cargo};
use criterion::{Criterion, criterion_group, criterion_main};

/// A repository whose `main~1000..main` has 1,000 commits, each changing 10 of 10,000 files,
/// one in ten with an AI co-author trailer. Built with `git fast-import` (setup only).
fn big_repo(dir: &Path) {
    let mut stream = String::new();
    for c in 0..=1000usize {
        let msg = if c > 0 && c % 10 == 0 {
            format!("Commit {c}\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
        } else {
            format!("Commit {c}")
        };
        let t = 1_700_000_000 + c;
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor A <a@example.com> {t} +0000\ncommitter A <a@example.com> {t} +0000\ndata {}\n{msg}\n",
            msg.len()
        ));
        let files: Vec<usize> = if c == 0 {
            (0..10_000).collect()
        } else {
            ((c - 1) * 10..c * 10).collect()
        };
        for i in files {
            let body = common::file_text(i, c);
            stream.push_str(&format!(
                "M 100644 inline dir{}/file{i}.txt\ndata {}\n{body}\n",
                i % 100,
                body.len()
            ));
        }
    }
    common::import(dir, &stream);
}

/// A Cargo workspace of `n` crates, each depending on up to three earlier ones by path.
fn big_workspace(dir: &Path, n: usize) {
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for i in 0..n {
        let crate_dir = dir.join(format!("crates/c{i}"));
        std::fs::create_dir_all(crate_dir.join("src")).unwrap();
        let mut manifest = format!(
            "[package]\nname = \"c{i}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
        );
        let deps: std::collections::BTreeSet<usize> = [i / 2, i / 3, i / 7].into_iter().collect();
        for d in deps {
            if d < i {
                manifest.push_str(&format!("c{d} = {{ path = \"../c{d}\" }}\n"));
            }
        }
        std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(crate_dir.join("src/lib.rs"), "").unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let repo = tempfile::tempdir().unwrap();
    big_repo(repo.path());
    let doc = change_from_git(repo.path(), "main~1000", "main", &GitOptions::default()).unwrap();
    assert_eq!(doc["commits"].as_array().unwrap().len(), 1000);
    assert_eq!(doc["files"].as_array().unwrap().len(), 10_000);
    let ws = tempfile::tempdir().unwrap();
    big_workspace(ws.path(), 500);
    assert_eq!(
        topology_from_cargo(ws.path()).unwrap()["nodes"]
            .as_array()
            .unwrap()
            .len(),
        500
    );

    let mut g = c.benchmark_group("facts");
    g.sample_size(10);
    g.bench_function("git_range_1000_commits_10000_files", |b| {
        b.iter(|| {
            change_from_git(repo.path(), "main~1000", "main", &GitOptions::default()).unwrap()
        })
    });
    g.bench_function("topology_cargo_500_crates", |b| {
        b.iter(|| topology_from_cargo(ws.path()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
