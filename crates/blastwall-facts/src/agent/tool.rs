//! Tool calls that are not shell commands: the verbs of the tool's name, and the commands, SQL
//! and paths its arguments hold.

use super::classify::{
    self, DESTRUCTIVE_TOOL, NOT_READ_ONLY, POLICY_FILE_WRITE, SQL_DESTRUCTIVE, SqlKind, UNANALYSED,
};
use super::command::{self, Command};
use super::protect;

/// What a tool call's name and arguments say.
#[derive(Debug, Default)]
pub(crate) struct ToolAnalysis {
    /// Commands found in arguments that hold a shell command line.
    pub commands: Vec<Command>,
    /// Classes of the call itself (not of its commands).
    pub classes: Vec<&'static str>,
    /// The first reason an argument's command could not be parsed.
    pub error: Option<String>,
    /// Names in the arguments that count for the environment as values, and as names.
    pub env_values: Vec<String>,
    pub env_names: Vec<String>,
}

/// Tools of the agents themselves that only read, compared case-insensitively.
const READ_ONLY_TOOLS: &[&str] = &[
    "read",
    "grep",
    "glob",
    "ls",
    "webfetch",
    "websearch",
    "todowrite",
    "todoread",
    "task",
    "exitplanmode",
    "notebookread",
    "bashoutput",
    "killshell",
    "killbash",
    "listmcpresourcestool",
    "readmcpresourcetool",
    "askuserquestion",
    "skill",
    "slashcommand",
    "read_file",
    "read_many_files",
    "list_directory",
    "search_file_content",
    "google_web_search",
    "web_fetch",
    "save_memory",
    "view",
    "codebase_search",
    "file_search",
    "grep_search",
    "list_dir",
    "web_search",
    "update_plan",
    "view_image",
];

/// Words of a tool's name that change something (besides the destructive verbs).
const WRITE_WORDS: &[&str] = &[
    "write",
    "edit",
    "create",
    "update",
    "set",
    "put",
    "post",
    "patch",
    "insert",
    "upsert",
    "replace",
    "move",
    "rename",
    "save",
    "upload",
    "deploy",
    "apply",
    "merge",
    "push",
    "commit",
    "send",
    "publish",
    "add",
    "modify",
    "restart",
    "stop",
    "start",
    "scale",
    "multiedit",
    "notebookedit",
    "append",
    "overwrite",
    "copy",
    "mkdir",
    "chmod",
    "install",
    "invoke",
    "trigger",
    "cancel",
    "close",
    "approve",
    "grant",
    "revoke",
    "rollback",
    "restore",
    "import",
    "migrate",
    "seed",
    "kill",
];

/// Argument keys whose value is free text, never a target name.
const TEXT_KEYS: &[&str] = &[
    "content",
    "new_string",
    "old_string",
    "text",
    "body",
    "message",
    "description",
    "title",
    "prompt",
    "comment",
    "new_source",
    "contents",
    "diff",
    "patch",
    "notes",
    "activeform",
    "summary",
    "reason",
    "explanation",
    "question",
    "answer",
    "instructions",
];

/// The words of a tool's name: its last `__` part (`mcp__db__execute_sql` → `execute`,
/// `sql`), split at non-alphanumerics and lower-to-upper case changes, lowercased.
pub(crate) fn tool_words(tool: &str) -> Vec<String> {
    crate::env::key_words(tool.rsplit("__").next().unwrap_or(tool))
}

/// Keys whose value is a shell command line.
fn is_command_key(key: &str) -> bool {
    matches!(
        key,
        "command"
            | "cmd"
            | "script"
            | "shell"
            | "commandline"
            | "command_line"
            | "bash"
            | "shell_command"
            | "run"
            | "exec"
            | "args_line"
    )
}

/// Keys whose value is SQL.
fn is_sql_key(key: &str) -> bool {
    matches!(
        key,
        "sql"
            | "query"
            | "statement"
            | "stmt"
            | "querytext"
            | "query_text"
            | "sql_query"
            | "statements"
            | "sqlquery"
    )
}

/// Whether text reads as SQL: its first word is a SQL statement keyword.
fn looks_like_sql(text: &str) -> bool {
    let first = text
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "DROP"
            | "TRUNCATE"
            | "ALTER"
            | "CREATE"
            | "WITH"
            | "DO"
            | "GRANT"
            | "REVOKE"
            | "MERGE"
            | "REPLACE"
            | "EXPLAIN"
            | "SHOW"
            | "VACUUM"
            | "CALL"
            | "EXECUTE"
            | "COPY"
            | "DESCRIBE"
    ) && text.trim().contains(' ')
}

