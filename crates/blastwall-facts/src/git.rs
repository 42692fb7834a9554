// Dependency: gix 0.90 (gitoxide), `default-features = false`, features `sha1`, `revision`,
// `blob-diff`.
//
// Why gix: the adapter must read a repository without shelling out to `git` (no process spawning
// in the library, no dependence on the installed git's version or configuration parsing of its
// output) and without C code (git2/libgit2 needs a C toolchain and links OpenSSL/libssh2 unless
// trimmed). gix is pure Rust, reads packs, commit-graphs, shallow files and object replacements as
// git does, and ships git's own rename detection and a line differ (imara-diff).
//
// Why these features: `sha1` selects the object hash (gix 0.90 makes it a feature); `revision`
// gives rev-parse (`HEAD~3`, tags, short ids) and merge bases; `blob-diff` gives tree diffs with
// rename tracking and the line differ. It pulls in the attribute and filter crates, which rename
// similarity needs. Left out: networking, worktree status and checkout, blame, merge, mailmap,
// `parallel` and `max-performance` (C-free zlib is fast enough here, and threads are not needed
// at the sizes the limits allow). Measured on the 2-core development machine: a clean debug build
// of gix with these features and its dependencies takes about 33 s (about 27 s without
// `blob-diff`); default features would add the network, status and blame stacks.

//! Change facts from a git range: the `change` document for `base...head`.
//!
//! [`change_from_git`] opens a repository with gix (never a `git` process) and writes every
//! field of the `change` record: `author`, `title`, `base`, `head`, `ai`, `files`, `commits`, and
//! the fields a range cannot know at their defaults (`approvals`, `services`, `labels`, `owners`
//! empty; other adapters fill them in). Unlike the text adapters this one reads files: it is the
//! one adapter whose input is a repository on disk.
//!
//! # Revisions
//!
//! `base` and `head` are anything `git rev-parse` accepts (branches, tags, full or short ids,
//! `HEAD~3`, `main^{commit}`), peeled to a commit. A revision that does not resolve is an error
//! naming it; a revision that names a tree or blob is an error too. Never "nothing changed".
//! `base` and `head` in the document are the resolved commit ids. [`default_branch`] and
//! [`merge_base`] let a caller default the base as the CLI does:
//! `merge_base(default_branch(), "HEAD")`.
//!
//! # Files
//!
//! `files` is the tree diff from the merge base of `base` and `head` to `head`, as
//! `git diff base...head` shows it, so changes made on the base branch meanwhile are not the
//! change's. Revisions with no common ancestor are an error.
//!
//! - `status`: `added`, `deleted`, `modified` (content or the executable bit), `type_changed`
//!   (a file became a symlink or a submodule, or back), `renamed` and, when
//!   [`GitOptions::detect_copies`] is on, `copied` (sources among the modified files, as
//!   `git diff -C`; gitoxide judges similarity against the source's new content, the line
//!   counts are against its old content as in git), both with `previous_path`. Renames are found
//!   as git finds them by default: exact renames, then similar content at 50% similarity or more,
//!   with git's default `diff.renameLimit` of 1000 (with more candidates than that, only exact
//!   renames are found; the rest stay `added` and `deleted`); empty files are not paired.
//!   The repository's `diff.renames` setting is not read, so the facts do not depend on local
//!   configuration.
//! - `added`/`removed`: changed lines, counted like `git diff --numstat` with git's default Myers
//!   algorithm. A line is a run of bytes ending in `\n` or at the end of the file, so a missing
//!   final newline counts as a changed line as in git. Added files count all their lines as added,
//!   deleted files as removed; submodule entries count 0.
//! - `generated`: whether the file is written by a tool (a lockfile, protocol buffer output, a
//!   minified asset, or a `@generated` / `Code generated … DO NOT EDIT.` header), as
//!   [`crate::generated`] decides it from the path and the first bytes of its content.
//! - `binary`: a NUL byte in the first 8000 bytes of either side, as git decides it. Binary files
//!   count 0 lines added and removed (`--numstat` prints `-`). `.gitattributes` (`binary`,
//!   `-diff`, textconv drivers) are not applied.
//! - **Large blobs**: a side larger than [`GitOptions::max_blob_bytes`] (8 MiB by default; git
//!   itself treats files over `core.bigFileThreshold` as binary) is not read: the file is reported
//!   `binary: true` with 0 lines added and removed.
//! - **Paths** are repository-relative and `/`-separated. A path that is not UTF-8 is decoded
//!   lossily (each invalid sequence becomes U+FFFD) and the file is kept, never dropped: a rule
//!   still sees that the file changed, under an approximate name.
//! - Files are sorted by path (then by the raw bytes, should two lossy paths coincide).
//!
//! # Commits
//!
//! `commits` are the commits reachable from `head` and not from `base` (`git log base..head`),
//! merges included, oldest first: parents always come before their children; among branches,
//! the first parent's line comes first (a depth-first walk from `head` over parents in order,
//! listed in post-order). Each has its `sha`, full `message` (lossily decoded, whatever its
//! `encoding` header says), `author` and `committer` (`name`, `email`, `bot`), `trailers` (see
//! [`parse_trailers`]) and `ai`, the commit's provenance tri-state from
//! [`crate::provenance::classify_commit`]. An identity is a `bot` when its name ends in `[bot]`
//! or its email's local part does (`…[bot]@users.noreply.github.com`, `NNN+name[bot]@…`).
//!
//! `author` is [`GitOptions::author`] when set, else the head commit's author: the GitHub login
//! when the email is a GitHub noreply address (`ID+login@users.noreply.github.com`), since
//! approvals name logins and the author's own must not count; else the email.
//! `title` is the first line of the oldest commit's message (empty for an empty range). `ai` is
//! the range's provenance (see [`crate::provenance`]).
//!
//! `base == head` is not an error: it is an empty change (no files, no commits).
//!
//! # Failures
//!
//! Every failure is a [`GitError`], never a partial document:
//! - a path that is not a repository ([`GitError::Open`]);
//! - a revision that does not resolve ([`GitError::RevisionNotFound`]) or is not a commit;
//! - a **shallow clone** whose range reaches its shallow boundary: a commit of the range is a
//!   shallow commit (its parents are missing, so the range cannot be told to end there), or the
//!   merge base cannot be found in a shallow repository ([`GitError::Shallow`]). A base revision
//!   missing from a shallow clone is [`GitError::RevisionNotFound`], whose help says the clone is
//!   shallow. One case cannot be detected: a commit that is present, but reachable from `base`
//!   only through history the clone lacks, while its own parents are reachable from `base`
//!   through history it has. It would be listed in the range. Fetch enough history (or all of
//!   it) in CI to rule this out;
//! - a missing or undecodable object: a **corrupt** repository ([`GitError::Corrupt`]);
//! - more than [`GitOptions::max_commits`] commits or [`GitOptions::max_files`] files
//!   ([`GitError::TooManyCommits`], [`GitError::TooManyFiles`]): limits are errors, never
//!   truncation.
//!
//! # Cost
//!
//! One tree diff between two trees, one read of each changed blob side (sizes are checked from
//! object headers before reading), one line diff per modified text file, and one read of each
//! commit of the range; no per-commit diffs.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::Path;

