//! The errors of the git adapter and of provenance patterns.
//!
//! Kept apart from `error.rs` because they belong to adapters that read a repository rather than
//! a document. Every error names what it could not do and where; gix's own message, when there
//! is one, is kept as the `detail` and shown as help.

use miette::Diagnostic;
use thiserror::Error;

/// Why a git range could not become a `change` document.
///
/// None of these is ever turned into "nothing changed": a range that cannot be read is an error.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum GitError {
    /// The path is not a git repository, or the repository cannot be opened.
    #[error("cannot open a git repository at `{repo}`")]
    #[diagnostic(help("{detail}"))]
    Open {
        /// The path given.
        repo: String,
        /// What gix reported.
        detail: String,
    },
    /// A revision does not resolve to an object.
    #[error("{which} revision `{rev}` not found in `{repo}`")]
    #[diagnostic(help("{detail}"))]
    RevisionNotFound {
        /// Which argument it was: `base`, `head` or `revision`.
        which: &'static str,
        /// The revision as given.
        rev: String,
        /// The repository path.
        repo: String,
        /// What gix reported.
        detail: String,
    },
    /// A revision resolves to an object that is not a commit (a tree or a blob).
    #[error("{which} revision `{rev}` is not a commit")]
    #[diagnostic(help("{detail}"))]
    NotACommit {
        /// Which argument it was: `base`, `head` or `revision`.
        which: &'static str,
        /// The revision as given.
        rev: String,
        /// What gix reported.
        detail: String,
    },
    /// The range needs history that a shallow clone does not have.
    #[error(
        "`{repo}` is a shallow clone and the range `{base}..{head}` reaches past its shallow boundary"
    )]
    #[diagnostic(help(
        "fetch more history (`git fetch --deepen=N` or `git fetch --unshallow`), or check out with `fetch-depth: 0` in CI"
    ))]
    Shallow {
        /// The repository path.
        repo: String,
        /// The base revision as given.
        base: String,
        /// The head revision as given.
        head: String,
    },
    /// The two revisions share no history, so there is no merge base to diff against.
    #[error("`{base}` and `{head}` have no common ancestor in `{repo}`")]
    #[diagnostic(help("pass a base that shares history with the head"))]
    NoMergeBase {
        /// The repository path.
        repo: String,
        /// The first revision as given.
        base: String,
        /// The second revision as given.
        head: String,
    },
    /// An object could not be read or decoded: the repository is corrupt or incomplete.
    #[error("cannot read `{repo}` while {doing}: the repository may be corrupt")]
    #[diagnostic(help("{detail}; `git fsck` in the repository tells what is wrong"))]
    Corrupt {
        /// The repository path.
        repo: String,
        /// What the adapter was doing, e.g. `walking the commits of the range`.
        doing: &'static str,
        /// What gix reported.
        detail: String,
    },
    /// The range has more commits than [`crate::git::GitOptions::max_commits`] allows.
    #[error("the range has more than {limit} commits, the `max_commits` limit")]
    #[diagnostic(help("check the base revision, or raise the limit"))]
    TooManyCommits {
        /// The limit in force.
        limit: usize,
    },
    /// The diff has more files than [`crate::git::GitOptions::max_files`] allows.
    #[error("the change touches more than {limit} files, the `max_files` limit")]
    #[diagnostic(help("check the base revision, or raise the limit"))]
    TooManyFiles {
        /// The limit in force.
        limit: usize,
    },
    /// No default branch could be found.
    #[error("no default branch in `{repo}`: no `origin/HEAD`, `main` or `master`")]
    #[diagnostic(help(
        "pass the base revision explicitly, or run `git remote set-head origin --auto`"
    ))]
    NoDefaultBranch {
        /// The repository path.
        repo: String,
    },
}

/// A configured provenance pattern whose regular expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("invalid provenance pattern `{pattern}` for tool `{tool}`")]
#[diagnostic(help("{detail}"))]
pub struct PatternError {
    /// The tool the pattern would mark.
    pub tool: String,
    /// The pattern as given.
    pub pattern: String,
    /// What the regex compiler reported.
    pub detail: String,
}
