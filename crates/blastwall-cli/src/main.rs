//! The `blastwall` command.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use blastwall::{Decision, Policy, Source};
use clap::{Parser, Subcommand, ValueEnum};

mod replay;
mod report;

/// Exit code for an error of the tool itself: bad input, bad policy, unreadable file.
const EXIT_ERROR: u8 = 3;

const EXIT_CODES: &str = "\
Exit codes:
  0  allow or warn
  1  a review is still needed (for `test`: a test failed; for `fmt --check`: a file is not formatted)
  2  deny
  3  error: bad policy, bad facts, unreadable file";

#[derive(Parser, Debug)]
#[command(name = "blastwall", version, about = "Guard changes with typed review and blast-radius rules", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The most bytes one input file (facts, plan, admission request, agent payload file,
    /// topology, configuration, reviews, policy) may hold: bytes or a size such as `256MiB`.
    /// Anything larger is refused before it is read.
    #[arg(long, global = true, value_name = "SIZE", value_parser = blastwall_gather::parse_size, default_value = "64MiB")]
    max_input_size: u64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate the shipped rules on a bundled example change and print the decision (exits 0).
    Demo {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Compile policies to one self-contained WebAssembly module (no imports: it cannot reach
    /// files, clocks or the network), which decides the same in every host.
    Build {
        /// Policy files or folders of `.bw` files; the shipped rules when none are given.
        paths: Vec<PathBuf>,
        /// Where to write the module.
        #[arg(long, short, required_unless_present = "webhook_config")]
        output: Option<PathBuf>,
        /// Write a precompiled artifact for this machine's wasmtime instead of the portable
        /// module: it loads in microseconds, but it is native code, so it is sealed with your
        /// artifact key (kept in the cache directory, made on first use) and only
        /// `eval --precompiled` by the same user loads it.
        #[arg(long)]
        precompile: bool,
        /// Also write the Kubernetes `ValidatingWebhookConfiguration` that sends `blastwall
        /// serve` the admission requests these rules can fire on (YAML; see docs/serve.md).
        #[arg(long, value_name = "FILE")]
        webhook_config: Option<PathBuf>,
        /// The configuration file whose parameters narrow the webhook (as `serve --config`).
        #[arg(long, value_name = "FILE", requires = "webhook_config")]
        config: Option<PathBuf>,
        /// The Service in front of the server, `namespace/name` (default `blastwall/blastwall`).
        #[arg(long, value_name = "NS/NAME", requires = "webhook_config")]
        webhook_service: Option<String>,
        /// An `https://` URL for the webhook instead of a Service.
        #[arg(
            long,
            value_name = "URL",
            requires = "webhook_config",
            conflicts_with = "webhook_service"
        )]
        webhook_url: Option<String>,
        /// The PEM CA bundle that signed the server's certificate (default: a placeholder for a
        /// CA injector to fill).
        #[arg(long, value_name = "FILE", requires = "webhook_config")]
        webhook_ca: Option<PathBuf>,
    },
    /// Evaluate rules, or a compiled module, on a facts file.
    #[command(after_help = EXIT_CODES)]
    Eval {
        /// A module written by `blastwall build` (`.wasm`), or policy files or folders of `.bw`
        /// files; the shipped rules when none are given.
        rules: Vec<PathBuf>,
        /// Load one precompiled artifact (`blastwall build --precompile`) instead: native code,
        /// loaded only when it carries the seal of your artifact key, i.e. when you built it.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["rules", "explain"])]
        precompiled: Option<PathBuf>,
        /// The facts: a JSON object with `change`, `plan`, `action`, `topology`, `config`, `overrides`.
        #[arg(long, short)]
        input: PathBuf,
        /// A topology JSON document, used as the `topology` fact.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also print which rules fired with which bindings, and why the others did not.
        #[arg(long)]
        explain: bool,
    },
    /// Gather the facts of a change — git range, owners, approvals, topology, plans, admission
    /// requests, agent actions — and decide.
    #[command(after_help = EXIT_CODES)]
    Check(Box<CheckArgs>),
    /// Explain one decision: the rules that fired with the bindings that made them fire, and
    /// for each rule that did not, the condition that was false. Takes `check`'s inputs.
    #[command(after_help = EXIT_CODES)]
    Explain(Box<CheckArgs>),
    /// Decide every commit of a range with the current rules and report what they would have
    /// done: counts per outcome, the rules behind them, the commits not allowed.
    Replay(replay::ReplayArgs),
    /// Guard a coding agent: decide its tool call (JSON on standard input) and answer in the
    /// agent's own hook contract; or install the hook into the agent's configuration.
    #[command(after_help = HOOK_HELP)]
    Hook {
        #[command(subcommand)]
        command: HookCommand,
    },
    /// Serve decisions over HTTP: decide, Kubernetes admission, Envoy ext_authz (HTTP and
    /// gRPC) and agent hooks, with one compiled module, reloaded on SIGHUP or a file change.
    #[command(after_help = SERVE_HELP)]
    Serve(Box<ServeArgs>),
    /// Run the `test` blocks written beside the rules.
    Test {
        /// Policy files or folders; the shipped rules when none are given.
        paths: Vec<PathBuf>,
        /// Output format: `text`, `json`, or JUnit XML for CI test reports.
        #[arg(long, value_enum, default_value_t = TestFormat::Text)]
        format: TestFormat,
    },
    /// Format policy files in the canonical layout.
    Fmt {
        /// Report files that are not formatted instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// Files or folders of `.bw` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

const HOOK_HELP: &str = "\
A hook never fails open: an error on the way (a payload not understood, an unknown tool, bad
rules, a limit) is answered as a deny in the agent's contract, with the reason. `--fail-open`
lets the call run instead. See docs/agents.md.";

