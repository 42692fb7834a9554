//! `blastwall replay` on 10,000 commits: what it costs to decide every commit of a long history
//! with the shipped rules. See `benches/README.md`.
//!
//! Measures, end to end through the library APIs, the pipeline `blastwall replay` runs
//! (`crates/blastwall-cli/src/replay.rs`; the binary crate has no library to call): open the
//! repository once, list `main~10000..main` along first parents, and for each commit read its
//! change against its first parent (`GitRepo::change`), add owners from a CODEOWNERS file, decide
//! with `Policy::evaluate_json` and tally the outcome and the rules that raised it. It runs on
//! one thread, as one replay worker does: the command splits commits over up to two threads, so
//! this is the cost on one core, an upper bound on its wall time on two. Policy compilation and
//! the repository's generation are setup, not timed. The target is ≤ 10 s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use std::time::Duration;

use blastwall::{Outcome, Policy};
use blastwall_facts::{Codeowners, Dialect, GitOptions, GitRepo, owners_facts, parse_codeowners};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

const COMMITS: usize = 10_000;
const FILES: usize = 300;
const CODEOWNERS: &str = "* @org/everyone\n/services/s1/ @org/s1\n";

/// A repository whose `main~10000..main` has 10,000 commits, each changing 3 of 300 files (one
/// line each), one in ten with an AI co-author trailer; CODEOWNERS owns everything. Built with
/// `git fast-import` (setup only) and packed, as a long-lived clone is.
fn big_history(dir: &Path) {
    let mut stream = String::new();
    for c in 0..=COMMITS {
        let msg = if c > 0 && c % 10 == 0 {
            format!("Change {c}\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n")
        } else {
            format!("Change {c}\n")
        };
        let t = 1_700_000_000 + c;
        let _ = write!(
            stream,
            "commit refs/heads/main\nauthor A <a@example.com> {t} +0000\ncommitter A <a@example.com> {t} +0000\ndata {}\n{msg}\n",
            msg.len()
        );
        let files: Vec<usize> = if c == 0 {
            let _ = write!(
                stream,
                "M 100644 inline .github/CODEOWNERS\ndata {}\n{CODEOWNERS}\n",
                CODEOWNERS.len()
            );
            (0..FILES).collect()
        } else {
            (0..3).map(|k| (c * 3 + k) % FILES).collect()
        };
        for i in files {
            let body = common::file_text(i, c);
            let _ = write!(
                stream,
                "M 100644 inline services/s{}/src/file{i}.rs\ndata {}\n{body}\n",
                i % 30,
                body.len()
            );
        }
    }
    common::import(dir, &stream);
    // Replay reads owners from the working tree, as `check` does.
    std::fs::create_dir_all(dir.join(".github")).unwrap();
    std::fs::write(dir.join(".github/CODEOWNERS"), CODEOWNERS).unwrap();
}

/// Commits per outcome, and per rule the commits it raised above `allow`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    commits: usize,
    outcomes: BTreeMap<&'static str, usize>,
    rules: BTreeMap<String, usize>,
    errors: usize,
}

/// What `replay` does for `base..head`, first-parent, on one thread.
fn replay(repo: &Path, base: &str, head: &str, policy: &Policy, owners: &Codeowners) -> Tally {
    let git = GitRepo::open(repo).unwrap();
    let commits = git.commits(base, head, true, COMMITS).unwrap();
    let opts = GitOptions::default();
    let mut tally = Tally {
        commits: commits.len(),
        ..Tally::default()
    };
    for c in &commits {
        let Some(parent) = c.first_parent() else {
            continue;
        };
        let mut change = match git.change(parent, &c.sha, &opts) {
            Ok(change) => change,
            Err(_) => {
                tally.errors += 1;
                continue;
            }
        };
        add_owners(&mut change, owners);
        let mut facts = Map::new();
        facts.insert("change".into(), change);
        let d = policy.evaluate_json(&Value::Object(facts)).unwrap();
        *tally.outcomes.entry(d.outcome.as_str()).or_default() += 1;
        let mut raised: Vec<&str> = Vec::new();
        for f in &d.findings {
            if d.raised_by(f) > Outcome::Allow && !raised.contains(&f.rule.as_str()) {
                raised.push(&f.rule);
            }
        }
        for r in raised {
            *tally.rules.entry(r.to_string()).or_default() += 1;
        }
    }
    tally
}

/// `files[].owners` and `owners`, as replay fills them in.
fn add_owners(change: &mut Value, owners: &Codeowners) {
    let paths: Vec<String> = change["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (per_file, record) = owners_facts(owners, &refs);
    for (f, (_, list)) in change["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(per_file)
    {
        f["owners"] = json!(list);
    }
    change["owners"] = record;
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    big_history(dir.path());
    let policy = Policy::embedded().unwrap();
    let owners = parse_codeowners(CODEOWNERS, Dialect::GitHub).with_file(".github/CODEOWNERS");
    let base = format!("main~{COMMITS}");

    // The result is checked before anything is timed: every commit decided, the AI-assisted
    // tenth held for its owner's review, the rest allowed.
    let tally = replay(dir.path(), &base, "main", &policy, &owners);
    assert_eq!(tally.commits, COMMITS);
    assert_eq!(tally.errors, 0);
    assert_eq!(
        tally.outcomes,
        BTreeMap::from([("allow", COMMITS * 9 / 10), ("review", COMMITS / 10)])
    );
    assert_eq!(
        tally.rules,
        BTreeMap::from([("ai_change_needs_owner_review".to_string(), COMMITS / 10)])
    );

    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(40));
    g.bench_function("replay_10000_commits", |b| {
        b.iter(|| replay(dir.path(), &base, "main", &policy, &owners))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
