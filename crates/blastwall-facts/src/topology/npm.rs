//! npm, yarn and pnpm workspaces: packages from the workspace globs, edges from dependency names.
//!
//! The rules are in the parent module's docs.

use std::collections::{BTreeMap, BTreeSet, HashSet};

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
    deps: Vec<String>,
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

    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &packages {
        if let Some(first) = by_name.insert(&p.name, &p.dir) {
            return Err(TopologyError::DuplicateName {
                name: p.name.clone(),
                first: first.to_string(),
                second: p.dir.clone(),
            });
        }
    }
    let names: HashSet<&str> = by_name.keys().copied().collect();
    let nodes = packages
        .iter()
        .map(|p| {
            let depends_on = p
                .deps
                .iter()
                .filter(|d| names.contains(d.as_str()) && **d != p.name)
                .cloned()
                .collect();
            Node::derived(p.name.clone(), "package", &p.dir, depends_on)
        })
        .collect();
    Ok(Some(nodes))
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
            Some(Value::Object(m)) => deps.extend(m.keys().cloned()),
            Some(other) => return Err(wrong_type(manifest, field, "an object", other)),
        }
    }
    Ok(Package { dir, name, deps })
}