const SERVE_HELP: &str = "\
Every front door fails closed in its client's terms: an error is answered as a deny (an
AdmissionReview with `allowed: false`, a 403 or PERMISSION_DENIED for Envoy, a deny for an
agent), never a 5xx. See docs/serve.md.";

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Policy files or folders of `.bw` files; the shipped rules when neither this nor
    /// `--module` is given.
    #[arg(long, conflicts_with = "module")]
    rules: Vec<PathBuf>,
    /// A module written by `blastwall build` (WebAssembly).
    #[arg(long, value_name = "FILE")]
    module: Option<PathBuf>,
    /// The configuration file (`blastwall.toml`): parameters and production detection.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A topology file kept in every instance, for facts that bring none.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// The HTTP address.
    #[arg(long, default_value = "127.0.0.1:8181")]
    addr: std::net::SocketAddr,
    /// Also serve Envoy's gRPC ext_authz on this address.
    #[arg(long, value_name = "ADDR")]
    grpc_addr: Option<std::net::SocketAddr>,
    /// A PEM certificate chain: serve HTTPS (with `--tls-key`).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log every decision as a JSON line to this file, or `-` for standard output.
    #[arg(long, value_name = "FILE|-")]
    decision_log: Option<PathBuf>,
    /// Decide and log this rule but never enforce it (repeatable).
    #[arg(long, value_name = "RULE")]
    shadow: Vec<String>,
    /// The largest request body read, in bytes; a larger one is denied unread.
    #[arg(long, value_name = "BYTES", default_value_t = blastwall_serve::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// The time limit of one decision in the module, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    time_limit_ms: u64,
    /// The memory limit of one instance of the module, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    memory_limit_mib: usize,
    /// Do not watch the policy files; reload on SIGHUP only.
    #[arg(long)]
    no_watch: bool,
    /// Treat a tool of this name as known in agent hooks (repeatable).
    #[arg(long = "allow-tool", value_name = "NAME")]
    allow_tool: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum HookCommand {
    /// Claude Code `PreToolUse`.
    ClaudeCode(HookArgs),
    /// Codex `PreToolUse` (a review is answered as a deny: Codex runs an `ask`).
    Codex(HookArgs),
    /// Cursor `beforeShellExecution`, `beforeMCPExecution` and `preToolUse`.
    Cursor(HookArgs),
    /// Gemini CLI `BeforeTool`.
    Gemini(HookArgs),
    /// GitHub Copilot `preToolUse` (a review is answered as a deny).
    Copilot(HookArgs),
    /// Write the hook into an agent's configuration, keeping everything else there.
    Install(InstallArgs),
    /// Take out of an agent's configuration exactly what `install` wrote.
    Uninstall(InstallArgs),
}

#[derive(clap::Args, Debug)]
struct HookArgs {
    /// Policy files or folders (default: `rules/` of the repository the call runs in, else the
    /// shipped rules). Name a place the agent cannot write to keep the rules out of its reach.
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// The configuration file (default: `blastwall.toml` of the repository the call runs in).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where compiled policies are kept (default: `$BLASTWALL_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/blastwall`, else `~/.cache/blastwall`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Treat a tool of this name as known and decide it on its arguments (repeatable).
    #[arg(long = "allow-tool", value_name = "NAME")]
    allow_tool: Vec<String>,
    /// Let the call run when the hook itself fails, instead of blocking it.
    #[arg(long)]
    fail_open: bool,
}

