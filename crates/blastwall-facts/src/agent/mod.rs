//! Coding-agent actions — hook payloads, MCP tool calls, plain commands — as `action` documents.
//!
//! # Inputs
//!
//! The input is recognised by its shape:
//!
//! | shape | `source` | `tool` | `command` |
//! |---|---|---|---|
//! | Claude Code hook payload: `tool_name`, `tool_input` (and usually `hook_event_name`) | `claude-code` | `tool_name` | `tool_input.command` for a shell tool (`Bash`), else empty |
//! | Cursor `beforeMCPExecution`: `hook_event_name`, `tool_name`, `tool_input` (an object or a JSON string) | `cursor` | `tool_name` | empty |
//! | Cursor `beforeShellExecution`: `hook_event_name`, top-level `command`, `cwd` | `cursor` | empty | `command` |
//! | MCP JSON-RPC request with `method: "tools/call"` | `mcp` | `params.name` | empty |
//! | `{"command": …, "cwd": …}` | `plain` | empty | `command` |
//!
//! Anything else is an error that lists the keys found, as is a Cursor event other than these,
//! a JSON-RPC method other than `tools/call`, a shell tool call without `tool_input.command`
//! (a string, or an argument vector that is quoted back into one line), and empty, truncated
//! or malformed JSON. `cwd` is the payload's `cwd` (for Cursor, the first of `workspace_roots`
//! when `cwd` is absent). A hook front end that reads each agent's payload itself calls
//! [`action_from_tool_call`], which the Claude Code shape goes through too: shell tools are
//! named in [`is_shell_tool`].
//!
//! For tool calls that are not shell commands, `arguments` holds the tool's input flattened to
//! `{key, value}` strings: nested objects give dotted keys (`a.b`), array elements their index
//! (`files.0`), numbers and booleans their JSON spelling, `null` the empty string, and an empty
//! object or array `{}` or `[]`. Keys keep the input's order (the workspace builds serde_json
//! with `preserve_order`; without it they would come sorted).
//!
//! # Commands
//!
//! The shell string is parsed by a hand-written POSIX-ish parser (see `shell.rs`): lists,
//! pipelines, subshells, `$( … )`, backticks and process substitutions all contribute the
//! commands they run, in the order they start, as do `[[ … ]]` tests, `case … esac` items and
//! substitutions inside `(( … ))` and `$(( … ))`; quotes are removed (`$'…'` escapes decoded)
//! and arguments are data, so `echo "rm -rf /"` runs `echo` and nothing else. Brace expansion
//! is applied to the words (`{rm,-rf,/}` is `rm -rf /`). `NAME=value` prefixes and
//! redirections are not arguments. The `program` of each command is the base name of its first
//! word after wrappers are unwrapped:
//!
//! - `sudo`/`doas` (with their options and `NAME=value`s), `env` (options, `NAME=value`s, and
//!   `-S STRING`, which is parsed as a command string), `xargs` (its options; the rest is the
//!   command), `nohup`, `time`, `nice`, `timeout DURATION`, `command` (but not `command -v`),
//!   `builtin`, `exec`, `busybox`; process wrappers `stdbuf`, `setsid`, `ionice`, `chrt`,
//!   `taskset`, `chroot DIR`, `nsenter`, `unshare`, `setpriv`, `prlimit`, `numactl`, `cgexec`,
//!   `firejail`, `proxychains`, `torsocks`, `strace`, `ltrace`, `valgrind`, `rlwrap`,
//!   `faketime`, `dumb-init`, `tini`, `gosu`, `su-exec`, `systemd-run`, `unbuffer`, `flock FILE`,
//!   `pkexec`; and launchers `npx`, `bunx`, `npm exec`, `pnpm exec|dlx`, `yarn exec|dlx`,
//!   `bundle exec`, `poetry run`, `uv run`, `uvx`, `pipenv run`, `pdm run`, `hatch run`,
//!   `conda run`, `aws-vault exec PROFILE` (the profile is an environment value), `op run`;
//! - shells (`sh`, `bash`, `zsh`, `dash`, `ksh`, `mksh`, `ash`, `rbash`, `fish`, `tcsh`, `csh`,
//!   `yash`, `posh`) `-c STRING`, `eval`, `su -c`, `flock -c`, `watch`, `script -c` and
//!   `parallel CMD ::: …`, whose string is parsed as a command string in turn, as is the
//!   here-document or here-string fed to a shell started without a script;
//! - commands run elsewhere: `ssh HOST CMD…` (the host counts as a target name, an interactive
//!   `ssh HOST` is `unanalysed`), `kubectl exec … -- CMD`, `docker`/`podman exec C CMD`,
//!   `docker run IMAGE CMD`, `docker compose exec|run`, `heroku run`, `fly ssh console -C`,
//!   and `find -exec`: the inner command is analysed with the outer one's environment and
//!   target;
//! - aliases defined earlier in the string run their text; a function's body is analysed where
//!   it is defined, and a call to it is `unanalysed`; a script written earlier in the string by
//!   `cat > f <<EOF`, `echo … > f`, `printf … > f` or `tee f` and then run is analysed as that
//!   text (`unanalysed` when its text is not known); `terraform plan -destroy -out=F` followed by
//!   `terraform apply F` destroys.
//!
//! This re-parsing is bounded at 8 levels; deeper is a parse error. Reserved words that start
//! commands (`if`, `then`, `do`, `!`, `{`, …) are skipped, and the head of a `for` or `select`
//! is not a command. A command reading a pipe from `echo`, `printf` or a `cat` here-document is
//! analysed as if given that text on its standard input, so `echo 'DROP TABLE t' | psql` is
//! SQL and `echo 'rm -rf /' | sh` runs `rm`. Input from anything else piped into a shell or an
//! interpreter (`curl … | sh`) is `unanalysed`.
//!
//! Inline interpreter code (`python3 -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`, `awk` with
//! `system()`, a heredoc fed to an interpreter) is `unanalysed` and not read-only; obvious
//! destructive calls (`shutil.rmtree`, `os.remove`, `fs.rmSync`, `FileUtils.rm_rf`,
//! `dropDatabase`) give their class, string literals that start with a known program (alone,
//! or as the first of a run of literals: `['rm', '-rf', p]`) are analysed as commands, SQL
//! literals as SQL, and absolute paths and URLs among the literals count for the environment.
//!
//! A string that does not parse — an unbalanced quote, parenthesis or backtick, a `case`
//! without `esac`, nesting beyond the bounds, a string over 1 MiB — does **not** fail the
//! document: `parse_error` says why, and `classes` gets `unparsed`, so a rule can fail closed.
//! The commands parsed up to the error are kept, with their classes.
//!
//! # Classes
//!
//! Each command gets the classes below; the document's `classes` is their sorted union, plus
//! the tool call's own classes and `unparsed`. `docs/agents.md` lists examples of each.
//!
//! | class | when |
//! |---|---|
//! | `recursive_delete` | `rm` with `-r`, `-R`, `--recursive` or a cluster holding them; `find … -delete`; `find … -exec rm`; recursive deletes in inline code |
//! | `git_history_rewrite` | `git push` with `--force`, `-f`, `--force-with-lease`, `--mirror`, `--delete`/`-d`, `--prune` or a `+refspec`/`:refspec`; `git reset --hard`; `git rebase` (not `--abort`/`--quit`); `git filter-branch`, `git filter-repo`; `git branch -D` (or `--delete --force`); `git clean -f` (not with `-n`); `git update-ref -d`; `git reflog expire`; `git gc --prune` |
//! | `terraform_destroy` | `terraform destroy`, `terraform apply -destroy`, applying a plan saved by `plan -destroy` earlier in the string (also `tofu`, `terragrunt`, `terragrunt run-all destroy`) |
//! | `terraform_auto_approve` | `apply` or `destroy` with `-auto-approve`; `apply PLANFILE`; `pulumi up\|destroy --yes` |
//! | `terraform_state_edit` | `state rm\|mv\|push\|replace-provider`, `force-unlock`, `taint`, `untaint`, `workspace delete`; `pulumi state delete\|edit\|move\|unprotect` |
//! | `kubectl_delete` | `kubectl`/`oc`/`k` `delete` of anything, `replace --force`, `apply --prune` |
//! | `kubectl_delete_namespace` | … of `ns`, `namespace(s)`, `project(s)` (also in `a,b` lists and `kind/name` forms) |
//! | `kubectl_delete_volume` | … of `pv`, `pvc`, `persistentvolume(s)`, `persistentvolumeclaim(s)` |
//! | `workload_disruption` | `kubectl scale --replicas=0`, `kubectl drain`, `kubectl rollout undo`, `helm rollback`, `cockroach node decommission` |
//! | `release_destroy` | `helm uninstall\|delete`, `helmfile destroy`, `pulumi destroy`, `pulumi stack rm`, `cdk destroy`, `serverless remove`, a destructive verb in `sam`, `copilot`, `amplify`, `argocd`, `flux`, `skaffold`, … |
//! | `container_delete` | `docker`/`podman` `rm`, `rmi`, `… prune`, `volume rm`; compose `down -v\|--volumes\|--rmi`, `rm` |
//! | `sql_destructive` | SQL that `DROP`s, `TRUNCATE`s, `DELETE`s or `UPDATE`s without `WHERE` (or with `WHERE 1=1`/`true`), or `ALTER … DROP`s, given to `psql -c`, `mysql -e`, `sqlite3`, `cockroach sql -e`, `clickhouse-client --query`, `sqlcmd -Q`, `cqlsh -e`, `bq query`, on standard input, in an MCP `query`/`sql` argument or in a literal of inline code; unknown SQL that names `DROP` or `TRUNCATE` |
//! | `database_destroy` | `dropdb`, `dropuser`, `mysqladmin drop`, `mongorestore --drop`, `pg_restore --clean`, `redis-cli FLUSHALL\|FLUSHDB\|SHUTDOWN`, mongo `dropDatabase()`/`.drop()`/`deleteMany({})`, framework tasks (`rails db:drop\|reset\|schema:load\|purge\|rollback…`, `prisma migrate reset`, `prisma db push --force-reset`, `manage.py flush\|sqlflush\|reset_db\|migrate APP zero`, `alembic downgrade`, `flask db downgrade`, `knex migrate:rollback`, `sequelize db:drop`, `typeorm schema:drop`, `mix ecto.drop\|reset`, `artisan migrate:fresh\|reset\|db:wipe`, `dotnet ef database drop`, `supabase db reset`, `flyway clean`, …), a hosted database reset (`heroku pg:reset`), `kafka-topics --delete`, a package script or make target named for resetting a database (`npm run db:reset`) |
//! | `cloud_delete` | `aws` operations `delete-*`, `terminate-*`, `purge-*`, `deregister-*`, `remove-*`, `s3 rm`, `s3 rb`, `s3 sync --delete`; `gcloud`/`az` with a `delete` or `delete-*` word; `gcloud storage rm\|rb`; `gsutil rm\|rb\|rsync -d`; a destructive verb in the command words of `doctl`, `eksctl`, `heroku`, `gh`, `fly`, `vercel`, `netlify`, `firebase`, `vault`, `consul`, `etcdctl`, `rclone`, … ; `gh api -X DELETE`; `curl -X DELETE`; a CLI not otherwise known (package managers aside) whose first words are `delete`, `destroy`, `drop`, `purge`, `wipe`, `nuke`, `teardown`, `flush`, `truncate`, `deprovision`, `decommission` |
//! | `file_destroy` | `rsync --delete*`/`--remove-source-files`, `truncate`, `shred`, `wipe`; file removal in inline code |
//! | `disk_destroy` | `dd of=/dev/…`, `mkfs*`, `mke2fs`, `wipefs`, `fdisk`, `parted`, `blkdiscard`, or any output redirected onto a device under `/dev/` other than `null`, `zero`, terminals and descriptors |
//! | `dynamic_program` | the program name holds `$`, a backtick, a glob character, an unexpanded brace or a backslash, so what runs is decided at run time |
//! | `destructive_tool` | a tool call whose name holds a destructive verb as a word (`delete`, `drop`, `destroy`, `reset`, `uninstall`, `purge`, `remove`, `terminate`, `wipe`, `flush`, `truncate`, …), the name split at `__`, `_`, `-`, `.` and case changes |
//! | `unanalysed` | code the adapter cannot see into: inline interpreter code, a script written and run in the same string whose text is not known, unknown input piped into a shell, SQL that does not parse (`DO $$ … $$`, `\!`), an interactive remote shell, a call to a function defined in the string |
//! | `not_read_only` | every command and tool call not known to only read (see below) |
//! | `unknown_target` | a cluster or cloud CLI (`kubectl`, `helm`, `aws`, `gcloud`, `az`, Terraform, Pulumi, …) command that is not read-only and whose env is `unknown`: it acts on the ambient context |
//! | `policy_file_write` | a write to or delete of the guard's configuration (see `protect.rs`): `blastwall.toml`, `blastwall-topology.toml`, `rules/**`, `.claude/settings*.json`, `.codex/hooks.json`, `.codex/config.toml`, `.cursor/hooks.json`, `.gemini/settings.json`, `.github/hooks/**`, through redirections, `rm`, `mv`, `cp`, `tee`, `sed -i`, `truncate`, `git checkout --`, patches, file-editing tools |
//!
//! A command is **read-only** (no `not_read_only`) when its program and verb only read — `ls`,
//! `cat`, `grep`, …; `kubectl get|describe|logs|top|…`; `helm list|status|…`; `terraform
//! plan|show|validate|…`; `aws … describe-*|get-*|list-*`; a read verb in a `gcloud`, `az`,
//! `gh`, … command path; SQL that only reads; read-only Redis and mongo calls; `git
//! status|log|diff|…` and local history work — or only builds and tests locally (`cargo`,
//! `go`, `npm test`, package scripts named `build`, `test`, `lint`, …, `make` with build
//! targets), or any tool that honours it is given `--dry-run` in any form (`--dry-run=server`,
//! `--dry-run=client`), which also removes its destructive classes. Output redirected to a file
//! makes a command not read-only. A tool call is read-only when its name starts with a read
//! verb or is one of the agents' reading tools (`Read`, `Grep`, `Glob`, `WebFetch`, …), or every
//! command and SQL statement in its arguments only reads, and its name holds no verb that
//! writes or destroys.
//!
//! # Tool calls
//!
//! Every argument of a tool call that is not a shell command is read: an argument whose key is
//! `command`, `cmd`, `script`, `shell`, `commandLine`, … or whose value starts with a known
//! program is analysed as a command line (its commands are listed in `commands`); one whose key
//! is `query`, `sql`, `statement`, … or whose value starts with a SQL keyword is analysed as
//! SQL; a value naming the guard's files in a tool that writes gives `policy_file_write`; a
//! patch (`*** Update File: …`, `+++ b/…`) is read for the files it names.
//!
//! # Environment
//!
//! Each command's `env` is found from *values* and *names*:
//!
//! - values: `--context`, `--kube-context`, `--environment`, `--env`, `--stage`, `--settings`
//!   and `--target` of any program; `-n`, `--namespace`, `--cluster` of `kubectl`/`oc`/`helm`; `-var env=…`
//!   (also `environment`, `stage`, `workspace`), the stem of `-var-file=…` and the name in
//!   `terraform workspace select|new NAME`; `aws --profile`, `gcloud --project`, `az
//!   --subscription`, `pulumi --stack`, `aws-vault exec PROFILE`; variables set before the
//!   command (as a prefix, through `env`/`sudo`, or earlier with `export` or a bare assignment)
//!   named `ENV`, `ENVIRONMENT`, `STAGE`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`,
//!   `TF_WORKSPACE`, `CLOUDSDK_CORE_PROJECT`, `GOOGLE_CLOUD_PROJECT`, `KUBECONTEXT`,
//!   `KUBE_CONTEXT`, or ending in `_ENV`, `_ENVIRONMENT` or `_STAGE` (but not `VIRTUAL_ENV`);
//!   and the env of the command an inner command runs inside (`ssh`, `kubectl exec`, …);
//! - names, which only ever mean `production`: every argument of a cluster, cloud, database
//!   or host tool (`kubectl delete ns prod`, `s3://prod-bucket`, `gcloud sql instances delete
//!   prod-db`, `dropdb -h prod-db`, `redis-cli -h prod-redis`, `ssh prod-db-1`), `-chdir=…`
//!   and `-var-file=…` of Terraform, database hosts, URLs and connection strings (`psql -h`,
//!   `postgres://…`, `"host=… dbname=…"`), the remote and refspecs of `git push`, absolute
//!   paths and URLs among any command's arguments, variables naming hosts or targets
//!   (`KUBECONFIG`, `PGHOST`, `DATABASE_URL`, `DOCKER_HOST`, names ending `_HOST`, `_URL`,
//!   `_URI`, `_DSN`, `_CONTEXT`, `_CLUSTER`, `_PROJECT`, …), the directory reached by earlier
//!   `cd`/`pushd` commands of the same string, the directory a wrapper names (`chroot DIR`),
//!   an outer `ssh` host or container, and — only for tools whose target is their directory
//!   (Terraform, OpenTofu, Terragrunt, Pulumi, CDK, Serverless, compose, Ansible, …) — the
//!   payload's `cwd`. Paths under `cwd` are judged by the part below it, and names holding
//!   spaces are free text, not names.
//!
//! Every value and name goes through [`crate::env`]: the env is `production` when any value or
//! name holds a production token (by default `prod`, `production` or `prd`); otherwise the
//! first value, lowercased; otherwise `unknown`. The document's `env` is `production` if any
//! command's is (or a tool call's arguments name production), else the first command env that
//! is not `unknown`, else the arguments' env, else — only when the command string runs nothing
//! — `production` if the `cwd` says so, else `unknown`. A checkout whose path holds a
//! production token therefore does not make `rm -rf dist` a production action. For tool calls,
//! arguments whose last key part is `env`, `environment`, `stage`, `namespace`, `context`,
//! `profile`, `project`, `cluster`, `workspace` or `tier` count as values, and every other
//! argument without spaces (free-text keys such as `content` aside) as a name.

