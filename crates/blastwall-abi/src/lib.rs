//! The contract every part of blastwall agrees on.
//!
//! - [`schema`]: the declared shapes of the fact documents rules are checked against.
//! - [`glob`]: path-pattern semantics (CODEOWNERS / gitignore), shared by rules and adapters.
//! - [`dfa`]: globs and regular expressions compiled to the DFA tables modules walk.
//! - [`decision`]: the `Decision` every host returns.
//! - [`layout`]: the module metadata and the input layout descriptor (`docs/abi.md`).
//! - [`facts_error`]: the error of facts that do not fit the schemas.
//! - [`encode`], [`decode`]: facts JSON to a module's input, its result to findings.
//! - [`combine`]: from findings to the `Decision` (overrides, merged reviews, the outcome).

pub mod combine;
pub mod decision;
pub mod decode;
pub mod dfa;
pub mod encode;
pub mod facts_error;
pub mod glob;
pub mod layout;
pub mod schema;
