//! Each agent's contract: how its payload names the tool call, and how it reads an answer.

use blastwall::Outcome;
use serde_json::{Map, Value, json};

use crate::{Answer, Call, Verdict};

/// A coding agent whose tool calls `blastwall hook` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// Claude Code, `PreToolUse`: `tool_name`, `tool_input`, `cwd` in; exit 0 with
    /// `hookSpecificOutput.permissionDecision` `deny` or `ask` out, nothing for an allow.
    ClaudeCode,
    /// Codex, `PreToolUse`: Claude Code's wire format, but an `ask` is not honoured (the call
    /// runs), so a review is answered as a deny whose reason says what would let it proceed.
    Codex,
    /// Cursor, `beforeShellExecution` (`command`, `cwd`), `beforeMCPExecution` and
    /// `preToolUse` (`tool_name`, `tool_input`): `{"permission": "allow"|"deny"|"ask",
    /// "user_message", "agent_message"}` out.
    Cursor,
    /// Gemini CLI, `BeforeTool`: `tool_name`, `tool_input`, `cwd` in; only JSON on standard
    /// output, `{"decision": "deny", "reason"}` to block; it has no ask.
    Gemini,
    /// GitHub Copilot (coding agent and CLI), `preToolUse`: `toolName`, `toolArgs` (a JSON
    /// string) and `cwd` in; `{"permissionDecision": "deny", "permissionDecisionReason"}` out.
    /// Only a deny is acted on, so a review is answered as a deny.
    Copilot,
}

/// Built-in tools of each agent, by the names their hook payloads give (compared
/// case-insensitively). A tool outside these — and not an MCP tool, named `mcp__…` — is one
/// the guard cannot judge, and is denied.
const CLAUDE_TOOLS: &[&str] = &[
    "Bash",
    "BashOutput",
    "KillShell",
    "KillBash",
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "NotebookRead",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "Task",
    "Agent",
    "TodoWrite",
    "TodoRead",
    "ExitPlanMode",
    "EnterPlanMode",
    "Skill",
    "SlashCommand",
    "AskUserQuestion",
    "ListMcpResourcesTool",
    "ReadMcpResourceTool",
    "LSP",
    "ToolSearch",
];
const CODEX_TOOLS: &[&str] = &[
    "Bash",
    "shell",
    "local_shell",
    "exec_command",
    "write_stdin",
    "apply_patch",
    "Edit",
    "Write",
    "update_plan",
    "view_image",
    "web_search",
    "read_file",
    "list_dir",
    "grep_files",
];
const CURSOR_TOOLS: &[&str] = &[
    "Shell",
    "Read",
    "Write",
    "Edit",
    "StrReplace",
    "Delete",
    "Grep",
    "Glob",
    "LS",
    "TabWrite",
    "Task",
    "WebSearch",
    "WebFetch",
    "ReadLints",
    "TodoWrite",
    "MCP",
    "run_terminal_cmd",
];
const GEMINI_TOOLS: &[&str] = &[
    "run_shell_command",
    "read_file",
    "write_file",
    "replace",
    "glob",
    "search_file_content",
    "grep",
    "list_directory",
    "read_many_files",
    "web_fetch",
    "google_web_search",
    "save_memory",
    "write_todos",
];
const COPILOT_TOOLS: &[&str] = &[
    "bash",
    "powershell",
    "read_bash",
    "write_bash",
    "stop_bash",
    "list_bash",
    "read_powershell",
    "write_powershell",
    "stop_powershell",
    "list_powershell",
    "view",
    "create",
    "edit",
    "str_replace",
    "str_replace_editor",
    "grep",
    "glob",
    "web_fetch",
    "report_intent",
    "think",
    "task",
    "update_todo",
    "fetch_copilot_cli_documentation",
];

impl Agent {
    /// Every agent, in the order the docs list them.
    pub const ALL: [Agent; 5] = [
        Agent::ClaudeCode,
        Agent::Codex,
        Agent::Cursor,
        Agent::Gemini,
        Agent::Copilot,
    ];