#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// `claude-code`, `codex`, `cursor`, `gemini` or `copilot`.
    agent: String,
    /// `project` (the repository's files) or `user` (your home directory's).
    #[arg(long, default_value = "project")]
    scope: String,
    /// The repository (default: the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// The command the agent runs (default: `blastwall` when it is on `PATH`, else this
    /// binary's full path), followed by `hook <agent>`.
    #[arg(long)]
    command: Option<String>,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The repository (default: the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// The base revision (default: the merge base of the default branch and the head).
    #[arg(long)]
    base: Option<String>,
    /// The head revision (default: `HEAD`).
    #[arg(long)]
    head: Option<String>,
    /// Do not read a git range: decide on the other inputs only.
    #[arg(long)]
    no_git: bool,
    /// A Terraform plan: `terraform show -json` output.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// A Kubernetes `AdmissionReview` or admission request.
    #[arg(long)]
    admission: Option<PathBuf>,
    /// A coding agent's tool call: a Claude Code or Cursor hook payload, an MCP call, or `{"command": …}`.
    #[arg(long)]
    action: Option<PathBuf>,
    /// GitHub pull-request reviews (the REST API's JSON).
    #[arg(long)]
    reviews: Option<PathBuf>,
    /// A login that approved the change (repeatable).
    #[arg(long = "approved-by", value_name = "LOGIN")]
    approved_by: Vec<String>,
    /// The change's author (default: the head commit's author email).
    #[arg(long)]
    author: Option<String>,
    #[command(flatten)]
    context: ContextArgs,
    /// Policy files or folders (default: `rules/` in the repository when present, else the shipped rules).
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// Record an override of this `soft` rule (repeatable); needs `--reason`. Hard rules and
    /// errors cannot be overridden.
    #[arg(long = "override", value_name = "RULE", requires = "reason")]
    overrides: Vec<String>,
    /// Why the overrides are recorded.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Who records the overrides (default: `--author`, else `$USER`).
    #[arg(long, value_name = "LOGIN")]
    by: Option<String>,
    /// Output format; `json` adds the gathered facts under `facts`; `sarif` is SARIF 2.1.0 for
    /// code scanning; `github` prints GitHub Actions annotations.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
}

/// What completes the facts of a repository, as `check`, `explain` and `replay` take it.
#[derive(clap::Args, Debug)]
pub(crate) struct ContextArgs {
    /// A topology file (TOML, or JSON with `nodes`); default: `blastwall-topology.toml`, else derived from a Cargo or npm/pnpm/yarn workspace.
    #[arg(long)]
    pub(crate) topology: Option<PathBuf>,
    /// The configuration file (default: `blastwall.toml` in the repository, when present).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Set a policy parameter: `KEY=VALUE` (repeatable; VALUE is JSON, or a string).
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// A failure the CLI reports and exits 3 on.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    blastwall_gather::set_input_limit(cli.max_input_size);
    if let Command::Hook { command } = cli.command {
        return hook(command);
    }
    if let Command::Serve(args) = cli.command {
        return serve(*args);
    }
    // Policies are checked and evaluated on a thread with a generous stack, so limits are
    // what stops pathological input, never the platform's default stack size.
    let worker = std::thread::Builder::new()
        .name("blastwall".into())
        .stack_size(256 << 20)
        .spawn(move || run(cli));
    let result = match worker {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Err(Failure("internal error: the worker thread stopped".into()))),
        Err(e) => Err(Failure(format!("cannot start a worker thread: {e}"))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(msg)) => {
            eprintln!("error: {}", msg.trim_end());
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Demo { format } => demo(format),
        Command::Build {
            paths,
            output,
            precompile,
            webhook_config,
            config,
            webhook_service,
            webhook_url,
            webhook_ca,
        } => {
            let webhook = webhook_config.map(|file| WebhookArgs {
                file,
                config,
                service: webhook_service,
                url: webhook_url,
                ca: webhook_ca,
            });
            build(&paths, output.as_deref(), precompile, webhook.as_ref())
        }
        Command::Eval {
            rules,
            precompiled,
            input,
            data,
            format,
            explain,
        } => eval(
            &rules,
            precompiled.as_deref(),
            &input,
            data.as_deref(),
            format,
            explain,
        ),
        Command::Check(args) => check_command(*args, false),
        Command::Explain(args) => check_command(*args, true),
        Command::Replay(args) => {
            let policy = load_policy(&args.rule_paths()?)?;
            replay::run(args, &policy)
        }
        Command::Hook { .. } => Err(Failure("internal error: a hook runs on its own".into())),
        Command::Serve(_) => Err(Failure("internal error: the server runs on its own".into())),
        Command::Test { paths, format } => test(&paths, format),
        Command::Fmt { check, paths } => fmt(check, &paths),
    }
}

