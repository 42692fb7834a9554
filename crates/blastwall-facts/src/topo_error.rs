//! The errors of the topology and approvals adapters.
//!
//! Kept apart from `error.rs` because these adapters read files (topology) and TOML, which the
//! other adapters never do. Every error names the file and line it comes from when there is one.

use std::fmt;

use miette::Diagnostic;
use thiserror::Error;

use crate::error::{InputError, TypeError};

/// Where in which file an error was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loc {
    /// The file, relative to the root it was read under (`Cargo.toml`, `crates/a/Cargo.toml`);
    /// empty when the text was passed in directly.
    pub file: String,
    /// 1-based line; 0 when not known.
    pub line: usize,
}

impl Loc {
    /// A location with no line.
    pub fn in_file(file: impl Into<String>) -> Loc {
        Loc {
            file: file.into(),
            line: 0,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, 0) => f.write_str("input"),
            (true, line) => write!(f, "line {line}"),
            (false, 0) => write!(f, "`{}`", self.file),
            (false, line) => write!(f, "`{}` line {line}", self.file),
        }
    }
}

/// Why a topology could not be read or derived.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum TopologyError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Io {
        /// The path as given or joined to the root.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// A TOML file does not parse.
    #[error("{at}: invalid toml: {message}")]
    Toml {
        /// Where.
        at: Loc,
        /// What the TOML parser found.
        message: String,
    },
    /// A JSON file (`package.json`) does not parse.
    #[error("{at}: invalid json: {message}")]
    Json {
        /// Where.
        at: Loc,
        /// What the JSON parser found.
        message: String,
    },
    /// A `pnpm-workspace.yaml` uses YAML outside the subset this adapter reads.
    #[error("{at}: {message}")]
    #[diagnostic(help(
        "write `packages:` as a block list of quoted or plain strings, one `- item` per line, or as a one-line `[…]` list"
    ))]
    Yaml {
        /// Where.
        at: Loc,
        /// What is not supported.
        message: String,
    },
    /// A value has the wrong type.
    #[error("{at}: `{path}` should be {expected}, found {found}")]
    WrongType {
        /// Where.
        at: Loc,
        /// The dotted key, e.g. `services.payments.tier`.
        path: String,
        /// What was expected, e.g. `an integer`.
        expected: &'static str,
        /// What was found, e.g. `a string`.
        found: &'static str,
    },
    /// A key the format does not define.
    #[error("{at}: unknown key `{key}` in `{table}`")]
    UnknownKey {
        /// Where.
        at: Loc,
        /// The table holding the key (`services.payments`, or `(top level)`).
        table: String,
        /// The key as written.
        key: String,
        /// A suggestion such as ``did you mean `depends_on`?``.
        #[help]
        help: Option<String>,
    },
    /// A required key is missing.
    #[error("{at}: missing `{path}`")]
    MissingKey {
        /// Where.
        at: Loc,
        /// The dotted key that is missing.
        path: String,
    },
    /// A topology-file service has an empty name.
    #[error("{at}: a service name is empty")]
    EmptyName {
        /// Where.
        at: Loc,
    },
    /// `depends_on` names a service the file does not declare.
    #[error("{at}: service `{service}` depends on `{dependency}`, which is not declared")]
    UndeclaredDependency {
        /// Where.
        at: Loc,
        /// The service whose `depends_on` it is.
        service: String,
        /// The undeclared name.
        dependency: String,
        /// A suggestion, or advice to declare it.
        #[help]
        help: Option<String>,
    },
    /// A path pattern is not a valid glob.
    #[error("{at}: invalid path glob `{pattern}` of `{service}`: {message}")]
    BadGlob {
        /// Where.
        at: Loc,
        /// The service the pattern belongs to.
        service: String,
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A tier outside 1..=5.
    #[error("{at}: tier `{tier}` of `{service}` is out of range")]
    #[diagnostic(help("tiers run from 1 (most critical) to 5"))]
    TierOutOfRange {
        /// Where.
        at: Loc,
        /// The service.
        service: String,
        /// The tier as written.
        tier: String,
    },
    /// A workspace member pattern is not a valid glob.
    #[error("{at}: invalid workspace member pattern `{pattern}`: {message}")]
    BadMemberPattern {
        /// Where.
        at: Loc,
        /// The pattern.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A workspace member glob matches no directory (cargo rejects this too).
    #[error("{at}: workspace member pattern `{pattern}` matches no directory")]
    #[diagnostic(help("remove the pattern or create the directory it should match"))]
    MemberPatternMatchesNothing {
        /// Where.
        at: Loc,
        /// The pattern.
        pattern: String,
    },
    /// A workspace member (or a path dependency inside the workspace) has no manifest.
    #[error("missing manifest `{path}` of workspace member {referenced_by}")]
    #[diagnostic(help(
        "cargo would fail here too: add the manifest, or list the directory under `workspace.exclude`"
    ))]
    MissingManifest {
        /// The manifest's path relative to the root.
        path: String,
        /// How the member was found, e.g. ``matched by `crates/*` `` or ``a path dependency of `a` ``.
        referenced_by: String,
    },
    /// A workspace member or path lies outside the root directory.
    #[error("{at}: `{path}` lies outside the workspace root")]
    OutsideRoot {
        /// Where.
        at: Loc,
        /// The path as written.
        path: String,
    },
    /// A member's manifest declares no package.
    #[error("{at}: the manifest declares no `[package]`")]
    NotAPackage {
        /// Where.
        at: Loc,
    },
    /// `package.name = { workspace = true }`: cargo does not allow the name to be inherited.
    #[error("{at}: `package.name` cannot be inherited from the workspace")]
    #[diagnostic(help("cargo requires every package to write its own name"))]
    InheritedName {
        /// Where.
        at: Loc,
    },
    /// A `workspace = true` dependency the root does not declare.
    #[error(
        "{at}: dependency `{dependency}` uses `workspace = true`, but `[workspace.dependencies]` does not declare it"
    )]
    UnknownWorkspaceDependency {
        /// Where.
        at: Loc,
        /// The dependency's key.
        dependency: String,
    },
    /// Two members or packages share a name.
    #[error("two workspace members are named `{name}`: `{first}` and `{second}`")]
    DuplicateName {
        /// The name.
        name: String,
        /// The first member's directory.
        first: String,
        /// The second member's directory.
        second: String,
    },
    /// More nodes or glob expansions than the documented limit.
    #[error("more than {limit} {what}")]
    #[diagnostic(help(
        "describe a graph this large in a `blastwall-topology.toml`, or split the workspace"
    ))]
    TooMany {
        /// What was counted, e.g. `nodes`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The root holds no workspace of the requested kind.
    #[error("no {what} found under `{root}`")]
    NoWorkspace {
        /// The root searched.
        root: String,
        /// What was looked for, e.g. `Cargo.toml`.
        what: &'static str,
    },
}

