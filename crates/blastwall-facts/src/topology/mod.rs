//! The service graph blast radius is computed over: the `topology` document.
//!
//! The document is `{ "nodes": [ {name, kind, tier, owner, paths, depends_on}, … ] }`, shaped as
//! [`blastwall_abi::schema::TOPOLOGY`]. Every field of every node is written; nodes are sorted by
//! name and each `depends_on` is sorted and free of repeats. A cycle in `depends_on` is not an
//! error: the engine's graph walk handles cycles.
//!
//! # Sources
//!
//! - [`topology_from_toml`]: a hand-written topology file (see below).
//! - [`topology_from_cargo`]: derived from a Cargo workspace, with no configuration.
//! - [`topology_from_node`]: derived from an npm, yarn or pnpm workspace.
//! - [`topology_auto`]: the first of these that applies to a directory.
//! - [`nodes_for_paths`]: the nodes a set of changed paths touches (`change.services`).
//!
//! # Topology file
//!
//! ```toml
//! [services.payments]
//! owner = "@org/payments"          # optional, default ""
//! tier = 1                         # optional, 1..=5, default 3
//! paths = ["services/payments/**"] # optional, globs as in blastwall_abi::glob
//! depends_on = ["db", "auth"]      # optional, names of declared services
//! kind = "service"                 # optional, default "service"
//! ```
//!
//! The only top-level key is `services`, and a service has only the keys shown; any other key is
//! an error, with a suggestion when a known key is close. A `depends_on` entry must name a
//! declared service, every path must be a valid glob, and a tier must lie in 1..=5. A service
//! with no `paths` is allowed (a database, an external API): it is a node changes never touch
//! directly but that others depend on.
//!
//! # Cargo workspaces
//!
//! The members are found as cargo finds them, read from the manifests alone (no `cargo`
//! process, no network):
//! - the root `Cargo.toml`'s package, when it has one (a root that is both a package and a
//!   workspace is a member, and a plain package is a workspace of one);
//! - each `workspace.members` entry, as a directory path or a glob (`*`, `?`, `[…]` within one
//!   path segment, `**` for any depth; `*` matches names starting with `.` as cargo's does). A
//!   directory a glob matches is dropped when it lies under a `workspace.exclude` entry (a plain
//!   path prefix, as in cargo) and no member entry names it literally. A glob that matches no
//!   directory is an error, as it is for cargo, and so is a member directory with no manifest;
//! - every path dependency of a member that lies under the root and is not excluded: cargo
//!   makes these members implicitly.
//!
//! A member entry that leads outside the root directory is an error: cargo allows one (with
//! `package.workspace`), but its files could not be named by root-relative `paths`. A path
//! dependency outside the root is not a member and gives no edge.
//!
//! Each member becomes a node: `name` is `package.name` (it cannot be inherited with
//! `workspace = true`; that is an error, as it is for cargo), `kind` is `crate`, `tier` 3,
//! `owner` empty, and `paths` is `<member dir>/**` (`**` for a root package, which does contain
//! the whole tree). `depends_on` names the members a member depends on through a `path`
//! dependency, or a `workspace = true` dependency whose `[workspace.dependencies]` entry has a
//! `path`, in `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` (and their old
//! underscore spellings) and the same tables under `[target.<cfg>]`.
//!
//! **Dev-dependencies count.** A change to a crate can break the tests of the crates that
//! dev-depend on it, so they are in its blast radius. Build-dependencies count for the same
//! reason. `[patch]` and `[replace]` are not read: they redirect registry dependencies, which
//! this adapter does not follow.
//!
//! # Node workspaces
//!
//! The package patterns come from `pnpm-workspace.yaml` (`packages:`) when that file exists,
//! since pnpm ignores `package.json` workspaces, else from the root `package.json`'s
//! `workspaces` (a list of globs, or yarn's `{ "packages": […] }`). A pattern starting with `!`
//! excludes the packages whose `package.json` it matches, read as a [`Glob`] anchored at the
//! root; exclusions apply wherever they stand in the list (npm lets a later pattern include a
//! package again; that rare form is not supported). Globs are expanded as above, except
//! that, as in npm and pnpm, `*` does not match names starting with `.` and `node_modules` is
//! never entered. A matched directory without a `package.json` is skipped, as npm skips it. The
//! root package itself is not a node.
//!
//! Each package becomes a node: `name` is the package's `name` (its directory's name when it has
//! none), `kind` is `package`, `paths` is `<dir>/**`, and `depends_on` names the workspace
//! packages listed in `dependencies`, `devDependencies`, `peerDependencies` or
//! `optionalDependencies`, whatever version range they give (a range the workspace copy does not
//! satisfy is rare and counting it only widens the blast radius). A `file:`, `link:` or
//! `portal:` specifier (or `workspace:` followed by a path) names the package in that directory,
//! whatever its name. A name more than one package holds — pnpm allows it, test fixtures do it,
//! and unnamed packages in folders of one name collide — is qualified by directory, `name
//! (dir)`, for each of them; a dependency on such a name reaches all of them.
//!
//! `pnpm-workspace.yaml` is read without a YAML library: only its top-level `packages:` key is
//! interpreted, and other top-level keys and everything indented under them are skipped. The
//! list must be a block sequence (`- item`, one per line, indented or not) or a one-line flow
//! sequence (`['a/*', "b"]`); an item is a plain scalar (up to a ` #` comment), a single-quoted
//! scalar (`''` for a quote) or a double-quoted one with the escapes `\\`, `\"`, `\/`, `\t`,
//! `\n`. Anything else under `packages:` (tags, anchors, aliases, block scalars, nested
//! collections, multi-line scalars, tabs for indentation) is an error, never a silent guess. One
//! dependency-free parser for a ten-line file is cheaper to trust than a YAML crate.
//!
//! # Bounds
//!
//! At most [`MAX_NODES`] nodes and [`MAX_EXPANSIONS`] directories visited while expanding member
//! globs; more is an error. Manifests are read once each, so deriving a topology costs time
//! linear in the number of members and their dependencies.
//!
//! # Files
//!
//! Unlike the other adapters, the Cargo and Node readers and [`topology_auto`] read files under
//! the root they are given, because a workspace is a tree of files. They only read: a file that
//! cannot be read (other than one that does not exist), or is not UTF-8, is an error. Paths in
//! errors and in `paths` are relative to the root and `/`-separated; directory names that hold
//! glob characters are escaped in `paths`.

