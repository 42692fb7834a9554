//! From a command string to `Command` records: parse, unwrap wrappers, classify, find the env.

use super::classify::{self, Classified};
use super::shell::{self, RawCommand};
use crate::env::{self, PRODUCTION, UNKNOWN};

/// How deeply shell strings may be re-parsed (`bash -c`, `eval`, `find -exec` …).
pub(crate) const MAX_SHELL_DEPTH: usize = 8;

/// One analysed simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub program: String,
    pub args: Vec<String>,
    pub classes: Vec<&'static str>,
    pub env: String,
}

/// All the commands a string runs, and the first reason it could not be parsed in full.
#[derive(Debug, Clone, Default)]
pub(crate) struct Analysis {
    pub commands: Vec<Command>,
    pub error: Option<String>,
}

/// Analyse `src` as run in `cwd`.
pub(crate) fn analyse(src: &str, cwd: &str, production_tokens: &[String]) -> Analysis {
    let mut a = Analyser {
        production_tokens,
        cwd,
        out: Analysis::default(),
    };
    let mut ctx = Context::default();
    a.run(src, 0, &mut ctx);
    a.out
}

/// What earlier commands of the same string changed: the directory (`cd`) and exported or
/// shell-level variables.
#[derive(Debug, Clone, Default)]
struct Context {
    dir: String,
    assigns: Vec<(String, String)>,
}

struct Analyser<'a> {
    production_tokens: &'a [String],
    cwd: &'a str,
    out: Analysis,
}

/// Shells whose `-c STRING` is parsed as a command string.
const SHELLS: [&str; 7] = ["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash"];

/// Reserved words that may start a simple command and are not themselves programs.
const LEADING_KEYWORDS: [&str; 14] = [
    "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac",
    "coproc",
];

