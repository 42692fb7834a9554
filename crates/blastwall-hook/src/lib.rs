//! `blastwall hook <agent>`: decide a coding agent's tool call before it runs, and answer in
//! that agent's own contract.
//!
//! An agent runs its hook command with the tool call as JSON on standard input and reads the
//! hook's standard output and exit code. Each agent reads them differently (see [`Agent`] and
//! `docs/agents.md`), and most let the call run when a hook exits with an unexpected code. So
//! [`run`] never fails: every error on the way — a payload that is not JSON, of a shape not
//! recognised, a tool not known, unreadable rules, a limit reached, even a panic — becomes a
//! *deny* in the agent's contract, with a reason that says what went wrong. `fail_open` turns
//! that into an allow, for people who choose it.
//!
//! Deciding uses the compiled module, loaded from a cache keyed by the rules' sources and the
//! binary, so that a warm call compiles nothing: see [`Options::cache_dir`].

mod agent;
mod install;

use std::path::{Path, PathBuf};

use blastwall::{Decision, Effect, Outcome};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use agent::Agent;
pub use install::{InstallError, Scope, install, uninstall};

/// The most bytes of payload a hook reads: a tool call larger than this is refused (and so
/// denied) rather than parsed.
pub const MAX_PAYLOAD_BYTES: u64 = 16 << 20;

/// The most characters of a reason handed to an agent; Claude Code, for one, cuts what it puts
/// in context at 10,000.
const MAX_REASON_CHARS: usize = 4000;

/// How the hook decides.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Policy files or folders. Empty: the `rules/` folder of the repository the call runs in,
    /// else the shipped rules. Give a path the agent cannot write to take the rules out of its
    /// reach.
    pub rules: Vec<PathBuf>,
    /// The configuration file. `None`: the `blastwall.toml` of the repository the call runs
    /// in, when there is one.
    pub config: Option<PathBuf>,
    /// Where compiled policies are kept between calls. `None`: no cache, so every call
    /// compiles the policy (tens of milliseconds).
    pub cache_dir: Option<PathBuf>,
    /// Tool names (compared case-insensitively) to treat as known besides the agent's own.
    pub allow_tools: Vec<String>,
    /// Let the call run when the hook itself fails, instead of blocking it.
    pub fail_open: bool,
}

/// What the hook process answers: its standard output, its standard error and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Written to standard output, whole.
    pub stdout: String,
    /// Written to standard error.
    pub stderr: String,
    /// The process's exit code.
    pub code: u8,
}

/// The default cache directory: `$BLASTWALL_CACHE_DIR`, else `$XDG_CACHE_HOME/blastwall`, else
/// `$HOME/.cache/blastwall`; `None` when none of them is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("BLASTWALL_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("blastwall")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("blastwall")))
}

/// Decide the tool call in `payload` for `agent`, and answer in its contract. Never panics and
/// never fails: see the module docs.
pub fn run(agent: Agent, payload: Result<Vec<u8>, String>, opts: &Options) -> Answer {
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        payload.and_then(|bytes| decide(agent, &bytes, opts))
    }));
    let result = caught(decided);
    finish(agent, result, opts.fail_open)
}

/// Answer a tool call that reached a server already holding its policy: the payload is read in
/// `agent`'s shape as [`run`] reads it, and `decide` gets the facts (`{"action": …}`, with the
/// action adapter's `options`); its decision, or any error on the way, is answered in the
/// agent's contract, failing closed unless `fail_open`. Never panics and never fails.
///
/// Unlike [`run`], nothing is read from the machine the call runs on: its working directory
/// is the agent's, which a server may not share, so the server's own rules, configuration and
/// topology decide.
pub fn run_with(
    agent: Agent,
    payload: &[u8],
    allow_tools: &[String],
    options: &blastwall_facts::ActionOptions,
    fail_open: bool,
    decide: impl FnOnce(Value) -> Result<Decision, String>,
) -> Answer {
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let call = read_call(agent, payload, allow_tools)?;
        let mut facts = Map::new();
        facts.insert("action".into(), action_facts(agent, &call, options)?);
        decide(Value::Object(facts))
    }));
    finish(agent, caught(decided), fail_open)
}

/// The agent's answer to a call that could not be decided because of `error`: a deny with the
/// reason, as [`run`] answers any error on the way.
pub fn deny_for_error(agent: Agent, error: String) -> Answer {
    finish(agent, Err(error), false)
}