mod classify;
mod command;
mod protect;
mod shell;
mod tool;

use serde_json::{Map, Value, json};

use crate::env::{self, PRODUCTION, UNKNOWN, default_production_tokens};
use crate::error::ActionError;
use crate::json::{self, kind_of};

pub use classify::{
    CLOUD_DELETE, CONTAINER_DELETE, DATABASE_DESTROY, DESTRUCTIVE_TOOL, DISK_DESTROY,
    DYNAMIC_PROGRAM, FILE_DESTROY, GIT_HISTORY_REWRITE, KUBECTL_DELETE, KUBECTL_DELETE_NAMESPACE,
    KUBECTL_DELETE_VOLUME, NOT_READ_ONLY, POLICY_FILE_WRITE, RECURSIVE_DELETE, RELEASE_DESTROY,
    SQL_DESTRUCTIVE, TERRAFORM_AUTO_APPROVE, TERRAFORM_DESTROY, TERRAFORM_STATE_EDIT, UNANALYSED,
    UNKNOWN_TARGET, UNPARSED, WORKLOAD_DISRUPTION,
};

/// How the `action` adapter decides environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOptions {
    /// Tokens that make a value or path segment mean `production`; see [`crate::env`].
    /// Default: `prod`, `production`, `prd`.
    pub production_tokens: Vec<String>,
}

