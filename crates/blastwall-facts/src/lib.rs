//! Fact adapters: real inputs in, blastwall fact documents out.
//!
//! Each adapter reads one kind of input and returns a document shaped exactly as declared in
//! [`blastwall_abi::schema`], as a [`serde_json::Value`]:
//!
//! | module | input | document |
//! |---|---|---|
//! | [`terraform`] | `terraform show -json` output | `plan` |
//! | [`admission`] | a Kubernetes `AdmissionReview` or `AdmissionRequest` | `plan` |
//! | [`agent`] | a Claude Code or Cursor hook payload, an MCP `tools/call`, a plain command | `action` |
//! | [`codeowners`] | a GitHub or GitLab CODEOWNERS file | per-path owners and `change.owners` |
//!
//! # Architecture invariants
//!
//! - **Never a silent allow.** Input that cannot be read is an error naming the problem
//!   ([`PlanError`], [`ActionError`]), or — where a partial answer is still useful — an explicit
//!   fact a rule can fail closed on: `action.parse_error` with the class `unparsed`,
//!   `plan.complete: false`, `owners.errors`, an `env` of `unknown`.
//! - **No panics, bounded work.** Library code has no `unwrap`, indexing or `panic`; nothing
//!   recurses to a depth the input chooses without an explicit bound (JSON nesting is bounded by
//!   serde_json, shell nesting by the `agent` parser, globs by `blastwall-abi`).
//! - **No I/O.** Adapters take text and return values; finding and reading files is the
//!   caller's business (see [`codeowners::locate`]).
//! - **Every field written.** Documents spell out every field, defaults included, except
//!   optional fields that are absent (`previous_address`, `parse_error`, `request`,
//!   `owners.file`).

pub mod admission;
pub mod agent;
pub mod codeowners;
pub mod env;
mod error;
mod json;
mod plan;
pub mod terraform;

pub use admission::plan_from_admission;
pub use agent::{ActionOptions, action_from_command, action_from_json};
pub use codeowners::{Codeowners, Dialect, OwnersResult, locate, owners_facts, parse_codeowners};
pub use env::EnvPattern;
pub use error::{ActionError, InputError, PlanError, TypeError};
pub use plan::PlanOptions;
pub use terraform::plan_from_terraform;
