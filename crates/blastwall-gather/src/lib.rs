//! Gathering: what to read for a decision, and reading it into fact documents.
//!
//! `blastwall-facts` turns one input format into one fact document; this crate decides what to
//! read for a request — the git range and its default base, the repository's `CODEOWNERS`,
//! topology and `blastwall.toml`, its `rules/` folder, the plans, admission requests, agent
//! payloads and reviews a front end was handed — and puts the documents together. Every front
//! end (`check`, `explain`, `replay`, `hook`) gathers through it, so they read the same things
//! the same way and fail the same way: an input that cannot be read is a [`GatherError`], never
//! a document left out.

mod err;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

pub use err::GatherError;

/// The most bytes any one input file may hold by default. Inputs are read in bounded chunks,
/// so a file without end (`/dev/zero`) fails here instead of exhausting memory.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// The input limit in force for this process: [`MAX_INPUT_BYTES`] unless a front end raised or
/// lowered it with [`set_input_limit`] (the CLI's `--max-input-size`).
static INPUT_LIMIT: AtomicU64 = AtomicU64::new(MAX_INPUT_BYTES);

/// The most bytes one input file may hold in this process.
pub fn input_limit() -> u64 {
    INPUT_LIMIT.load(Ordering::Relaxed)
}

/// Set the most bytes one input file may hold, for every read after this call. A process
/// setting, like an environment variable: a front end sets it once, from its flags, before it
/// gathers anything.
pub fn set_input_limit(bytes: u64) {
    INPUT_LIMIT.store(bytes, Ordering::Relaxed);
}

/// A size as people write it: bytes (`1048576`), or a number with a unit — `K`/`KiB`,
/// `M`/`MiB`, `G`/`GiB` (powers of 1024), `KB`/`MB`/`GB` (powers of 1000); case does not
/// matter. Zero is refused: no input would fit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write bytes, or e.g. `64MiB`, `1G`"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{other}` is not a size unit: use K, KiB, KB, M, MiB, MB, G, GiB or GB"
            ));
        }
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is larger than any file"))?;
    if bytes == 0 {
        return Err("the size must be more than zero bytes".into());
    }
    Ok(bytes)
}