impl Default for ActionOptions {
    fn default() -> Self {
        ActionOptions {
            production_tokens: default_production_tokens(),
        }
    }
}

/// Read an agent's hook payload, MCP request or plain command and build the `action` document.
pub fn action_from_json(json: &str, opts: &ActionOptions) -> Result<Value, ActionError> {
    let root = json::parse(json)?;
    let Value::Object(obj) = &root else {
        return Err(ActionError::NotAnObject {
            found: kind_of(&root),
        });
    };
    let input = recognise(obj)?;
    Ok(build(&input, opts))
}

/// The `action` document for a shell command run in `cwd`, with `source: "plain"`.
pub fn action_from_command(command: &str, cwd: &str, opts: &ActionOptions) -> Value {
    build(
        &Input {
            source: "plain",
            tool: String::new(),
            command: Some(command.to_string()),
            cwd: cwd.to_string(),
            arguments: Vec::new(),
        },
        opts,
    )
}

/// A tool call an agent is about to make, as a hook front end took it out of the agent's own
/// payload: which agent, the tool's name, the tool's input object and the working directory.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    /// The agent, recorded as the document's `source`: `claude-code`, `codex`, `cursor`,
    /// `gemini`, `copilot` or `mcp`.
    pub source: &'static str,
    /// The tool's name as the agent gives it (`Bash`, `run_shell_command`, `mcp__x__y`, …).
    pub tool: &'a str,
    /// The tool's input: an object, or `null` when the agent gave none.
    pub input: &'a Value,
    /// The directory the call runs in; empty when the agent does not say.
    pub cwd: &'a str,
}

