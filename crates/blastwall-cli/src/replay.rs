//! `blastwall replay BASE..HEAD`: decide every commit of a range with the current rules, as if
//! each had been checked on its own, and report how many would have been allowed, warned, held
//! for review or denied, and which rules drove it. It lets a team see what a new rule would have
//! done to its own history before enforcing it; it is a report, never a gate (exit 0).
//!
//! What each commit is decided on:
//! - its `change`: the diff from its first parent, read as `check` reads a range
//!   (`GitRepo::change(parent, commit)`). A merge commit on the first-parent line is therefore
//!   the whole merged branch, as the pull request that landed it was; with `--all-parents` the
//!   branch's commits are decided one by one as well. A root commit has no parent to diff
//!   against and is skipped (counted as `skipped`);
//! - owners from the CODEOWNERS and services from the topology of the range's head commit
//!   (its tree, not the working tree), found as `check` finds them, so the question answered is
//!   "what would today's rules, with the head's owners and topology, have said";
//! - the parameters of `blastwall.toml` (or the policy's defaults), no approvals, overrides,
//!   plan or action. With no approvals every review a rule asks for is missing, so a commit that
//!   needs one counts as `review`.
//!
//! A commit that cannot be read or decided is counted as an `error` and reported; the replay
//! fails (exit 3) only when a revision does not resolve, the walk itself fails, or every commit
//! fails.
//!
//! Commits are decided on up to two worker threads, each with its own open repository; results
//! are put back in commit order, so the output never depends on scheduling.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use blastwall::{Decision, Outcome, Policy};
use blastwall_facts::{GitOptions, GitRepo, RangeCommit};
use serde_json::{Map, Value, json};

use crate::{Failure, Format};
use blastwall_gather::RepoContext;

/// The default of `--max-commits`.
const DEFAULT_MAX_COMMITS: usize = 10_000;

/// The default of `--show`.
const DEFAULT_SHOW: usize = 20;

/// The most worker threads; the machine's parallelism is used up to this.
const MAX_WORKERS: usize = 2;

/// Below this many commits one thread does the work: a second open repository costs more than
/// it saves.
const PARALLEL_FROM: usize = 64;

/// Subjects longer than this are cut in the text report.
const SUBJECT_WIDTH: usize = 60;

/// What the text and JSON outputs say about how commits were decided.
const NOTES: [&str; 3] = [
    "each commit is decided as its own change against its first parent; root commits are skipped",
    "no approvals are assumed: a commit that needs a review counts as `review`",
    "parameters from blastwall.toml (or --config) and --set, else the defaults; owners from the CODEOWNERS and services from the topology (or --topology) of the range's head",
];

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The commits to decide: `BASE..HEAD`, as `git log BASE..HEAD` lists them (an empty side
    /// is `HEAD`).
    #[arg(value_name = "BASE..HEAD")]
    range: String,
    /// The repository (default: the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Decide every commit of the range, merged branches' commits included (default: the
    /// first-parent line, `git log --first-parent`, where a merge is the change it landed).
    #[arg(long)]
    all_parents: bool,
    /// The most commits to replay; a longer range is an error, never cut short.
    #[arg(long, default_value_t = DEFAULT_MAX_COMMITS)]
    max_commits: usize,
    /// How many commits that were not allowed the text report lists.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SHOW)]
    show: usize,
    /// Policy files or folders (default: `rules/` in the repository when present, else the
    /// shipped rules).
    #[arg(long)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    context: crate::ContextArgs,
    /// Output format; `json` lists every commit's decision.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl ReplayArgs {
    /// The policy to load: `--rules`, else the repository's `rules/` when it holds `.bw`
    /// files, else none (the shipped rules), as `check` chooses.
    pub fn rule_paths(&self) -> Result<Vec<PathBuf>, blastwall_gather::GatherError> {
        blastwall_gather::rule_paths(&self.repo_path(), &self.rules)
    }

    fn repo_path(&self) -> PathBuf {
        blastwall_gather::repo_root(self.repo.as_deref())
    }
}

