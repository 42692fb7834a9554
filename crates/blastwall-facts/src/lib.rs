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
//! | [`git`] | a repository and a `base...head` range (read with gix) | `change` |
//! | [`provenance`] | a commit's message and identities | `change.ai`, `commits[].ai` |
//! | [`topology`] | a topology file, a Cargo workspace, an npm / yarn / pnpm workspace | `topology`, `change.services` |
//! | [`approvals`] | GitHub pull-request reviews, `--approved-by` flags, team membership | `change.approvals` |
//! | [`config`] | `blastwall.toml`: parameters, teams, provenance and environment settings | options for the others |
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
//!   caller's business (see [`codeowners::locate`]). The exception is [`git`], whose input is
//!   a repository on disk; it reads objects and references there and writes nothing.
//!   [`topology`]'s workspace readers likewise read the manifests under a root directory
//!   and write nothing.
//! - **Every field written.** Documents spell out every field, defaults included, except
//!   optional fields that are absent (`previous_address`, `parse_error`, `request`,
//!   `owners.file`).

pub mod admission;
pub mod agent;
pub mod approvals;
pub mod codeowners;
pub mod config;
pub mod env;
mod error;
pub mod generated;
pub mod git;
mod git_error;
pub mod identity;
mod json;
mod plan;
pub mod provenance;
mod provenance_table;
pub mod terraform;
mod topo_error;
pub mod topology;

pub use admission::plan_from_admission;
pub use agent::{
    ActionOptions, ToolCall, action_from_command, action_from_json, action_from_tool_call,
    is_shell_tool,
};
pub use approvals::{TeamMembership, approvals_from_flags, approvals_from_github_reviews};
pub use codeowners::{Codeowners, Dialect, OwnersResult, locate, owners_facts, parse_codeowners};
pub use config::{CheckConfig, ConfigError, read_config};
pub use env::EnvPattern;
pub use error::{ActionError, InputError, PlanError, TypeError};
pub use git::{
    GitOptions, GitRepo, RangeCommit, Snapshot, SnapshotError, change_from_git, default_branch,
    is_shallow, login_of_email, merge_base,
};
pub use git_error::{GitError, PatternError};
pub use identity::{Mailmap, login_of, names_of};
pub use plan::PlanOptions;
pub use provenance::{
    CommitProvenance, PatternKind, Person, Provenance, ProvenanceOptions, ProvenancePattern,
    TriState, classify_commit,
};
pub use terraform::plan_from_terraform;
pub use topo_error::{ApprovalError, Loc, TopologyError};
pub use topology::{
    complete_topology, nodes_for_paths, topology_at, topology_auto, topology_from_cargo,
    topology_from_node, topology_from_toml,
};
