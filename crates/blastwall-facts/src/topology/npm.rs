//! npm, yarn and pnpm workspaces: packages from the workspace globs, edges from dependency names.
//!
//! The rules are in the parent module's docs.

use std::collections::{BTreeMap, BTreeSet};

use blastwall_abi::glob::Glob;
use serde_json::{Map, Value};

use super::fs::{self, Budget, ExpandError, ExpandOptions, Expanded, Files};
use super::{MAX_NODES, Node, pnpm};
use crate::error::InputError;
use crate::json::kind_of;
use crate::topo_error::{Loc, TopologyError};

const PACKAGE_JSON: &str = "package.json";
const PNPM_WORKSPACE: &str = "pnpm-workspace.yaml";

/// The `package.json` fields whose package names become edges.
const DEP_FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

/// npm and pnpm glob with `dot: false` and ignore `node_modules`.
const GLOB_OPTIONS: ExpandOptions = ExpandOptions {
    hidden: false,
    skip: &["node_modules"],
};

/// A package read from its `package.json`.
#[derive(Debug)]
struct Package {
    dir: String,
    name: String,
    /// Each dependency's name and its version specifier.
    deps: Vec<(String, String)>,
}

/// The nodes of the Node workspace under `files`' root; `None` when there is neither a
/// `pnpm-workspace.yaml` nor a `package.json` with `workspaces`.
pub(crate) fn nodes(files: &dyn Files) -> Result<Option<Vec<Node>>, TopologyError> {
    let patterns = if let Some(text) = files.read(PNPM_WORKSPACE)? {
        pnpm::packages(&text, PNPM_WORKSPACE)?
    } else {
        let Some(text) = files.read(PACKAGE_JSON)? else {
            return Ok(None);
        };
        let root = parse(&text, PACKAGE_JSON)?;
        match workspace_patterns(&root)? {
            Some(patterns) => patterns,
            None => return Ok(None),
        }
    };

    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for (pattern, at) in patterns {
        match pattern.strip_prefix('!') {
            // Anchored: like npm's and pnpm's patterns, an exclusion is relative to the root.
            Some(negated) => match Glob::new(&format!("/{}", negated.trim_start_matches("./"))) {
                Ok(glob) => exclude.push(glob),
                Err(e) => {
                    return Err(TopologyError::BadMemberPattern {
                        at,
                        pattern,
                        message: e.to_string(),
                    });
                }
            },
            None => include.push((pattern, at)),
        }
    }

    let mut dirs = BTreeSet::new();
    let mut budget = Budget::new();
    for (pattern, at) in include {
        match fs::expand(files, &pattern, GLOB_OPTIONS, &mut budget) {
            Ok(Expanded::Literal(dir)) => {
                dirs.insert(dir);
            }
            Ok(Expanded::Matches(found)) => dirs.extend(found),
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

    let mut packages = Vec::new();
    for dir in dirs {
        let manifest = fs::child(&dir, PACKAGE_JSON);
        if exclude.iter().any(|g| g.matches(&manifest)) {
            continue;
        }
        let Some(text) = files.read(&manifest)? else {
            continue;
        };
        if packages.len() >= MAX_NODES {
            return Err(TopologyError::TooMany {
                what: "workspace packages",
                limit: MAX_NODES,
            });
        }
        packages.push(read_package(dir, &manifest, &text)?);
    }

    // pnpm allows two workspace packages of one name (test fixtures often are), and npm names
    // an unnamed package after its directory, which collides more: a name held by more than
    // one package is qualified by the package's directory, `name (dir)`, rather than refused.
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in packages.iter().enumerate() {
        by_name.entry(&p.name).or_default().push(i);
    }
    let node_name = |i: usize| -> String {
        let Some(p) = packages.get(i) else {
            return String::new();
        };
        if by_name
            .get(p.name.as_str())
            .is_some_and(|all| all.len() > 1)
        {
            format!(
                "{} ({})",
                p.name,
                if p.dir.is_empty() { "." } else { &p.dir }
            )
        } else {
            p.name.clone()
        }
    };
    let by_dir: BTreeMap<&str, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.dir.as_str(), i))
        .collect();
    let nodes = packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut depends_on = Vec::new();
            for (dep, spec) in &p.deps {
                // A path specifier names its package by directory, whatever its name.
                let targets: Vec<usize> = match path_spec(spec) {
                    Some(rel) => fs::join(&p.dir, rel)
                        .and_then(|dir| by_dir.get(dir.as_str()).copied())
                        .into_iter()
                        .collect(),
                    // By name: every package of that name, since which one a duplicate name
                    // resolves to is the package manager's choice; reaching all of them errs
                    // towards a larger blast radius.
                    None => by_name.get(dep.as_str()).cloned().unwrap_or_default(),
                };
                depends_on.extend(targets.into_iter().filter(|t| *t != i).map(node_name));
            }
            Node::derived(node_name(i), "package", &p.dir, depends_on)
        })
        .collect();
    Ok(Some(nodes))
}

