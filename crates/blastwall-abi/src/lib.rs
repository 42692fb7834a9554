//! The contract every part of blastwall agrees on.
//!
//! - [`schema`]: the declared shapes of the fact documents rules are checked against.
//! - [`glob`]: path-pattern semantics (CODEOWNERS / gitignore), shared by rules and adapters.
//! - [`decision`]: the `Decision` every host returns.
//! - [`layout`]: the module metadata and the input layout descriptor (`docs/abi.md`).

pub mod decision;
pub mod glob;
pub mod layout;
pub mod schema;
