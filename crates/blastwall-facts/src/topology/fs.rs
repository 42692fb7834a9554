//! The few file operations workspace discovery needs, and member-glob expansion over them.
//!
//! Paths here are relative to the workspace root, `/`-separated, without `.` or `..` segments
//! and without a leading or trailing `/`; the root itself is the empty string.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use blastwall_abi::glob::Glob;

use super::MAX_EXPANSIONS;
use crate::topo_error::TopologyError;

/// Read access to a workspace tree.
pub(crate) trait Files {
    /// The text of the file `rel`; `None` when there is no such file.
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError>;
    /// The names of the directories directly inside `rel`, sorted; empty when `rel` is not a
    /// directory. Names that are not UTF-8 are left out.
    fn subdirs(&self, rel: &str) -> Result<Vec<String>, TopologyError>;
    /// Whether `rel` is a directory.
    fn is_dir(&self, rel: &str) -> bool;
    /// The root-relative form of the absolute path `abs`, when it lies under the root.
    fn relative(&self, abs: &Path) -> Option<String>;
}

/// The real file system under a root directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Disk<'a> {
    root: &'a Path,
}

impl<'a> Disk<'a> {
    pub fn new(root: &'a Path) -> Disk<'a> {
        Disk { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.to_path_buf()
        } else {
            self.root.join(rel)
        }
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> TopologyError {
    TopologyError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Files for Disk<'_> {
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError> {
        let path = self.path(rel);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    fn subdirs(&self, rel: &str) -> Result<Vec<String>, TopologyError> {
        let path = self.path(rel);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(io_error(&path, &e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&path, &e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let file_type = entry.file_type().map_err(|e| io_error(&entry.path(), &e))?;
            // A symbolic link counts as what it points to, as in cargo's and npm's globbing.
            let dir = file_type.is_dir() || (file_type.is_symlink() && entry.path().is_dir());
            if dir {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.path(rel).is_dir()
    }

    fn relative(&self, abs: &Path) -> Option<String> {
        let rest = lexical(abs)
            .strip_prefix(lexical(self.root))
            .ok()?
            .to_path_buf();
        let parts: Option<Vec<&str>> = rest
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        parts.map(|p| p.join("/"))
    }
}

/// The largest manifest read from a commit's tree; a larger one is an error, never cut short.
const MAX_TREE_FILE_BYTES: u64 = 64 << 20;

/// A commit's tree: manifests as they were committed, not as the working tree holds them.
impl Files for crate::git::Snapshot<'_> {
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError> {
        crate::git::Snapshot::read(self, rel, MAX_TREE_FILE_BYTES).map_err(|e| TopologyError::Io {
            path: rel.to_string(),
            message: e.to_string(),
        })
    }

    fn subdirs(&self, rel: &str) -> Result<Vec<String>, TopologyError> {
        crate::git::Snapshot::subdirs(self, rel).map_err(|e| TopologyError::Io {
            path: rel.to_string(),
            message: e.to_string(),
        })
    }

    fn is_dir(&self, rel: &str) -> bool {
        crate::git::Snapshot::is_dir(self, rel).unwrap_or(false)
    }

    /// An absolute path names a place on some machine's disk, never a place in a tree.
    fn relative(&self, _abs: &Path) -> Option<String> {
        None
    }
}

/// `path` with `.` removed and `..` applied to the components before it.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `base` joined with the `/`-separated relative path `rel`, with `.` and `..` applied;
/// `None` when the result would leave the root. A `\` counts as a separator too, since
/// manifests written on Windows use it.
pub(crate) fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// `rel` inside `dir`.
pub(crate) fn child(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether `path` is `dir` or lies under it.
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// How member globs are expanded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpandOptions {
    /// Whether `*`, `?`, `[…]` and `**` match names starting with `.`.
    pub hidden: bool,
    /// Directory names never entered by a wildcard.
    pub skip: &'static [&'static str],
}

/// What a member pattern expanded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expanded {
    /// The pattern has no wildcard: this path, which may not exist.
    Literal(String),
    /// The existing directories the glob matches, sorted.
    Matches(Vec<String>),
}

/// Why a pattern could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// Not a valid glob; the message says why.
    Pattern(String),
    /// The pattern is absolute or climbs out of the root.
    OutsideRoot,
    /// The expansion budget ran out, or a directory could not be read.
    Failed(TopologyError),
}

/// Counts directories visited against [`MAX_EXPANSIONS`].
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
}

impl Budget {
    pub fn new() -> Budget {
        Budget {
            left: MAX_EXPANSIONS,
        }
    }

    fn spend(&mut self) -> Result<(), ExpandError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(ExpandError::Failed(TopologyError::TooMany {
                what: "directories visited expanding workspace member globs",
                limit: MAX_EXPANSIONS,
            })),
        }
    }
}