use gix::bstr::{BString, ByteSlice};
use gix::diff::blob::sources::byte_lines;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use gix::diff::rewrites::{Copies, CopySource};
use gix::diff::tree::recorder::Location;
use gix::diff::tree_with_rewrites::{ChangeRef, Options as DiffOptions};
use gix::objs::tree::{EntryKind, EntryMode};
use gix::{ObjectId, Repository};
use serde_json::{Map, Value, json};

pub use crate::git_error::GitError;
use crate::provenance::{self, CommitProvenance, Person, Provenance, ProvenanceOptions};
pub use crate::provenance::{Trailer, parse_trailers};

/// The default of [`GitOptions::max_commits`].
pub const DEFAULT_MAX_COMMITS: usize = 10_000;

/// The default of [`GitOptions::max_files`].
pub const DEFAULT_MAX_FILES: usize = 50_000;

/// The default of [`GitOptions::max_blob_bytes`]: 8 MiB.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 8 * 1024 * 1024;

/// The largest [`GitOptions::max_blob_bytes`] honoured: 1 GiB. Larger settings are lowered to it,
/// which keeps every line count far below the line differ's limit.
pub const MAX_BLOB_BYTES_CEILING: u64 = 1024 * 1024 * 1024;

/// How many leading bytes are searched for a NUL to call a blob binary (git's `FIRST_FEW_BYTES`).
pub const BINARY_SNIFF_BYTES: usize = 8000;

/// The similarity at or above which a deleted and an added file are a rename (git's default).
pub const RENAME_SIMILARITY: f32 = 0.5;

/// Beyond this many rename candidates, only exact renames are looked for (git's default
/// `diff.renameLimit`).
pub const RENAME_LIMIT: usize = 1000;

/// How the `change` document is read from a repository.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The change's author (a login or email); when `None`, the head commit's author email.
    pub author: Option<String>,
    /// The most commits a range may have; more is [`GitError::TooManyCommits`].
    pub max_commits: usize,
    /// The most files a diff may touch; more is [`GitError::TooManyFiles`].
    pub max_files: usize,
    /// Blobs larger than this are not read: the file counts as binary with 0 lines changed.
    /// Capped at [`MAX_BLOB_BYTES_CEILING`].
    pub max_blob_bytes: u64,
    /// Also report copies (`copied`), found among the modified files as `git diff -C` does. Off
    /// by default, as in git.
    pub detect_copies: bool,
    /// How AI provenance is decided.
    pub provenance: ProvenanceOptions,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            author: None,
            max_commits: DEFAULT_MAX_COMMITS,
            max_files: DEFAULT_MAX_FILES,
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
            detect_copies: false,
            provenance: ProvenanceOptions::default(),
        }
    }
}

/// The `change` document for `base...head` in the repository at `repo`.
///
/// See the module documentation for what each field holds and when this fails. To read many
/// ranges of one repository, open it once with [`GitRepo::open`] and call [`GitRepo::change`].
pub fn change_from_git(
    repo: &Path,
    base: &str,
    head: &str,
    opts: &GitOptions,
) -> Result<Value, GitError> {
    GitRepo::open(repo)?.change(base, head, opts)
}

/// A repository opened once, for reading many changes and walks from it.
///
/// Opening a repository reads its configuration, references and pack indexes; a caller that
/// reads one change per commit of a long history (`blastwall replay`) keeps one `GitRepo` and
/// its object cache instead of paying that per commit. Not `Sync`: use one per thread.
pub struct GitRepo {
    r: Repo,
}

impl std::fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepo")
            .field("path", &self.r.path)
            .finish()
    }
}

/// A commit of a walk (see [`GitRepo::commits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCommit {
    /// The commit id.
    pub sha: String,
    /// The parents' ids, in order: the first parent first; empty for a root commit.
    pub parents: Vec<String>,
    /// The first line of the message, trimmed (lossily decoded).
    pub subject: String,
}

impl RangeCommit {
    /// The first parent, `None` for a root commit.
    pub fn first_parent(&self) -> Option<&str> {
        self.parents.first().map(String::as_str)
    }
}

impl GitRepo {
    /// Open the repository at `path` ([`GitError::Open`] if it is not one).
    pub fn open(path: &Path) -> Result<GitRepo, GitError> {
        Ok(GitRepo {
            r: Repo::open(path)?,
        })
    }

