//! The wasmtime host for compiled blastwall policies (docs/abi.md is the contract).
//!
//! - [`Engine`]: the configured wasmtime engine, its [`EvalLimits`] and optional cache
//!   directory; it turns wasm into a [`Module`] ([`Engine::load`]), precompiles
//!   ([`Engine::precompile`]) and loads precompiled artifacts ([`Engine::load_precompiled`])
//!   sealed with the user's [`ArtifactKey`].
//! - [`Module`]: a checked, compiled module and its metadata.
//! - [`Policy`]: a module with its parameters; [`Policy::evaluate_json`] decides, in instances
//!   pooled and reused across calls and threads.
//! - [`Session`]: one instance owned by one caller, for the hot path; it can decide into a
//!   [`Decision`](blastwall_abi::decision::Decision) the caller keeps, reusing its allocations
//!   ([`Session::evaluate_encoded_into`]).
//!
//! ```no_run
//! use blastwall_runtime::{Engine, EngineConfig, EvalLimits};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::new(EngineConfig {
//!     limits: EvalLimits { time: std::time::Duration::from_millis(200), ..EvalLimits::default() },
//!     cache_dir: Some(".blastwall/cache".into()),
//!     ..EngineConfig::default()
//! })?;
//! let policy = engine.load(&std::fs::read("policy.wasm")?)?.policy();
//! let decision = policy.evaluate_json(&serde_json::json!({"change": {"files": []}}))?;
//! println!("{}", decision.to_json_pretty());
//! # Ok(())
//! # }
//! ```
//!
//! This crate depends on `blastwall-abi` and wasmtime only: never on the compiler or the
//! language front end.

mod artifact;
mod cache;
mod check;
mod core_meta;
mod engine;
mod err;
mod key;
mod module;
mod policy;

/// The encoding, decoding and combining this crate uses, gathered in one place.
mod abi {
    pub use blastwall_abi::combine::{CombineContext, combine_in_place};
    pub use blastwall_abi::decode::{DecodeError, decode_findings_into};
    pub use blastwall_abi::encode::{Encoded, EncodedTopology, Encoder, LayoutError, Reserved};
    pub use blastwall_abi::facts_error::FactsError;
}

pub use crate::abi::FactsError;
pub use crate::engine::{Engine, EngineConfig, EvalLimits};
pub use crate::err::{EvalError, LoadError};
pub use crate::key::ArtifactKey;
pub use crate::module::Module;
pub use crate::policy::{EncodedFacts, Policy, Session};

/// Engines, modules and policies are shared between threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    fn sendable<T: Send>() {}
    shared::<Engine>();
    shared::<Module>();
    shared::<Policy>();
    sendable::<Session>();
};