mod cargo;
mod file;
mod fs;
mod npm;
mod pnpm;
pub(crate) mod toml_read;

use std::collections::BTreeSet;
use std::path::Path;

use blastwall_abi::glob::Glob;
use serde_json::{Value, json};

use crate::topo_error::TopologyError;
use fs::Disk;

/// The most nodes a topology may have.
pub const MAX_NODES: usize = 10_000;

/// The most directories visited while expanding the member globs of one workspace.
pub const MAX_EXPANSIONS: usize = 10_000;

/// The topology file [`topology_auto`] looks for at the root.
pub const TOPOLOGY_FILE: &str = "blastwall-topology.toml";

/// The most critical tier.
pub const MIN_TIER: i64 = 1;

/// The least critical tier.
pub const MAX_TIER: i64 = 5;

/// The tier of a node that does not say.
pub const DEFAULT_TIER: i64 = 3;

/// One node before it is written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub kind: String,
    pub tier: i64,
    pub owner: String,
    pub paths: Vec<String>,
    pub depends_on: Vec<String>,
}

impl Node {
    /// A derived node (crate or package) owning everything under `dir`.
    fn derived(name: String, kind: &str, dir: &str, depends_on: Vec<String>) -> Node {
        Node {
            name,
            kind: kind.to_string(),
            tier: DEFAULT_TIER,
            owner: String::new(),
            paths: vec![dir_glob(dir)],
            depends_on,
        }
    }
}

/// Write `nodes` as a `topology` document: sorted by name, `depends_on` sorted and deduplicated.
fn document(mut nodes: Vec<Node>) -> Value {
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|mut n| {
            n.depends_on.sort();
            n.depends_on.dedup();
            json!({
                "name": n.name,
                "kind": n.kind,
                "tier": n.tier,
                "owner": n.owner,
                "paths": n.paths,
                "depends_on": n.depends_on,
            })
        })
        .collect();
    json!({ "nodes": nodes })
}

/// The glob owning everything under the root-relative directory `dir`.
fn dir_glob(dir: &str) -> String {
    if dir.is_empty() {
        return "**".to_string();
    }
    let mut out = String::with_capacity(dir.len() + 3);
    for c in dir.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("/**");
    out
}

/// Read a topology file (see the module docs) and build the `topology` document.
pub fn topology_from_toml(text: &str) -> Result<Value, TopologyError> {
    file::nodes(text, "").map(document)
}

/// Derive the `topology` document of the Cargo workspace whose root manifest is
/// `root/Cargo.toml` (see the module docs).
pub fn topology_from_cargo(root: &Path) -> Result<Value, TopologyError> {
    match cargo::nodes(&Disk::new(root))? {
        Some(nodes) => Ok(document(nodes)),
        None => Err(TopologyError::NoWorkspace {
            root: root.display().to_string(),
            what: "`Cargo.toml`",
        }),
    }
}

/// Derive the `topology` document of the npm, yarn or pnpm workspace at `root` (see the module
/// docs).
pub fn topology_from_node(root: &Path) -> Result<Value, TopologyError> {
    match npm::nodes(&Disk::new(root))? {
        Some(nodes) => Ok(document(nodes)),
        None => Err(TopologyError::NoWorkspace {
            root: root.display().to_string(),
            what: "`pnpm-workspace.yaml`, or `package.json` with `workspaces`,",
        }),
    }
}

/// The topology of the repository at `root`: its [`TOPOLOGY_FILE`] if present, else its Cargo
/// workspace (a root `Cargo.toml`), else its Node workspace, else `None`.
///
/// The first source present decides: an error in it is returned, not skipped in favour of the
/// next, so a broken manifest never silently yields a smaller graph.
pub fn topology_auto(root: &Path) -> Result<Option<Value>, TopologyError> {
    auto(&Disk::new(root))
}

