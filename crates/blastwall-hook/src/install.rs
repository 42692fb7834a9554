//! `blastwall hook install|uninstall <agent>`: write the agent's hook configuration, keeping
//! everything else in the file, and take out exactly what was written.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::Agent;

/// Where the configuration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The repository's own files (`.claude/settings.json`, …), shared with everyone who works
    /// in it.
    Project,
    /// The user's files under the home directory, for every repository.
    User,
}

/// Why the configuration could not be written.
#[derive(Debug)]
pub struct InstallError(pub String);

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InstallError {}

/// The events each agent's hook is installed on, and the key that holds them.
fn events(agent: Agent) -> &'static [&'static str] {
    match agent {
        Agent::ClaudeCode | Agent::Codex => &["PreToolUse"],
        Agent::Cursor => &["beforeShellExecution", "beforeMCPExecution", "preToolUse"],
        Agent::Gemini => &["BeforeTool"],
        Agent::Copilot => &["preToolUse"],
    }
}

/// The configuration file of `agent` in `scope`, under `project` (the repository) or `home`.
fn config_file(
    agent: Agent,
    scope: Scope,
    project: &Path,
    home: Option<&Path>,
) -> Result<PathBuf, InstallError> {
    let base = match scope {
        Scope::Project => project.to_path_buf(),
        Scope::User => home
            .map(Path::to_path_buf)
            .ok_or_else(|| InstallError("no home directory: `HOME` is not set".into()))?,
    };
    Ok(match (agent, scope) {
        (Agent::ClaudeCode, _) => base.join(".claude").join("settings.json"),
        (Agent::Codex, _) => base.join(".codex").join("hooks.json"),
        (Agent::Cursor, _) => base.join(".cursor").join("hooks.json"),
        (Agent::Gemini, _) => base.join(".gemini").join("settings.json"),
        (Agent::Copilot, Scope::Project) => {
            base.join(".github").join("hooks").join("blastwall.json")
        }
        (Agent::Copilot, Scope::User) => {
            return Err(InstallError(
                "Copilot reads hooks from the repository's `.github/hooks/` only: install with `--scope project`".into(),
            ));
        }
    })
}

/// One hook entry for `command` on an event of `agent`.
fn entry(agent: Agent, command: &str) -> Value {
    match agent {
        Agent::ClaudeCode => json!({
            "matcher": "*",
            "hooks": [{ "type": "command", "command": command }],
        }),
        Agent::Codex | Agent::Gemini => json!({
            "matcher": ".*",
            "hooks": [{ "type": "command", "command": command }],
        }),
        // Cursor runs the call when a hook fails unless it is told to fail closed.
        Agent::Cursor => json!({ "command": command, "failClosed": true }),
        Agent::Copilot => json!({
            "type": "command",
            "bash": command,
            "powershell": command,
            "timeoutSec": 30,
        }),
    }
}

/// Whether a hook entry (or a matcher group holding it) runs `blastwall hook <agent>`.
fn is_ours(agent: Agent, v: &Value) -> bool {
    let needle = format!("hook {}", agent.name());
    let runs_ours = |v: &Value| {
        ["command", "bash", "powershell"].iter().any(|k| {
            v.get(k)
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains("blastwall") && c.contains(&needle))
        })
    };
    runs_ours(v)
        || v.get("hooks")
            .and_then(Value::as_array)
            .is_some_and(|hs| hs.iter().any(runs_ours))
}

/// Add `blastwall hook <agent>` (run as `command`) to the agent's configuration in `scope`,
/// keeping everything else in the file. Running it again changes nothing. Returns what it did,
/// one line each.
pub fn install(
    agent: Agent,
    scope: Scope,
    project: &Path,
    home: Option<&Path>,
    command: &str,
) -> Result<Vec<String>, InstallError> {
    let file = config_file(agent, scope, project, home)?;
    let mut root = read_config(&file)?;
    let Value::Object(obj) = &mut root else {
        return Err(InstallError(format!(
            "`{}` does not hold a JSON object",
            file.display()
        )));
    };
    if matches!(agent, Agent::Cursor | Agent::Copilot) && !obj.contains_key("version") {
        obj.insert("version".into(), json!(1));
    }
    let hooks = obj.entry("hooks").or_insert_with(|| json!({}));
    let Value::Object(hooks) = hooks else {
        return Err(InstallError(format!(
            "`hooks` in `{}` is not an object",
            file.display()
        )));
    };
    let mut done = Vec::new();
    for event in events(agent) {
        let list = hooks.entry(*event).or_insert_with(|| json!([]));
        let Value::Array(list) = list else {
            return Err(InstallError(format!(
                "`hooks.{event}` in `{}` is not a list",
                file.display()
            )));
        };
        if list.iter().any(|v| is_ours(agent, v)) {
            done.push(format!(
                "{}: `{event}` already runs `blastwall hook {}`",
                file.display(),
                agent.name()
            ));
        } else {
            list.push(entry(agent, command));
            done.push(format!(
                "{}: added `{command}` on `{event}`",
                file.display()
            ));
        }
    }
    write_config(&file, &root)?;
    Ok(done)
}