impl Analyser<'_> {
    fn fail(&mut self, msg: String) {
        if self.out.error.is_none() {
            self.out.error = Some(msg);
        }
    }

    fn run(&mut self, src: &str, depth: usize, ctx: &mut Context) {
        if depth > MAX_SHELL_DEPTH {
            self.fail(format!(
                "shell strings nest deeper than {MAX_SHELL_DEPTH} levels (`sh -c` inside `sh -c` …)"
            ));
            return;
        }
        let parsed = shell::parse(src);
        if let Some(e) = parsed.error {
            self.fail(e);
        }
        let mut previous_output: Option<String> = None;
        for mut raw in parsed.commands {
            let output = known_output(&raw);
            if raw.piped && raw.stdin_text.is_none() {
                raw.stdin_text = previous_output.take();
            }
            previous_output = output;
            self.simple(raw, depth, ctx);
        }
    }

    /// Unwrap, classify and record one simple command (and what it runs itself).
    fn simple(&mut self, raw: RawCommand, depth: usize, ctx: &mut Context) {
        let RawCommand {
            assigns: prefix,
            words,
            stdin_text,
            out_targets,
            piped: _,
        } = raw;
        if words.is_empty() {
            // `FOO=bar` alone sets a shell variable for the commands that follow.
            ctx.assigns.extend(prefix);
            return;
        }
        let mut assigns = ctx.assigns.clone();
        assigns.extend(prefix);

        let mut i = 0;
        // Each step consumes at least one word, so the loop ends.
        while let Some(word) = words.get(i) {
            let name = base_name(word);
            let next = match name {
                _ if LEADING_KEYWORDS.contains(&word.as_str()) => {
                    if words.get(i + 1).is_none() {
                        // `fi`, `done`, `}` alone run nothing.
                        return;
                    }
                    i + 1
                }
                "for" | "select" | "case" | "function" => return,
                "sudo" | "doas" => skip_sudo(&words, i + 1, &mut assigns),
                "env" => match skip_env(&words, i + 1, &mut assigns) {
                    EnvSkip::Command(n) => n,
                    EnvSkip::Split(s, n) => {
                        let rest = words.get(n..).unwrap_or_default();
                        let src = join_quoted(&s, rest);
                        let mut inner = Context {
                            dir: ctx.dir.clone(),
                            assigns,
                        };
                        self.run(&src, depth + 1, &mut inner);
                        return;
                    }
                },
                "busybox" | "nohup" => skip_plain(&words, i + 1, &[]),
                "time" => skip_plain(&words, i + 1, &["-f", "-o", "--format", "--output"]),
                "nice" => skip_plain(&words, i + 1, &["-n", "--adjustment"]),
                "timeout" => {
                    let n = skip_plain(&words, i + 1, &["-s", "-k", "--signal", "--kill-after"]);
                    // The duration.
                    n + 1
                }
                "command" => {
                    if words
                        .get(i + 1)
                        .is_some_and(|w| w.starts_with("-v") || w.starts_with("-V"))
                    {
                        break;
                    }
                    skip_plain(&words, i + 1, &[])
                }
                "exec" => skip_plain(&words, i + 1, &["-a"]),
                "xargs" => skip_xargs(&words, i + 1),
                "eval" => {
                    let src = words.get(i + 1..).unwrap_or_default().join(" ");
                    self.run_inherited(&src, depth, ctx, assigns);
                    return;
                }
                s if SHELLS.contains(&s) => {
                    let (c_string, script_arg) = shell_invocation(&words, i + 1);
                    match (c_string, script_arg, &stdin_text) {
                        (Some(src), _, _) => {
                            self.run_inherited(&src, depth, ctx, assigns);
                            return;
                        }
                        (None, false, Some(body)) => {
                            self.run_inherited(body, depth, ctx, assigns);
                            return;
                        }
                        _ => break,
                    }
                }
                _ => break,
            };
            if words.get(next).is_none() {
                // A wrapper with nothing to run (`sudo -i`, `nohup`): the wrapper is the command.
                break;
            }
            i = next;
        }

        let Some(program_word) = words.get(i) else {
            return;
        };
        let program = base_name(program_word).to_string();
        let args: Vec<String> = words.get(i + 1..).unwrap_or_default().to_vec();

        match program.as_str() {
            "cd" | "pushd" => {
                if let Some(dir) = args.iter().find(|a| !a.starts_with('-')) {
                    ctx.dir = change_dir(&ctx.dir, dir);
                }
            }
            "export" | "declare" | "typeset" => {
                ctx.assigns.extend(
                    args.iter()
                        .filter_map(|a| a.split_once('='))
                        .map(|(n, v)| (n.to_string(), v.to_string())),
                );
            }
            _ => {}
        }

        let Classified { classes, nested } =
            classify::classify(&program, &args, stdin_text.as_deref(), &out_targets);
        let env = self.command_env(&program, &args, &assigns, ctx);
        self.out.commands.push(Command {
            program,
            args,
            classes,
            env,
        });

        for cmd in nested {
            if depth + 1 > MAX_SHELL_DEPTH {
                self.fail(format!(
                    "commands nest deeper than {MAX_SHELL_DEPTH} levels (`find -exec` inside …)"
                ));
                return;
            }
            let raw = RawCommand {
                assigns: Vec::new(),
                words: cmd,
                stdin_text: None,
                out_targets: Vec::new(),
                piped: false,
            };
            self.simple(raw, depth + 1, ctx);
        }
    }

    /// Run a shell string one level deeper, with the caller's variables.
    fn run_inherited(
        &mut self,
        src: &str,
        depth: usize,
        ctx: &Context,
        assigns: Vec<(String, String)>,
    ) {
        let mut inner = Context {
            dir: ctx.dir.clone(),
            assigns,
        };
        self.run(src, depth + 1, &mut inner);
    }

    /// The environment one command targets; see the `agent` module docs for the order.
    fn command_env(
        &self,
        program: &str,
        args: &[String],
        assigns: &[(String, String)],
        ctx: &Context,
    ) -> String {
        let mut values: Vec<String> = Vec::new();
        let mut paths: Vec<String> = Vec::new();
        for (name, value) in assigns {
            if is_env_var(name) {
                values.push(value.clone());
            } else if name == "KUBECONFIG" {
                paths.push(value.clone());
            }
        }
        arg_hints(program, args, &mut values, &mut paths);
        if !ctx.dir.is_empty() {
            paths.push(ctx.dir.clone());
        }
        paths.push(self.cwd.to_string());

        let tokens = self.production_tokens;
        let path_envs: Vec<String> = paths
            .iter()
            .filter_map(|p| env::path_env(p, tokens))
            .collect();
        if values.iter().any(|v| env::is_production(v, tokens))
            || path_envs.iter().any(|e| e == PRODUCTION)
        {
            return PRODUCTION.to_string();
        }
        values
            .iter()
            .find_map(|v| env::normalise(v, tokens))
            .or_else(|| path_envs.into_iter().next())
            .unwrap_or_else(|| UNKNOWN.to_string())
    }
}

