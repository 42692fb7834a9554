//! Cargo workspaces: members from the root manifest, edges from path dependencies.
//!
//! The rules are in the parent module's docs. Each manifest is read and parsed once; members are
//! then joined to their dependencies through a map from member directory to package name, so the
//! work is linear in the size of the manifests.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::fs::{self, Budget, ExpandError, ExpandOptions, Expanded, Files};
use super::toml_read::{Item, Src, join as key_join, kind};
use super::{MAX_NODES, Node};
use crate::topo_error::{Loc, TopologyError};

/// The manifest's file name.
const MANIFEST: &str = "Cargo.toml";

/// The dependency tables of a manifest or of a `[target.<cfg>]` table, old underscore
/// spellings included.
const DEP_TABLES: [&str; 5] = [
    "dependencies",
    "dev-dependencies",
    "dev_dependencies",
    "build-dependencies",
    "build_dependencies",
];

/// Cargo's globbing (the `glob` crate's defaults) lets `*` match names starting with `.`.
const GLOB_OPTIONS: ExpandOptions = ExpandOptions {
    hidden: true,
    skip: &[],
};

/// How a member was found, for error messages.
#[derive(Debug, Clone)]
enum Why {
    Root,
    Listed(String),
    PathDependencyOf(String),
}

impl Why {
    fn describe(&self) -> String {
        match self {
            Why::Root => "the root package".to_string(),
            Why::Listed(pattern) => format!("listed as `{pattern}` in `workspace.members`"),
            Why::PathDependencyOf(name) => format!("found as a path dependency of `{name}`"),
        }
    }
}

/// What the root's `[workspace]` table says.
#[derive(Debug, Default)]
struct Workspace {
    /// `[workspace.dependencies]`: each key, and the directory of a path dependency (`None` for
    /// any other kind, or a path outside the root).
    deps: HashMap<String, Option<String>>,
    /// `workspace.exclude`, as root-relative directories.
    exclude: Vec<String>,
    /// The `workspace.members` entries without wildcards, which override `exclude`.
    literal_members: Vec<String>,
}

impl Workspace {
    /// Cargo's rule: excluded when under an `exclude` entry and under no literal member entry.
    fn excluded(&self, dir: &str) -> bool {
        self.exclude.iter().any(|e| fs::is_under(dir, e))
            && !self.literal_members.iter().any(|m| fs::is_under(dir, m))
    }
}

/// A member read from its manifest.
#[derive(Debug)]
struct Member {
    dir: String,
    name: String,
    /// Directories of its path dependencies inside the root.
    deps: Vec<String>,
}

/// The nodes of the Cargo workspace under `files`' root; `None` when there is no `Cargo.toml`.
pub(crate) fn nodes(files: &dyn Files) -> Result<Option<Vec<Node>>, TopologyError> {
    let Some(text) = files.read(MANIFEST)? else {
        return Ok(None);
    };
    let src = Src::new(MANIFEST, &text);
    let root = src.parse()?;
    let has_package = root.contains_key("package") || root.contains_key("project");

    let mut queue: VecDeque<(String, Why)> = VecDeque::new();
    if has_package {
        queue.push_back((String::new(), Why::Root));
    }
    let ws = match root.get("workspace") {
        Some(item) => read_workspace(files, &src, src.table(item, "workspace")?, &mut queue)?,
        None if has_package => Workspace::default(),
        None => {
            return Err(TopologyError::NotAPackage {
                at: Loc::in_file(MANIFEST),
            });
        }
    };

    let mut seen: HashSet<String> = HashSet::new();
    let mut members: Vec<Member> = Vec::new();
    while let Some((dir, why)) = queue.pop_front() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        if seen.len() > MAX_NODES {
            return Err(TopologyError::TooMany {
                what: "workspace members",
                limit: MAX_NODES,
            });
        }
        let member = read_member(files, &ws, dir, &why)?;
        for dep in &member.deps {
            if !seen.contains(dep) && !ws.excluded(dep) {
                queue.push_back((dep.clone(), Why::PathDependencyOf(member.name.clone())));
            }
        }
        members.push(member);
    }

    members.sort_by(|a, b| a.dir.cmp(&b.dir));
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    for m in &members {
        if let Some(first) = by_name.insert(&m.name, &m.dir) {
            return Err(TopologyError::DuplicateName {
                name: m.name.clone(),
                first: shown(first),
                second: shown(&m.dir),
            });
        }
    }
    let by_dir: HashMap<&str, &str> = members
        .iter()
        .map(|m| (m.dir.as_str(), m.name.as_str()))
        .collect();
    let nodes = members
        .iter()
        .map(|m| {
            let depends_on = m
                .deps
                .iter()
                .filter_map(|d| by_dir.get(d.as_str()).copied())
                .filter(|name| *name != m.name)
                .map(str::to_string)
                .collect();
            Node::derived(m.name.clone(), "crate", &m.dir, depends_on)
        })
        .collect();
    Ok(Some(nodes))
}

/// A directory as shown in messages.
fn shown(dir: &str) -> String {
    if dir.is_empty() {
        ".".to_string()
    } else {
        dir.to_string()
    }
}