    /// The agent's name on the command line: `claude-code`, `codex`, `cursor`, `gemini`,
    /// `copilot`.
    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Cursor => "cursor",
            Agent::Gemini => "gemini",
            Agent::Copilot => "copilot",
        }
    }

    /// The agent named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The agent's name in prose.
    pub fn display_name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "Claude Code",
            Agent::Codex => "Codex",
            Agent::Cursor => "Cursor",
            Agent::Gemini => "Gemini CLI",
            Agent::Copilot => "Copilot",
        }
    }

    /// Whether the agent can hold a call until a person confirms it (`ask`); the others get a
    /// deny for a review.
    pub(crate) fn can_ask(self) -> bool {
        matches!(self, Agent::ClaudeCode | Agent::Cursor)
    }

    /// The `action.source` of its tool calls.
    pub(crate) fn source(self) -> &'static str {
        self.name()
    }

    /// Whether `tool` is one this agent has, or an MCP tool.
    pub(crate) fn knows(self, tool: &str) -> bool {
        let own = match self {
            Agent::ClaudeCode => CLAUDE_TOOLS,
            Agent::Codex => CODEX_TOOLS,
            Agent::Cursor => CURSOR_TOOLS,
            Agent::Gemini => GEMINI_TOOLS,
            Agent::Copilot => COPILOT_TOOLS,
        };
        own.iter().any(|t| t.eq_ignore_ascii_case(tool))
            || tool.starts_with("mcp__")
            || (self == Agent::Cursor && tool.starts_with("MCP:"))
    }

    /// The tool call in the agent's payload.
    pub(crate) fn call(self, p: &Map<String, Value>) -> Result<Call, String> {
        let event = opt_str(p, "hook_event_name")?;
        let cwd = opt_str(p, "cwd")?.unwrap_or_default().to_string();
        match self {
            Agent::ClaudeCode | Agent::Codex => {
                expect_event(self, event, &["PreToolUse"])?;
                claude_style(p, cwd)
            }
            Agent::Gemini => {
                expect_event(self, event, &["BeforeTool"])?;
                claude_style(p, cwd)
            }
            Agent::Copilot => {
                // The coding agent and the CLI send `toolName` and `toolArgs`; VS Code's
                // preview sends Claude Code's shape.
                if !p.contains_key("toolName") && p.contains_key("tool_name") {
                    return claude_style(p, cwd);
                }
                let tool = req_str(p, "toolName")?.to_string();
                let input = match p.get("toolArgs") {
                    None | Some(Value::Null) => Value::Null,
                    Some(Value::String(s)) => serde_json::from_str(s)
                        .map_err(|e| format!("`toolArgs` is not a JSON object: {e}"))?,
                    Some(v) => v.clone(),
                };
                Ok(Call { tool, input, cwd })
            }
            Agent::Cursor => {
                let cwd = if cwd.is_empty() {
                    match p.get("workspace_roots") {
                        Some(Value::Array(roots)) => roots
                            .first()
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        _ => String::new(),
                    }
                } else {
                    cwd
                };
                match event {
                    Some("beforeShellExecution") => Ok(Call {
                        tool: "Shell".to_string(),
                        input: json!({ "command": req_str(p, "command")? }),
                        cwd,
                    }),
                    Some("beforeMCPExecution") => {
                        let mut call = claude_style(p, cwd)?;
                        // Whatever the server calls it, it is an MCP tool.
                        if !call.tool.starts_with("mcp__") {
                            call.tool = format!("mcp__{}", call.tool);
                        }
                        Ok(call)
                    }
                    Some("preToolUse") => claude_style(p, cwd),
                    Some(other) => Err(format!(
                        "cursor hook event `{other}` is not a tool call (install the hook on `beforeShellExecution`, `beforeMCPExecution` and `preToolUse`)"
                    )),
                    None => Err("missing `hook_event_name`: not a Cursor hook payload".into()),
                }
            }
        }
    }

    /// The answer that tells the agent `v`.
    pub(crate) fn answer(self, v: &Verdict) -> Answer {
        let reason = v.reason.as_str();
        let stdout = match (self, v.outcome) {
            (Agent::ClaudeCode, Outcome::Deny | Outcome::Review) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": if v.outcome == Outcome::Deny { "deny" } else { "ask" },
                    "permissionDecisionReason": reason,
                }
            })
            .to_string(),
            // A warning goes to the model as context; nothing that would change the user's own
            // permission settings (no "allow").
            (Agent::ClaudeCode, Outcome::Warn) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "additionalContext": reason,
                }
            })
            .to_string(),
            (Agent::Codex, Outcome::Deny | Outcome::Review) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            })
            .to_string(),
            (Agent::Cursor, outcome) => {
                let permission = match outcome {
                    Outcome::Deny => "deny",
                    Outcome::Review => "ask",
                    Outcome::Allow | Outcome::Warn => "allow",
                };
                let mut out = json!({ "permission": permission });
                if !reason.is_empty()
                    && let Value::Object(m) = &mut out
                {
                    m.insert("user_message".into(), reason.into());
                    m.insert("agent_message".into(), reason.into());
                }
                out.to_string()
            }
            (Agent::Gemini, Outcome::Deny | Outcome::Review) => {
                json!({ "decision": "deny", "reason": reason }).to_string()
            }
            (Agent::Gemini, Outcome::Warn) => json!({ "systemMessage": reason }).to_string(),
            // Gemini CLI parses standard output as JSON after every exit 0.
            (Agent::Gemini, Outcome::Allow) => "{}".to_string(),
            (Agent::Copilot, Outcome::Deny | Outcome::Review) => json!({
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            })
            .to_string(),
            (Agent::ClaudeCode | Agent::Codex | Agent::Copilot, _) => String::new(),
        };
        Answer {
            stdout: if stdout.is_empty() {
                stdout
            } else {
                stdout + "\n"
            },
            stderr: String::new(),
            code: 0,
        }
    }
}

/// `tool_name`, `tool_input` and the given `cwd`: the shape Claude Code, Codex, Gemini CLI and
/// Cursor's tool events share. A `tool_input` given as a JSON string is parsed.
fn claude_style(p: &Map<String, Value>, cwd: String) -> Result<Call, String> {
    let tool = req_str(p, "tool_name")?.to_string();
    let input = match p.get("tool_input") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => json!({ "input": s }),
        },
        Some(v) => v.clone(),
    };
    Ok(Call { tool, input, cwd })
}

fn expect_event(agent: Agent, event: Option<&str>, known: &[&str]) -> Result<(), String> {
    match event {
        None => Ok(()),
        Some(e) if known.contains(&e) => Ok(()),
        Some(e) => Err(format!(
            "`blastwall hook {}` decides {} events, not `{e}`",
            agent.name(),
            known.join(", ")
        )),
    }
}

fn opt_str<'a>(p: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` is not a string")),
    }
}

fn req_str<'a>(p: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    opt_str(p, key)?.ok_or_else(|| {
        let keys: Vec<String> = p.keys().take(12).map(|k| format!("`{k}`")).collect();
        format!(
            "missing `{key}`: not a tool call of this agent (keys: {})",
            if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            }
        )
    })
}