/// Replay the range and print the report. Exit code 0 whenever the replay ran.
pub fn run(args: ReplayArgs, policy: &Policy) -> Result<u8, Failure> {
    let (base, head) = parse_range(&args.range)?;
    let repo = args.repo_path();
    let at = |e: blastwall_facts::GitError| Failure(format!("`{}`: {e}", repo.display()));
    let git = GitRepo::open(&repo).map_err(at)?;
    let commits = git
        .commits(base, head, !args.all_parents, args.max_commits)
        .map_err(at)?;
    // Owners, topology and configuration as the range's head has them, not as the working
    // tree has them now: an uncommitted edit changes no replay of committed history.
    let snapshot = git.snapshot(head).map_err(at)?;
    let mut context = RepoContext::load_at(
        &repo,
        Some(&snapshot),
        args.context.topology.as_deref(),
        args.context.config.as_deref(),
    )?;
    blastwall_gather::apply_sets(&mut context.config.params, &args.context.set)?;
    let verdicts = decide_all(&git, &repo, &commits, &context, policy)?;
    let report = Report::new(&commits, &verdicts);
    if report.counts.error > 0 && report.decided() == 0 {
        let first = verdicts.iter().find_map(|v| match v {
            Verdict::Error(e) => Some(e.as_str()),
            _ => None,
        });
        return Err(Failure(format!(
            "every commit of `{}` failed to be decided; the first: {}",
            args.range,
            first.unwrap_or_default()
        )));
    }
    let mode = if args.all_parents {
        "all-parents"
    } else {
        "first-parent"
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let v = report.to_json(&args.range, mode, &commits, &verdicts);
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        Format::Text => {
            let text = report.to_text(
                &args.range,
                mode,
                policy.rule_names().len(),
                &commits,
                &verdicts,
                args.show,
            );
            write!(out, "{text}")?;
        }
    }
    Ok(0)
}

/// `BASE..HEAD` split into its revisions; an empty side is `HEAD`, as in git.
fn parse_range(range: &str) -> Result<(&str, &str), Failure> {
    let Some((base, head)) = range.split_once("..") else {
        return Err(Failure(format!(
            "`{range}` is not a range: expected `BASE..HEAD`"
        )));
    };
    if head.starts_with('.') {
        return Err(Failure(format!(
            "`{range}`: `BASE...HEAD` is not supported; replay `BASE..HEAD` (the commits of HEAD not in BASE)"
        )));
    }
    let base = if base.is_empty() { "HEAD" } else { base };
    let head = if head.is_empty() { "HEAD" } else { head };
    Ok((base, head))
}

/// What became of one commit.
#[derive(Debug)]
enum Verdict {
    /// Decided: the outcome, and each rule that raised it above `allow` with how far, in the
    /// policy's rule order.
    Decided {
        outcome: Outcome,
        rules: Vec<(String, Outcome)>,
    },
    /// A root commit: nothing to diff against.
    Skipped,
    /// The commit could not be read or decided.
    Error(String),
}

/// Decides commits of one repository; each worker has its own (a `GitRepo` is not `Sync`).
struct Decider<'a> {
    git: &'a GitRepo,
    context: &'a RepoContext,
    policy: &'a Policy,
    opts: GitOptions,
    /// The facts document, reused: the topology stays, the change is replaced per commit.
    facts: Map<String, Value>,
}