/// Tool names, compared case-insensitively, whose input's `command` is a shell command line:
/// Claude Code's and Copilot's `Bash`/`bash`, Codex's `shell`, `local_shell`, `exec_command`,
/// `unified_exec` and `container.exec`, Gemini CLI's `run_shell_command`, Cursor's `Shell` and
/// `run_terminal_cmd`.
const SHELL_TOOLS: [&str; 10] = [
    "bash",
    "shell",
    "local_shell",
    "exec_command",
    "unified_exec",
    "container.exec",
    "run_shell_command",
    "run_terminal_cmd",
    "terminal",
    "powershell",
];

/// Whether `tool` names a tool that runs a shell command line.
pub fn is_shell_tool(tool: &str) -> bool {
    SHELL_TOOLS.iter().any(|t| t.eq_ignore_ascii_case(tool))
}

/// Build the `action` document for a tool call a hook front end has read.
///
/// A shell tool ([`is_shell_tool`]) must carry its command line in `input.command`, as a string
/// or as an argument vector (`["bash", "-lc", "…"]`, Codex's form, which is quoted back into one
/// line); a shell tool without one is an error, so that a front end fails closed instead of
/// deciding on an empty command. Any other tool's input is flattened into `arguments`.
pub fn action_from_tool_call(
    call: &ToolCall<'_>,
    opts: &ActionOptions,
) -> Result<Value, ActionError> {
    let input = match call.input {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => {
            return Err(crate::error::TypeError {
                path: "tool_input".to_string(),
                expected: "an object",
                found: kind_of(other),
            }
            .into());
        }
    };
    let input = tool_call_input(call.source, call.tool, input, call.cwd)?;
    Ok(build(&input, opts))
}

