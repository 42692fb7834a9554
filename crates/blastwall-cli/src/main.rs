//! The `blastwall` command.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use blastwall::{Decision, Policy, Source};
use clap::{Parser, Subcommand, ValueEnum};

mod check;
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
        #[arg(long, short)]
        output: PathBuf,
        /// Write a precompiled artifact for this machine's wasmtime instead of the portable
        /// module: it loads in microseconds, but it is native code — load only artifacts you
        /// built yourself.
        #[arg(long)]
        precompile: bool,
    },
    /// Evaluate rules, or a compiled module, on a facts file.
    #[command(after_help = EXIT_CODES)]
    Eval {
        /// A module written by `blastwall build` (`.wasm`, or a precompiled artifact), or policy
        /// files or folders of `.bw` files; the shipped rules when none are given.
        rules: Vec<PathBuf>,
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
    /// A topology file (TOML, or JSON with `nodes`); default: `blastwall-topology.toml`, else derived from a Cargo or npm/pnpm/yarn workspace.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// The configuration file (default: `blastwall.toml` in the repository, when present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Set a policy parameter: `KEY=VALUE` (repeatable; VALUE is JSON, or a string).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Policy files or folders (default: `rules/` in the repository when present, else the shipped rules).
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// Output format; `json` adds the gathered facts under `facts`; `sarif` is SARIF 2.1.0 for
    /// code scanning; `github` prints GitHub Actions annotations.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
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
        } => build(&paths, &output, precompile),
        Command::Eval {
            rules,
            input,
            data,
            format,
            explain,
        } => eval(&rules, &input, data.as_deref(), format, explain),
        Command::Check(args) => check_command(*args, false),
        Command::Explain(args) => check_command(*args, true),
        Command::Replay(args) => {
            let policy = load_policy(&args.rule_paths())?;
            replay::run(args, &policy)
        }
        Command::Test { paths, format } => test(&paths, format),
        Command::Fmt { check, paths } => fmt(check, &paths),
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
    if let Some(module) = module_file(rules)? {
        if explain {
            return Err(Failure(
                "`--explain` needs the policy's sources: a compiled module carries no trace".into(),
            ));
        }
        let engine = blastwall::Engine::new(blastwall::EngineConfig::default())?;
        let loaded = if module.starts_with(b"\0asm") {
            engine.load(&module)
        } else {
            engine.load_precompiled(&module)
        };
        let policy = loaded
            .map_err(|e| {
                Failure(format!(
                    "`{}`: {e}",
                    rules
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<String>()
                ))
            })?
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

/// The bytes of a compiled module when `paths` names exactly one file that is not policy text:
/// a `.wasm` module or a precompiled artifact.
fn module_file(paths: &[PathBuf]) -> Result<Option<Vec<u8>>, Failure> {
    let [path] = paths else { return Ok(None) };
    if !path.is_file() || path.extension().is_some_and(|e| e == "bw") {
        return Ok(None);
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))?;
    // A precompiled artifact ends with its magic (format 3 and later) or starts with it
    // (older formats, which loading refuses by their version); one cut short still starts
    // like compiled code.
    let is_module = bytes.starts_with(b"\0asm")
        || bytes.ends_with(b"\0bwmod\r\n")
        || bytes.starts_with(b"\0bwmod")
        || bytes.starts_with(b"\x7fELF");
    let is_binary = bytes.iter().take(512).any(|b| *b == 0);
    if is_module {
        Ok(Some(bytes))
    } else if is_binary || path.extension().is_some_and(|e| e == "wasm") {
        Err(Failure(format!(
            "`{}` is neither a blastwall module (`blastwall build` writes them) nor policy text",
            path.display()
        )))
    } else {
        Ok(None)
    }
}

fn build(paths: &[PathBuf], output: &Path, precompile: bool) -> Result<u8, Failure> {
    let policy = load_policy(paths)?;
    let wasm = policy.to_wasm().map_err(|e| policy_failure(&e))?;
    let bytes = if precompile {
        let engine = blastwall::Engine::new(blastwall::EngineConfig::default())?;
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

fn check_command(args: CheckArgs, explain: bool) -> Result<u8, Failure> {
    let repo = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let rules = check::rule_paths(&repo, &args.rules);
    let policy = load_policy(&rules)?;
    let gathered = check::gather(&check::Sources {
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
        topology: args.topology,
        config: args.config,
        set: args.set,
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
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        CheckFormat::Text => {
            println!(
                "checked: {} with {} rules\n",
                checked_summary(&gathered.facts),
                policy.rule_names().len()
            );
            print!(
                "{}",
                report::decision_text_with(&decision, report::use_colour())
            );
            if let Some(t) = &trace {
                println!("\nexplain:");
                print!("{}", t.render());
            }
        }
    }
    Ok(decision.outcome.exit_code())
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
    if let Some(n) = facts
        .get("plan")
        .and_then(|p| p.get("resources"))
        .and_then(serde_json::Value::as_array)
    {
        parts.push(format!("a plan of {} resource changes", n.len()));
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
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Failure(format!("cannot write beside `{}`: {e}", path.display())))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Failure(format!("cannot write `{}`: {e}", path.display())))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .map_err(|e| Failure(format!("cannot replace `{}`: {e}", path.display())))?;
    Ok(())
}

fn load_policy(paths: &[PathBuf]) -> Result<Policy, Failure> {
    compile_policy(read_sources(paths)?)
}

/// The policy sources `paths` name, or the shipped rules when there are none.
fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, Failure> {
    if paths.is_empty() {
        return Ok(blastwall::embedded_rules());
    }
    let mut sources = Vec::new();
    for f in expand(paths)? {
        sources.push(Source::new(f.display().to_string(), read_text(&f)?));
    }
    Ok(sources)
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
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| Failure(format!("cannot read `{}`: {e}", p.display())))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Failure(format!("cannot read `{}`: {e}", p.display())))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "bw"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Failure(format!("no `.bw` files in `{}`", p.display())));
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        Failure(format!(
            "`{}` is not valid UTF-8 (first bad byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

fn read_json(path: &Path) -> Result<serde_json::Value, Failure> {
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .map_err(|e| Failure(format!("`{}` is not valid JSON: {e}", path.display())))
}
