//! From a command string to `Command` records: parse, unwrap wrappers, classify, find the env.

use super::classify::{self, Classified, NOT_READ_ONLY, UNANALYSED};
use super::protect;
use super::shell::{self, RawCommand};
use crate::env::{self, PRODUCTION, UNKNOWN};

/// How deeply shell strings may be re-parsed (`bash -c`, `eval`, `find -exec` …).
pub(crate) const MAX_SHELL_DEPTH: usize = 8;

/// How many simple commands one string may run, inner ones included; more is a parse error.
/// Re-parsing multiplies work (a script run twice is analysed twice), and this bounds it.
pub(crate) const MAX_COMMANDS: usize = 10_000;

/// Words longer than this are not brace-expanded (a program name holding a brace stays
/// dynamic).
const MAX_BRACE_WORD: usize = 4096;

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
        seen: 0,
    };
    let mut ctx = Context::default();
    a.run(src, 0, &mut ctx);
    a.out
}

/// What earlier commands of the same string changed, and what an outer command says about
/// the inner ones it runs.
#[derive(Debug, Clone, Default)]
struct Context {
    /// The directory reached by `cd`, relative to the working directory or absolute.
    dir: String,
    assigns: Vec<(String, String)>,
    /// Environment values every command here inherits (an outer command's env).
    values: Vec<String>,
    /// Names every command here targets (an `ssh` host, a container).
    paths: Vec<String>,
    /// Functions and aliases defined earlier in the string.
    functions: Vec<String>,
    aliases: Vec<(String, String)>,
    /// Files written earlier in the string (redirections, `tee`, `cp`), and saved Terraform
    /// plans that destroy.
    written: Vec<(String, Option<String>)>,
    destroy_plans: Vec<String>,
}

struct Analyser<'a> {
    production_tokens: &'a [String],
    cwd: &'a str,
    out: Analysis,
    /// Simple commands analysed so far, against [`MAX_COMMANDS`].
    seen: usize,
}

/// Shells whose `-c STRING` is parsed as a command string.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "rbash", "fish", "tcsh", "csh", "yash",
    "posh",
];

/// Reserved words that may start a simple command and are not themselves programs.
const LEADING_KEYWORDS: &[&str] = &[
    "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac",
    "coproc", "in", "]]",
];

/// Wrappers that run the rest of their words as a command, after their own options: the name
/// and the options that take a separate value, and how many operands come before the command.
const PLAIN_WRAPPERS: &[(&str, &[&str], usize)] = &[
    ("busybox", &[], 0),
    ("nohup", &[], 0),
    (
        "stdbuf",
        &["-i", "-o", "-e", "--input", "--output", "--error"],
        0,
    ),
    ("setsid", &[], 0),
    (
        "ionice",
        &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
        0,
    ),
    ("unbuffer", &[], 0),
    ("caffeinate", &["-t", "-w"], 0),
    ("chrt", &[], 1),
    ("taskset", &[], 1),
    ("chroot", &["--userspec", "--groups"], 1),
    (
        "nsenter",
        &[
            "-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd",
        ],
        0,
    ),
    ("unshare", &["--map-user", "--map-group"], 0),
    (
        "setpriv",
        &[
            "--reuid",
            "--regid",
            "--groups",
            "--inh-caps",
            "--bounding-set",
        ],
        0,
    ),
    ("prlimit", &["-p", "--pid"], 0),
    ("numactl", &["-C", "-N", "-m", "-i", "-p"], 0),
    ("cgexec", &["-g"], 0),
    ("firejail", &[], 0),
    ("proxychains", &["-f"], 0),
    ("proxychains4", &["-f"], 0),
    ("torsocks", &[], 0),
    ("strace", &["-o", "-e", "-p", "-s", "-u", "-E", "-I"], 0),
    ("ltrace", &["-o", "-e", "-p", "-s", "-u"], 0),
    ("valgrind", &[], 0),
    ("rlwrap", &[], 0),
    ("faketime", &[], 1),
    ("dumb-init", &[], 0),
    ("tini", &[], 0),
    ("catchsegv", &[], 0),
    ("gosu", &[], 1),
    ("su-exec", &[], 1),
    (
        "systemd-run",
        &[
            "-u",
            "--unit",
            "-p",
            "--property",
            "--description",
            "-E",
            "--setenv",
            "--uid",
            "--gid",
            "--working-directory",
            "-M",
            "--machine",
            "-H",
            "--host",
            "--slice",
        ],
        0,
    ),
    ("direnv", &[], 2),
    ("with-contenv", &[], 0),
    ("pkexec", &["--user"], 0),
];