/// A panic caught at the boundary, as an error.
fn caught<T>(r: std::thread::Result<Result<T, String>>) -> Result<T, String> {
    match r {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an internal error".to_string());
            Err(format!("internal error: {what}"))
        }
    }
}

/// The agent's answer for a decision, or for the error that stopped one.
fn finish(agent: Agent, result: Result<Decision, String>, fail_open: bool) -> Answer {
    match result {
        Ok(decision) => {
            let mut verdict = Verdict::of(&decision);
            if verdict.outcome == Outcome::Review && !agent.can_ask() {
                verdict.reason = clip(&format!(
                    "{}\n{} cannot ask a person before running a tool call, so blastwall blocks it; if it is what you meant, run it yourself",
                    verdict.reason,
                    agent.display_name()
                ));
            }
            agent.answer(&verdict)
        }
        Err(error) if fail_open => Answer {
            stderr: format!(
                "blastwall: could not decide this tool call, and `--fail-open` lets it run: {error}\n"
            ),
            ..agent.answer(&Verdict::allow())
        },
        Err(error) => {
            let reason = clip(&format!(
                "blastwall could not decide this tool call, so it is blocked: {error}"
            ));
            Answer {
                stderr: format!("{reason}\n"),
                ..agent.answer(&Verdict {
                    outcome: Outcome::Deny,
                    reason,
                })
            }
        }
    }
}

/// The tool call a payload holds, taken out of the agent's own shape.
#[derive(Debug)]
struct Call {
    tool: String,
    input: Value,
    cwd: String,
}

/// The tool call in a payload of `agent`'s, when it is one of a tool the guard can judge.
fn read_call(agent: Agent, bytes: &[u8], allow_tools: &[String]) -> Result<Call, String> {
    if bytes.len() as u64 > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "the payload is larger than {MAX_PAYLOAD_BYTES} bytes"
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "the payload is empty: the agent sends its tool call as JSON on standard input".into(),
        );
    }
    let bytes = bytes
        .strip_prefix(blastwall_gather::UTF8_BOM)
        .unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "the payload is not UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let payload: Value =
        serde_json::from_str(text).map_err(|e| format!("the payload is not valid JSON: {e}"))?;
    let Value::Object(payload) = payload else {
        return Err("the payload is not a JSON object".into());
    };
    let call = agent.call(&payload)?;
    if !agent.knows(&call.tool)
        && !allow_tools
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&call.tool))
    {
        return Err(format!(
            "unknown tool `{}`: blastwall cannot tell what it does (name it with `--allow-tool` to decide it on its arguments)",
            call.tool
        ));
    }
    Ok(call)
}

/// The `action` document of a tool call.
fn action_facts(
    agent: Agent,
    call: &Call,
    options: &blastwall_facts::ActionOptions,
) -> Result<Value, String> {
    blastwall_facts::action_from_tool_call(
        &blastwall_facts::ToolCall {
            source: agent.source(),
            tool: &call.tool,
            input: &call.input,
            cwd: &call.cwd,
        },
        options,
    )
    .map_err(|e| format!("the tool call: {e}"))
}