/// The input of a tool call: a shell tool's command line, or any other tool's arguments.
fn tool_call_input(
    source: &'static str,
    tool: &str,
    input: Option<&Map<String, Value>>,
    cwd: &str,
) -> Result<Input, ActionError> {
    if is_shell_tool(tool) {
        let input = input.ok_or_else(|| ActionError::MissingField {
            path: "tool_input".to_string(),
        })?;
        let command = match input.get("command") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(argv)) => quote_argv(argv, "tool_input.command")?,
            Some(other) => {
                return Err(crate::error::TypeError {
                    path: "tool_input.command".to_string(),
                    expected: "a string or a list of strings",
                    found: kind_of(other),
                }
                .into());
            }
            None => {
                return Err(ActionError::MissingField {
                    path: "tool_input.command".to_string(),
                });
            }
        };
        // Codex's `exec_command` and `shell` may name the directory in the input itself.
        let cwd = match input.get("workdir").or_else(|| input.get("cwd")) {
            Some(Value::String(d)) if cwd.is_empty() => d.clone(),
            _ => cwd.to_string(),
        };
        return Ok(Input {
            source,
            tool: tool.to_string(),
            command: Some(command),
            cwd,
            arguments: Vec::new(),
        });
    }
    Ok(Input {
        source,
        tool: tool.to_string(),
        command: None,
        cwd: cwd.to_string(),
        arguments: input
            .map(|m| flatten(&Value::Object(m.clone())))
            .unwrap_or_default(),
    })
}