    /// The `change` document for `base...head`, exactly as [`change_from_git`] reads it.
    pub fn change(&self, base: &str, head: &str, opts: &GitOptions) -> Result<Value, GitError> {
        let r = &self.r;
        let base_id = r.resolve("base", base)?;
        let head_id = r.resolve("head", head)?;
        let fork = r.merge_base(base_id, head_id, base, head)?;

        let commits = r.range_commits(base_id, head_id, base, head, opts.max_commits)?;
        let mut files = r.changed_files(fork, head_id, opts)?;

        let mut commit_docs = Vec::with_capacity(commits.len());
        let mut provenances: Vec<(String, CommitProvenance)> = Vec::with_capacity(commits.len());
        // Which commits touched which paths, so that each file carries its own commits and a
        // rule can judge its provenance by them, not by the whole range's.
        let mut touched: HashMap<BString, Vec<String>> = HashMap::new();
        for id in &commits {
            let c = r.read_commit(*id)?;
            let prov =
                provenance::classify_commit(&c.message, &c.author, &c.committer, &opts.provenance);
            for path in r.touched_paths(*id)? {
                touched.entry(path).or_default().push(c.sha.clone());
            }
            commit_docs.push(commit_json(&c, &prov));
            provenances.push((c.sha, prov));
        }
        let order: HashMap<String, usize> = provenances
            .iter()
            .enumerate()
            .map(|(i, (sha, _))| (sha.clone(), i))
            .collect();
        for f in &mut files {
            let mut shas: Vec<String> = touched.get(&f.raw_path).cloned().unwrap_or_default();
            if let Some(prev) = f.previous_path.as_deref()
                && let Some(before) = touched.get(&BString::from(prev))
            {
                shas.extend(before.iter().cloned());
            }
            // Oldest first, as the range lists them, without repeats.
            shas.sort_by_key(|s| order.get(s).copied().unwrap_or(usize::MAX));
            shas.dedup();
            f.commits = shas;
        }
        let range = Provenance::from_commits(
            provenances.iter().map(|(sha, p)| (sha.as_str(), p)),
            &opts.provenance,
        );

        let title = match commits.first() {
            Some(id) => {
                let c = r.read_commit(*id)?;
                c.message
                    .trim_start()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            }
            None => String::new(),
        };
        let author = match &opts.author {
            Some(a) => a.clone(),
            None => login_of_email(&r.read_commit(head_id)?.author.email),
        };

        Ok(json!({
            "author": author,
            "title": title,
            "base": base_id.to_string(),
            "head": head_id.to_string(),
            "ai": range.to_json(),
            "files": files.iter().map(FileFact::to_json).collect::<Vec<_>>(),
            "commits": commit_docs,
            "approvals": [],
            "services": [],
            "labels": [],
            "owners": {"errors": [], "unowned": []},
        }))
    }

    /// The commits of `git log base..head`, oldest first.
    ///
    /// With `first_parent_only`, those of `git log --first-parent base..head`: the first-parent
    /// line from `head`, ending where it reaches a commit reachable from `base` (through any
    /// parent, as in git). Otherwise every commit reachable from `head` and not from `base`,
    /// ordered as [`change_from_git`] orders `commits`: parents before children, the first
    /// parent's line first.
    ///
    /// More than `limit` commits is [`GitError::TooManyCommits`]; the revision, shallow and
    /// corruption errors are those of [`change_from_git`].
    pub fn commits(
        &self,
        base: &str,
        head: &str,
        first_parent_only: bool,
        limit: usize,
    ) -> Result<Vec<RangeCommit>, GitError> {
        let r = &self.r;
        let base_id = r.resolve("base", base)?;
        let head_id = r.resolve("head", head)?;
        let ids = if first_parent_only {
            r.first_parent_line(base_id, head_id, base, head, limit)?
        } else {
            r.range_commits(base_id, head_id, base, head, limit)?
        };
        ids.into_iter().map(|id| r.range_commit(id)).collect()
    }
}

/// The files of one commit's tree, read from the object database: what a range's head holds,
/// whatever the working tree holds now (see [`GitRepo::snapshot`]).
pub struct Snapshot<'r> {
    r: &'r Repo,
    commit: ObjectId,
    tree: ObjectId,
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("commit", &self.commit)
            .finish()
    }
}

/// What a path of a [`Snapshot`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryOf {
    Blob(ObjectId),
    Tree(ObjectId),
    Other,
}

impl GitRepo {
    /// The tree of revision `rev` (peeled to a commit), to read files from as they were
    /// committed there.
    pub fn snapshot(&self, rev: &str) -> Result<Snapshot<'_>, GitError> {
        let commit = self.r.resolve("head", rev)?;
        let tree = self
            .r
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree_id().map(gix::Id::detach))
            .map_err(self.r.corrupt("reading the head's tree"))?;
        Ok(Snapshot {
            r: &self.r,
            commit,
            tree,
        })
    }
}