/// What a command writes to its standard output, when that is plain from its words: `echo`'s
/// arguments, `printf`'s (or its format when it has none), and `cat`'s here-document. A command
/// reading it through a pipe (`echo 'DROP TABLE t' | psql`, `echo 'rm -rf /' | sh`) is analysed
/// as if given that text.
fn known_output(raw: &RawCommand) -> Option<String> {
    let program = base_name(raw.words.first()?);
    let args = raw.words.get(1..).unwrap_or_default();
    match program {
        "echo" => {
            let text: Vec<&str> = args
                .iter()
                .map(String::as_str)
                .skip_while(|a| matches!(*a, "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            Some(text.join(" "))
        }
        "printf" => {
            let rest = args.get(1..).unwrap_or_default();
            if rest.is_empty() {
                args.first().cloned()
            } else {
                Some(rest.join(";\n"))
            }
        }
        "cat" if args.is_empty() => raw.stdin_text.clone(),
        _ => None,
    }
}

/// The directory `cd arg` leads to from `base` (which may be empty: not known), with `.` and
/// `..` resolved as far as the text allows.
fn change_dir(base: &str, arg: &str) -> String {
    let absolute = arg.starts_with('/') || arg.starts_with('~') || base.is_empty();
    let mut parts: Vec<&str> = if absolute {
        Vec::new()
    } else {
        base.split('/').collect()
    };
    for part in arg.split('/') {
        match part {
            "." => {}
            ".." if parts.last().is_some_and(|p| !p.is_empty() && *p != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The last `/`-separated part of a program path.
fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Shell-quote `rest` after `head`, for `env -S`.
fn join_quoted(head: &str, rest: &[String]) -> String {
    let mut s = head.to_string();
    for w in rest {
        s.push_str(" '");
        s.push_str(&w.replace('\'', r"'\''"));
        s.push('\'');
    }
    s
}

/// A `NAME=value` word.
fn assignment_word(w: &str) -> Option<(String, String)> {
    let (name, value) = w.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then(|| (name.to_string(), value.to_string()))
}

/// Skip options (and `--`) from `i`; `valued` options take the next word unless written
/// `--opt=value` or, for one-letter ones, `-oVALUE`. Returns the index of the first operand.
fn skip_plain(words: &[String], mut i: usize, valued: &[&str]) -> usize {
    while let Some(w) = words.get(i) {
        if w == "--" {
            return i + 1;
        }
        if !w.starts_with('-') || w.len() < 2 {
            return i;
        }
        i += if valued.contains(&w.as_str()) { 2 } else { 1 };
    }
    i
}

/// `sudo [options] [NAME=value …] command`.
fn skip_sudo(words: &[String], mut i: usize, assigns: &mut Vec<(String, String)>) -> usize {
    const VALUED_LONG: [&str; 11] = [
        "--user",
        "--group",
        "--close-from",
        "--chdir",
        "--host",
        "--prompt",
        "--role",
        "--type",
        "--command-timeout",
        "--other-user",
        "--chroot",
    ];
    while let Some(w) = words.get(i) {
        if w == "--" {
            i += 1;
            break;
        }
        if w.starts_with("--") {
            i += if VALUED_LONG.contains(&w.as_str()) {
                2
            } else {
                1
            };
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            // In a cluster, the first letter that takes a value takes the rest of the cluster,
            // or the next word when it is last.
            let takes_next = cluster
                .char_indices()
                .find(|(_, c)| "ugCDhprtTUR".contains(*c))
                .is_some_and(|(k, _)| k + 1 == cluster.len());
            i += if takes_next { 2 } else { 1 };
        } else if let Some(a) = assignment_word(w) {
            assigns.push(a);
            i += 1;
        } else {
            break;
        }
    }
    // Variables may also follow `--`.
    while let Some(a) = words.get(i).and_then(|w| assignment_word(w)) {
        assigns.push(a);
        i += 1;
    }
    i
}

enum EnvSkip {
    /// The command starts at this index.
    Command(usize),
    /// `env -S STRING`: the string, and the index of the words after it.
    Split(String, usize),
}

/// `env [options] [NAME=value …] command`.
fn skip_env(words: &[String], mut i: usize, assigns: &mut Vec<(String, String)>) -> EnvSkip {
    while let Some(w) = words.get(i) {
        match w.as_str() {
            "--" => i += 1,
            "-u" | "--unset" | "-C" | "--chdir" => i += 2,
            "-S" | "--split-string" => {
                return match words.get(i + 1) {
                    Some(s) => EnvSkip::Split(s.clone(), i + 2),
                    None => EnvSkip::Command(i + 1),
                };
            }
            s if s.starts_with("--split-string=") => {
                let v = s.trim_start_matches("--split-string=").to_string();
                return EnvSkip::Split(v, i + 1);
            }
            s if s.starts_with("-S") => {
                return EnvSkip::Split(s.get(2..).unwrap_or_default().to_string(), i + 1);
            }
            s if s.starts_with('-') => i += 1,
            s => match assignment_word(s) {
                Some(a) => {
                    assigns.push(a);
                    i += 1;
                }
                None => return EnvSkip::Command(i),
            },
        }
    }
    EnvSkip::Command(i)
}

/// `xargs [options] command`.
fn skip_xargs(words: &[String], mut i: usize) -> usize {
    const VALUED_LONG: [&str; 8] = [
        "--arg-file",
        "--delimiter",
        "--eof",
        "--replace",
        "--max-lines",
        "--max-args",
        "--max-procs",
        "--max-chars",
    ];
    while let Some(w) = words.get(i) {
        if w == "--" {
            return i + 1;
        }
        if w.starts_with("--") {
            i += if VALUED_LONG.contains(&w.as_str()) {
                2
            } else {
                1
            };
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            let mut takes_next = false;
            for (k, c) in cluster.char_indices() {
                if "adEILnPs".contains(c) {
                    takes_next = k + 1 == cluster.len();
                    break;
                }
                if "ile".contains(c) {
                    // Optional attached value: the rest of the cluster.
                    break;
                }
            }
            i += if takes_next { 2 } else { 1 };
        } else {
            return i;
        }
    }
    i
}

/// For `sh [options] …` from `i`: the `-c` string, if any, and whether a script file is named.
fn shell_invocation(words: &[String], mut i: usize) -> (Option<String>, bool) {
    let mut has_c = false;
    while let Some(w) = words.get(i) {
        if w == "--" || w == "-" {
            i += 1;
            break;
        }
        if w.starts_with("--") {
            i += if matches!(w.as_str(), "--rcfile" | "--init-file") {
                2
            } else {
                1
            };
            continue;
        }
        let Some(cluster) = w.strip_prefix('-').or_else(|| w.strip_prefix('+')) else {
            break;
        };
        if cluster.is_empty() {
            break;
        }
        if w.starts_with('-') && cluster.contains('c') {
            has_c = true;
        }
        // `-o pipefail`, `-euo pipefail`: the option name is the next word.
        i += if cluster.contains('o') || cluster.contains('O') {
            2
        } else {
            1
        };
    }
    if has_c {
        (words.get(i).cloned(), false)
    } else {
        (None, words.get(i).is_some())
    }
}

/// Whether a variable name says which environment to target.
fn is_env_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "VIRTUAL_ENV" | "CONDA_DEFAULT_ENV" | "PIPENV_VENV_IN_PROJECT"
    ) {
        return false;
    }
    matches!(
        upper.as_str(),
        "ENV"
            | "ENVIRONMENT"
            | "STAGE"
            | "AWS_PROFILE"
            | "AWS_DEFAULT_PROFILE"
            | "TF_WORKSPACE"
            | "CLOUDSDK_CORE_PROJECT"
            | "GOOGLE_CLOUD_PROJECT"
            | "KUBECONTEXT"
            | "KUBE_CONTEXT"
    ) || upper.ends_with("_ENV")
        || upper.ends_with("_ENVIRONMENT")
        || upper.ends_with("_STAGE")
}

/// Environment hints in a command's arguments: `values` are used as they are, `paths` only for
/// production tokens.
fn arg_hints(program: &str, args: &[String], values: &mut Vec<String>, paths: &mut Vec<String>) {
    let prog = program.to_ascii_lowercase();
    let opt = |names: &[&str]| classify::option_values(args, names);
    values.extend(opt(&[
        "--context",
        "--kube-context",
        "--environment",
        "--stage",
    ]));
    match prog.as_str() {
        "kubectl" | "oc" | "helm" | "kustomize" | "k9s" | "stern" => {
            values.extend(opt(&["-n", "--namespace", "--cluster"]));
        }
        "terraform" | "tofu" | "terragrunt" => {
            for v in opt(&["-var", "--var"]) {
                if let Some((k, val)) = v.split_once('=')
                    && matches!(
                        k.trim().to_ascii_lowercase().as_str(),
                        "env" | "environment" | "stage" | "workspace"
                    )
                {
                    values.push(val.trim_matches(['"', '\'']).to_string());
                }
            }
            for f in opt(&["-var-file", "--var-file"]) {
                let file = f.rsplit('/').next().unwrap_or(&f);
                let stem = file.split('.').next().unwrap_or(file);
                values.push(stem.to_string());
                paths.push(f.clone());
            }
            paths.extend(opt(&["-chdir", "--chdir"]));
            let p: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
            if let [first, second, third, ..] = p.as_slice()
                && first.as_str() == "workspace"
                && matches!(second.as_str(), "select" | "new")
            {
                values.push((*third).clone());
            }
        }
        "aws" => values.extend(opt(&["--profile"])),
        "gcloud" => values.extend(opt(&["--project"])),
        "az" => values.extend(opt(&["--subscription"])),
        "psql" | "pg_dump" | "pg_restore" | "pg_dumpall" => {
            paths.extend(opt(&["-h", "--host", "-d", "--dbname"]));
            paths.extend(args.iter().filter(|a| a.contains("://")).cloned());
        }
        "mysql" | "mariadb" | "mysqldump" => {
            paths.extend(opt(&["-h", "--host", "-D", "--database"]));
        }
        "mongo" | "mongosh" | "redis-cli" => {
            paths.extend(opt(&["-h", "--host", "-u"]));
            paths.extend(args.iter().filter(|a| a.contains("://")).cloned());
        }
        _ => {}
    }
}