fn decide(agent: Agent, bytes: &[u8], opts: &Options) -> Result<Decision, String> {
    let call = read_call(agent, bytes, &opts.allow_tools)?;

    // The repository the call runs in supplies the configuration and the rules, unless the
    // hook was given its own.
    let repo = (!call.cwd.is_empty())
        .then(|| blastwall_gather::find_repository(Path::new(&call.cwd)))
        .flatten();
    // Outside a repository only what the hook was given counts: the hook process's own
    // directory is not the call's.
    let config = match (&opts.config, &repo) {
        (None, None) => blastwall_facts::CheckConfig::default(),
        (given, root) => blastwall_gather::load_config(
            given.as_deref(),
            root.as_deref().unwrap_or(Path::new(".")),
        )
        .map_err(|e| e.to_string())?,
    };
    let rule_paths = match &repo {
        Some(root) => blastwall_gather::rule_paths(root, &opts.rules).map_err(|e| e.to_string())?,
        None => opts.rules.clone(),
    };
    let sources: Vec<blastwall::Source> = if rule_paths.is_empty() {
        blastwall::embedded_rules()
    } else {
        blastwall_gather::policy_files(&rule_paths)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(path, text)| blastwall::Source::new(path, text))
            .collect()
    };

    let action = action_facts(agent, &call, &config.action)?;
    let mut facts = Map::new();
    facts.insert("action".into(), action);
    if !config.params.is_empty() {
        facts.insert("config".into(), Value::Object(config.params.clone()));
    }
    // A topology written down is read; one derived from a workspace is not, since deriving it
    // reads every manifest on every tool call and the agent rules do not read it.
    if let Some(file) = repo
        .as_ref()
        .map(|root| root.join(blastwall_facts::topology::TOPOLOGY_FILE))
        .filter(|file| file.is_file())
    {
        let topology = blastwall_gather::load_topology(&file).map_err(|e| e.to_string())?;
        facts.insert("topology".into(), topology);
    }

    // Cached policies are native code: they are sealed with the user's artifact key, kept in
    // the cache directory, and a file without its seal is never run. Without a usable key
    // (a directory others may write, a key file others may read), nothing is cached: every
    // call compiles, which is slower but decides the same.
    let key = opts
        .cache_dir
        .as_deref()
        .and_then(|dir| blastwall::ArtifactKey::load_or_create(dir).ok());
    let engine = blastwall::Engine::new(blastwall::EngineConfig {
        cache_dir: key.as_ref().and(opts.cache_dir.clone()),
        artifact_key: key,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let cache_name = cache_key(&sources);
    let module = engine
        .load_keyed(&cache_name, move || -> Result<Vec<u8>, Failure> {
            let policy = blastwall::Policy::compile(sources).map_err(policy_error)?;
            policy.to_wasm().map_err(policy_error)
        })
        .map_err(|Failure(e)| e)?;
    module
        .policy()
        .evaluate_json(&Value::Object(facts))
        .map_err(|e| e.to_string())
}

/// An error on the way to a module, in words.
struct Failure(String);

impl From<blastwall::LoadError> for Failure {
    fn from(e: blastwall::LoadError) -> Failure {
        Failure(e.to_string())
    }
}

fn policy_error(e: blastwall::Error) -> Failure {
    match e {
        blastwall::Error::Invalid { rendered, .. } => {
            Failure(format!("the rules do not compile:\n{rendered}"))
        }
        other => Failure(other.to_string()),
    }
}

/// What names a compiled policy in the cache: the sources, and the binary that compiles them
/// (its version, and its file's size and modification time, so that a rebuilt binary with a
/// changed compiler never loads its predecessor's modules).
fn cache_key(sources: &[blastwall::Source]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"blastwall hook policy\0");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    if let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        h.update(meta.len().to_le_bytes());
        if let Ok(t) = meta.modified()
            && let Ok(since) = t.duration_since(std::time::UNIX_EPOCH)
        {
            h.update(since.as_nanos().to_le_bytes());
        }
    }
    for s in sources {
        h.update((s.path.len() as u64).to_le_bytes());
        h.update(s.path.as_bytes());
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(s.text.as_bytes());
    }
    h.finalize().to_vec()
}

/// The outcome to give an agent and the words that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) outcome: Outcome,
    /// Why: for a deny or review, the findings with what would let the call proceed; for a
    /// warning, the warnings; empty for an allow.
    pub(crate) reason: String,
}

impl Verdict {
    fn allow() -> Verdict {
        Verdict {
            outcome: Outcome::Allow,
            reason: String::new(),
        }
    }

    fn of(d: &Decision) -> Verdict {
        let effect = match d.outcome {
            Outcome::Allow => return Verdict::allow(),
            Outcome::Warn => Effect::Warn,
            Outcome::Review => Effect::Review,
            Outcome::Deny => Effect::Deny,
        };
        let mut lines = Vec::new();
        lines.push(
            match d.outcome {
                Outcome::Deny => "blastwall denies this tool call:",
                Outcome::Review => "blastwall holds this tool call for a person's review:",
                _ => "blastwall warns about this tool call:",
            }
            .to_string(),
        );
        for f in d
            .findings
            .iter()
            .filter(|f| f.overridden.is_none() && f.effect == effect && d.raised_by(f) == d.outcome)
        {
            let mut line = format!("- {}: {}", f.rule, f.message);
            if let Some(hint) = d.remedy(f) {
                line.push_str(&format!(" (to proceed: {hint})"));
            }
            lines.push(line);
        }
        Verdict {
            outcome: d.outcome,
            reason: clip(&lines.join("\n")),
        }
    }
}

/// `text`, cut to [`MAX_REASON_CHARS`] characters with a mark where it was cut.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((at, _)) => format!("{} …(cut)", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}
