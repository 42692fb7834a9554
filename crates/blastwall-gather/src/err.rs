//! Why gathering failed. Each error names the file or repository it is about; the adapters'
//! own errors are kept as sources, so their help reaches whoever renders the error.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// Why the facts of a request could not be gathered. None of these becomes "no facts": a
/// front end reports it, and an enforcing front end fails closed on it.
#[derive(Debug, Error, Diagnostic)]
pub enum GatherError {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file is larger than gathering reads.
    #[error(
        "`{}` is larger than the input limit of {limit} bytes (raise it with `--max-input-size`)",
        path.display()
    )]
    #[diagnostic(help(
        "blastwall reads inputs of at most {limit} bytes; a larger limit: `--max-input-size SIZE` (e.g. `256MiB`)"
    ))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A file is not UTF-8 text.
    #[error("`{}` is not valid UTF-8 (first bad byte at offset {offset})", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// A JSON file does not parse.
    #[error("`{}` is not valid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// The rules folder exists but cannot be listed: deciding with other rules instead would
    /// let through what the repository's own rules stop.
    #[error("cannot read the rules folder `{}`: {source}", path.display())]
    #[diagnostic(help("fix its permissions, or name the rules with `--rules`"))]
    Rules {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A policy folder holds no `.bw` files.
    #[error("no `.bw` files in `{}`", path.display())]
    NoPolicy {
        /// The folder.
        path: PathBuf,
    },
    /// `blastwall.toml` is not valid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] Box<blastwall_facts::ConfigError>),
    /// An adapter refused an input file.
    #[error("`{}`: {message}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// The adapter's error, rendered with its causes.
        message: String,
    },
    /// The topology could not be derived from the repository's workspace.
    #[error("topology of `{}`: {source}", repo.display())]
    Topology {
        /// The repository.
        repo: PathBuf,
        /// The adapter's error (boxed: it is large, and rare).
        source: Box<blastwall_facts::TopologyError>,
    },
    /// The git range could not be read.
    #[error("`{}`: {source}", repo.display())]
    Git {
        /// The repository.
        repo: PathBuf,
        /// The adapter's error (boxed: it is large, and rare).
        source: Box<blastwall_facts::GitError>,
    },
    /// The default base is the merge base of the default branch and the head, and it could
    /// not be found.
    #[error("`{}`: base is the merge base of `{default}` and `{head}`: {source}", repo.display())]
    MergeBase {
        /// The repository.
        repo: PathBuf,
        /// The default branch.
        default: String,
        /// The head revision as given.
        head: String,
        /// The adapter's error (boxed: it is large, and rare).
        source: Box<blastwall_facts::GitError>,
    },
    /// The head is on the default branch, so its own last commit is checked, but a shallow
    /// clone cut at the head does not have its parent: an empty range would allow whatever
    /// was pushed.
    #[error(
        "`{}`: `{head}` is on `{default}`, so its last commit is checked, but its parent is not in this shallow clone: fetch one more commit (`git fetch --deepen=1`; in CI, `fetch-depth: 2`) or give `--base`",
        repo.display()
    )]
    ShallowHead {
        /// The repository.
        repo: PathBuf,
        /// The head revision as given.
        head: String,
        /// The default branch.
        default: String,
    },
    /// Nothing was gathered that a rule could decide on.
    #[error("nothing to check: no change, plan or action was gathered{notes}")]
    #[diagnostic(help(
        "run inside a git repository (or give `--repo`), or pass `--plan`, `--admission` or `--action`"
    ))]
    NoFacts {
        /// What gathering noted on the way (why there is no change), after `: `; or empty.
        notes: String,
    },
    /// `--plan` and `--admission` both fill the `plan` document.
    #[error("give `--plan` or `--admission`, not both: both fill the `plan` document")]
    PlanAndAdmission,
    /// A `--set` argument without `=`.
    #[error("`--set {0}`: expected KEY=VALUE")]
    Set(String),
}
