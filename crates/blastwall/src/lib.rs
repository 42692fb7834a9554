//! blastwall: guard changes with typed review and blast-radius rules.
//!
//! ```
//! use blastwall::{Outcome, Policy, Source};
//!
//! let policy = Policy::compile(vec![Source::new(
//!     "rules/prod.bw",
//!     r#"
//! rule no_prod_delete {
//!     level hard
//!     when some r in plan.resources: r.env == "production" and r.action in ["delete", "replace"]
//!     deny "plan would {r.action} production resource {r.address}"
//! }
//! "#,
//! )])?;
//! let facts = serde_json::json!({
//!     "plan": { "resources": [
//!         { "address": "aws_db_instance.main", "action": "replace", "env": "production" }
//!     ]}
//! });
//! let decision = policy.evaluate_json(&facts)?;
//! assert_eq!(decision.outcome, Outcome::Deny);
//! assert_eq!(
//!     decision.findings[0].message,
//!     "plan would replace production resource aws_db_instance.main"
//! );
//! # Ok::<(), blastwall::Error>(())
//! ```
//!
//! The same policy compiles to a self-contained WebAssembly module that decides identically
//! wherever it is loaded — here through wasmtime:
//!
//! ```
//! use blastwall::{Engine, Outcome, Policy, Source};
//!
//! let source = Policy::compile(vec![Source::new(
//!     "rules/big.bw",
//!     "rule big_change {\n    level soft\n    when count(change.files) > 1\n    deny \"{count(change.files)} files\"\n}\n",
//! )])?;
//! let wasm = source.to_wasm()?; // what `blastwall build` writes
//! let engine = Engine::new(Default::default())?;
//! let policy = Policy::load(&engine, &wasm)?;
//! let facts = serde_json::json!({"change": {"files": [{"path": "a"}, {"path": "b"}]}});
//! let decision = policy.evaluate_json(&facts)?;
//! assert_eq!(decision.outcome, Outcome::Deny);
//! assert_eq!(decision.findings[0].message, "2 files");
//! # Ok::<(), blastwall::Error>(())
//! ```
//!
//! Only this crate is meant for users; the `blastwall-*` crates behind it may change.

pub use blastwall_abi::decision::{Decision, Effect, Finding, Level, Outcome, Override, Review};
pub use blastwall_interp::{RuleStatus, Trace};
pub use blastwall_runtime::{
    ArtifactKey, EncodedFacts, Engine, EngineConfig, EvalLimits, LoadError, Module, Session,
};

mod classify;
pub use classify::classify_action;

#[doc(hidden)]
pub mod fuzz;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The shipped rule library, as (path, source) pairs.
pub fn embedded_rules() -> Vec<Source> {
    embedded::EMBEDDED_RULES
        .iter()
        .map(|(path, text)| Source::new(*path, *text))
        .collect()
}

/// One policy source file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path shown in diagnostics and finding locations.
    pub path: String,
    /// The policy text.
    pub text: String,
}

