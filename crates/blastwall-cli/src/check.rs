//! `blastwall check`: gather the facts of a change from where it happens — the repository,
//! plans, admission requests, agent payloads, reviews, topology — and decide.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::Failure;

/// What `check` was asked to look at.
#[derive(Debug, Default)]
pub struct Sources {
    pub repo: Option<PathBuf>,
    pub base: Option<String>,
    pub head: Option<String>,
    pub no_git: bool,
    pub plan: Option<PathBuf>,
    pub admission: Option<PathBuf>,
    pub action: Option<PathBuf>,
    pub reviews: Option<PathBuf>,
    pub approved_by: Vec<String>,
    pub author: Option<String>,
    pub topology: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub set: Vec<String>,
}

/// The facts gathered, and notes on what was not available.
pub struct Gathered {
    pub facts: Value,
    pub notes: Vec<String>,
}

fn read(path: &Path) -> Result<String, Failure> {
    crate::read_text(path)
}

/// Gather every fact document the sources give.
pub fn gather(src: &Sources) -> Result<Gathered, Failure> {
    let repo = src.repo.clone().unwrap_or_else(|| PathBuf::from("."));
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
        add_approvals(change, src, config)?;
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
            return Err(Failure(
                "give `--plan` or `--admission`, not both: both fill the `plan` document".into(),
            ));
        }
        (Some(p), None) => {
            let plan = blastwall_facts::plan_from_terraform(&read(p)?, &config.plan)
                .map_err(|e| Failure(format!("`{}`: {e}", p.display())))?;
            facts.insert("plan".into(), plan);
        }
        (None, Some(p)) => {
            let plan = blastwall_facts::plan_from_admission(&read(p)?, &config.plan)
                .map_err(|e| Failure(format!("`{}`: {e}", p.display())))?;
            facts.insert("plan".into(), plan);
        }
        (None, None) => {}
    }
    if let Some(p) = &src.action {
        let action = blastwall_facts::action_from_json(&read(p)?, &config.action)
            .map_err(|e| Failure(format!("`{}`: {e}", p.display())))?;
        facts.insert("action".into(), action);
    }

    // Parameters: the configuration file, then `--set`.
    let mut params = config.params.clone();
    for s in &src.set {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| Failure(format!("`--set {s}`: expected KEY=VALUE")))?;
        // A value that reads as JSON (a number, a boolean, a list) is that; anything else is
        // a string, so `--set team=@org/x` needs no quoting.
        let v = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        params.insert(key.trim().to_string(), v);
    }
    if !params.is_empty() {
        facts.insert("config".into(), Value::Object(params));
    }
    if facts.is_empty() || (facts.len() == 1 && facts.contains_key("config")) {
        notes.push(
            "no facts were gathered: pass a repository, `--plan`, `--admission` or `--action`"
                .into(),
        );
    }
    Ok(Gathered {
        facts: Value::Object(facts),
        notes,
    })
}

fn load_config(given: Option<&Path>, repo: &Path) -> Result<blastwall_facts::CheckConfig, Failure> {
    let path = match given {
        Some(p) => Some(p.to_path_buf()),
        None => Some(repo.join("blastwall.toml")).filter(|p| p.is_file()),
    };
    match path {
        Some(p) => {
            let text = read(&p)?;
            blastwall_facts::read_config(&p.display().to_string(), &text)
                .map_err(|e| Failure(e.to_string()))
        }
        None => Ok(blastwall_facts::CheckConfig::default()),
    }
}

fn change_from_repo(
    src: &Sources,
    repo: &Path,
    config: &blastwall_facts::CheckConfig,
    notes: &mut Vec<String>,
) -> Result<Option<Value>, Failure> {
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
                Err(e) => return Err(Failure(format!("`{}`: {e}", repo.display()))),
            };
            let fork = blastwall_facts::merge_base(repo, &default, &head).map_err(|e| {
                Failure(format!(
                    "`{}`: base is the merge base of `{default}` and `{head}`: {e}",
                    repo.display()
                ))
            })?;
            let head_id = blastwall_facts::merge_base(repo, &head, &head)
                .map_err(|e| Failure(format!("`{}`: {e}", repo.display())))?;
            let parent = format!("{head_id}~1");
            let parent_found = match blastwall_facts::merge_base(repo, &parent, &parent) {
                Ok(_) => true,
                // A shallow clone cut at the head (CI's default checkout of a push) has the
                // head but not its parent: checking an empty range would allow whatever was
                // pushed, so it is an error. The facts crate says "shallow" only in the
                // error's detail.
                Err(blastwall_facts::GitError::RevisionNotFound { detail, .. })
                    if fork == head_id && detail.contains("shallow clone") =>
                {
                    return Err(Failure(format!(
                        "`{}`: `{head}` is on `{default}`, so its last commit is checked, but its parent is not in this shallow clone: fetch one more commit (`git fetch --deepen=1`; in CI, `fetch-depth: 2`) or give `--base`",
                        repo.display()
                    )));
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
        .map_err(|e| Failure(format!("`{}`: {e}", repo.display())))?;
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
pub(crate) struct RepoContext {
    owners: Option<blastwall_facts::Codeowners>,
    pub(crate) topology: Option<Value>,
    /// `blastwall.toml`: parameters, teams, provenance and environment settings.
    pub(crate) config: blastwall_facts::CheckConfig,
}

impl RepoContext {
    /// Find the code-owner file and the topology of `repo`; notes say what was not found.
    pub(crate) fn load(
        repo: &Path,
        topology_file: Option<&Path>,
        config_file: Option<&Path>,
        notes: &mut Vec<String>,
    ) -> Result<RepoContext, Failure> {
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
                let source = read(&repo.join(rel))?;
                Some(blastwall_facts::parse_codeowners(&source, dialect).with_file(rel))
            }
            None => {
                notes.push("no CODEOWNERS file: files have no owners".into());
                None
            }
        };
        let topology = match topology_file {
            Some(path) => Some(load_topology(path)?),
            None => blastwall_facts::topology_auto(repo)
                .map_err(|e| Failure(format!("topology of `{}`: {e}", repo.display())))?,
        };
        Ok(RepoContext {
            owners,
            topology,
            config,
        })
    }

    /// Fill in `change.files[].owners`, `change.owners` and `change.services`.
    pub(crate) fn complete(&self, change: &mut Value) {
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
/// files, else none (the shipped rules).
pub(crate) fn rule_paths(repo: &Path, given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let local = repo.join("rules");
    let has_rules = std::fs::read_dir(&local)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "bw"))
        })
        .unwrap_or(false);
    if has_rules { vec![local] } else { Vec::new() }
}

fn add_approvals(
    change: &mut Value,
    src: &Sources,
    config: &blastwall_facts::CheckConfig,
) -> Result<(), Failure> {
    let mut approvals: Vec<Value> = Vec::new();
    if let Some(p) = &src.reviews {
        let head = text(change, "head").unwrap_or_default().to_string();
        approvals = blastwall_facts::approvals_from_github_reviews(&read(p)?, &head, &config.teams)
            .map_err(|e| Failure(format!("`{}`: {e}", p.display())))?;
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
    set(change, "approvals", Value::Array(approvals));
    Ok(())
}

fn load_topology(path: &Path) -> Result<Value, Failure> {
    let text = read(path)?;
    if path.extension().is_some_and(|x| x == "json") {
        serde_json::from_str(&text)
            .map_err(|e| Failure(format!("`{}` is not valid JSON: {e}", path.display())))
    } else {
        blastwall_facts::topology_from_toml(&text)
            .map_err(|e| Failure(format!("`{}`: {e}", path.display())))
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
