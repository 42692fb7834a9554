//! The contract every part of blastwall agrees on.
//!
//! - [`schema`]: the declared shapes of the fact documents rules are checked against.
//! - [`glob`]: path-pattern semantics (CODEOWNERS / gitignore), shared by rules and adapters.
//! - [`decision`]: the `Decision` every host returns.

pub mod decision;
pub mod glob;
pub mod schema;