/// Analyse a tool call.
pub(crate) fn analyse(
    tool: &str,
    arguments: &[(String, String)],
    cwd: &str,
    production_tokens: &[String],
) -> ToolAnalysis {
    let mut a = ToolAnalysis::default();
    let words = tool_words(tool);
    let lower = tool.to_ascii_lowercase();
    let destructive = words.iter().any(|w| classify::is_destructive_verb(w));
    if destructive {
        a.classes.push(DESTRUCTIVE_TOOL);
    }
    let writes = words.iter().any(|w| WRITE_WORDS.contains(&w.as_str()));
    let name_reads = READ_ONLY_TOOLS.contains(&lower.as_str())
        || words.first().is_some_and(|w| classify::is_read_verb(w));

    let mut analysed_any = false;
    let mut analysed_read_only = true;
    for (key, value) in arguments {
        let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
        let first_word = value.split_whitespace().next().unwrap_or_default();
        let first_word = first_word.rsplit('/').next().unwrap_or(first_word);
        // Free text (a file's new content, a prompt, a to-do) is not run, and the agents' own
        // reading tools run nothing: neither is read as a command or SQL.
        let text = TEXT_KEYS.contains(&last.as_str()) || READ_ONLY_TOOLS.contains(&lower.as_str());
        if text {
            // Only the guard's own files are looked for below.
        } else if is_command_key(&last)
            || (value.contains(' ')
                && classify::looks_like_program(first_word)
                && !is_sql_key(&last))
        {
            analysed_any = true;
            let analysis = command::analyse(value, cwd, production_tokens);
            if a.error.is_none() {
                a.error = analysis.error;
            }
            for c in &analysis.commands {
                if c.classes.contains(&NOT_READ_ONLY) {
                    analysed_read_only = false;
                }
            }
            if analysis.commands.is_empty() && !value.trim().is_empty() && a.error.is_some() {
                analysed_read_only = false;
            }
            a.commands.extend(analysis.commands);
        } else if is_sql_key(&last) || looks_like_sql(value) {
            analysed_any = true;
            match classify::sql_kind(value) {
                SqlKind::ReadOnly => {}
                SqlKind::Write => analysed_read_only = false,
                SqlKind::Destructive => {
                    a.classes.push(SQL_DESTRUCTIVE);
                    analysed_read_only = false;
                }
                SqlKind::Unknown => {
                    a.classes.push(UNANALYSED);
                    analysed_read_only = false;
                }
            }
        }
        // The guard's own files, named as paths or in a patch.
        let names_policy = if value.contains('\n') {
            protect::patch_paths(value)
                .iter()
                .any(|p| protect::is_policy_path(p, cwd))
        } else {
            protect::is_policy_path(value, cwd)
        };
        if names_policy && (writes || destructive || !name_reads) {
            a.classes.push(POLICY_FILE_WRITE);
        }
        // Environment hints.
        if matches!(
            last.as_str(),
            "env"
                | "environment"
                | "stage"
                | "namespace"
                | "context"
                | "profile"
                | "project"
                | "cluster"
                | "workspace"
                | "tier"
        ) {
            a.env_values.push(value.clone());
        } else if !TEXT_KEYS.contains(&last.as_str())
            && !value.contains(char::is_whitespace)
            && value.len() <= 512
        {
            a.env_names.push(super::command::strip_cwd(value, cwd));
        }
    }
    let read_only = !destructive
        && !writes
        && if analysed_any {
            analysed_read_only
        } else {
            name_reads
        };
    if !read_only {
        a.classes.push(NOT_READ_ONLY);
    }
    a.classes.sort_unstable();
    a.classes.dedup();
    a
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn words_of_names() {
        assert_eq!(tool_words("mcp__db__execute_sql"), vec!["execute", "sql"]);
        assert_eq!(tool_words("dropTable"), vec!["drop", "table"]);
        assert_eq!(
            tool_words("delete-repository"),
            vec!["delete", "repository"]
        );
        assert_eq!(tool_words("NotebookEdit"), vec!["notebook", "edit"]);
        assert_eq!(tool_words("HTTPGet"), vec!["httpget"]);
    }
}