impl Snapshot<'_> {
    /// The commit id the files are read from.
    pub fn commit(&self) -> String {
        self.commit.to_string()
    }

    fn entry(&self, rel: &str) -> Result<Option<EntryOf>, GitError> {
        if rel.is_empty() {
            return Ok(Some(EntryOf::Tree(self.tree)));
        }
        let tree = self
            .r
            .repo
            .find_tree(self.tree)
            .map_err(self.r.corrupt("reading the head's tree"))?;
        let entry = tree
            .lookup_entry(rel.split('/').map(str::as_bytes))
            .map_err(self.r.corrupt("looking up a file of the head"))?;
        Ok(entry.map(|e| match e.mode().kind() {
            EntryKind::Blob | EntryKind::BlobExecutable => EntryOf::Blob(e.object_id()),
            EntryKind::Tree => EntryOf::Tree(e.object_id()),
            EntryKind::Link | EntryKind::Commit => EntryOf::Other,
        }))
    }

    /// The text of the file at the `/`-separated path `rel`: `None` when the tree has no file
    /// there (a directory, a symbolic link or a submodule is no file). A file larger than
    /// `max_bytes` or not UTF-8 is an error naming it.
    pub fn read(&self, rel: &str, max_bytes: u64) -> Result<Option<String>, SnapshotError> {
        let Some(EntryOf::Blob(id)) = self.entry(rel)? else {
            return Ok(None);
        };
        let header = self
            .r
            .repo
            .find_header(id)
            .map_err(self.r.corrupt("reading a file of the head"))?;
        if header.size() > max_bytes {
            return Err(SnapshotError::TooLarge {
                path: rel.to_string(),
                commit: self.commit(),
                limit: max_bytes,
            });
        }
        let data = self
            .r
            .repo
            .find_object(id)
            .map_err(self.r.corrupt("reading a file of the head"))?
            .detach()
            .data;
        let mut bytes = data.as_slice();
        // A byte-order mark is no part of the text, as for files read from disk.
        if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
            bytes = rest;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.to_string())),
            Err(_) => Err(SnapshotError::NotUtf8 {
                path: rel.to_string(),
                commit: self.commit(),
            }),
        }
    }

    /// Whether `rel` is a file (a blob) in the tree.
    pub fn is_file(&self, rel: &str) -> Result<bool, GitError> {
        Ok(matches!(self.entry(rel)?, Some(EntryOf::Blob(_))))
    }

    /// Whether `rel` is a directory (a tree) in the tree.
    pub fn is_dir(&self, rel: &str) -> Result<bool, GitError> {
        Ok(matches!(self.entry(rel)?, Some(EntryOf::Tree(_))))
    }

    /// The names of the directories directly inside `rel`, sorted; empty when `rel` is not a
    /// directory. Names that are not UTF-8 are left out.
    pub fn subdirs(&self, rel: &str) -> Result<Vec<String>, GitError> {
        let Some(EntryOf::Tree(id)) = self.entry(rel)? else {
            return Ok(Vec::new());
        };
        let tree = self
            .r
            .repo
            .find_tree(id)
            .map_err(self.r.corrupt("reading a directory of the head"))?;
        let decoded = tree.decode().map_err(|e| GitError::Corrupt {
            repo: self.r.path.clone(),
            doing: "decoding a directory of the head",
            detail: e.to_string(),
        })?;
        let mut names: Vec<String> = decoded
            .entries
            .iter()
            .filter(|e| e.mode.is_tree())
            .filter_map(|e| e.filename.to_str().ok().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// A file of a [`Snapshot`] that cannot be read as text.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SnapshotError {
    /// The repository could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] GitError),
    /// The file is larger than the limit.
    #[error("`{path}` at {commit} is larger than {limit} bytes")]
    TooLarge {
        /// The path in the tree.
        path: String,
        /// The commit.
        commit: String,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8.
    #[error("`{path}` at {commit} is not UTF-8")]
    NotUtf8 {
        /// The path in the tree.
        path: String,
        /// The commit.
        commit: String,
    },
}

/// The GitHub login a noreply address stands for (`12345+octocat@users.noreply.github.com` or
/// `octocat@users.noreply.github.com` → `octocat`); any other email as it is.
pub fn login_of_email(email: &str) -> String {
    let trimmed = email.trim();
    match trimmed.rsplit_once('@') {
        Some((local, domain)) if domain.eq_ignore_ascii_case("users.noreply.github.com") => {
            let login = match local.split_once('+') {
                Some((id, login)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    login
                }
                _ => local,
            };
            if login.is_empty() {
                trimmed.to_string()
            } else {
                login.to_string()
            }
        }
        _ => trimmed.to_string(),
    }
}

/// The id of the best common ancestor of revisions `a` and `b`, as `git merge-base a b` prints
/// it. No common ancestor is [`GitError::NoMergeBase`] (or [`GitError::Shallow`] in a shallow
/// clone).
pub fn merge_base(repo: &Path, a: &str, b: &str) -> Result<String, GitError> {
    let r = Repo::open(repo)?;
    let a_id = r.resolve("revision", a)?;
    let b_id = r.resolve("revision", b)?;
    Ok(r.merge_base(a_id, b_id, a, b)?.to_string())
}

/// Whether the repository at `repo` is a shallow clone: some commits' parents are not in it.
pub fn is_shallow(repo: &Path) -> Result<bool, GitError> {
    let r = Repo::open(repo)?;
    r.repo.is_shallow().map_err(|e| GitError::Corrupt {
        repo: r.path.clone(),
        doing: "reading its shallow boundary",
        detail: e.to_string(),
    })
}

/// The default branch: the branch `origin/HEAD` points to (e.g. `origin/main`), else `main`,
/// else `master`, each only if it exists. The result is a revision [`change_from_git`] and
/// [`merge_base`] accept.
pub fn default_branch(repo: &Path) -> Result<String, GitError> {
    let r = Repo::open(repo)?;
    if let Some(reference) = r.find_ref("refs/remotes/origin/HEAD")?
        && let Some(target) = reference.target().try_name()
    {
        let target = target.as_bstr().to_str_lossy().into_owned();
        if r.find_ref(&target)?.is_some() {
            let short = target.strip_prefix("refs/remotes/").unwrap_or(&target);
            return Ok(short.to_string());
        }
    }
    for name in ["main", "master"] {
        if r.find_ref(&format!("refs/heads/{name}"))?.is_some() {
            return Ok(name.to_string());
        }
    }
    Err(GitError::NoDefaultBranch { repo: r.path })
}

/// An open repository and its path as given, for messages.
struct Repo {
    repo: Repository,
    path: String,
}

/// A commit of the range, decoded.
struct CommitData {
    sha: String,
    message: String,
    author: Person,
    committer: Person,
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    TypeChanged,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Modified => "modified",
            Status::Deleted => "deleted",
            Status::Renamed => "renamed",
            Status::Copied => "copied",
            Status::TypeChanged => "type_changed",
        }
    }
}

/// A changed entry from the tree diff, before its contents are read.
struct RawChange {
    path: BString,
    previous: Option<BString>,
    status: Status,
    old: Option<(ObjectId, EntryMode)>,
    new: Option<(ObjectId, EntryMode)>,
}

