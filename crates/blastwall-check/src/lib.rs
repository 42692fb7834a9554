//! Checking blastwall policies: names resolve, types agree with the fact schemas, and the
//! result is a typed IR that later stages run without checking again.

mod check;
pub mod ir;
mod suggest;
pub mod ty;

pub use check::{Checked, FileDiagnostic, MAX_CALL_DEPTH, MAX_REGEX_SIZE, check, reads_of};
pub use ir::{Policy, SourceFile};