impl<'a> Decider<'a> {
    fn new(git: &'a GitRepo, context: &'a RepoContext, policy: &'a Policy) -> Decider<'a> {
        let mut facts = Map::new();
        if let Some(t) = &context.topology {
            facts.insert("topology".into(), t.clone());
        }
        if !context.config.params.is_empty() {
            facts.insert(
                "config".into(),
                Value::Object(context.config.params.clone()),
            );
        }
        Decider {
            git,
            context,
            policy,
            opts: GitOptions {
                provenance: context.config.provenance.clone(),
                ..GitOptions::default()
            },
            facts,
        }
    }

    fn decide(&mut self, commit: &RangeCommit) -> Verdict {
        let Some(parent) = commit.first_parent() else {
            return Verdict::Skipped;
        };
        let mut change = match self.git.change(parent, &commit.sha, &self.opts) {
            Ok(c) => c,
            Err(e) => return Verdict::Error(with_detail(&e)),
        };
        self.context.complete(&mut change);
        self.facts.insert("change".into(), change);
        let facts = Value::Object(std::mem::take(&mut self.facts));
        let decision = self.policy.evaluate_json(&facts);
        if let Value::Object(m) = facts {
            self.facts = m;
        }
        match decision {
            Ok(d) => Verdict::Decided {
                outcome: d.outcome,
                rules: drivers(&d),
            },
            Err(e) => Verdict::Error(format!("the facts of the commit: {e}")),
        }
    }
}

/// A git error with gix's detail, which its `Display` leaves to the diagnostic's help: for one
/// commit among thousands, which object was missing is the useful part.
fn with_detail(e: &blastwall_facts::GitError) -> String {
    use blastwall_facts::GitError as E;
    match e {
        E::Open { detail, .. }
        | E::RevisionNotFound { detail, .. }
        | E::NotACommit { detail, .. }
        | E::Corrupt { detail, .. } => format!("{e}: {detail}"),
        _ => e.to_string(),
    }
}

/// The rules that raised the outcome above `allow`, each once with its strongest effect, in
/// finding (that is, rule) order.
fn drivers(d: &Decision) -> Vec<(String, Outcome)> {
    let mut out: Vec<(String, Outcome)> = Vec::new();
    for f in &d.findings {
        let raised = d.raised_by(f);
        if raised == Outcome::Allow {
            continue;
        }
        match out.iter_mut().find(|(r, _)| *r == f.rule) {
            Some((_, o)) => *o = (*o).max(raised),
            None => out.push((f.rule.clone(), raised)),
        }
    }
    out
}

/// Decide every commit, in order. Large ranges are split over up to [`MAX_WORKERS`] threads:
/// worker `k` takes commits `k`, `k + n`, `k + 2n`… with its own open repository (the calling
/// thread is worker 0 and keeps the one already open). Results are put back by index, so the
/// order never depends on the threads.
fn decide_all(
    git: &GitRepo,
    repo: &Path,
    commits: &[RangeCommit],
    context: &RepoContext,
    policy: &Policy,
) -> Result<Vec<Verdict>, Failure> {
    let workers = if commits.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WORKERS)
    };
    let done = AtomicUsize::new(0);
    let progress = Progress::new(commits.len());
    let share = |git: &GitRepo, k: usize, tick: &dyn Fn()| {
        let mut decider = Decider::new(git, context, policy);
        let mut out = Vec::with_capacity(commits.len() / workers + 1);
        for (i, c) in commits.iter().enumerate().skip(k).step_by(workers) {
            out.push((i, decider.decide(c)));
            done.fetch_add(1, Ordering::Relaxed);
            tick();
        }
        out
    };
    let show = || progress.show(done.load(Ordering::Relaxed));

    let parts: Vec<Result<Vec<(usize, Verdict)>, Failure>> = std::thread::scope(|s| {
        let others: Vec<_> = (1..workers)
            .map(|k| {
                let share = &share;
                s.spawn(move || {
                    let own = GitRepo::open(repo)
                        .map_err(|e| Failure(format!("`{}`: {e}", repo.display())))?;
                    Ok(share(&own, k, &|| {}))
                })
            })
            .collect();
        let mut parts = vec![Ok(share(git, 0, &show))];
        while !others.iter().all(|h| h.is_finished()) {
            show();
            std::thread::sleep(Duration::from_millis(50));
        }
        parts.extend(others.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Failure("internal error: a replay worker stopped".into())))
        }));
        parts
    });
    show();
    progress.clear();

    let mut slots: Vec<Option<Verdict>> = std::iter::repeat_with(|| None)
        .take(commits.len())
        .collect();
    for part in parts {
        for (i, v) in part? {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(v);
            }
        }
    }
    Ok(slots
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Verdict::Error("internal error: not decided".into())))
        .collect())
}