/// One `File` fact.
struct FileFact {
    path: String,
    raw_path: BString,
    /// The commits of the range that touched the file, oldest first.
    commits: Vec<String>,
    status: Status,
    previous_path: Option<String>,
    added: u64,
    removed: u64,
    binary: bool,
    generated: bool,
}

impl FileFact {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("path".into(), json!(self.path));
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(prev) = &self.previous_path {
            m.insert("previous_path".into(), json!(prev));
        }
        m.insert("added".into(), json!(self.added));
        m.insert("removed".into(), json!(self.removed));
        m.insert("binary".into(), json!(self.binary));
        m.insert("generated".into(), json!(self.generated));
        m.insert("owners".into(), json!([]));
        m.insert("commits".into(), json!(self.commits));
        Value::Object(m)
    }
}

/// One side of a changed file, as read.
enum Content {
    /// No blob on this side (added or deleted file), or a submodule commit.
    None,
    /// Blob data under the size limit.
    Data(Vec<u8>),
    /// A blob over the size limit, not read.
    Large,
}

impl Content {
    fn is_binary(&self) -> bool {
        match self {
            Content::None => false,
            Content::Large => true,
            Content::Data(d) => d.iter().take(BINARY_SNIFF_BYTES).any(|b| *b == 0),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Content::Data(d) => d,
            Content::None | Content::Large => &[],
        }
    }
}

impl Repo {
    fn open(path: &Path) -> Result<Repo, GitError> {
        let display = path.display().to_string();
        let mut repo = gix::open(path).map_err(|e| GitError::Open {
            repo: display.clone(),
            detail: describe(&e),
        })?;
        // Commits and trees are read more than once (walk, merge base, decoding); a small cache
        // avoids decompressing them again.
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        Ok(Repo {
            repo,
            path: display,
        })
    }

    fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    fn corrupt(&self, doing: &'static str) -> impl Fn(gix::Error) -> GitError + '_ {
        move |e| GitError::Corrupt {
            repo: self.path.clone(),
            doing,
            detail: describe(&e),
        }
    }

    /// `rev`, peeled to a commit.
    fn resolve(&self, which: &'static str, rev: &str) -> Result<ObjectId, GitError> {
        let not_found = |e: gix::Error| {
            let mut detail = describe(&e);
            if self.is_shallow() {
                detail.push_str(
                    "; this repository is a shallow clone, so the revision may lie beyond its shallow boundary: fetch more history",
                );
            }
            GitError::RevisionNotFound {
                which,
                rev: rev.to_string(),
                repo: self.path.clone(),
                detail,
            }
        };
        let id = self.repo.rev_parse_single(rev).map_err(not_found)?;
        // A full object id resolves without a lookup: reading the object is what proves it
        // exists. A name that resolved to a missing object is a broken reference instead.
        let object = id.object().map_err(|e| {
            if rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                not_found(e)
            } else {
                GitError::Corrupt {
                    repo: self.path.clone(),
                    doing: "resolving a revision",
                    detail: format!("`{rev}` points to {id}, which is missing: {}", describe(&e)),
                }
            }
        })?;
        let commit = object.peel_to_commit().map_err(|e| GitError::NotACommit {
            which,
            rev: rev.to_string(),
            detail: describe(&e),
        })?;
        Ok(commit.id)
    }

    fn merge_base(
        &self,
        a: ObjectId,
        b: ObjectId,
        a_rev: &str,
        b_rev: &str,
    ) -> Result<ObjectId, GitError> {
        if a == b {
            return Ok(a);
        }
        let shallow = || GitError::Shallow {
            repo: self.path.clone(),
            base: a_rev.to_string(),
            head: b_rev.to_string(),
        };
        match self.repo.merge_base(a, b) {
            Ok(Some(id)) => Ok(id.detach()),
            Ok(None) if self.is_shallow() => Err(shallow()),
            // gix finds no merge base when history is missing, too: tell corruption apart from
            // unrelated histories before saying there is none.
            Ok(None) => Err(self
                .missing_history([a, b])
                .unwrap_or(GitError::NoMergeBase {
                    repo: self.path.clone(),
                    base: a_rev.to_string(),
                    head: b_rev.to_string(),
                })),
            Err(_) if self.is_shallow() => Err(shallow()),
            Err(e) => Err(self.corrupt("finding the merge base")(e)),
        }
    }

    /// A [`GitError::Corrupt`] if some commit reachable from `tips` cannot be read or misses a
    /// parent. Walks all of their history, so it is only called once something already failed.
    fn missing_history(&self, tips: [ObjectId; 2]) -> Option<GitError> {
        let corrupt = self.corrupt("walking the history of the range");
        let walk = match self.repo.rev_walk(tips).all() {
            Ok(walk) => walk,
            Err(e) => return Some(corrupt(e)),
        };
        for info in walk {
            let info = match info {
                Ok(info) => info,
                Err(e) => return Some(corrupt(e)),
            };
            if let Some(missing) = info.parent_ids().find(|p| !self.repo.has_object(*p)) {
                return Some(GitError::Corrupt {
                    repo: self.path.clone(),
                    doing: "walking the history of the range",
                    detail: format!("commit {missing}, a parent of {}, is missing", info.id),
                });
            }
        }
        None
    }

    /// The commits reachable from `head` and not from `base`, parents before children.
    fn range_commits(
        &self,
        base: ObjectId,
        head: ObjectId,
        base_rev: &str,
        head_rev: &str,
        max_commits: usize,
    ) -> Result<Vec<ObjectId>, GitError> {
        let walked = self.walk_range(base, head, base_rev, head_rev, max_commits, false)?;
        let parents: HashMap<ObjectId, Vec<ObjectId>> = walked.into_iter().collect();
        // The range ends at parents reachable from `base`; each must exist, or the range may
        // have been cut short by a missing commit rather than by `base`.
        let missing = parents
            .iter()
            .flat_map(|(id, ps)| ps.iter().map(move |p| (id, p)))
            .find(|(_, p)| !parents.contains_key(*p) && !self.repo.has_object(*p));
        if let Some((child, parent)) = missing {
            return Err(self.missing_parent(child, parent));
        }
        Ok(topological(head, &parents))
    }

