//! The blastwall policy language: grammar, syntax tree, diagnostics and formatter.
//!
//! Parsing never fails: [`parse`] returns every item it could read beside every error it
//! found, so an editor or CI run shows all mistakes at once.

pub mod ast;
pub mod diag;
mod fmt;
#[doc(hidden)]
pub mod fuzz;
mod parse;
mod scan;
pub mod span;

pub use diag::{Diagnostic, Severity};
pub use fmt::{FormatError, format_source};
pub use parse::{MAX_EXPR_DEPTH, Parse, parse, parse_expr};
pub use scan::{Comment, MAX_NESTING, MAX_SOURCE_BYTES};
pub use span::{LineIndex, Span};