/// An argument vector as one shell line that parses back into the same words: each word is
/// single-quoted unless it is made only of characters the shell never treats specially.
fn quote_argv(argv: &[Value], path: &str) -> Result<String, ActionError> {
    let mut line = String::new();
    for (i, word) in argv.iter().enumerate() {
        let Value::String(w) = word else {
            return Err(crate::error::TypeError {
                path: format!("{path}.{i}"),
                expected: "a string",
                found: kind_of(word),
            }
            .into());
        };
        if i > 0 {
            line.push(' ');
        }
        let plain = !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
        if plain {
            line.push_str(w);
        } else {
            line.push('\'');
            line.push_str(&w.replace('\'', "'\\''"));
            line.push('\'');
        }
    }
    Ok(line)
}

/// What the payload says, before analysis.
struct Input {
    source: &'static str,
    tool: String,
    /// The shell command, for shell tools.
    command: Option<String>,
    cwd: String,
    arguments: Vec<(String, String)>,
}

fn required_str(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, ActionError> {
    json::opt_str(obj, key, path)?
        .map(str::to_string)
        .ok_or_else(|| ActionError::MissingField {
            path: json::join(path, key),
        })
}

fn recognise(obj: &Map<String, Value>) -> Result<Input, ActionError> {
    let cwd = json::opt_str(obj, "cwd", "")?.unwrap_or("").to_string();

    if obj.contains_key("jsonrpc") || obj.contains_key("method") {
        let method = required_str(obj, "method", "")?;
        if method != "tools/call" {
            return Err(ActionError::UnsupportedMcpMethod { method });
        }
        let params =
            json::opt_obj(obj, "params", "")?.ok_or_else(|| ActionError::MissingField {
                path: "params".to_string(),
            })?;
        let tool = required_str(params, "name", "params")?;
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => Vec::new(),
            Some(v @ Value::Object(_)) => flatten(v),
            Some(other) => {
                return Err(crate::error::TypeError {
                    path: "params.arguments".to_string(),
                    expected: "an object",
                    found: kind_of(other),
                }
                .into());
            }
        };
        return Ok(Input {
            source: "mcp",
            tool,
            command: None,
            cwd,
            arguments,
        });
    }

    let event = json::opt_str(obj, "hook_event_name", "")?;
    if obj.contains_key("tool_name") {
        let tool = required_str(obj, "tool_name", "")?;
        // Cursor's `beforeMCPExecution` names the tool the same way, and may give its input
        // as a JSON string.
        let source = if event.is_some_and(|e| e.starts_with("before")) {
            "cursor"
        } else {
            "claude-code"
        };
        if let Some(Value::String(text)) = obj.get("tool_input") {
            let parsed = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                _ => {
                    let mut m = Map::new();
                    m.insert("input".to_string(), Value::String(text.clone()));
                    m
                }
            };
            return tool_call_input(source, &tool, Some(&parsed), &cwd);
        }
        let tool_input = json::opt_obj(obj, "tool_input", "")?;
        return tool_call_input(source, &tool, tool_input, &cwd);
    }

    if let Some(event) = event {
        let cursor_like = obj.contains_key("conversation_id")
            || obj.contains_key("workspace_roots")
            || event.starts_with("before")
            || event.starts_with("after");
        if event == "beforeShellExecution" {
            let command = required_str(obj, "command", "")?;
            let cwd = if cwd.is_empty() {
                json::str_list(obj, "workspace_roots", "")?
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            } else {
                cwd
            };
            return Ok(Input {
                source: "cursor",
                tool: String::new(),
                command: Some(command),
                cwd,
                arguments: Vec::new(),
            });
        }
        if cursor_like {
            return Err(ActionError::UnsupportedCursorEvent {
                event: event.to_string(),
            });
        }
        return Err(ActionError::Unrecognised {
            keys: json::key_list(obj),
        });
    }

    if obj.contains_key("command") {
        let command = required_str(obj, "command", "")?;
        return Ok(Input {
            source: "plain",
            tool: String::new(),
            command: Some(command),
            cwd,
            arguments: Vec::new(),
        });
    }

    Err(ActionError::Unrecognised {
        keys: json::key_list(obj),
    })
}