    /// The first-parent line from `head` down to the first commit reachable from `base`,
    /// oldest first.
    fn first_parent_line(
        &self,
        base: ObjectId,
        head: ObjectId,
        base_rev: &str,
        head_rev: &str,
        max_commits: usize,
    ) -> Result<Vec<ObjectId>, GitError> {
        let line = self.walk_range(base, head, base_rev, head_rev, max_commits, true)?;
        // The line must end at a parent reachable from `base`, never at a missing commit.
        if let Some((child, parents)) = line.last()
            && let Some(parent) = parents.first()
            && !self.repo.has_object(*parent)
        {
            return Err(self.missing_parent(child, parent));
        }
        Ok(line.into_iter().rev().map(|(id, _)| id).collect())
    }

    /// Walk from `head`, hiding what `base` reaches, newest first: each commit with its parents
    /// (only the first with `first_parent_only`). More than `max_commits` is an error, and so is
    /// a walk that meets a shallow commit, whose missing parents leave the range's end unknown.
    fn walk_range(
        &self,
        base: ObjectId,
        head: ObjectId,
        base_rev: &str,
        head_rev: &str,
        max_commits: usize,
        first_parent_only: bool,
    ) -> Result<Vec<(ObjectId, Vec<ObjectId>)>, GitError> {
        if base == head {
            return Ok(Vec::new());
        }
        let shallow = || GitError::Shallow {
            repo: self.path.clone(),
            base: base_rev.to_string(),
            head: head_rev.to_string(),
        };
        let mut platform = self.repo.rev_walk([head]);
        if first_parent_only {
            platform = platform.first_parent_only();
        }
        let walk = match platform.with_hidden([base]).all() {
            Ok(walk) => walk,
            Err(_) if self.is_shallow() => return Err(shallow()),
            Err(e) => return Err(self.corrupt("walking the commits of the range")(e)),
        };
        let mut walked: Vec<(ObjectId, Vec<ObjectId>)> = Vec::new();
        for info in walk {
            let info = match info {
                Ok(info) => info,
                Err(_) if self.is_shallow() => return Err(shallow()),
                Err(e) => return Err(self.corrupt("walking the commits of the range")(e)),
            };
            if walked.len() >= max_commits {
                return Err(GitError::TooManyCommits { limit: max_commits });
            }
            let parents = info.parent_ids().map(|p| p.detach());
            let parents = if first_parent_only {
                parents.take(1).collect()
            } else {
                parents.collect()
            };
            walked.push((info.id, parents));
        }
        let shallow_commits = self
            .repo
            .shallow_commits()
            .map_err(self.corrupt("reading the shallow file"))?;
        if let Some(boundary) = shallow_commits
            && walked
                .iter()
                .any(|(id, _)| boundary.binary_search(id).is_ok())
        {
            return Err(shallow());
        }
        Ok(walked)
    }

    fn missing_parent(&self, child: &ObjectId, parent: &ObjectId) -> GitError {
        GitError::Corrupt {
            repo: self.path.clone(),
            doing: "walking the commits of the range",
            detail: format!("commit {parent}, a parent of {child}, is missing"),
        }
    }

    /// A commit's id, parents and subject.
    fn range_commit(&self, id: ObjectId) -> Result<RangeCommit, GitError> {
        let commit = self
            .repo
            .find_commit(id)
            .map_err(self.corrupt("reading a commit of the range"))?;
        let decoded = commit.decode().map_err(|e: gix::Error| GitError::Corrupt {
            repo: self.path.clone(),
            doing: "decoding a commit of the range",
            detail: format!("{id}: {}", describe(&e)),
        })?;
        let subject = decoded
            .message
            .to_str_lossy()
            .trim_start()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        Ok(RangeCommit {
            sha: id.to_string(),
            parents: decoded.parents().map(|p| p.to_string()).collect(),
            subject,
        })
    }