/// [`topology_auto`] over a commit's tree: the topology file and workspace manifests as the
/// commit holds them, whatever the working tree holds.
pub fn topology_at(snapshot: &crate::git::Snapshot<'_>) -> Result<Option<Value>, TopologyError> {
    auto(snapshot)
}

fn auto(disk: &dyn fs::Files) -> Result<Option<Value>, TopologyError> {
    if let Some(text) = disk.read(TOPOLOGY_FILE)? {
        return file::nodes(&text, TOPOLOGY_FILE).map(|n| Some(document(n)));
    }
    if let Some(nodes) = cargo::nodes(disk)? {
        return Ok(Some(document(nodes)));
    }
    Ok(npm::nodes(disk)?.map(document))
}

/// Complete a topology from the repository's own settings: every node whose name matches a
/// glob of `tiers` (the first that matches, `*` any run of characters) gets that tier, and
/// every node derived from a workspace (a crate or a package) without an `owner` gets the
/// first code owner of its manifest (`Cargo.toml` for a crate, `package.json` for a package)
/// as `owners` gives it. Nodes of a written topology keep the owners it gives them. A derived topology knows neither, which left every node at
/// tier 3 with no owner, and the rules about critical services with nothing to act on.
pub fn complete_topology(
    topology: &mut Value,
    tiers: &[(String, i64)],
    owners: Option<&crate::Codeowners>,
) {
    let Some(nodes) = topology.get_mut("nodes").and_then(Value::as_array_mut) else {
        return;
    };
    for node in nodes {
        let name = node
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some((_, tier)) = tiers
            .iter()
            .find(|(glob, _)| crate::env::wildcard_match(glob, &name))
            && let Some(m) = node.as_object_mut()
        {
            m.insert("tier".into(), json!(tier));
        }
        let has_owner = node
            .get("owner")
            .and_then(Value::as_str)
            .is_some_and(|o| !o.is_empty());
        if let (false, Some(co)) = (has_owner, owners) {
            let dir = node
                .get("paths")
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
                .and_then(|p| p.strip_suffix("/**"))
                .map(str::to_string);
            // Only derived nodes: a written topology says who owns what, and a node it leaves
            // without an owner is left so.
            let manifest = match node.get("kind").and_then(Value::as_str) {
                Some("crate") => Some("Cargo.toml"),
                Some("package") => Some("package.json"),
                _ => None,
            };
            if let (Some(dir), Some(manifest)) = (dir, manifest) {
                let path = format!("{dir}/{manifest}");
                let (per_path, _) = crate::owners_facts(co, &[path.as_str()]);
                if let Some(first) = per_path.first().and_then(|(_, o)| o.first())
                    && let Some(m) = node.as_object_mut()
                {
                    m.insert("owner".into(), json!(first));
                }
            }
        }
    }
}

/// The names of the nodes of `topology` with a `paths` glob matching any of `paths`, sorted and
/// without repeats: the value of `change.services`.
///
/// `topology` is a `topology` document such as the functions of this module build. Nodes without
/// a string `name`, and `paths` entries that are not valid globs, match nothing (the builders of
/// this module never write either).
pub fn nodes_for_paths(topology: &Value, paths: &[&str]) -> Vec<String> {
    let Some(nodes) = topology.get("nodes").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut hit = BTreeSet::new();
    for node in nodes {
        let Some(name) = node.get("name").and_then(Value::as_str) else {
            continue;
        };
        let globs: Vec<Glob> = node
            .get("paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|p| Glob::new(p).ok())
            .collect();
        if paths.iter().any(|p| globs.iter().any(|g| g.matches(p))) {
            hit.insert(name.to_string());
        }
    }
    hit.into_iter().collect()
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance over `char`s.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        let mut row = cur.iter_mut();
        let mut left = i + 1;
        if let Some(first) = row.next() {
            *first = left;
        }
        for ((cb, slot), (diag, up)) in b.iter().zip(row).zip(prev.iter().zip(prev.iter().skip(1)))
        {
            let cost = usize::from(ca != *cb);
            left = (diag + cost).min(up + 1).min(left + 1);
            *slot = left;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("depend_on", "depends_on"), 1);
        assert_eq!(closest("tierr", ["tier", "owner"]), Some("tier"));
        assert_eq!(closest("zzz", ["tier", "owner"]), None);
    }

    #[test]
    fn dir_globs_escape_glob_characters() {
        assert_eq!(dir_glob(""), "**");
        assert_eq!(dir_glob("crates/a"), "crates/a/**");
        let g = dir_glob("odd[1]/x*");
        assert_eq!(g, "odd\\[1\\]/x\\*/**");
        let glob = Glob::new(&g).ok();
        assert!(glob.is_some_and(|g| g.matches("odd[1]/x*/src/lib.rs") && !g.matches("odd1/xy/a")));
    }
}