/// Why reviews, approval flags or team membership could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum ApprovalError {
    /// The input is not JSON.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputError),
    /// A field has the wrong type.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Type(#[from] TypeError),
    /// The top level is not an array of reviews.
    #[error("expected a json array of reviews at the top level, found {found}")]
    #[diagnostic(help(
        "pass the response of `GET /repos/OWNER/REPO/pulls/NUMBER/reviews`: one array with every page's reviews, or the array of pages `gh api --paginate --slurp` writes"
    ))]
    NotAnArray {
        /// What was found.
        found: &'static str,
    },
    /// A required field is missing.
    #[error("missing field `{path}`")]
    MissingField {
        /// Where the field should be.
        path: String,
    },
    /// A review state GitHub does not document.
    #[error("unknown review state `{state}` at `{path}`")]
    #[diagnostic(help(
        "github writes `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING`"
    ))]
    UnknownState {
        /// Where.
        path: String,
        /// The state as written.
        state: String,
    },
    /// A `submitted_at` that is not an RFC 3339 timestamp.
    #[error("`{path}` is not an rfc 3339 timestamp: `{value}`")]
    BadTimestamp {
        /// Where.
        path: String,
        /// The value as written.
        value: String,
    },
    /// The team configuration does not parse or has the wrong shape.
    #[error("{at}: {message}")]
    Teams {
        /// Where.
        at: Loc,
        /// What is wrong.
        message: String,
    },
}