    /// The files changed from `fork` to `head`, sorted by path.
    /// The paths of the files `commit` changes against its first parent (against nothing for
    /// a root commit). No rename tracking: a renamed file's old and new paths both count.
    fn touched_paths(&self, commit: ObjectId) -> Result<Vec<BString>, GitError> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(self.corrupt("reading a commit of the range"))?;
        let tree = c.tree().map_err(self.corrupt("reading a commit's tree"))?;
        let parent = match c.parent_ids().next() {
            Some(p) => Some(
                self.repo
                    .find_commit(p.detach())
                    .and_then(|pc| pc.tree())
                    .map_err(self.corrupt("reading a parent commit's tree"))?,
            ),
            None => None,
        };
        let kind = tree.id.kind();
        let old_data: &[u8] = parent.as_ref().map_or(&[], |t| t.data.as_slice());
        let mut cache = self
            .repo
            .diff_resource_cache_for_tree_diff()
            .map_err(self.corrupt("preparing the diff"))?;
        let mut paths = Vec::new();
        gix::diff::tree_with_rewrites(
            gix::objs::TreeRefIter::from_bytes(old_data, kind),
            gix::objs::TreeRefIter::from_bytes(&tree.data, kind),
            &mut cache,
            &mut Default::default(),
            &self.repo.objects,
            |change| {
                if let Some(c) = raw_change(change) {
                    paths.push(c.path);
                }
                Ok(ControlFlow::Continue(()))
            },
            DiffOptions {
                location: Some(Location::Path),
                rewrites: None,
            },
        )
        .map_err(|e| GitError::Corrupt {
            repo: self.path.clone(),
            doing: "diffing a commit against its parent",
            detail: e.to_string(),
        })?;
        Ok(paths)
    }

    fn changed_files(
        &self,
        fork: ObjectId,
        head: ObjectId,
        opts: &GitOptions,
    ) -> Result<Vec<FileFact>, GitError> {
        if fork == head {
            return Ok(Vec::new());
        }
        let old_tree = self
            .repo
            .find_commit(fork)
            .and_then(|c| c.tree())
            .map_err(self.corrupt("reading the merge base's tree"))?;
        let new_tree = self
            .repo
            .find_commit(head)
            .and_then(|c| c.tree())
            .map_err(self.corrupt("reading the head's tree"))?;
        let mut cache = self
            .repo
            .diff_resource_cache_for_tree_diff()
            .map_err(self.corrupt("preparing the diff"))?;
        let rewrites = gix::diff::Rewrites {
            copies: opts.detect_copies.then_some(Copies {
                source: CopySource::FromSetOfModifiedFiles,
                percentage: Some(RENAME_SIMILARITY),
            }),
            percentage: Some(RENAME_SIMILARITY),
            limit: RENAME_LIMIT,
            track_empty: false,
        };
        let diff_opts = DiffOptions {
            location: Some(Location::Path),
            rewrites: Some(rewrites),
        };

        let mut raw: Vec<RawChange> = Vec::new();
        let mut too_many = false;
        let result = gix::diff::tree_with_rewrites(
            gix::objs::TreeRefIter::from_bytes(&old_tree.data, old_tree.id.kind()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, new_tree.id.kind()),
            &mut cache,
            &mut Default::default(),
            &self.repo.objects,
            |change| {
                if let Some(c) = raw_change(change) {
                    if raw.len() >= opts.max_files {
                        too_many = true;
                        return Ok(ControlFlow::Break(()));
                    }
                    raw.push(c);
                }
                Ok(ControlFlow::Continue(()))
            },
            diff_opts,
        );
        if too_many {
            return Err(GitError::TooManyFiles {
                limit: opts.max_files,
            });
        }
        result.map_err(|e| GitError::Corrupt {
            repo: self.path.clone(),
            doing: "diffing the trees",
            detail: e.to_string(),
        })?;

        if opts.detect_copies {
            self.fix_copies(&mut raw, &old_tree, &new_tree, opts.max_files)?;
        }

        let max_blob = opts.max_blob_bytes.min(MAX_BLOB_BYTES_CEILING);
        let mut files = Vec::with_capacity(raw.len());
        for change in raw {
            files.push(self.file_fact(change, max_blob)?);
        }
        files.sort_by(|a, b| {
            a.path
                .cmp(&b.path)
                .then_with(|| a.raw_path.cmp(&b.raw_path))
        });
        Ok(files)
    }

    /// gix pairs a copy with its source's *new* content and then drops the source's own
    /// modification; git compares against the source's old content and still lists the source
    /// as modified. Put both back as git has them.
    fn fix_copies(
        &self,
        raw: &mut Vec<RawChange>,
        old_tree: &gix::Tree<'_>,
        new_tree: &gix::Tree<'_>,
        max_files: usize,
    ) -> Result<(), GitError> {
        let lookup = |tree: &gix::Tree<'_>, path: &BString| {
            tree.lookup_entry(path.split(|b| *b == b'/'))
                .map(|e| e.map(|e| (e.object_id(), e.mode())))
                .map_err(self.corrupt("looking up the source of a copy"))
        };
        let mut listed: HashSet<BString> = raw.iter().map(|c| c.path.clone()).collect();
        let mut restored = Vec::new();
        for change in raw.iter_mut() {
            let Some(source) = change
                .previous
                .as_ref()
                .filter(|_| change.status == Status::Copied)
            else {
                continue;
            };
            let before = lookup(old_tree, source)?;
            if before.is_some() {
                change.old = before;
            }
            if !listed.contains(source) {
                let after = lookup(new_tree, source)?;
                if let (Some(b), Some(a)) = (before, after)
                    && (b.0 != a.0 || b.1 != a.1)
                {
                    listed.insert(source.clone());
                    restored.push(RawChange {
                        path: source.clone(),
                        previous: None,
                        status: if kind_class(b.1) == kind_class(a.1) {
                            Status::Modified
                        } else {
                            Status::TypeChanged
                        },
                        old: Some(b),
                        new: Some(a),
                    });
                }
            }
        }
        raw.extend(restored);
        if raw.len() > max_files {
            return Err(GitError::TooManyFiles { limit: max_files });
        }
        Ok(())
    }

    fn file_fact(&self, change: RawChange, max_blob: u64) -> Result<FileFact, GitError> {
        let same = matches!((&change.old, &change.new), (Some((a, _)), Some((b, _))) if a == b);
        let old = self.content(change.old, max_blob)?;
        let new = if same && matches!(old, Content::Data(_)) {
            // Identical blobs: reading once is enough; the counts are 0 either way.
            Content::None
        } else {
            self.content(change.new, max_blob)?
        };
        let binary = old.is_binary() || new.is_binary();
        let (added, removed) = if binary || same {
            (0, 0)
        } else {
            count_lines(old.bytes(), new.bytes())
        };
        let path = change.path.to_str_lossy().into_owned();
        // The marker is looked for in what the file is now, or was, for a deleted file.
        let head = match (&new, &old) {
            (Content::Data(d), _) | (Content::None, Content::Data(d)) => d.as_slice(),
            _ => &[],
        };
        let generated = crate::generated::is_generated(&path, head);
        Ok(FileFact {
            path,
            previous_path: change.previous.map(|p| p.to_str_lossy().into_owned()),
            raw_path: change.path,
            commits: Vec::new(),
            status: change.status,
            added,
            removed,
            binary,
            generated,
        })
    }

    fn content(
        &self,
        side: Option<(ObjectId, EntryMode)>,
        max_blob: u64,
    ) -> Result<Content, GitError> {
        let Some((id, mode)) = side else {
            return Ok(Content::None);
        };
        if !mode.is_blob_or_symlink() {
            return Ok(Content::None);
        }
        let header = self
            .repo
            .find_header(id)
            .map_err(self.corrupt("reading a changed file"))?;
        if header.size() > max_blob {
            return Ok(Content::Large);
        }
        let object = self
            .repo
            .find_object(id)
            .map_err(self.corrupt("reading a changed file"))?;
        Ok(Content::Data(object.detach().data))
    }

    fn read_commit(&self, id: ObjectId) -> Result<CommitData, GitError> {
        let decode_error = |e: gix::Error| GitError::Corrupt {
            repo: self.path.clone(),
            doing: "decoding a commit of the range",
            detail: format!("{id}: {}", describe(&e)),
        };
        let commit = self
            .repo
            .find_commit(id)
            .map_err(self.corrupt("reading a commit of the range"))?;
        let decoded = commit.decode().map_err(decode_error)?;
        let person = |sig: gix::actor::SignatureRef<'_>| {
            Person::new(
                sig.name.to_str_lossy().trim(),
                sig.email.to_str_lossy().trim(),
            )
        };
        Ok(CommitData {
            sha: id.to_string(),
            message: decoded.message.to_str_lossy().into_owned(),
            author: person(decoded.author().map_err(decode_error)?),
            committer: person(decoded.committer().map_err(decode_error)?),
        })
    }

    fn find_ref(&self, name: &str) -> Result<Option<gix::Reference<'_>>, GitError> {
        self.repo
            .try_find_reference(name)
            .map_err(self.corrupt("reading references"))
    }
}