/// `blastwall hook …`. Deciding runs on a worker thread with a large stack; whatever happens
/// there, the agent gets an answer in its contract.
fn hook(command: HookCommand) -> ExitCode {
    let (agent, args) = match command {
        HookCommand::ClaudeCode(a) => (blastwall_hook::Agent::ClaudeCode, a),
        HookCommand::Codex(a) => (blastwall_hook::Agent::Codex, a),
        HookCommand::Cursor(a) => (blastwall_hook::Agent::Cursor, a),
        HookCommand::Gemini(a) => (blastwall_hook::Agent::Gemini, a),
        HookCommand::Copilot(a) => (blastwall_hook::Agent::Copilot, a),
        HookCommand::Install(a) => return hook_install(&a, true),
        HookCommand::Uninstall(a) => return hook_install(&a, false),
    };
    let opts = blastwall_hook::Options {
        rules: args.rules,
        config: args.config,
        cache_dir: args.cache_dir.or_else(blastwall_hook::default_cache_dir),
        allow_tools: args.allow_tool,
        fail_open: args.fail_open,
    };
    let worker_opts = opts.clone();
    let worker = std::thread::Builder::new()
        .name("blastwall-hook".into())
        .stack_size(256 << 20)
        .spawn(move || {
            let mut bytes = Vec::new();
            let read = std::io::Read::read_to_end(
                &mut std::io::Read::take(
                    std::io::stdin().lock(),
                    blastwall_hook::MAX_PAYLOAD_BYTES + 1,
                ),
                &mut bytes,
            );
            let payload = read
                .map(|_| bytes)
                .map_err(|e| format!("cannot read the payload from standard input: {e}"));
            blastwall_hook::run(agent, payload, &worker_opts)
        });
    let answer = match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => blastwall_hook::run(
            agent,
            Err("internal error: the worker thread stopped".into()),
            &opts,
        ),
        Err(e) => blastwall_hook::run(
            agent,
            Err(format!("cannot start a worker thread: {e}")),
            &opts,
        ),
    };
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(answer.stdout.as_bytes())
        .and_then(|()| out.flush());
    if !answer.stderr.is_empty() {
        eprint!("{}", answer.stderr);
    }
    match written {
        Ok(()) => ExitCode::from(answer.code),
        Err(e) => {
            // The agent cannot read the answer: exit 2, the blocking code of the agents that
            // have one, with the reason where they read it.
            eprintln!("blastwall: cannot write the answer, so the call is blocked: {e}");
            ExitCode::from(2)
        }
    }
}

fn hook_install(args: &InstallArgs, install: bool) -> ExitCode {
    let result = (|| -> Result<Vec<String>, Failure> {
        let agent = blastwall_hook::Agent::from_name(&args.agent).ok_or_else(|| {
            Failure(format!(
                "unknown agent `{}`: expected one of {}",
                args.agent,
                blastwall_hook::Agent::ALL
                    .map(|a| format!("`{}`", a.name()))
                    .join(", ")
            ))
        })?;
        let scope = match args.scope.as_str() {
            "project" => blastwall_hook::Scope::Project,
            "user" => blastwall_hook::Scope::User,
            other => {
                return Err(Failure(format!(
                    "unknown scope `{other}`: expected `project` or `user`"
                )));
            }
        };
        let project = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        if install {
            let command = format!(
                "{} hook {}",
                args.command.clone().unwrap_or_else(hook_program),
                agent.name()
            );
            Ok(blastwall_hook::install(
                agent,
                scope,
                &project,
                home.as_deref(),
                &command,
            )?)
        } else {
            Ok(blastwall_hook::uninstall(
                agent,
                scope,
                &project,
                home.as_deref(),
            )?)
        }
    })();
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(Failure(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// How a hook configuration names this program: `blastwall` when that is on `PATH` (so a
/// committed configuration works on every machine), else this binary's full path.
fn hook_program() -> String {
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("blastwall").is_file())
    });
    match std::env::current_exe() {
        Ok(exe) if !on_path => exe.display().to_string(),
        _ => "blastwall".to_string(),
    }
}

const DEMO_FACTS: &str = include_str!("../../../examples/demo-facts.json");

fn demo(format: Format) -> Result<u8, Failure> {
    let policy = Policy::embedded().map_err(|e| policy_failure(&e))?;
    let facts: serde_json::Value = serde_json::from_str(DEMO_FACTS)?;
    if format == Format::Text {
        println!(
            "Evaluating the {} shipped rules on a bundled example:",
            policy.rule_names().len()
        );
        println!(
            "  an AI-assisted change to services/payments plus a Terraform plan that replaces a production database.\n"
        );
    }
    let decision = policy
        .evaluate_json(&facts)
        .map_err(|e| Failure(e.to_string()))?;
    print_decision(&decision, format, None)?;
    if format == Format::Text {
        println!(
            "\n(`check` and `eval` exit with the outcome: 0 allow or warn, 1 review, 2 deny; the demo always exits 0.)"
        );
    }
    // The demo shows a decision; it gates nothing, so it succeeds whatever the outcome.
    Ok(0)
}