/// Read `[workspace]`, queueing the members its `members` entries name.
fn read_workspace(
    files: &dyn Files,
    src: &Src<'_>,
    table: &DeTable<'_>,
    queue: &mut VecDeque<(String, Why)>,
) -> Result<Workspace, TopologyError> {
    let mut ws = Workspace::default();
    if let Some(item) = table.get("exclude") {
        for (entry, _) in src.str_list(item, "workspace.exclude")? {
            if let Some(dir) = fs::join("", &entry) {
                ws.exclude.push(dir);
            }
        }
    }
    if let Some(item) = table.get("dependencies") {
        for (key, spec) in src.table(item, "workspace.dependencies")? {
            let key: &str = key.get_ref();
            let path = key_join("workspace.dependencies", key);
            let dir = match spec.get_ref() {
                DeValue::Table(t) => match t.get("path") {
                    Some(p) => resolve(files, "", src.string(p, &key_join(&path, "path"))?),
                    None => None,
                },
                DeValue::String(_) => None,
                other => return Err(not_a_dependency(src, spec, &path, other)),
            };
            ws.deps.insert(key.to_string(), dir);
        }
    }
    let Some(item) = table.get("members") else {
        return Ok(ws);
    };
    let patterns = src.str_list(item, "workspace.members")?;
    for (pattern, _) in &patterns {
        if !pattern.contains(['*', '?', '['])
            && let Some(dir) = fs::join("", pattern)
        {
            ws.literal_members.push(dir);
        }
    }
    let mut budget = Budget::new();
    for (pattern, at) in patterns {
        match fs::expand(files, &pattern, GLOB_OPTIONS, &mut budget) {
            Ok(Expanded::Literal(dir)) => queue.push_back((dir, Why::Listed(pattern))),
            Ok(Expanded::Matches(dirs)) if dirs.is_empty() => {
                return Err(TopologyError::MemberPatternMatchesNothing { at, pattern });
            }
            Ok(Expanded::Matches(dirs)) => {
                for dir in dirs {
                    if !ws.excluded(&dir) {
                        queue.push_back((dir, Why::Listed(pattern.clone())));
                    }
                }
            }
            Err(ExpandError::Pattern(message)) => {
                return Err(TopologyError::BadMemberPattern {
                    at,
                    pattern,
                    message,
                });
            }
            Err(ExpandError::OutsideRoot) => {
                return Err(TopologyError::OutsideRoot { at, path: pattern });
            }
            Err(ExpandError::Failed(e)) => return Err(e),
        }
    }
    Ok(ws)
}

/// Read the member in `dir`: its name and the directories of its path dependencies.
fn read_member(
    files: &dyn Files,
    ws: &Workspace,
    dir: String,
    why: &Why,
) -> Result<Member, TopologyError> {
    let manifest = fs::child(&dir, MANIFEST);
    let Some(text) = files.read(&manifest)? else {
        return Err(TopologyError::MissingManifest {
            path: manifest,
            referenced_by: why.describe(),
        });
    };
    let src = Src::new(&manifest, &text);
    let doc = src.parse()?;
    let Some(package) = doc.get("package").or_else(|| doc.get("project")) else {
        return Err(TopologyError::NotAPackage {
            at: Loc::in_file(manifest.as_str()),
        });
    };
    let name_item = src.table(package, "package")?.get("name");
    let name = match name_item.map(|n| (n, n.get_ref())) {
        None => {
            return Err(TopologyError::MissingKey {
                at: src.at(package),
                path: "package.name".to_string(),
            });
        }
        Some((_, DeValue::String(name))) => name.to_string(),
        Some((item, DeValue::Table(_))) => {
            return Err(TopologyError::InheritedName { at: src.at(item) });
        }
        Some((item, other)) => {
            return Err(TopologyError::WrongType {
                at: src.at(item),
                path: "package.name".to_string(),
                expected: "a string",
                found: kind(other),
            });
        }
    };

    let mut deps = Vec::new();
    dependencies(files, ws, &src, &doc, "", &dir, &mut deps)?;
    if let Some(target) = doc.get("target") {
        for (cfg, table) in src.table(target, "target")? {
            let prefix = key_join("target", cfg.get_ref());
            let table = src.table(table, &prefix)?;
            dependencies(files, ws, &src, table, &prefix, &dir, &mut deps)?;
        }
    }
    Ok(Member { dir, name, deps })
}

/// Collect the directories of the path dependencies in the dependency tables of `table`.
fn dependencies(
    files: &dyn Files,
    ws: &Workspace,
    src: &Src<'_>,
    table: &DeTable<'_>,
    prefix: &str,
    dir: &str,
    out: &mut Vec<String>,
) -> Result<(), TopologyError> {
    for section in DEP_TABLES {
        let Some(item) = table.get(section) else {
            continue;
        };
        let section_path = key_join(prefix, section);
        for (key, spec) in src.table(item, &section_path)? {
            let key: &str = key.get_ref();
            let path = key_join(&section_path, key);
            let spec_table = match spec.get_ref() {
                DeValue::Table(t) => t,
                DeValue::String(_) => continue,
                other => return Err(not_a_dependency(src, spec, &path, other)),
            };
            if let Some(p) = spec_table.get("path") {
                let rel = src.string(p, &key_join(&path, "path"))?;
                out.extend(resolve(files, dir, rel));
            } else if let Some(w) = spec_table.get("workspace")
                && src.bool(w, &key_join(&path, "workspace"))?
            {
                match ws.deps.get(key) {
                    Some(dep_dir) => out.extend(dep_dir.iter().cloned()),
                    None => {
                        return Err(TopologyError::UnknownWorkspaceDependency {
                            at: src.at(spec),
                            dependency: key.to_string(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// The root-relative directory a `path` written in the manifest in `dir` names, when it lies
/// under the root.
fn resolve(files: &dyn Files, dir: &str, rel: &str) -> Option<String> {
    let path = Path::new(rel);
    if path.is_absolute() {
        files.relative(path)
    } else {
        fs::join(dir, rel)
    }
}

fn not_a_dependency(src: &Src<'_>, spec: &Item<'_>, path: &str, v: &DeValue<'_>) -> TopologyError {
    TopologyError::WrongType {
        at: src.at(spec),
        path: path.to_string(),
        expected: "a version string or a table",
        found: kind(v),
    }
}