/// The change's entry, or `None` for trees (their files are reported one by one).
fn raw_change(change: ChangeRef<'_>) -> Option<RawChange> {
    match change {
        ChangeRef::Addition {
            location,
            entry_mode,
            id,
            ..
        } => (!entry_mode.is_tree()).then(|| RawChange {
            path: location.to_owned(),
            previous: None,
            status: Status::Added,
            old: None,
            new: Some((id, entry_mode)),
        }),
        ChangeRef::Deletion {
            location,
            entry_mode,
            id,
            ..
        } => (!entry_mode.is_tree()).then(|| RawChange {
            path: location.to_owned(),
            previous: None,
            status: Status::Deleted,
            old: Some((id, entry_mode)),
            new: None,
        }),
        ChangeRef::Modification {
            location,
            previous_entry_mode,
            previous_id,
            entry_mode,
            id,
        } => {
            let (old, new) = (
                (!previous_entry_mode.is_tree()).then_some((previous_id, previous_entry_mode)),
                (!entry_mode.is_tree()).then_some((id, entry_mode)),
            );
            let status = match (&old, &new) {
                (Some(_), Some(_)) if kind_class(previous_entry_mode) != kind_class(entry_mode) => {
                    Status::TypeChanged
                }
                (Some(_), Some(_)) => Status::Modified,
                (None, Some(_)) => Status::Added,
                (Some(_), None) => Status::Deleted,
                (None, None) => return None,
            };
            Some(RawChange {
                path: location.to_owned(),
                previous: None,
                status,
                old,
                new,
            })
        }
        ChangeRef::Rewrite {
            source_location,
            source_entry_mode,
            source_id,
            entry_mode,
            id,
            location,
            copy,
            ..
        } => Some(RawChange {
            path: location.to_owned(),
            previous: Some(source_location.to_owned()),
            status: if copy {
                Status::Copied
            } else {
                Status::Renamed
            },
            old: Some((source_id, source_entry_mode)),
            new: Some((id, entry_mode)),
        }),
    }
}

/// Regular files (executable or not), symlinks, submodules and trees are different types.
fn kind_class(mode: EntryMode) -> u8 {
    match mode.kind() {
        EntryKind::Blob | EntryKind::BlobExecutable => 0,
        EntryKind::Link => 1,
        EntryKind::Commit => 2,
        EntryKind::Tree => 3,
    }
}

/// Lines added and removed from `old` to `new`, as `git diff --numstat` counts them.
fn count_lines(old: &[u8], new: &[u8]) -> (u64, u64) {
    if old == new {
        return (0, 0);
    }
    if old.is_empty() {
        return (byte_lines(new).count() as u64, 0);
    }
    if new.is_empty() {
        return (0, byte_lines(old).count() as u64);
    }
    let input = InternedInput::new(byte_lines(old), byte_lines(new));
    let diff = Diff::compute(Algorithm::Myers, &input);
    (
        u64::from(diff.count_additions()),
        u64::from(diff.count_removals()),
    )
}

/// The commits of `parents` (each with its parent list) ordered so that parents come before
/// children: a depth-first walk from `head`, parents in order, emitting in post-order. Iterative,
/// so a long history cannot overflow the stack.
fn topological(head: ObjectId, parents: &HashMap<ObjectId, Vec<ObjectId>>) -> Vec<ObjectId> {
    let mut order = Vec::with_capacity(parents.len());
    if !parents.contains_key(&head) {
        return order;
    }
    let mut seen: HashSet<ObjectId> = HashSet::with_capacity(parents.len());
    seen.insert(head);
    let mut stack: Vec<(ObjectId, usize)> = vec![(head, 0)];
    while let Some((id, next)) = stack.last_mut() {
        let ps = parents.get(id).map(Vec::as_slice).unwrap_or_default();
        match ps.get(*next) {
            Some(p) => {
                *next += 1;
                if parents.contains_key(p) && seen.insert(*p) {
                    stack.push((*p, 0));
                }
            }
            None => {
                order.push(*id);
                stack.pop();
            }
        }
    }
    order
}

fn person_json(p: &Person) -> Value {
    json!({"name": p.name, "email": p.email, "bot": p.is_bot()})
}

fn commit_json(c: &CommitData, prov: &CommitProvenance) -> Value {
    let trailers: Vec<Value> = parse_trailers(&c.message)
        .into_iter()
        .map(|t| json!({"key": t.key, "value": t.value}))
        .collect();
    json!({
        "sha": c.sha,
        "message": c.message,
        "author": person_json(&c.author),
        "committer": person_json(&c.committer),
        "trailers": trailers,
        "ai": prov.ai.as_str(),
    })
}

/// gix's message with its chain of causes.
fn describe(e: &gix::Error) -> String {
    e.to_string()
}