/// The relative path a `file:`, `link:` or `portal:` specifier (or `workspace:` followed by a
/// path) names; `None` for a version or a name.
fn path_spec(spec: &str) -> Option<&str> {
    let spec = spec.trim();
    for prefix in ["file:", "link:", "portal:"] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            return Some(rest);
        }
    }
    spec.strip_prefix("workspace:")
        .filter(|rest| rest.starts_with('.') || rest.starts_with('/'))
}

/// Parse a JSON file, naming it and the line in errors. A leading byte-order mark is skipped.
fn parse(text: &str, file: &str) -> Result<Value, TopologyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    crate::json::parse(text).map_err(|e| {
        let (line, message) = match e {
            InputError::Empty => (0, "the file is empty".to_string()),
            InputError::Truncated { line, .. } => (line, "the file ends early".to_string()),
            InputError::Syntax { line, message, .. } => (line, message),
        };
        TopologyError::Json {
            at: Loc {
                file: file.to_string(),
                line,
            },
            message,
        }
    })
}

fn wrong_type(file: &str, path: &str, expected: &'static str, found: &Value) -> TopologyError {
    TopologyError::WrongType {
        at: Loc::in_file(file),
        path: path.to_string(),
        expected,
        found: kind_of(found),
    }
}

fn object<'a>(v: &'a Value, file: &str) -> Result<&'a Map<String, Value>, TopologyError> {
    v.as_object()
        .ok_or_else(|| wrong_type(file, "(top level)", "an object", v))
}

/// The root `package.json`'s `workspaces` patterns; `None` when it has none.
fn workspace_patterns(root: &Value) -> Result<Option<Vec<(String, Loc)>>, TopologyError> {
    let list = match object(root, PACKAGE_JSON)?.get("workspaces") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(Value::Object(yarn)) => match yarn.get("packages") {
            None | Some(Value::Null) => return Ok(Some(Vec::new())),
            Some(Value::Array(list)) => list,
            Some(other) => {
                return Err(wrong_type(
                    PACKAGE_JSON,
                    "workspaces.packages",
                    "a list of globs",
                    other,
                ));
            }
        },
        Some(other) => {
            return Err(wrong_type(
                PACKAGE_JSON,
                "workspaces",
                "a list of globs or an object with `packages`",
                other,
            ));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok((s.clone(), Loc::in_file(PACKAGE_JSON))),
            other => Err(wrong_type(
                PACKAGE_JSON,
                &format!("workspaces[{i}]"),
                "a string",
                other,
            )),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Read the package in `dir` from its manifest text.
fn read_package(dir: String, manifest: &str, text: &str) -> Result<Package, TopologyError> {
    let doc = parse(text, manifest)?;
    let obj = object(&doc, manifest)?;
    let name = match obj.get("name") {
        // npm names a workspace without a `name` after its directory.
        None | Some(Value::Null) => match dir.rsplit('/').next() {
            Some(base) if !base.is_empty() => base.to_string(),
            _ => ".".to_string(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(wrong_type(manifest, "name", "a string", other)),
    };
    let mut deps = Vec::new();
    for field in DEP_FIELDS {
        match obj.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                deps.extend(m.iter().map(|(name, spec)| {
                    (name.clone(), spec.as_str().unwrap_or_default().to_string())
                }))
            }
            Some(other) => return Err(wrong_type(manifest, field, "an object", other)),
        }
    }
    Ok(Package { dir, name, deps })
}
