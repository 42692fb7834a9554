//! The reference interpreter: evaluates a checked policy on facts and returns the
//! `Decision`, and explains it. It is the oracle the compiled modules are tested against.

mod err;
mod eval;
mod value;

pub use err::{EvalError, FactsError};
pub use eval::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_STEP_LIMIT, Interpreter, MAX_FINDINGS_PER_RULE, RuleStatus, Trace,
};
pub use value::{Facts, OverrideFact, Value};
mod testing;
pub use testing::{TestResult, run_tests};