fn eval(
    rules: &[PathBuf],
    precompiled: Option<&Path>,
    input: &Path,
    data: Option<&Path>,
    format: Format,
    explain: bool,
) -> Result<u8, Failure> {
    let mut facts = read_json(input)?;
    if let Some(d) = data {
        let topology = read_json(d)?;
        match &mut facts {
            serde_json::Value::Object(m) => {
                m.insert("topology".into(), topology);
            }
            _ => {
                return Err(Failure(format!(
                    "`{}`: facts must be a JSON object",
                    input.display()
                )));
            }
        }
    }
    // Precompiled code is loaded only when asked for by name, and only when sealed with this
    // user's key; a module given as a file is only ever validated and compiled as wasm.
    let module = match precompiled {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))?;
            let engine = blastwall::Engine::new(blastwall::EngineConfig {
                artifact_key: Some(artifact_key()?),
                ..Default::default()
            })?;
            Some((path.to_path_buf(), engine.load_precompiled(&bytes)))
        }
        None => match module_file(rules)? {
            Some((path, wasm)) => {
                let engine = blastwall::Engine::new(blastwall::EngineConfig::default())?;
                Some((path, engine.load(&wasm)))
            }
            None => None,
        },
    };
    if let Some((path, loaded)) = module {
        if explain {
            return Err(Failure(
                "`--explain` needs the policy's sources: a compiled module carries no trace".into(),
            ));
        }
        let policy = loaded
            .map_err(|e| Failure(format!("`{}`: {e}", path.display())))?
            .policy();
        // Through the facade, which classifies a raw `action.command` as `check --action`
        // would before deciding, as the interpreter's path below does.
        let policy = blastwall::Compiled::new(policy);
        let decision = policy
            .evaluate_json(&facts)
            .map_err(|e| Failure(format!("`{}`: {e}", input.display())))?;
        print_decision(&decision, format, None)?;
        return Ok(decision.outcome.exit_code());
    }
    let policy = load_policy(rules)?;
    let (decision, trace) = if explain {
        let (d, t) = policy
            .explain_json(&facts)
            .map_err(|e| Failure(format!("`{}`: {e}", input.display())))?;
        (d, Some(t))
    } else {
        let d = policy
            .evaluate_json(&facts)
            .map_err(|e| Failure(format!("`{}`: {e}", input.display())))?;
        (d, None)
    };
    print_decision(&decision, format, trace.as_ref())?;
    Ok(decision.outcome.exit_code())
}

/// The path and bytes of a WebAssembly module when `paths` names exactly one file that is not
/// policy text. Whatever its name, a file is only ever a wasm module (`\0asm`), which is
/// validated and compiled: a precompiled artifact here is refused, not loaded, since it is
/// native code and a file handed to `eval` may come from anyone (`--precompiled` loads one,
/// when this user sealed it).
fn module_file(paths: &[PathBuf]) -> Result<Option<(PathBuf, Vec<u8>)>, Failure> {
    let [path] = paths else { return Ok(None) };
    if !path.is_file() || path.extension().is_some_and(|e| e == "bw") {
        return Ok(None);
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(Some((path.clone(), bytes)));
    }
    // A precompiled artifact ends with its magic (format 3 and later) or starts with it
    // (older formats); one cut short still starts like compiled code.
    let is_artifact = bytes.ends_with(b"\0bwmod\r\n")
        || bytes.starts_with(b"\0bwmod")
        || bytes.starts_with(b"\x7fELF");
    let is_binary = bytes.iter().take(512).any(|b| *b == 0);
    if is_artifact {
        Err(Failure(format!(
            "`{}` is a precompiled module, which is native code: `eval` runs only WebAssembly modules and sources; load an artifact you built yourself with `eval --precompiled {}`",
            path.display(),
            path.display()
        )))
    } else if is_binary || path.extension().is_some_and(|e| e == "wasm") {
        Err(Failure(format!(
            "`{}` is neither a blastwall module (`blastwall build` writes them) nor policy text",
            path.display()
        )))
    } else {
        Ok(None)
    }
}

/// `build --webhook-config` and its companions.
#[derive(Debug)]
struct WebhookArgs {
    file: PathBuf,
    config: Option<PathBuf>,
    service: Option<String>,
    url: Option<String>,
    ca: Option<PathBuf>,
}