/// A `\r`-updated "replayed N/M" line on stderr, only when stderr is a terminal.
struct Progress {
    on: bool,
    total: usize,
    last: std::cell::Cell<Option<Instant>>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            on: total > 0 && std::io::stderr().is_terminal(),
            total,
            last: std::cell::Cell::new(None),
        }
    }

    fn show(&self, done: usize) {
        if !self.on {
            return;
        }
        let due = self
            .last
            .get()
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if due || done == self.total {
            self.last.set(Some(Instant::now()));
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\rreplayed {done}/{}", self.total);
            let _ = err.flush();
        }
    }

    fn clear(&self) {
        if self.on {
            let width = format!("replayed {0}/{0}", self.total).len();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:width$}\r", "");
            let _ = err.flush();
        }
    }
}

/// Commits per outcome.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    allow: usize,
    warn: usize,
    review: usize,
    deny: usize,
    error: usize,
    skipped: usize,
}

/// Per rule: commits it raised, by how far.
#[derive(Debug, Default, Clone, Copy)]
struct RuleCounts {
    deny: usize,
    review: usize,
    warn: usize,
}

impl RuleCounts {
    fn commits(&self) -> usize {
        self.deny + self.review + self.warn
    }
}

/// The tallies of a replay.
struct Report {
    counts: Counts,
    /// Rules that raised some commit above `allow`, most commits first, then by name.
    rules: Vec<(String, RuleCounts)>,
}

impl Report {
    fn new(commits: &[RangeCommit], verdicts: &[Verdict]) -> Report {
        let mut counts = Counts::default();
        let mut rules: BTreeMap<&str, RuleCounts> = BTreeMap::new();
        for v in verdicts.iter().take(commits.len()) {
            match v {
                Verdict::Decided { outcome, rules: by } => {
                    match outcome {
                        Outcome::Allow => counts.allow += 1,
                        Outcome::Warn => counts.warn += 1,
                        Outcome::Review => counts.review += 1,
                        Outcome::Deny => counts.deny += 1,
                    }
                    for (rule, raised) in by {
                        let rc = rules.entry(rule.as_str()).or_default();
                        match raised {
                            Outcome::Deny => rc.deny += 1,
                            Outcome::Review => rc.review += 1,
                            Outcome::Warn => rc.warn += 1,
                            Outcome::Allow => {}
                        }
                    }
                }
                Verdict::Skipped => counts.skipped += 1,
                Verdict::Error(_) => counts.error += 1,
            }
        }
        let mut rules: Vec<(String, RuleCounts)> =
            rules.into_iter().map(|(r, c)| (r.to_string(), c)).collect();
        rules.sort_by(|a, b| b.1.commits().cmp(&a.1.commits()).then(a.0.cmp(&b.0)));
        Report { counts, rules }
    }

    fn decided(&self) -> usize {
        let c = &self.counts;
        c.allow + c.warn + c.review + c.deny
    }