/// Take out of the agent's configuration in `scope` every hook that runs `blastwall hook
/// <agent>`, and the lists and groups that held only them; everything else stays. A file
/// left holding nothing of its own is removed when `install` created it for blastwall alone
/// (Copilot's `.github/hooks/blastwall.json`). Returns what it did, one line each.
pub fn uninstall(
    agent: Agent,
    scope: Scope,
    project: &Path,
    home: Option<&Path>,
) -> Result<Vec<String>, InstallError> {
    let file = config_file(agent, scope, project, home)?;
    if !file.exists() {
        return Ok(vec![format!(
            "{}: not present, nothing to remove",
            file.display()
        )]);
    }
    let mut root = read_config(&file)?;
    let mut done = Vec::new();
    if let Some(Value::Object(hooks)) = root.get_mut("hooks") {
        for event in events(agent) {
            let Some(Value::Array(list)) = hooks.get_mut(*event) else {
                continue;
            };
            let before = list.len();
            // A matcher group may hold other hooks beside ours: take ours out of it and keep
            // the group.
            for group in list.iter_mut() {
                if let Some(Value::Array(inner)) = group.get_mut("hooks") {
                    let had = inner.len();
                    inner.retain(|h| !is_ours(agent, h));
                    if inner.len() != had && !inner.is_empty() {
                        done.push(format!(
                            "{}: removed `blastwall hook {}` from a `{event}` group",
                            file.display(),
                            agent.name()
                        ));
                    }
                }
            }
            list.retain(|v| {
                let emptied = v
                    .get("hooks")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty);
                !(emptied || is_ours(agent, v))
            });
            if list.len() != before {
                done.push(format!(
                    "{}: removed `blastwall hook {}` from `{event}`",
                    file.display(),
                    agent.name()
                ));
            }
            if list.is_empty() {
                hooks.remove(*event);
            }
        }
        if hooks.is_empty()
            && let Value::Object(obj) = &mut root
        {
            obj.remove("hooks");
        }
    }
    if done.is_empty() {
        return Ok(vec![format!(
            "{}: no `blastwall hook {}` to remove",
            file.display(),
            agent.name()
        )]);
    }
    let own_file = agent == Agent::Copilot;
    let left_empty = root
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "version"));
    if own_file && left_empty {
        std::fs::remove_file(&file)
            .map_err(|e| InstallError(format!("cannot remove `{}`: {e}", file.display())))?;
        done.push(format!("{}: removed the file", file.display()));
    } else {
        write_config(&file, &root)?;
    }
    Ok(done)
}

/// The JSON in `file`, or an empty object when there is no file. A file that is not JSON is an
/// error: it is never overwritten.
fn read_config(file: &Path) -> Result<Value, InstallError> {
    match std::fs::read_to_string(file) {
        Ok(text) if text.trim().is_empty() => Ok(json!({})),
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            InstallError(format!(
                "`{}` is not valid JSON ({e}); fix it first, it was left as it is",
                file.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
        Err(e) => Err(InstallError(format!(
            "cannot read `{}`: {e}",
            file.display()
        ))),
    }
}

/// Write `value` to `file` as pretty JSON, whole or not at all.
fn write_config(file: &Path, value: &Value) -> Result<(), InstallError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| InstallError(format!("cannot create `{}`: {e}", dir.display())))?;
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| InstallError(format!("cannot write `{}`: {e}", file.display())))?;
    text.push('\n');
    blastwall_gather::write_atomic(file, text.as_bytes()).map_err(InstallError)
}