impl Source {
    /// A source from a path and its text.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// Everything that can go wrong using a policy.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The policy has errors; `rendered` shows each with its source line.
    #[error("the policy has {count} error{}", if *count == 1 { "" } else { "s" })]
    Invalid {
        /// How many errors.
        count: usize,
        /// Every diagnostic, rendered with file, line, column and underline.
        rendered: String,
    },
    /// The facts do not fit the schemas.
    #[error(transparent)]
    Facts(#[from] blastwall_interp::FactsError),
    /// The policy could not be prepared for evaluation.
    #[error(transparent)]
    Eval(#[from] blastwall_interp::EvalError),
    /// The policy could not be compiled to WebAssembly.
    #[error(transparent)]
    Compile(#[from] blastwall_compile::CompileError),
    /// A module could not be loaded: not a blastwall module, another ABI version, tampered.
    #[error(transparent)]
    Load(#[from] blastwall_runtime::LoadError),
    /// A compiled policy could not decide: bad facts, a limit reached, a trap.
    #[error(transparent)]
    Run(#[from] blastwall_runtime::EvalError),
}

/// A checked policy, ready to decide.
///
/// `Policy` is `Send + Sync`: check once, share it, and decide from many threads.
#[derive(Debug)]
pub struct Policy {
    interp: blastwall_interp::Interpreter,
    warnings: String,
}

/// A rule of a policy, as reports describe it.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// The rule's name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Its `///` documentation, one entry per line.
    pub doc: Vec<String>,
    /// Where it is written: `path:line:col`.
    pub source: String,
}

/// The outcome of one `test` block.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// `path:line:col` of the test.
    pub location: String,
    /// What did not hold; empty when the test passed.
    pub failures: Vec<String>,
    /// The decision the test's rules made, when its facts loaded.
    pub decision: Option<Decision>,
}

impl Policy {
    /// Parse and check policy sources together.
    pub fn compile(sources: Vec<Source>) -> Result<Policy, Error> {
        let files = sources
            .into_iter()
            .map(|s| blastwall_check::SourceFile {
                path: s.path,
                text: s.text,
            })
            .collect();
        let checked = blastwall_check::check(files);
        let count = checked
            .diagnostics
            .iter()
            .filter(|d| d.diagnostic.is_error())
            .count();
        let rendered = checked.render();
        match checked.policy {
            Some(policy) if count == 0 => Ok(Policy {
                interp: blastwall_interp::Interpreter::new(policy)?,
                warnings: rendered,
            }),
            _ => Err(Error::Invalid {
                count: count.max(1),
                rendered,
            }),
        }
    }

    /// Compile to a self-contained WebAssembly module (`docs/abi.md` is its contract).
    pub fn to_wasm(&self) -> Result<Vec<u8>, Error> {
        Ok(blastwall_compile::compile(self.interp.policy())?)
    }

    /// Load a compiled module (from [`Policy::to_wasm`] or `blastwall build`) into `engine`.
    /// The module is validated first: a foreign, truncated or tampered file, a module with
    /// imports or of another ABI version is an [`Error::Load`].
    pub fn load(engine: &Engine, wasm: &[u8]) -> Result<Compiled, Error> {
        Ok(Compiled::new(engine.load(wasm)?.policy()))
    }

    /// The shipped rule library.
    pub fn embedded() -> Result<Policy, Error> {
        Policy::compile(embedded_rules())
    }

    /// Rendered warnings from checking (empty when there were none).
    pub fn warnings(&self) -> &str {
        &self.warnings
    }

    /// The names of the policy's rules, in order.
    pub fn rule_names(&self) -> Vec<&str> {
        self.interp
            .policy()
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The policy's parameters with their defaults, in declaration order (a parameter declared
    /// identically in several files is listed once).
    pub fn param_defaults(&self) -> Vec<(String, serde_json::Value)> {
        let mut out: Vec<(String, serde_json::Value)> = Vec::new();
        for p in &self.interp.policy().params {
            if !out.iter().any(|(name, _)| *name == p.name) {
                out.push((p.name.clone(), p.default.clone()));
            }
        }
        out
    }

    /// What each rule is: name, level, documentation and where it is written, in order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.interp
            .policy()
            .rules
            .iter()
            .map(|r| RuleInfo {
                name: r.name.clone(),
                level: r.level,
                doc: r.doc.clone(),
                source: self.interp.location(r.loc),
            })
            .collect()
    }

    /// Decide on facts given as JSON (`{"change": …, "plan": …, "action": …, "config": …}`).
    ///
    /// An `action` whose `command` has not been classified is classified first, by the action
    /// adapter (see [`classify_action`]), so that a raw command is never decided as harmless.
    pub fn evaluate_json(&self, facts: &serde_json::Value) -> Result<Decision, Error> {
        let facts = classify_action(facts);
        let facts = blastwall_interp::Facts::from_json(self.interp.policy(), &facts)?;
        Ok(self.interp.evaluate(&facts))
    }

    /// Decide and explain which rules fired, with which bindings, and why others did not.
    /// An unclassified `action` is classified first, as for [`Policy::evaluate_json`].
    pub fn explain_json(&self, facts: &serde_json::Value) -> Result<(Decision, Trace), Error> {
        let facts = classify_action(facts);
        let facts = blastwall_interp::Facts::from_json(self.interp.policy(), &facts)?;
        Ok(self.interp.explain(&facts))
    }

    /// Run the policy's `test` blocks.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        blastwall_interp::run_tests(&self.interp)
            .into_iter()
            .map(|t| TestOutcome {
                name: t.name,
                location: t.location,
                failures: t.failures,
                decision: t.decision,
            })
            .collect()
    }

    /// Names of the rules no test makes fire.
    pub fn untested_rules(&self) -> Vec<String> {
        let policy = self.interp.policy();
        let results = blastwall_interp::run_tests(&self.interp);
        policy
            .rules
            .iter()
            .filter(|r| {
                !results.iter().any(|t| {
                    t.decision
                        .as_ref()
                        .is_some_and(|d| d.findings.iter().any(|f| f.rule == r.name && !f.error))
                })
            })
            .map(|r| r.name.clone())
            .collect()
    }
}

/// A compiled policy loaded into an [`Engine`], ready to decide: what [`Policy::load`]
/// returns.
///
/// Like [`Policy`], it classifies an unclassified `action` before deciding
/// ([`classify_action`]). A [`Session`] decides on facts exactly as given: classify them
/// first with [`classify_action`].
#[derive(Debug, Clone)]
pub struct Compiled {
    inner: blastwall_runtime::Policy,
}

impl Compiled {
    /// The policy of a module loaded by the runtime, e.g. `engine.load(wasm)?.policy()`.
    pub fn new(inner: blastwall_runtime::Policy) -> Compiled {
        Compiled { inner }
    }

    /// This policy with parameters `config` instead of the defaults compiled into the module;
    /// see `blastwall_runtime::Policy::with_config`.
    pub fn with_config(
        &self,
        config: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Compiled, blastwall_runtime::FactsError> {
        Ok(Compiled::new(self.inner.with_config(config)?))
    }

    /// This policy with `topology` kept in every instance, for decisions whose facts have
    /// none; see `blastwall_runtime::Policy::with_topology`.
    pub fn with_topology(
        &self,
        topology: &serde_json::Value,
    ) -> Result<Compiled, blastwall_runtime::FactsError> {
        Ok(Compiled::new(self.inner.with_topology(topology)?))
    }

    /// The module this policy runs.
    pub fn module(&self) -> &Module {
        self.inner.module()
    }

    /// Decide on facts given as JSON, after classifying an unclassified `action`
    /// ([`classify_action`]).
    pub fn evaluate_json(
        &self,
        facts: &serde_json::Value,
    ) -> Result<Decision, blastwall_runtime::EvalError> {
        self.inner.evaluate_json(&classify_action(facts))
    }

    /// A session: one instance owned by the caller, for many decisions in a row. It decides
    /// on facts exactly as given; pass them through [`classify_action`] first.
    pub fn session(&self) -> Result<Session, blastwall_runtime::EvalError> {
        self.inner.session()
    }

    /// The runtime's policy, which decides on facts exactly as given.
    pub fn runtime(&self) -> &blastwall_runtime::Policy {
        &self.inner
    }
}

/// The fact schema reference (the body of `docs/facts.md`).
pub fn facts_reference() -> String {
    blastwall_abi::schema::render_markdown()
}

/// Format a policy source in the canonical layout.
pub fn format_source(src: &str) -> Result<String, blastwall_syntax::FormatError> {
    blastwall_syntax::format_source(src)
}

/// Parse-only diagnostics for a source, rendered (empty when it parses).
pub fn parse_diagnostics(path: &str, src: &str) -> String {
    let parsed = blastwall_syntax::parse(src);
    parsed
        .errors
        .iter()
        .map(|d| d.render(path, src))
        .collect::<Vec<_>>()
        .join("\n")
}