    fn to_json(
        &self,
        range: &str,
        mode: &str,
        commits: &[RangeCommit],
        verdicts: &[Verdict],
    ) -> Value {
        let c = &self.counts;
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(rule, rc)| {
                json!({
                    "rule": rule,
                    "commits": rc.commits(),
                    "effects": {"deny": rc.deny, "review": rc.review, "warn": rc.warn},
                })
            })
            .collect();
        let decisions: Vec<Value> = commits
            .iter()
            .zip(verdicts)
            .map(|(commit, v)| {
                let mut m = Map::new();
                m.insert("sha".into(), json!(commit.sha));
                m.insert("subject".into(), json!(commit.subject));
                match v {
                    Verdict::Decided { outcome, rules } => {
                        m.insert("outcome".into(), json!(outcome.as_str()));
                        let names: Vec<&str> = rules.iter().map(|(r, _)| r.as_str()).collect();
                        m.insert("rules".into(), json!(names));
                    }
                    Verdict::Skipped => {
                        m.insert("outcome".into(), json!("skipped"));
                        m.insert("rules".into(), json!([]));
                        m.insert(
                            "reason".into(),
                            json!("a root commit: no parent to diff against"),
                        );
                    }
                    Verdict::Error(e) => {
                        m.insert("outcome".into(), json!("error"));
                        m.insert("rules".into(), json!([]));
                        m.insert("error".into(), json!(e));
                    }
                }
                Value::Object(m)
            })
            .collect();
        json!({
            "range": range,
            "mode": mode,
            "commits": commits.len(),
            "outcomes": {
                "allow": c.allow,
                "warn": c.warn,
                "review": c.review,
                "deny": c.deny,
                "error": c.error,
                "skipped": c.skipped,
            },
            "rules": rules,
            "decisions": decisions,
            "notes": NOTES,
        })
    }

    fn to_text(
        &self,
        range: &str,
        mode: &str,
        rule_count: usize,
        commits: &[RangeCommit],
        verdicts: &[Verdict],
        show: usize,
    ) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let total = commits.len();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let _ = writeln!(
            s,
            "replay of {range}: {total} commit{} ({mode}), {rule_count} rule{}",
            plural(total),
            plural(rule_count)
        );
        for note in NOTES {
            let _ = writeln!(s, "  {note}");
        }
        if total == 0 {
            let _ = writeln!(s, "\nno commits in the range");
            return s;
        }
        let c = &self.counts;
        let pct = |n: usize| 100.0 * n as f64 / total as f64;
        let _ = writeln!(s, "\noutcome   commits        %");
        for (name, n) in [
            ("allow", c.allow),
            ("warn", c.warn),
            ("review", c.review),
            ("deny", c.deny),
            ("error", c.error),
            ("skipped", c.skipped),
        ] {
            if n > 0 || !matches!(name, "error" | "skipped") {
                let _ = writeln!(s, "{name:<8}{n:>9}{:>8.1}%", pct(n));
            }
        }

        if self.rules.is_empty() {
            let _ = writeln!(s, "\nno rule raised any commit above allow");
        } else {
            let width = self
                .rules
                .iter()
                .map(|(r, _)| r.len())
                .max()
                .unwrap_or(0)
                .max(4);
            let _ = writeln!(
                s,
                "\nrules behind the outcomes above allow:\n{:<width$}  commits    deny  review    warn",
                "rule"
            );
            for (rule, rc) in &self.rules {
                let _ = writeln!(
                    s,
                    "{rule:<width$}  {:>7} {:>7} {:>7} {:>7}",
                    rc.commits(),
                    rc.deny,
                    rc.review,
                    rc.warn
                );
            }
        }

        let flagged: Vec<(&RangeCommit, &Verdict)> = commits
            .iter()
            .zip(verdicts)
            .filter(|(_, v)| {
                !matches!(
                    v,
                    Verdict::Decided {
                        outcome: Outcome::Allow,
                        ..
                    } | Verdict::Skipped
                )
            })
            .collect();
        if !flagged.is_empty() && show > 0 {
            let listed = flagged.len().min(show);
            let _ = if listed < flagged.len() {
                writeln!(
                    s,
                    "\nfirst {listed} of {} commits not allowed (`--show N` for more):",
                    flagged.len()
                )
            } else {
                writeln!(s, "\ncommits not allowed:")
            };
            let shown: Vec<(&RangeCommit, &Verdict)> = flagged.into_iter().take(show).collect();
            let width = shown
                .iter()
                .map(|(c, _)| c.subject.chars().count())
                .max()
                .unwrap_or(0)
                .min(SUBJECT_WIDTH);
            for (commit, v) in shown {
                let short = commit.sha.get(..10).unwrap_or(&commit.sha);
                let subject = cut(&commit.subject, width);
                let (outcome, why) = match v {
                    Verdict::Decided { outcome, rules } => (
                        outcome.as_str(),
                        rules
                            .iter()
                            .map(|(r, _)| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    Verdict::Error(e) => ("error", e.clone()),
                    Verdict::Skipped => ("skipped", String::new()),
                };
                let _ = writeln!(s, "  {outcome:<7} {short}  {subject:<width$}  {why}");
            }
        }
        s
    }
}

/// `text` cut to at most `width` characters, with `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