/// Package runners and tool launchers whose next word (after their options) is a program:
/// `npx prisma …`, `bundle exec rails …`, `uv run alembic …`, `aws-vault exec prod -- …`.
const RUNNERS: &[(&str, &[&str], &[&str], usize)] = &[
    ("npx", &[], &["-p", "--package", "-c", "--call"], 0),
    ("pnpx", &[], &["-p", "--package"], 0),
    ("bunx", &[], &["-p", "--package"], 0),
    (
        "npm",
        &["exec", "x"],
        &["-p", "--package", "-w", "--workspace"],
        0,
    ),
    (
        "pnpm",
        &["exec", "dlx"],
        &["-C", "--dir", "--filter", "-F"],
        0,
    ),
    ("yarn", &["exec", "dlx"], &["-p", "--package"], 0),
    ("bundle", &["exec"], &["--gemfile"], 0),
    (
        "poetry",
        &["run"],
        &["-C", "--directory", "-P", "--project"],
        0,
    ),
    (
        "uv",
        &["run"],
        &[
            "--with",
            "-p",
            "--python",
            "--env-file",
            "--directory",
            "--project",
            "--package",
            "--extra",
            "--group",
        ],
        0,
    ),
    ("uvx", &[], &["--from", "--with", "-p", "--python"], 0),
    ("pipenv", &["run"], &[], 0),
    ("pdm", &["run"], &[], 0),
    ("hatch", &["run"], &[], 0),
    ("conda", &["run"], &["-n", "--name", "-p", "--prefix"], 0),
    (
        "aws-vault",
        &["exec"],
        &["-d", "--duration", "-r", "--region"],
        1,
    ),
    ("op", &["run"], &["--env-file"], 0),
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
        let mut previous_ran = false;
        for mut raw in parsed.commands {
            let output = known_output(&raw);
            let unknown_input =
                raw.piped && raw.stdin_text.is_none() && previous_output.is_none() && previous_ran;
            if raw.piped && raw.stdin_text.is_none() {
                raw.stdin_text = previous_output.take();
            }
            previous_output = output;
            previous_ran = true;
            self.simple(raw, depth, ctx, unknown_input);
        }
    }

    /// Unwrap, classify and record one simple command (and what it runs itself).
    fn simple(&mut self, raw: RawCommand, depth: usize, ctx: &mut Context, unknown_input: bool) {
        self.seen += 1;
        if self.seen > MAX_COMMANDS {
            self.fail(format!(
                "the command runs more than {MAX_COMMANDS} simple commands"
            ));
            return;
        }
        // What the command writes into the files it redirects to, when that is plain.
        let output_text = known_output(&raw);
        let RawCommand {
            assigns: prefix,
            words,
            stdin_text,
            out_targets,
            piped: _,
        } = raw;
        if words.is_empty() && out_targets.is_empty() {
            // `FOO=bar` alone sets a shell variable for the commands that follow.
            ctx.assigns.extend(prefix);
            return;
        }
        // A redirection alone (`> file`) empties the file, as the null command `:` does.
        let words = if words.is_empty() {
            vec![":".to_string()]
        } else {
            expand_braces_all(words)
        };
        let mut assigns = ctx.assigns.clone();
        assigns.extend(prefix);
        let mut extra_values: Vec<String> = Vec::new();
        let mut extra_paths: Vec<String> = Vec::new();

        let mut i = 0;
        // Each step consumes at least one word, so the loop ends.
        while let Some(word) = words.get(i) {
            let name = base_name(word);
            let next = match name {
                _ if LEADING_KEYWORDS.contains(&word.as_str()) => {
                    if words.get(i + 1).is_none() {
                        // `fi`, `done`, `}` alone run nothing, but their redirections
                        // (`done > out`) still write.
                        if out_targets.is_empty() {
                            return;
                        }
                        break;
                    }
                    i + 1
                }
                "for" | "select" | "case" => return,
                "function" => {
                    // `function NAME [()] { body …`: the body's first command follows.
                    if let Some(f) = words.get(i + 1) {
                        ctx.functions.push(f.trim_end_matches("()").to_string());
                    }
                    let mut n = i + 2;
                    if words.get(n).is_some_and(|w| w == "()") {
                        n += 1;
                    }
                    if words.get(n).is_none() {
                        return;
                    }
                    n
                }
                "sudo" | "doas" => skip_sudo(&words, i + 1, &mut assigns),
                "env" => match skip_env(&words, i + 1, &mut assigns) {
                    EnvSkip::Command(n) => n,
                    EnvSkip::Split(s, n) => {
                        let rest = words.get(n..).unwrap_or_default();
                        let src = join_quoted(&s, rest);
                        self.run_inherited(&src, depth, ctx, assigns);
                        return;
                    }
                },
                "time" => skip_plain(&words, i + 1, &["-f", "-o", "--format", "--output"]),
                "nice" => skip_plain(&words, i + 1, &["-n", "--adjustment"]),
                "timeout" => {
                    let n = skip_plain(&words, i + 1, &["-s", "-k", "--signal", "--kill-after"]);
                    // The duration.
                    n + 1
                }
                "command" | "builtin" => {
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
                "flock" => {
                    let n = skip_plain(
                        &words,
                        i + 1,
                        &["-w", "--timeout", "-E", "--conflict-exit-code"],
                    );
                    // The lock file, then `-c STRING` or the command.
                    let cmds = classify::option_values(
                        words.get(n + 1..).unwrap_or_default(),
                        &["-c", "--command"],
                    );
                    if let Some(src) = cmds.first() {
                        self.run_inherited(src, depth, ctx, assigns);
                        return;
                    }
                    n + 1
                }
                "watch" => {
                    let n = skip_plain(&words, i + 1, &["-n", "--interval", "-q", "--equexit"]);
                    let src = words.get(n..).unwrap_or_default().join(" ");
                    self.run_inherited(&src, depth, ctx, assigns);
                    return;
                }
                "script" => {
                    let rest = words.get(i + 1..).unwrap_or_default();
                    let mut cmds = classify::option_values(rest, &["-c", "--command"]);
                    // `-qc CMD`: a cluster ending in `c` takes the next word.
                    cmds.extend(rest.windows(2).filter_map(|w| match w {
                        [flag, cmd]
                            if flag.starts_with('-')
                                && !flag.starts_with("--")
                                && flag.len() > 2
                                && flag.ends_with('c') =>
                        {
                            Some(cmd.clone())
                        }
                        _ => None,
                    }));
                    match cmds.first() {
                        Some(src) => {
                            self.run_inherited(src, depth, ctx, assigns);
                            return;
                        }
                        None => break,
                    }
                }
                "parallel" => {
                    let n = skip_plain(
                        &words,
                        i + 1,
                        &[
                            "-j",
                            "--jobs",
                            "-S",
                            "--sshlogin",
                            "-a",
                            "--arg-file",
                            "-d",
                            "--delimiter",
                            "-I",
                            "--colsep",
                            "-N",
                            "-n",
                            "-L",
                            "-P",
                            "--timeout",
                            "--joblog",
                            "--results",
                            "--env",
                            "--workdir",
                            "--basefile",
                            "--tmpdir",
                        ],
                    );
                    let rest = words.get(n..).unwrap_or_default();
                    let cut = rest
                        .iter()
                        .position(|w| w.starts_with(":::"))
                        .unwrap_or(rest.len());
                    let src = rest.get(..cut).unwrap_or_default().join(" ");
                    let mut inner = ctx.clone();
                    inner.assigns = assigns;
                    inner.paths.extend(
                        rest.get(cut..)
                            .unwrap_or_default()
                            .iter()
                            .filter(|w| !w.starts_with(":::"))
                            .cloned(),
                    );
                    self.run(&src, depth + 1, &mut inner);
                    return;
                }
                "eval" => {
                    let src = words.get(i + 1..).unwrap_or_default().join(" ");
                    self.run_inherited(&src, depth, ctx, assigns);
                    return;
                }
                s if SHELLS.contains(&s)
                    || s == "busybox"
                        && words
                            .get(i + 1)
                            .is_some_and(|w| SHELLS.contains(&w.as_str())) =>
                {
                    let at = if s == "busybox" { i + 2 } else { i + 1 };
                    let (c_string, script_arg) = shell_invocation(&words, at);
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
                s => {
                    if let Some((_, valued, before)) =
                        PLAIN_WRAPPERS.iter().find(|(n, _, _)| *n == s)
                    {
                        let n = skip_plain(&words, i + 1, valued);
                        // Operands before the command (`chroot DIR`, `direnv exec DIR`) name
                        // its target.
                        extra_paths
                            .extend(words.get(n..n + before).unwrap_or_default().iter().cloned());
                        n + before
                    } else if let Some((_, subs, valued, before)) =
                        RUNNERS.iter().find(|(n, _, _, _)| *n == s)
                    {
                        let mut n = i + 1;
                        if !subs.is_empty() {
                            n = skip_plain(
                                &words,
                                n,
                                &[
                                    "-C",
                                    "--dir",
                                    "--filter",
                                    "-F",
                                    "-w",
                                    "--workspace",
                                    "--prefix",
                                ],
                            );
                            if !words.get(n).is_some_and(|w| subs.contains(&w.as_str())) {
                                break;
                            }
                            n += 1;
                        }
                        let n = skip_plain(&words, n, valued);
                        if s == "aws-vault" {
                            extra_values.extend(words.get(n).cloned());
                        }
                        let n = n + before;
                        // `aws-vault exec prod -- cmd`, `op run -- cmd`.
                        if words.get(n).is_some_and(|w| w == "--") {
                            n + 1
                        } else {
                            n
                        }
                    } else {
                        break;
                    }
                }
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
        // An alias defined earlier in the string: its text runs, with these arguments.
        if let Some((_, body)) = ctx.aliases.iter().find(|(n, _)| n == program_word).cloned() {
            let rest = words.get(i + 1..).unwrap_or_default();
            let src = join_quoted(&body, rest);
            // An alias is not expanded inside its own text (`alias ls='ls --color'`).
            let mut inner = ctx.clone();
            inner.assigns = assigns;
            inner.aliases.retain(|(n, _)| n != program_word);
            self.run(&src, depth + 1, &mut inner);
            return;
        }
        let program = base_name(program_word).to_string();
        let args: Vec<String> = words.get(i + 1..).unwrap_or_default().to_vec();

        match program.as_str() {
            "cd" | "pushd" => {
                if let Some(dir) = args.iter().find(|a| !a.starts_with('-')) {
                    ctx.dir = change_dir(&ctx.dir, dir);
                }
            }
            "export" | "declare" | "typeset" | "local" | "readonly" | "setenv" => {
                ctx.assigns.extend(
                    args.iter()
                        .filter_map(|a| a.split_once('='))
                        .map(|(n, v)| (n.to_string(), v.to_string())),
                );
            }
            "alias" => {
                for a in &args {
                    if let Some((n, v)) = a.split_once('=') {
                        ctx.aliases.push((n.to_string(), v.to_string()));
                    }
                }
            }
            _ => {}
        }

        let Classified {
            mut classes,
            nested,
            nested_shell,
            inner_targets,
            targets,
            mut read_only,
        } = classify::classify(&program, &args, stdin_text.as_deref(), &out_targets);

        // What runs here but cannot be seen: a function defined in the string (its body is
        // analysed where it is defined), a script written earlier in the same string, input
        // piped into a shell or interpreter from a command whose output is not known.
        // A script written earlier in the string with known text is analysed as that text.
        let script = script_run(&program, program_word, &args);
        let written_script: Option<Option<String>> = script.as_ref().and_then(|s| {
            let s = self.resolve(s, ctx);
            ctx.written
                .iter()
                .rev()
                .find(|(w, _)| same_file(w, &s))
                .map(|(_, text)| text.clone())
        });
        if ctx.functions.iter().any(|f| f == program_word)
            || written_script.as_ref().is_some_and(Option::is_none)
            || (unknown_input
                && (SHELLS.contains(&program.as_str()) || classify::is_interpreter(&program))
                && script.is_none())
        {
            classes.push(UNANALYSED);
            read_only = false;
        }
        if let Some(plan) =
            classify::terraform_destroy_plan_out(&args).filter(|_| is_terraform(&program))
        {
            ctx.destroy_plans.push(plan);
        }
        if let Some(plan) =
            classify::terraform_applied_plan(&args).filter(|_| is_terraform(&program))
            && ctx.destroy_plans.iter().any(|p| same_file(p, &plan))
        {
            classes.push(classify::TERRAFORM_DESTROY);
        }

        // Writes to the guard's own configuration.
        let mut writes = protect::written_paths(&program, &args, stdin_text.as_deref());
        writes.extend(out_targets.iter().cloned());
        let policy_write = writes
            .iter()
            .any(|w| protect::is_policy_path(&self.resolve(w, ctx), self.cwd))
            || (classes.contains(&UNANALYSED)
                && (args.iter().any(|a| protect::mentions_policy(a))
                    || stdin_text.as_deref().is_some_and(protect::mentions_policy)));
        if policy_write {
            classes.push(classify::POLICY_FILE_WRITE);
        }
        let content = if program == "tee" {
            stdin_text.clone()
        } else {
            output_text
        };
        for w in &writes {
            self.note_write(w, content.clone(), ctx);
        }

        if !read_only {
            classes.push(NOT_READ_ONLY);
        }

        let mut hint_values = extra_values;
        hint_values.extend(ctx.values.iter().cloned());
        extra_paths.extend(targets);
        // The files it writes are named targets too.
        extra_paths.extend(
            out_targets
                .iter()
                .filter(|t| t.starts_with('/') || t.starts_with('~'))
                .cloned(),
        );
        let env = if extra_paths.is_empty() {
            self.command_env(&program, &args, &assigns, ctx, &hint_values)
        } else {
            let mut with_paths = ctx.clone();
            with_paths.paths.extend(extra_paths);
            self.command_env(&program, &args, &assigns, &with_paths, &hint_values)
        };
        // A cluster or cloud CLI that changes something, aimed at whatever its ambient
        // configuration (current context, default profile) points to: the target cannot be
        // told apart from production.
        if !read_only && env == UNKNOWN && ambient_target(&program) {
            classes.push(classify::UNKNOWN_TARGET);
        }
        classes.sort_unstable();
        classes.dedup();
        self.out.commands.push(Command {
            program,
            args,
            classes,
            env: env.clone(),
        });

        if let Some(Some(text)) = written_script {
            let mut inner = ctx.clone();
            inner.assigns = assigns.clone();
            self.run(&text, depth + 1, &mut inner);
        }
        if nested.is_empty() && nested_shell.is_empty() {
            return;
        }
        if depth + 1 > MAX_SHELL_DEPTH {
            self.fail(format!(
                "commands nest deeper than {MAX_SHELL_DEPTH} levels (`find -exec` inside …)"
            ));
            return;
        }
        // Inner commands run elsewhere (a host, a pod, a container) or as another user: they
        // inherit the outer command's environment and targets, not its directory.
        let mut inner = Context {
            values: ctx.values.clone(),
            paths: ctx.paths.clone(),
            ..Context::default()
        };
        if env != UNKNOWN {
            inner.values.push(env);
        }
        inner.paths.extend(inner_targets);
        for cmd in nested {
            let raw = RawCommand {
                assigns: Vec::new(),
                words: cmd,
                stdin_text: None,
                out_targets: Vec::new(),
                piped: false,
            };
            self.simple(raw, depth + 1, &mut inner, false);
        }
        for src in nested_shell {
            self.run(&src, depth + 1, &mut inner);
        }
    }

    /// A path as written, relative to the working directory (or absolute) after earlier `cd`s.
    fn resolve(&self, path: &str, ctx: &Context) -> String {
        if ctx.dir.is_empty() || path.starts_with('/') || path.starts_with('~') {
            path.to_string()
        } else {
            change_dir(&ctx.dir, path)
        }
    }

    fn note_write(&self, path: &str, content: Option<String>, ctx: &mut Context) {
        let p = self.resolve(path, ctx);
        if ctx.written.len() < 256 {
            ctx.written.push((p, content));
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
        let mut inner = ctx.clone();
        inner.assigns = assigns;
        self.run(src, depth + 1, &mut inner);
    }

    /// The environment one command targets; see the `agent` module docs for the order.
    fn command_env(
        &self,
        program: &str,
        args: &[String],
        assigns: &[(String, String)],
        ctx: &Context,
        inherited: &[String],
    ) -> String {
        let mut values: Vec<String> = inherited.to_vec();
        let mut paths: Vec<String> = ctx.paths.clone();
        for (name, value) in assigns {
            if is_env_var(name) {
                values.push(value.clone());
            } else if is_target_var(name) {
                paths.push(value.clone());
            }
        }
        arg_hints(program, args, &mut values, &mut paths);
        for a in args {
            if a.contains("://") || a.starts_with('/') || a.starts_with('~') {
                paths.push(a.clone());
            }
        }
        if !ctx.dir.is_empty() {
            paths.push(ctx.dir.clone());
        }
        // The working directory names the target only of tools whose target is the directory
        // (a Terraform root, a compose project); a checkout whose path happens to hold a
        // production token does not make `rm -rf dist` a production action.
        let tokens = self.production_tokens;
        let mut path_envs: Vec<String> = paths
            .iter()
            .map(|p| strip_cwd(p, self.cwd))
            .filter(|p| !p.contains(char::is_whitespace) || p.contains("://"))
            .filter_map(|p| env::path_env(&p, tokens))
            .collect();
        if targets_directory(program, args) {
            path_envs.extend(env::path_env(self.cwd, tokens));
        }
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

/// `path` with the working directory's own prefix removed, so that the checkout's location
/// plays no part in the environment.
pub(crate) fn strip_cwd(path: &str, cwd: &str) -> String {
    let cwd = cwd.trim_end_matches('/');
    if cwd.is_empty() {
        return path.to_string();
    }
    match path.strip_prefix(cwd) {
        Some("") => String::new(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => path.to_string(),
    }
}

fn is_terraform(program: &str) -> bool {
    matches!(program, "terraform" | "tofu" | "terragrunt")
}

/// Whether two spellings of a path name the same file (`./x.sh` and `x.sh`).
fn same_file(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.trim_start_matches("./").to_string();
    clean(a) == clean(b)
}

/// The script a command runs from a file: `./x.sh`, `bash x.sh`, `python3 x.py`, `source x`.
fn script_run(program: &str, program_word: &str, args: &[String]) -> Option<String> {
    if program_word.contains('/')
        && !program_word.starts_with("/usr/")
        && !program_word.starts_with("/bin/")
        && !program_word.starts_with("/sbin/")
    {
        return Some(program_word.to_string());
    }
    if SHELLS.contains(&program)
        || classify::is_interpreter(program)
        || matches!(program, "source" | ".")
    {
        return args.iter().find(|a| !a.starts_with('-')).cloned();
    }
    None
}

/// Cluster and cloud CLIs whose target, when no flag names one, is their ambient
/// configuration (the current kube context, the default profile or project).
fn ambient_target(program: &str) -> bool {
    matches!(
        program,
        "kubectl"
            | "oc"
            | "k"
            | "kubecolor"
            | "helm"
            | "helmfile"
            | "aws"
            | "gcloud"
            | "az"
            | "gsutil"
            | "doctl"
            | "eksctl"
            | "pulumi"
            | "terraform"
            | "tofu"
            | "terragrunt"
            | "cdk"
            | "cdktf"
            | "serverless"
            | "sls"
            | "argocd"
            | "flux"
            | "vault"
            | "nomad"
    )
}

/// Programs whose target is the directory they run in.
fn targets_directory(program: &str, args: &[String]) -> bool {
    match program {
        "terraform" | "tofu" | "terragrunt" | "pulumi" | "cdk" | "cdktf" | "serverless" | "sls"
        | "helmfile" | "ansible-playbook" | "docker-compose" | "podman-compose" | "sam"
        | "copilot" | "amplify" | "skaffold" | "tilt" | "kustomize" | "fly" | "flyctl"
        | "vercel" | "netlify" | "wrangler" | "firebase" | "railway" => true,
        "docker" | "podman" => args.iter().any(|a| a == "compose"),
        _ => false,
    }
}

/// Programs whose positional arguments name what they act on (clusters, namespaces, releases,
/// buckets, databases, hosts, apps): each counts for the environment, as a name.
fn names_targets(program: &str) -> bool {
    matches!(
        program,
        "kubectl"
            | "oc"
            | "k"
            | "mysqladmin"
            | "kubecolor"
            | "helm"
            | "helmfile"
            | "aws"
            | "gcloud"
            | "az"
            | "gsutil"
            | "doctl"
            | "eksctl"
            | "heroku"
            | "pulumi"
            | "cdk"
            | "cdktf"
            | "serverless"
            | "sls"
            | "fly"
            | "flyctl"
            | "vercel"
            | "netlify"
            | "gh"
            | "dropdb"
            | "createdb"
            | "dropuser"
            | "psql"
            | "pg_dump"
            | "pg_restore"
            | "pg_dumpall"
            | "mysql"
            | "mariadb"
            | "mysqldump"
            | "redis-cli"
            | "valkey-cli"
            | "mongo"
            | "mongosh"
            | "mongorestore"
            | "mongodump"
            | "cockroach"
            | "clickhouse"
            | "clickhouse-client"
            | "ssh"
            | "scp"
            | "rsync"
            | "sftp"
            | "docker"
            | "podman"
            | "argocd"
            | "flux"
            | "ansible"
            | "ansible-playbook"
            | "nomad"
            | "consul"
            | "vault"
            | "linode-cli"
            | "hcloud"
            | "oci"
            | "terraform"
            | "tofu"
            | "terragrunt"
            | "sqlcmd"
            | "cqlsh"
            | "bq"
            | "snowsql"
            | "supabase"
            | "railway"
            | "wrangler"
            | "firebase"
            | "rails"
            | "rake"
            | "kafka-topics"
            | "systemctl"
            | "service"
            | "kill"
            | "pkill"
            | "killall"
            | "sam"
            | "copilot"
            | "amplify"
            | "skaffold"
            | "minikube"
            | "kind"
            | "k3d"
            | "doppler"
            | "aws-vault"
    )
}

/// Variables whose value names a host, a URL or a cluster: they count for the environment as
/// names.
fn is_target_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "KUBECONFIG"
            | "PGHOST"
            | "PGDATABASE"
            | "PGSERVICE"
            | "DATABASE_URL"
            | "DOCKER_HOST"
            | "DOCKER_CONTEXT"
            | "HEROKU_APP"
            | "PULUMI_STACK"
            | "MYSQL_HOST"
            | "REDIS_URL"
            | "MONGO_URL"
            | "MONGODB_URI"
            | "MONGO_URI"
            | "VAULT_ADDR"
            | "NOMAD_ADDR"
            | "CLOUDSDK_CONTAINER_CLUSTER"
            | "AWS_VAULT"
            | "FLY_APP"
            | "SSH_HOST"
    ) || [
        "_HOST",
        "_HOSTNAME",
        "_URL",
        "_URI",
        "_DSN",
        "_ADDR",
        "_SERVER",
        "_CONTEXT",
        "_CLUSTER",
        "_PROJECT",
        "_PROFILE",
        "_NAMESPACE",
        "_DATABASE",
        "_DB",
        "_APP",
        "_STACK",
        "_ACCOUNT",
    ]
    .iter()
    .any(|s| upper.ends_with(s))
}

/// Words with brace expansion (`{rm,-rf,/}`, `-{r,f}`, `file{1,2}`) applied, as the shell does
/// before it runs anything; bounded so that hostile input cannot blow up.
fn expand_braces_all(words: Vec<String>) -> Vec<String> {
    const MAX_WORDS: usize = 256;
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        if out.len() >= MAX_WORDS {
            out.push(w);
            continue;
        }
        if w.len() > MAX_BRACE_WORD {
            out.push(w);
            continue;
        }
        let expanded = expand_braces(&w, MAX_WORDS.saturating_sub(out.len()));
        out.extend(expanded);
    }
    out
}

/// One word's brace expansion: the first `{a,b}` group without nested braces (and not a
/// `${…}`), repeatedly, up to `limit` results; a word that does not expand stays as it is.
fn expand_braces(word: &str, limit: usize) -> Vec<String> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: Vec<String> = vec![word.to_string()];
    let mut steps = 0usize;
    while let Some(w) = todo.pop() {
        steps += 1;
        if steps > 4 * limit.max(1) || done.len() + todo.len() >= limit {
            done.push(w);
            continue;
        }
        match brace_group(&w) {
            Some((open, close)) => {
                let (head, inner, tail) = (
                    w.get(..open).unwrap_or_default(),
                    w.get(open + 1..close).unwrap_or_default(),
                    w.get(close + 1..).unwrap_or_default(),
                );
                let alts: Vec<&str> = inner.split(',').collect();
                for alt in alts.iter().rev() {
                    todo.push(format!("{head}{alt}{tail}"));
                }
            }
            None => done.push(w),
        }
    }
    done
}

/// The byte offsets of the first innermost `{…}` holding a `,` and no `$` before its `{`.
fn brace_group(w: &str) -> Option<(usize, usize)> {
    let bytes = w.as_bytes();
    let mut open: Option<usize> = None;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'{' if i == 0 || bytes.get(i - 1) != Some(&b'$') => open = Some(i),
            b'}' => {
                if let Some(o) = open {
                    let inner = w.get(o + 1..i).unwrap_or_default();
                    if inner.contains(',') {
                        return Some((o, i));
                    }
                    open = None;
                }
            }
            _ => {}
        }
    }
    None
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

/// The last `/`-separated part of a program path; a word computed at run time (`$(…)`,
/// `` `…` ``, `$X/bin`) is kept whole, so that it stays recognisably dynamic.
fn base_name(word: &str) -> &str {
    if word.contains('$') || word.contains('`') {
        return word;
    }
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
        "--env",
        "--stage",
        "--settings",
        "--target",
    ]));
    match prog.as_str() {
        "kubectl" | "oc" | "k" | "kubecolor" | "helm" | "kustomize" | "k9s" | "stern" => {
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
            // A connection string: `"host=prod-db dbname=app"`.
            paths.extend(
                args.iter()
                    .filter(|a| a.contains("host="))
                    .flat_map(|a| a.split_whitespace().map(str::to_string).collect::<Vec<_>>()),
            );
            paths.extend(args.iter().filter(|a| a.contains("://")).cloned());
        }
        "mysql" | "mariadb" | "mysqldump" => {
            paths.extend(opt(&["-h", "--host", "-D", "--database"]));
        }
        "mongo" | "mongosh" | "redis-cli" => {
            paths.extend(opt(&["-h", "--host", "-u"]));
            paths.extend(args.iter().filter(|a| a.contains("://")).cloned());
        }
        "pulumi" => values.extend(opt(&["-s", "--stack"])),
        "git" => {
            // The remote and branches a push names.
            let p: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
            if p.first().is_some_and(|s| s.as_str() == "push") {
                paths.extend(p.iter().skip(1).map(|s| (*s).clone()));
            }
        }
        _ => {}
    }
    if names_targets(&prog) {
        paths.extend(
            args.iter()
                .filter(|a| !a.contains(char::is_whitespace))
                .map(|a| match a.split_once('=') {
                    Some((k, v)) if k.starts_with('-') => v.to_string(),
                    _ => a.clone(),
                }),
        );
    }
}