/// Read a whole input file as UTF-8 text, refusing anything that is not a regular file (a FIFO
/// without a writer would block forever, a device may never end) and anything over the
/// [input limit](input_limit), before reading it. A leading byte-order mark is dropped.
pub fn read_text(path: &Path) -> Result<String, GatherError> {
    let limit = input_limit();
    let io = |source| GatherError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    if meta.len() > limit {
        return Err(GatherError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // The file may have grown since it was measured: read one byte past the limit at most.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(GatherError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    // A byte-order mark is no part of the text: JSON parsers refuse it where TOML accepts it,
    // so it is dropped here, for every kind of input alike.
    let had_bom = bytes.starts_with(UTF8_BOM);
    if had_bom {
        bytes.drain(..UTF8_BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| GatherError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to() + usize::from(had_bom) * UTF8_BOM.len(),
    })
}

/// The UTF-8 encoding of U+FEFF, the byte-order mark some editors put at the start of a file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Write `bytes` to `path` whole or not at all: a temporary file beside it, synced, then renamed
/// over it (keeping the old file's permissions). The error says what could not be done, and
/// where.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write beside `{}`: {e}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .map_err(|e| format!("cannot replace `{}`: {e}", path.display()))?;
    Ok(())
}

/// Read a JSON input file.
pub fn read_json(path: &Path) -> Result<Value, GatherError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| GatherError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The policy files `paths` name: each file named, and the `.bw` files (sorted) of each folder
/// named. A folder without `.bw` files is an error: an empty policy would decide nothing.
pub fn policy_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, GatherError> {
    let mut out = Vec::new();
    for p in paths {
        let io = |source| GatherError::Read {
            path: p.clone(),
            source,
        };
        if std::fs::metadata(p).map_err(io)?.is_dir() {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(p).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.extension().is_some_and(|x| x == "bw") {
                    found.push(path);
                }
            }
            found.sort();
            if found.is_empty() {
                return Err(GatherError::NoPolicy { path: p.clone() });
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The policy files `paths` name ([`policy_paths`]), read, as `(path, text)` pairs.
pub fn policy_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, GatherError> {
    policy_paths(paths)?
        .into_iter()
        .map(|f| Ok((f.display().to_string(), read_text(&f)?)))
        .collect()
}

/// The root of the git work tree that holds `start`, found as git finds it: the nearest of
/// `start` and its ancestors that has a `.git` entry (a folder, or the file a linked work tree
/// or submodule has). `None` outside any repository.
pub fn find_repository(start: &Path) -> Option<PathBuf> {
    let start = if start.is_absolute() {
        start.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(start)
    };
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// What a front end was asked to look at.
#[derive(Debug, Default)]
pub struct Sources {
    /// The repository (default: the current directory).
    pub repo: Option<PathBuf>,
    /// The base revision (default: the merge base of the default branch and the head).
    pub base: Option<String>,
    /// The head revision (default: `HEAD`).
    pub head: Option<String>,
    /// Read no git range.
    pub no_git: bool,
    /// A Terraform plan (`terraform show -json`).
    pub plan: Option<PathBuf>,
    /// A Kubernetes admission request.
    pub admission: Option<PathBuf>,
    /// A coding agent's tool call.
    pub action: Option<PathBuf>,
    /// GitHub pull-request reviews.
    pub reviews: Option<PathBuf>,
    /// Logins that approved the change.
    pub approved_by: Vec<String>,
    /// The change's author (default: the head commit's author email).
    pub author: Option<String>,
    /// A topology file.
    pub topology: Option<PathBuf>,
    /// The configuration file (default: `blastwall.toml` in the repository).
    pub config: Option<PathBuf>,
    /// Parameters, `KEY=VALUE`.
    pub set: Vec<String>,
    /// Overrides to record: the `soft` rule each lifts, and who records it and why.
    pub overrides: Vec<OverrideArg>,
}

/// An override a front end was asked to record, as the facts' `overrides` hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideArg {
    /// The rule it lifts.
    pub rule: String,
    /// Who records it.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// The facts gathered, and notes on what was not available.
#[derive(Debug)]
pub struct Gathered {
    /// The fact documents, as one JSON object.
    pub facts: Value,
    /// What was not available, for the front end to show (a missing `CODEOWNERS`, say).
    pub notes: Vec<String>,
}

/// Apply `--set KEY=VALUE` arguments to `params`, later ones winning. A value that reads as
/// JSON (a number, a boolean, a list) is that; anything else is a string, so `--set
/// team=@org/x` needs no quoting.
pub fn apply_sets(params: &mut Map<String, Value>, sets: &[String]) -> Result<(), GatherError> {
    for s in sets {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| GatherError::Set(s.clone()))?;
        let v = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        params.insert(key.trim().to_string(), v);
    }
    Ok(())
}

/// The repository a request is about: the one given, else the git work tree that holds the
/// current directory (found by walking up, as git does), else the current directory.
pub fn repo_root(given: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None => find_repository(Path::new(".")).unwrap_or_else(|| PathBuf::from(".")),
    }
}

/// Gather every fact document the sources give. Gathering nothing a rule could decide on (no
/// change, plan or action) is an error: an empty decision would allow, and a CI step run from
/// the wrong directory would pass without checking anything.
pub fn gather(src: &Sources) -> Result<Gathered, GatherError> {
    let repo = repo_root(src.repo.as_deref());
    let mut notes = Vec::new();
    let context = RepoContext::load(
        &repo,
        src.topology.as_deref(),
        src.config.as_deref(),
        &mut notes,
    )?;
    let config = &context.config;
    let mut facts = Map::new();

    // The change, from git.
    let mut change = if src.no_git {
        None
    } else {
        change_from_repo(src, &repo, config, &mut notes)?
    };

    if let Some(change) = change.as_mut() {
        context.complete(change);
        add_approvals(change, src, config, &mut notes)?;
    }
    if let Some(topo) = &context.topology {
        facts.insert("topology".into(), topo.clone());
    }
    if let Some(change) = change {
        facts.insert("change".into(), change);
    }

    // Infrastructure and agent inputs.
    match (&src.plan, &src.admission) {
        (Some(_), Some(_)) => {
            return Err(GatherError::PlanAndAdmission);
        }
        (Some(p), None) => {
            let plan = blastwall_facts::plan_from_terraform(&read_text(p)?, &config.plan)
                .map_err(|e| input_error(p, &e))?;
            facts.insert("plan".into(), plan);
        }
        (None, Some(p)) => {
            let plan = blastwall_facts::plan_from_admission(&read_text(p)?, &config.plan)
                .map_err(|e| input_error(p, &e))?;
            facts.insert("plan".into(), plan);
        }
        (None, None) => {}
    }
    if let Some(p) = &src.action {
        let action = blastwall_facts::action_from_json(&read_text(p)?, &config.action)
            .map_err(|e| input_error(p, &e))?;
        facts.insert("action".into(), action);
    }

    // Parameters: the configuration file, then `--set`.
    let mut params = config.params.clone();
    apply_sets(&mut params, &src.set)?;
    if !params.is_empty() {
        facts.insert("config".into(), Value::Object(params));
    }
    if !src.overrides.is_empty() {
        let list: Vec<Value> = src
            .overrides
            .iter()
            .map(|o| json!({ "rule": o.rule, "by": o.by, "reason": o.reason }))
            .collect();
        facts.insert("overrides".into(), Value::Array(list));
    }
    if !["change", "plan", "action"]
        .iter()
        .any(|doc| facts.contains_key(*doc))
    {
        return Err(GatherError::NoFacts {
            notes: if notes.is_empty() {
                String::new()
            } else {
                format!(": {}", notes.join("; "))
            },
        });
    }
    Ok(Gathered {
        facts: Value::Object(facts),
        notes,
    })
}

/// `given`, else the repository's `blastwall.toml` when there is one, else the defaults.
pub fn load_config(
    given: Option<&Path>,
    repo: &Path,
) -> Result<blastwall_facts::CheckConfig, GatherError> {
    let path = match given {
        Some(p) => Some(p.to_path_buf()),
        None => Some(repo.join("blastwall.toml")).filter(|p| p.is_file()),
    };
    match path {
        Some(p) => {
            let text = read_text(&p)?;
            blastwall_facts::read_config(&p.display().to_string(), &text)
                .map_err(|e| GatherError::Config(Box::new(e)))
        }
        None => Ok(blastwall_facts::CheckConfig::default()),
    }
}

fn change_from_repo(
    src: &Sources,
    repo: &Path,
    config: &blastwall_facts::CheckConfig,
    notes: &mut Vec<String>,
) -> Result<Option<Value>, GatherError> {
    let explicit = src.base.is_some() || src.head.is_some() || src.repo.is_some();
    let head = src.head.clone().unwrap_or_else(|| "HEAD".to_string());
    let base = match &src.base {
        Some(b) => b.clone(),
        None => {
            let default = match blastwall_facts::default_branch(repo) {
                Ok(d) => d,
                Err(e) if !explicit => {
                    notes.push(format!("no change facts: {e}"));
                    return Ok(None);
                }
                Err(source) => return Err(git(repo, source)),
            };
            let fork = blastwall_facts::merge_base(repo, &default, &head).map_err(|source| {
                GatherError::MergeBase {
                    repo: repo.to_path_buf(),
                    default: default.clone(),
                    head: head.clone(),
                    source: Box::new(source),
                }
            })?;
            let head_id = blastwall_facts::merge_base(repo, &head, &head)
                .map_err(|source| git(repo, source))?;
            let parent = format!("{head_id}~1");
            let parent_found = match blastwall_facts::merge_base(repo, &parent, &parent) {
                Ok(_) => true,
                // A shallow clone cut at the head (CI's default checkout of a push) has the
                // head but not its parent: checking an empty range would allow whatever was
                // pushed, so it is an error.
                Err(blastwall_facts::GitError::RevisionNotFound { .. })
                    if fork == head_id
                        && blastwall_facts::is_shallow(repo).map_err(|e| git(repo, e))? =>
                {
                    return Err(GatherError::ShallowHead {
                        repo: repo.to_path_buf(),
                        head: head.clone(),
                        default: default.clone(),
                    });
                }
                Err(_) => false,
            };
            if fork == head_id && parent_found {
                // The head is on the default branch (a push to main, say): an empty range
                // would allow whatever was just pushed, so check the head commit itself.
                notes.push(format!(
                    "`{head}` is on `{default}`: checking its last commit (give `--base` to choose a range)"
                ));
                parent
            } else {
                fork
            }
        }
    };
    let mut opts = blastwall_facts::GitOptions {
        author: src.author.clone(),
        ..blastwall_facts::GitOptions::default()
    };
    opts.provenance = config.provenance.clone();
    let change = blastwall_facts::change_from_git(repo, &base, &head, &opts)
        .map_err(|source| git(repo, source))?;
    Ok(Some(change))
}

fn paths_of(change: &Value) -> Vec<String> {
    change
        .get("files")
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(|f| text(f, "path").map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What a change is completed with from the repository itself: its code-owner file and its
/// topology (given as a file, or derived). Loaded once, applied to any number of changes.
#[derive(Debug)]
pub struct RepoContext {
    owners: Option<blastwall_facts::Codeowners>,
    /// The topology: the file given, else `blastwall-topology.toml`, else derived from a
    /// workspace; `None` when there is none.
    pub topology: Option<Value>,
    /// `blastwall.toml`: parameters, teams, provenance and environment settings.
    pub config: blastwall_facts::CheckConfig,
}

impl RepoContext {
    /// Find the code-owner file and the topology of `repo`; notes say what was not found.
    pub fn load(
        repo: &Path,
        topology_file: Option<&Path>,
        config_file: Option<&Path>,
        notes: &mut Vec<String>,
    ) -> Result<RepoContext, GatherError> {
        let config = load_config(config_file, repo)?;
        use blastwall_facts::Dialect;
        // A repository with GitLab CI configuration follows GitLab's rules (sections, its file
        // locations); any other follows GitHub's.
        let dialect = if repo.join(".gitlab-ci.yml").is_file() || repo.join(".gitlab").is_dir() {
            Dialect::GitLab
        } else {
            Dialect::GitHub
        };
        let candidates = [
            ".github/CODEOWNERS",
            "CODEOWNERS",
            "docs/CODEOWNERS",
            ".gitlab/CODEOWNERS",
        ];
        let present: Vec<&str> = candidates
            .into_iter()
            .filter(|p| repo.join(p).is_file())
            .collect();
        let owners = match blastwall_facts::locate(&present, dialect) {
            Some(rel) => {
                let source = read_text(&repo.join(rel))?;
                Some(blastwall_facts::parse_codeowners(&source, dialect).with_file(rel))
            }
            None => {
                notes.push("no CODEOWNERS file: files have no owners".into());
                None
            }
        };
        let mut topology = match topology_file {
            Some(path) => Some(load_topology(path)?),
            None => {
                blastwall_facts::topology_auto(repo).map_err(|source| GatherError::Topology {
                    repo: repo.to_path_buf(),
                    source: Box::new(source),
                })?
            }
        };
        // Tiers from `[topology.tiers]` and owners from CODEOWNERS, for what the topology does
        // not say itself.
        if let Some(topo) = topology.as_mut() {
            blastwall_facts::complete_topology(topo, &config.topology_tiers, owners.as_ref());
        }
        Ok(RepoContext {
            owners,
            topology,
            config,
        })
    }

    /// Fill in `change.files[].owners`, `change.owners` and `change.services`.
    pub fn complete(&self, change: &mut Value) {
        let paths = paths_of(change);
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        if let Some(co) = &self.owners {
            let (per_file, record) = blastwall_facts::owners_facts(co, &refs);
            if let Some(files) = change.get_mut("files").and_then(Value::as_array_mut) {
                for (f, (path, list)) in files.iter_mut().zip(per_file.iter()) {
                    if text(f, "path") == Some(path.as_str()) {
                        set(f, "owners", json!(list));
                    }
                }
            }
            set(change, "owners", record);
        }
        if let Some(topo) = &self.topology {
            set(
                change,
                "services",
                json!(blastwall_facts::nodes_for_paths(topo, &refs)),
            );
        }
    }
}

/// The policy files to load: those given, else the repository's `rules/` when it holds `.bw`
/// files, else none (the shipped rules). A `rules/` folder that exists but cannot be listed is
/// an error: falling back to the shipped rules would let through what the repository's own
/// rules stop.
pub fn rule_paths(repo: &Path, given: &[PathBuf]) -> Result<Vec<PathBuf>, GatherError> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let local = repo.join("rules");
    if !local.is_dir() {
        return Ok(Vec::new());
    }
    let error = |source| GatherError::Rules {
        path: local.clone(),
        source,
    };
    let mut has_rules = false;
    for entry in std::fs::read_dir(&local).map_err(error)? {
        let entry = entry.map_err(error)?;
        if entry.path().extension().is_some_and(|x| x == "bw") {
            has_rules = true;
            break;
        }
    }
    Ok(if has_rules { vec![local] } else { Vec::new() })
}

fn add_approvals(
    change: &mut Value,
    src: &Sources,
    config: &blastwall_facts::CheckConfig,
    notes: &mut Vec<String>,
) -> Result<(), GatherError> {
    let mut approvals: Vec<Value> = Vec::new();
    if let Some(p) = &src.reviews {
        let head = text(change, "head").unwrap_or_default().to_string();
        approvals =
            blastwall_facts::approvals_from_github_reviews(&read_text(p)?, &head, &config.teams)
                .map_err(|e| input_error(p, &e))?;
    }
    for a in blastwall_facts::approvals_from_flags(&src.approved_by, &config.teams) {
        let by = text(&a, "by").unwrap_or_default().to_string();
        match approvals
            .iter_mut()
            .find(|x| text(x, "by") == Some(by.as_str()))
        {
            // A flag vouches for the person now: it overrides a stale review.
            Some(existing) => *existing = a,
            None => approvals.push(a),
        }
    }
    approvals.sort_by(|a, b| text(a, "by").cmp(&text(b, "by")));
    // Approvals name logins; an author known only by an email cannot be told apart from an
    // approver, so the author's own approval would count.
    if let Some(author) = text(change, "author")
        && author.contains('@')
        && !approvals.is_empty()
    {
        notes.push(format!(
            "the change's author is known only by the email `{author}`, and approvals are logins: an approval by the author would count; pass `--author LOGIN`"
        ));
    }
    set(change, "approvals", Value::Array(approvals));
    Ok(())
}

/// A topology file: JSON with `nodes` when its name ends in `.json`, else the TOML form.
pub fn load_topology(path: &Path) -> Result<Value, GatherError> {
    let text = read_text(path)?;
    if path.extension().is_some_and(|x| x == "json") {
        serde_json::from_str(&text).map_err(|e| GatherError::Json {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    } else {
        blastwall_facts::topology_from_toml(&text).map_err(|e| input_error(path, &e))
    }
}

/// A string member of a JSON object.
fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// Set a member of a JSON object (documents from the adapters are always objects).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), value);
    }
}

/// An adapter's refusal of an input file.
fn input_error(path: &Path, e: &dyn std::fmt::Display) -> GatherError {
    GatherError::Input {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn git(repo: &Path, source: blastwall_facts::GitError) -> GatherError {
    GatherError::Git {
        repo: repo.to_path_buf(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn inputs_are_bounded_regular_files_and_lose_their_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let bom = dir.path().join("bom.json");
        std::fs::write(&bom, b"\xEF\xBB\xBF{\"a\": 1}").unwrap();
        assert_eq!(read_json(&bom).unwrap(), json!({"a": 1}));

        let big = dir.path().join("big.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_INPUT_BYTES + 1).unwrap();
        match read_text(&big) {
            Err(GatherError::TooLarge { limit, .. }) => assert_eq!(limit, MAX_INPUT_BYTES),
            other => panic!("{other:?}"),
        }

        // A device that never ends is refused before a byte is read.
        let err = read_text(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        // A lower limit, then the default again (tests in this binary share the setting, and
        // none reads a file near either limit).
        let small = dir.path().join("small.json");
        std::fs::write(&small, b"[1, 2, 3, 4]").unwrap();
        set_input_limit(8);
        let low = read_text(&small);
        set_input_limit(MAX_INPUT_BYTES);
        match low {
            Err(GatherError::TooLarge { limit, .. }) => assert_eq!(limit, 8),
            other => panic!("{other:?}"),
        }
        assert_eq!(read_text(&small).unwrap(), "[1, 2, 3, 4]");

        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"\xEF\xBB\xBFok\xff").unwrap();
        match read_text(&bad) {
            Err(GatherError::NotUtf8 { offset, .. }) => assert_eq!(offset, 5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1 G"), Ok(1 << 30));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("2kb"), Ok(2_000));
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5G",
            "12 parsecs",
            "0",
            "99999999999999G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rules_folder_counts_only_when_it_holds_policies() {
        let dir = tempfile::tempdir().unwrap();
        assert!(rule_paths(dir.path(), &[]).unwrap().is_empty());
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        assert!(rule_paths(dir.path(), &[]).unwrap().is_empty());
        std::fs::write(dir.path().join("rules/a.bw"), "").unwrap();
        assert_eq!(
            rule_paths(dir.path(), &[]).unwrap(),
            vec![dir.path().join("rules")]
        );
    }

    #[test]
    fn the_repository_is_found_from_any_folder_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find_repository(&deep).as_deref(), Some(dir.path()));
    }
}