/// A JSON value flattened to `(dotted key, string)` pairs, without recursion.
fn flatten(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), v)];
    while let Some((key, v)) = stack.pop() {
        let child = |k: &str| {
            if key.is_empty() {
                k.to_string()
            } else {
                format!("{key}.{k}")
            }
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                // Pushed in reverse so that they come off the stack in order.
                for (k, c) in m.iter().rev() {
                    stack.push((child(k), c));
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate().rev() {
                    stack.push((child(&i.to_string()), c));
                }
            }
            Value::Object(_) if key.is_empty() => {}
            other => out.push((key, json::scalar_string(other))),
        }
    }
    out
}

fn build(input: &Input, opts: &ActionOptions) -> Value {
    let tokens = &opts.production_tokens;
    let mut analysis = match &input.command {
        Some(cmd) => command::analyse(cmd, &input.cwd, tokens),
        None => command::Analysis::default(),
    };
    let mut call_classes: Vec<&'static str> = Vec::new();
    let mut arg_values: Vec<String> = Vec::new();
    let mut arg_names: Vec<String> = Vec::new();
    if input.command.is_none() && !input.tool.is_empty() {
        let t = tool::analyse(&input.tool, &input.arguments, &input.cwd, tokens);
        analysis.commands.extend(t.commands);
        if analysis.error.is_none() {
            analysis.error = t.error;
        }
        call_classes = t.classes;
        arg_values = t.env_values;
        arg_names = t.env_names;
    }

    let mut classes: Vec<&'static str> = analysis
        .commands
        .iter()
        .flat_map(|c| c.classes.iter().copied())
        .chain(call_classes)
        .collect();
    if analysis.error.is_some() {
        classes.push(UNPARSED);
    }
    classes.sort_unstable();
    classes.dedup();

    let argument_env = || {
        if arg_values.iter().any(|v| env::is_production(v, tokens))
            || arg_names
                .iter()
                .any(|n| env::path_env(n, tokens).is_some_and(|e| e == PRODUCTION))
        {
            Some(PRODUCTION.to_string())
        } else {
            arg_values.iter().find_map(|v| env::normalise(v, tokens))
        }
    };
    let arg_env = argument_env();
    // The working directory alone decides only when nothing runs at all: a checkout whose
    // path holds a production token does not make the commands run in it production ones
    // (the commands whose target is their directory count it themselves).
    let nothing_runs = input.command.is_some() && analysis.commands.is_empty();
    let doc_env = if analysis.commands.iter().any(|c| c.env == PRODUCTION)
        || arg_env.as_deref() == Some(PRODUCTION)
    {
        PRODUCTION.to_string()
    } else {
        analysis
            .commands
            .iter()
            .map(|c| c.env.clone())
            .find(|e| e != UNKNOWN)
            .or(arg_env)
            .or_else(|| {
                nothing_runs
                    .then(|| env::path_env(&input.cwd, tokens))
                    .flatten()
            })
            .unwrap_or_else(|| UNKNOWN.to_string())
    };

    let commands: Vec<Value> = analysis
        .commands
        .iter()
        .map(|c| {
            json!({
                "program": c.program,
                "args": c.args,
                "classes": c.classes,
                "env": c.env,
            })
        })
        .collect();
    let mut doc = json!({
        "source": input.source,
        "tool": input.tool,
        "command": input.command.clone().unwrap_or_default(),
        "cwd": input.cwd,
        "env": doc_env,
        "commands": commands,
        "classes": classes,
        "arguments": crate::plan::tags_value(&input.arguments),
    });
    if let (Some(err), Value::Object(map)) = (&analysis.error, &mut doc) {
        map.insert("parse_error".to_string(), Value::String(err.clone()));
    }
    doc
}
