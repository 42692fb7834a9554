//! The hand-written topology file (`blastwall-topology.toml`); the rules are in the parent
//! module's docs.

use std::collections::HashSet;

use blastwall_abi::glob::Glob;
use toml::de::DeTable;

use super::toml_read::{Src, join};
use super::{DEFAULT_TIER, MAX_NODES, MAX_TIER, MIN_TIER, Node, closest};
use crate::topo_error::TopologyError;

/// The keys a service may have.
const SERVICE_KEYS: [&str; 5] = ["owner", "tier", "paths", "depends_on", "kind"];

/// The nodes the topology file `text` declares; `file` names it in errors (empty when unknown).
pub(crate) fn nodes(text: &str, file: &str) -> Result<Vec<Node>, TopologyError> {
    let src = Src::new(file, text);
    let doc = src.parse()?;
    for (spanned, _) in &doc {
        let key: &str = spanned.get_ref();
        if key != "services" {
            return Err(TopologyError::UnknownKey {
                at: src.at(spanned),
                table: "(top level)".to_string(),
                key: key.to_string(),
                help: Some(match closest(key, ["services"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "the only top-level table is `[services.NAME]`".to_string(),
                }),
            });
        }
    }
    let Some(services) = doc.get("services") else {
        return Ok(Vec::new());
    };
    let services = src.table(services, "services")?;
    if services.len() > MAX_NODES {
        return Err(TopologyError::TooMany {
            what: "services",
            limit: MAX_NODES,
        });
    }
    let names: HashSet<&str> = services.iter().map(|(k, _)| k.get_ref().as_ref()).collect();

    let mut nodes = Vec::with_capacity(services.len());
    for (name_key, item) in services {
        let name: &str = name_key.get_ref();
        if name.is_empty() {
            return Err(TopologyError::EmptyName {
                at: src.at(name_key),
            });
        }
        let path = join("services", name);
        let table = src.table(item, &path)?;
        check_keys(&src, table, &path)?;

        let owner = match table.get("owner") {
            Some(v) => src.string(v, &join(&path, "owner"))?.to_string(),
            None => String::new(),
        };
        let kind = match table.get("kind") {
            Some(v) => src.string(v, &join(&path, "kind"))?.to_string(),
            None => "service".to_string(),
        };
        let tier = match table.get("tier") {
            Some(v) => match src.int(v, &join(&path, "tier"))? {
                Some(t) if (MIN_TIER..=MAX_TIER).contains(&t) => t,
                value => {
                    return Err(TopologyError::TierOutOfRange {
                        at: src.at(v),
                        service: name.to_string(),
                        tier: value.map_or_else(|| "(too large)".to_string(), |t| t.to_string()),
                    });
                }
            },
            None => DEFAULT_TIER,
        };
        let mut paths = Vec::new();
        if let Some(v) = table.get("paths") {
            for (pattern, at) in src.str_list(v, &join(&path, "paths"))? {
                if let Err(e) = Glob::new(&pattern) {
                    return Err(TopologyError::BadGlob {
                        at,
                        service: name.to_string(),
                        pattern,
                        message: e.to_string(),
                    });
                }
                paths.push(pattern);
            }
        }
        let mut depends_on = Vec::new();
        if let Some(v) = table.get("depends_on") {
            for (dep, at) in src.str_list(v, &join(&path, "depends_on"))? {
                if !names.contains(dep.as_str()) {
                    let help = match closest(&dep, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "declare it with `[services.{}]`",
                            super::toml_read::key(&dep)
                        ),
                    };
                    return Err(TopologyError::UndeclaredDependency {
                        at,
                        service: name.to_string(),
                        dependency: dep,
                        help: Some(help),
                    });
                }
                depends_on.push(dep);
            }
        }
        nodes.push(Node {
            name: name.to_string(),
            kind,
            tier,
            owner,
            paths,
            depends_on,
        });
    }
    Ok(nodes)
}

/// Reject keys a service does not have.
fn check_keys(src: &Src<'_>, table: &DeTable<'_>, path: &str) -> Result<(), TopologyError> {
    for (key, _) in table {
        let key_str: &str = key.get_ref();
        if !SERVICE_KEYS.contains(&key_str) {
            let help = match closest(key_str, SERVICE_KEYS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("a service has the keys {}", known_keys()),
            };
            return Err(TopologyError::UnknownKey {
                at: src.at(key),
                table: path.to_string(),
                key: key_str.to_string(),
                help: Some(help),
            });
        }
    }
    Ok(())
}

fn known_keys() -> String {
    SERVICE_KEYS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