fn is_wild(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// Expand a member pattern such as `crates/*` or `packages/**` under the root.
///
/// A segment with `*`, `?` or `[` is a wildcard matched against directory names with
/// [`Glob`]'s rules for one segment; a segment that is exactly `**` matches any number of
/// directories, none included. Trailing and doubled `/` and `.` segments are ignored, and `..`
/// climbs (never above the root).
pub(crate) fn expand(
    files: &dyn Files,
    pattern: &str,
    opts: ExpandOptions,
    budget: &mut Budget,
) -> Result<Expanded, ExpandError> {
    if pattern.starts_with('/') || Path::new(pattern).is_absolute() {
        return Err(ExpandError::OutsideRoot);
    }
    let segments: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if !segments.iter().any(|s| is_wild(s)) {
        return join("", pattern)
            .map(Expanded::Literal)
            .ok_or(ExpandError::OutsideRoot);
    }
    let mut found: Vec<String> = vec![String::new()];
    for segment in segments {
        let mut next = Vec::new();
        if segment == "**" {
            for start in found {
                let mut stack = vec![start];
                while let Some(dir) = stack.pop() {
                    budget.spend()?;
                    for name in files.subdirs(&dir).map_err(ExpandError::Failed)? {
                        if entered(&name, opts) {
                            stack.push(child(&dir, &name));
                        }
                    }
                    next.push(dir);
                }
            }
        } else if is_wild(segment) {
            let glob = Glob::new(segment).map_err(|e| ExpandError::Pattern(e.to_string()))?;
            let dot_ok = opts.hidden || segment.starts_with('.');
            for dir in found {
                for name in files.subdirs(&dir).map_err(ExpandError::Failed)? {
                    budget.spend()?;
                    let visible = dot_ok || !name.starts_with('.');
                    if visible && !opts.skip.contains(&name.as_str()) && glob.matches(&name) {
                        next.push(child(&dir, &name));
                    }
                }
            }
        } else if segment == ".." {
            for dir in found {
                next.push(join(&dir, "..").ok_or(ExpandError::OutsideRoot)?);
            }
        } else {
            next = found.iter().map(|dir| child(dir, segment)).collect();
        }
        next.sort();
        next.dedup();
        found = next;
    }
    // A literal segment after a wildcard may name nothing; like a glob, keep what exists.
    found.retain(|dir| files.is_dir(dir));
    Ok(Expanded::Matches(found))
}

/// Whether a `**` walk enters the directory `name`.
fn entered(name: &str, opts: ExpandOptions) -> bool {
    (opts.hidden || !name.starts_with('.')) && !opts.skip.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join("crates/a", "../b").as_deref(), Some("crates/b"));
        assert_eq!(
            join("crates/a", "./x/./y/").as_deref(),
            Some("crates/a/x/y")
        );
        assert_eq!(join("", "a\\b").as_deref(), Some("a/b"));
        assert_eq!(join("a", "../..").as_deref(), None);
        assert_eq!(join("a", "..").as_deref(), Some(""));
        assert!(is_under("crates/a/b", "crates/a"));
        assert!(is_under("crates/a", "crates/a"));
        assert!(!is_under("crates/ab", "crates/a"));
        assert!(is_under("x", ""));
    }
}