/// `blastwall serve`: the server runs until SIGINT or SIGTERM.
fn serve(args: ServeArgs) -> ExitCode {
    let policy = match (args.module, args.rules.is_empty()) {
        (Some(module), _) => blastwall_serve::PolicySource::Module(module),
        (None, false) => blastwall_serve::PolicySource::Rules(args.rules),
        (None, true) => blastwall_serve::PolicySource::Shipped,
    };
    let opts = blastwall_serve::Options {
        addr: args.addr,
        grpc_addr: args.grpc_addr,
        policy,
        config: args.config,
        topology: args.topology,
        tls: args.tls_cert.zip(args.tls_key),
        decision_log: args.decision_log.map(|p| {
            if p.as_os_str() == "-" {
                blastwall_serve::LogTarget::Stdout
            } else {
                blastwall_serve::LogTarget::File(p)
            }
        }),
        shadow: args.shadow,
        max_body_bytes: args.max_body_bytes,
        limits: blastwall::EvalLimits {
            time: std::time::Duration::from_millis(args.time_limit_ms.max(1)),
            fuel: None,
            memory_bytes: args.memory_limit_mib.saturating_mul(1 << 20),
        },
        watch: (!args.no_watch).then_some(std::time::Duration::from_secs(1)),
        allow_tools: args.allow_tool,
        ..Default::default()
    };
    match blastwall_serve::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn build(
    paths: &[PathBuf],
    output: Option<&Path>,
    precompile: bool,
    webhook: Option<&WebhookArgs>,
) -> Result<u8, Failure> {
    let policy = load_policy(paths)?;
    if let Some(w) = webhook {
        let mut params = policy.param_defaults();
        if let Some(config) = &w.config {
            let config = blastwall_gather::load_config(Some(config), Path::new("."))?;
            params.extend(config.params);
        }
        let ca_pem = match &w.ca {
            Some(p) => Some(read_text(p)?),
            None => None,
        };
        let defaults = blastwall_serve::WebhookOptions::default();
        let yaml = blastwall_serve::webhook_config(
            &params,
            &blastwall_serve::WebhookOptions {
                service: w.service.clone().unwrap_or(defaults.service.clone()),
                url: w.url.clone(),
                ca_pem,
                ..defaults
            },
        )
        .map_err(Failure)?;
        write_atomic(&w.file, &yaml)?;
        eprintln!("wrote {}", w.file.display());
    }
    let Some(output) = output else {
        return Ok(0);
    };
    let wasm = policy.to_wasm().map_err(|e| policy_failure(&e))?;
    let bytes = if precompile {
        let engine = blastwall::Engine::new(blastwall::EngineConfig {
            artifact_key: Some(artifact_key()?),
            ..Default::default()
        })?;
        engine.precompile(&wasm)?
    } else {
        wasm
    };
    write_atomic_bytes(output, &bytes)?;
    eprintln!(
        "wrote {} ({} rules, {} bytes{})",
        output.display(),
        policy.rule_names().len(),
        bytes.len(),
        if precompile {
            ", precompiled for this machine"
        } else {
            ""
        }
    );
    Ok(0)
}

/// This user's artifact key, kept in the cache directory, which seals the artifacts `build
/// --precompile` writes and which `eval --precompiled` checks.
fn artifact_key() -> Result<blastwall::ArtifactKey, Failure> {
    let dir = blastwall_hook::default_cache_dir().ok_or_else(|| {
        Failure(
            "no directory for the artifact key that seals precompiled modules: set `BLASTWALL_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`".into(),
        )
    })?;
    Ok(blastwall::ArtifactKey::load_or_create(&dir)?)
}

fn check_command(args: CheckArgs, explain: bool) -> Result<u8, Failure> {
    let repo = blastwall_gather::repo_root(args.repo.as_deref());
    let rules = blastwall_gather::rule_paths(&repo, &args.rules)?;
    let policy = load_policy(&rules)?;
    let overrides = override_args(&args)?;
    let gathered = blastwall_gather::gather(&blastwall_gather::Sources {
        repo: args.repo,
        base: args.base,
        head: args.head,
        no_git: args.no_git,
        plan: args.plan,
        admission: args.admission,
        action: args.action,
        reviews: args.reviews,
        approved_by: args.approved_by,
        author: args.author,
        topology: args.context.topology,
        config: args.context.config,
        set: args.context.set,
        overrides,
    })?;
    for note in &gathered.notes {
        eprintln!("note: {note}");
    }
    let (decision, trace) = if explain {
        let (d, t) = policy
            .explain_json(&gathered.facts)
            .map_err(|e| Failure(format!("the gathered facts: {e}")))?;
        (d, Some(t))
    } else {
        let d = policy
            .evaluate_json(&gathered.facts)
            .map_err(|e| Failure(format!("the gathered facts: {e}")))?;
        (d, None)
    };
    match args.format {
        CheckFormat::Sarif => {
            let v = report::sarif(&decision, &policy.rules(), &gathered.facts);
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        CheckFormat::Github => print!("{}", report::github_annotations(&decision, &gathered.facts)),
        CheckFormat::Json => {
            let mut v = serde_json::to_value(&decision)?;
            if let serde_json::Value::Object(m) = &mut v {
                if let Some(t) = &trace {
                    m.insert("explain".into(), report::trace_json(t));
                }
                m.insert("facts".into(), gathered.facts);
                if let Some(at) = &gathered.read_at {
                    m.insert("read_at".into(), serde_json::Value::String(at.clone()));
                }
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        CheckFormat::Text => {
            println!(
                "checked: {} with {} rules",
                checked_summary(&gathered.facts),
                policy.rule_names().len()
            );
            if let Some(at) = &gathered.read_at {
                println!("repository files (blastwall.toml, CODEOWNERS, topology) read at: {at}");
            }
            println!();
            print!(
                "{}",
                report::decision_text_with(&decision, report::use_colour())
            );
            for hint in placeholder_hints(&decision, &policy, &gathered.facts) {
                println!("\nnote: {hint}");
            }
            if let Some(t) = &trace {
                println!("\nexplain:");
                print!("{}", t.render());
            }
        }
    }
    Ok(decision.outcome.exit_code())
}

/// For each review still missing from a group that is a parameter's default and that the
/// facts' configuration did not set — the shipped rules' placeholders such as
/// `@org/security` — how to name the team that should review instead.
fn placeholder_hints(
    decision: &blastwall::Decision,
    policy: &Policy,
    facts: &serde_json::Value,
) -> Vec<String> {
    let configured = facts.get("config").and_then(serde_json::Value::as_object);
    let defaults = policy.param_defaults();
    let mut hints = Vec::new();
    for r in decision
        .reviews
        .iter()
        .filter(|r| !r.satisfied && r.from != "any")
    {
        let params: Vec<&str> = defaults
            .iter()
            .filter(|(name, default)| {
                default.as_str() == Some(r.from.as_str())
                    && !configured.is_some_and(|c| c.contains_key(name))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        if let Some(first) = params.first() {
            hints.push(format!(
                "`{}` is the default of {} — a placeholder until you name your own team: `--set {first}=@your-org/team`, or under `[params]` in blastwall.toml",
                r.from,
                params
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    hints
}

/// The overrides `--override`, `--reason` and `--by` ask to record.
fn override_args(args: &CheckArgs) -> Result<Vec<blastwall_gather::OverrideArg>, Failure> {
    if args.overrides.is_empty() {
        return Ok(Vec::new());
    }
    let reason = args
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| Failure("`--override` needs a `--reason` that says why".into()))?;
    let by = args
        .by
        .clone()
        .or_else(|| args.author.clone())
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| Failure("`--override` needs `--by LOGIN`: who records it".into()))?;
    Ok(args
        .overrides
        .iter()
        .map(|rule| blastwall_gather::OverrideArg {
            rule: rule.clone(),
            by: by.clone(),
            reason: reason.clone(),
        })
        .collect())
}

/// One line on what `check` decided on: the range, its files and provenance, the other inputs.
fn checked_summary(facts: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(change) = facts.get("change") {
        let short = |k: &str| {
            change
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(|s| s.chars().take(10).collect::<String>())
                .unwrap_or_default()
        };
        let (base, head) = (short("base"), short("head"));
        let files = change
            .get("files")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        let ai = change
            .get("ai")
            .and_then(|a| a.get("assisted"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown");
        let range = match (base.is_empty(), head.is_empty()) {
            (false, false) => format!("{base}..{head}"),
            (true, false) => head,
            _ => "the change".to_string(),
        };
        parts.push(format!(
            "{range} ({files} file{}, AI-assisted: {ai})",
            if files == 1 { "" } else { "s" }
        ));
    }
    if let Some(plan) = facts.get("plan") {
        let n = plan
            .get("resources")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        // The admission adapter fills the same document; a request is not a plan.
        if plan.get("source").and_then(serde_json::Value::as_str) == Some("kubernetes") {
            parts.push(format!(
                "an admission request ({n} resource{})",
                if n == 1 { "" } else { "s" }
            ));
        } else {
            parts.push(format!("a plan of {n} resource changes"));
        }
    }
    if facts.get("action").is_some() {
        parts.push("an agent action".to_string());
    }
    if let Some(n) = facts
        .get("topology")
        .and_then(|t| t.get("nodes"))
        .and_then(serde_json::Value::as_array)
    {
        parts.push(format!("a topology of {} nodes", n.len()));
    }
    if parts.is_empty() {
        "no inputs".to_string()
    } else {
        parts.join(", ")
    }
}

fn print_decision(
    d: &Decision,
    format: Format,
    trace: Option<&blastwall::Trace>,
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let mut v = serde_json::to_value(d)?;
            if let (Some(t), serde_json::Value::Object(m)) = (trace, &mut v) {
                m.insert("explain".into(), report::trace_json(t));
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        Format::Text => {
            write!(
                out,
                "{}",
                report::decision_text_with(d, report::use_colour())
            )?;
            if let Some(t) = trace {
                writeln!(out, "\nexplain:")?;
                write!(out, "{}", t.render())?;
            }
        }
    }
    Ok(())
}

fn test(paths: &[PathBuf], format: TestFormat) -> Result<u8, Failure> {
    let sources = read_sources(paths)?;
    let policy = compile_policy(sources.clone())?;
    let results = policy.run_tests();
    let untested = policy.untested_rules();
    let failed = results.iter().filter(|t| !t.failures.is_empty()).count();
    let diffs: Vec<Vec<report::Mismatch>> = results
        .iter()
        .map(|t| report::test_diff(t, &report::expect_clauses(&sources, &t.location)))
        .collect();
    match format {
        TestFormat::Text => {
            let colour = report::use_colour();
            let mut out = std::io::stdout().lock();
            for (t, diff) in results.iter().zip(&diffs) {
                if t.failures.is_empty() {
                    writeln!(out, "ok    {}  ({})", t.name, t.location)?;
                    continue;
                }
                writeln!(out, "FAIL  {}  ({})", t.name, t.location)?;
                for line in report::diff_text(diff, colour).lines() {
                    writeln!(out, "      {line}")?;
                }
            }
            for r in &untested {
                writeln!(out, "note: no test makes rule `{r}` fire")?;
            }
            writeln!(out, "\n{} passed, {failed} failed", results.len() - failed)?;
        }
        TestFormat::Json => {
            let tests: Vec<serde_json::Value> = results
                .iter()
                .zip(&diffs)
                .map(|(t, diff)| {
                    serde_json::json!({
                        "name": t.name,
                        "location": t.location,
                        "passed": t.failures.is_empty(),
                        "failures": t.failures,
                        "diff": report::diff_json(diff),
                        "decision": t.decision,
                    })
                })
                .collect();
            let v = serde_json::json!({
                "passed": results.len() - failed,
                "failed": failed,
                "untested_rules": untested,
                "tests": tests,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        TestFormat::Junit => print!("{}", report::junit(&results, &diffs, &untested)),
    }
    Ok(u8::from(failed > 0))
}

fn fmt(check: bool, paths: &[PathBuf]) -> Result<u8, Failure> {
    let files = expand(paths)?;
    let mut unformatted = 0;
    let mut errors = 0;
    for f in &files {
        let text = read_text(f)?;
        match blastwall::format_source(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if check {
                    unformatted += 1;
                    println!("not formatted: {}", f.display());
                } else {
                    write_atomic(f, &formatted)?;
                    println!("formatted {}", f.display());
                }
            }
            Err(e) => {
                errors += 1;
                let diags = blastwall::parse_diagnostics(&f.display().to_string(), &text);
                if diags.is_empty() {
                    eprintln!("error: {}: {e}", f.display());
                } else {
                    eprint!("{diags}");
                }
            }
        }
    }
    if errors > 0 {
        return Ok(EXIT_ERROR);
    }
    Ok(u8::from(unformatted > 0))
}

/// Write a file whole or not at all: a temporary file beside it, then a rename.
fn write_atomic(path: &Path, text: &str) -> Result<(), Failure> {
    write_atomic_bytes(path, text.as_bytes())
}

/// [`write_atomic`] for bytes.
fn write_atomic_bytes(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    blastwall_gather::write_atomic(path, bytes).map_err(Failure)
}

fn load_policy(paths: &[PathBuf]) -> Result<Policy, Failure> {
    compile_policy(read_sources(paths)?)
}

/// The policy sources `paths` name, or the shipped rules when there are none.
fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, Failure> {
    if paths.is_empty() {
        return Ok(blastwall::embedded_rules());
    }
    Ok(blastwall_gather::policy_files(paths)?
        .into_iter()
        .map(|(path, text)| Source::new(path, text))
        .collect())
}

fn compile_policy(sources: Vec<Source>) -> Result<Policy, Failure> {
    let policy = Policy::compile(sources).map_err(|e| policy_failure(&e))?;
    if !policy.warnings().is_empty() {
        eprint!("{}", policy.warnings());
    }
    Ok(policy)
}

fn policy_failure(e: &blastwall::Error) -> Failure {
    match e {
        blastwall::Error::Invalid { rendered, .. } => Failure(format!("{e}\n\n{rendered}")),
        other => Failure(other.to_string()),
    }
}

/// Files named, and the `.bw` files (sorted) in folders named.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    Ok(blastwall_gather::policy_paths(paths)?)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Failure> {
    Ok(blastwall_gather::read_text(path)?)
}

fn read_json(path: &Path) -> Result<serde_json::Value, Failure> {
    Ok(blastwall_gather::read_json(path)?)
}
