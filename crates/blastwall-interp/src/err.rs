//! Errors of loading facts and of evaluating a rule.

use blastwall_syntax::Span;

pub use blastwall_abi::facts_error::FactsError;

/// Why the evaluation of one rule stopped. The rule's level decides what the error means:
/// `hard` and `soft` rules deny, `advisory` rules warn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Integer arithmetic overflowed.
    #[error("integer overflow in `{expr}`")]
    Overflow {
        /// The expression's source text.
        expr: String,
        /// Where.
        span: Span,
    },
    /// Division or remainder by zero.
    #[error("division by zero in `{expr}`")]
    DivByZero {
        /// The expression's source text.
        expr: String,
        /// Where.
        span: Span,
    },
    /// The evaluation used more steps than allowed.
    #[error("evaluation step limit of {limit} reached")]
    Limit {
        /// The limit.
        limit: u64,
    },
    /// The evaluation built more strings and lists than its memory budget allows.
    #[error("the policy needed more than {limit} bytes of memory")]
    Memory {
        /// The budget, in bytes.
        limit: u64,
    },
    /// A glob pattern computed at run time is invalid.
    #[error("invalid glob `{pattern}`: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// The topology is not a graph the builtins can walk.
    #[error("topology: {0}")]
    Topology(String),
    /// A value of an unexpected shape: a checker bug, reported rather than trusted.
    #[error("internal error: {0}")]
    Internal(String),
}
