//! Terraform plans (`terraform show -json PLANFILE`) as `plan` documents.
//!
//! # Rules
//!
//! **Format versions.** Every `format_version` `0.x` and `1.x` is read (Terraform promises that
//! minor versions only add fields). Any other major version, a missing version or one that is not
//! `MAJOR.MINOR` is an error, as is Terraform *state* passed where a plan is expected, JSON that is
//! empty, truncated or malformed, and any plan field of the wrong JSON type.
//!
//! **Resources.** Each entry of `resource_changes` becomes a `Resource` in `plan.resources`, and
//! each entry of `resource_drift` (changes made outside Terraform) one in `plan.drift`, in file
//! order:
//!
//! | `change.actions`      | `action`  | `replace_order` |
//! |-----------------------|-----------|-----------------|
//! | `["create"]`          | `create`  | `none`          |
//! | `["update"]`          | `update`  | `none`          |
//! | `["delete"]`          | `delete`  | `none`          |
//! | `["delete","create"]` | `replace` | `delete_first`  |
//! | `["create","delete"]` | `replace` | `create_first`  |
//! | `["create","forget"]` | `replace` | `create_first`  |
//! | `["read"]`            | `read`    | `none`          |
//! | `["no-op"]`           | `no-op`   | `none`          |
//! | `["forget"]`          | `forget`  | `none`          |
//!
//! Any other list is an error naming the resource. (`["create","forget"]` is a replace in which
//! Terraform forgets the old object instead of destroying it; it is reported as a replace because a
//! rule about replacements should see it.)
//!
//! - `address` is the entry's `address`. Some entries (notably drift in Terraform 1.0 plans) have
//!   none; the address is then rebuilt from `module_address`, `mode` (`data.` for data sources),
//!   `type`, `name` and `index` (`[0]` or `["key"]`), as Terraform writes it.
//! - `reason` is `action_reason` (empty when absent: formats before 1.0 have none), `module` is
//!   `module_address` (empty for the root module), `provider` is `provider_name`, and
//!   `previous_address` (a `moved` block) is copied when present.
//! - `tags` come from the tag and label attributes of the object after the change — `tags`,
//!   then keys only `tags_all` has (provider default tags), Google `labels`, `user_labels`
//!   (also inside Cloud SQL's `settings` block), `resource_labels`, `effective_labels`,
//!   `terraform_labels`, and the Kubernetes provider's `metadata` `labels` — the first spelling
//!   of a key kept; for a `delete` or `forget` the object before the change is used, and when
//!   the preferred side has no tags the other side is tried. A map becomes `{key, value}` pairs
//!   with values as strings; a list of `"key:value"` strings (the Datadog style) is split at the
//!   first `:`, and a list of `{key, value}` objects (an Auto Scaling group's `tag` blocks) gives
//!   their pairs.
//!
//! **Environment.** A resource's `env` follows the one rule of [`crate::env`]: it is
//! `production` when *any* of these means production —
//!
//! - on either side of the change (a replace destroys the `before` object whatever `after`
//!   says), a tag or label whose key means environment (`env`, `Environment`, `env_name`,
//!   `deployment_environment`, `Stage`, …) or names the object (`Name`, `tier`, `cluster`, …);
//! - an attribute that names the object: `id`, `bucket`, `namespace`, `project`, and any whose
//!   key has a naming or environment word (`name`, `identifier`, `cluster_identifier`,
//!   `db_name`, …), also inside `settings` and `metadata`;
//! - the module path (`module.prod.module.db`) and the resource's own name and index key in
//!   its address (`aws_db_instance.prod_main`, `…main["prod"]`);
//! - the workspace name, or the environment of a matching address or workspace pattern;
//! - a root module input variable (the plan's `variables`, e.g. `-var environment=prod`) whose
//!   name means environment or names something, read like a tag.
//!
//! Otherwise it is the first of: an environment tag's value (`env` or `environment` exactly,
//! then longer environment keys, then `stage`), lowercased; the environment of the first
//! [`PlanOptions::address_patterns`] entry matching the address; that of the first
//! [`PlanOptions::workspace_patterns`] entry matching the workspace; an environment variable's
//! value, in the same order of keys; else `unknown`. A name never yields an environment other
//! than production, and a tag of any other key (`owner`, `description`) is not read.
//!
//! **Plan fields.** `source` is `terraform`, `format_version` is copied, `tool_version` is
//! `terraform_version`, `workspace` comes from the options and `errored` from `errored` (absent:
//! `false`). `complete` is copied when present. Terraform writes it from version 1.8 on (format
//! 1.2); when it is absent from a plan that predates it — format below 1.2, or a Terraform
//! version below 1.8 — the plan is taken as complete, because older versions always planned
//! everything they could. When it is absent from a plan by a newer Terraform, or the version
//! cannot be read, `complete` is `false`, so a rule that requires a complete plan fails closed.

use serde_json::{Map, Value};

use crate::env;
use crate::error::{PlanError, TypeError};
use crate::json::{self, kind_of};
use crate::plan::{PlanDoc, PlanOptions, Resource};

/// Read `terraform show -json` output and build the `plan` document.
pub fn plan_from_terraform(json: &str, opts: &PlanOptions) -> Result<Value, PlanError> {
    let root = json::parse(json)?;
    let Value::Object(obj) = &root else {
        return Err(PlanError::NotAnObject {
            found: kind_of(&root),
        });
    };

    let format_version =
        json::opt_str(obj, "format_version", "")?.ok_or_else(|| PlanError::MissingField {
            path: "format_version".to_string(),
        })?;
    let format = parse_format_version(format_version)?;

    let is_plan = [
        "planned_values",
        "resource_changes",
        "resource_drift",
        "prior_state",
    ]
    .iter()
    .any(|k| obj.contains_key(*k));
    if !is_plan {
        return Err(if obj.contains_key("values") {
            PlanError::StateNotPlan
        } else {
            PlanError::MissingField {
                path: "planned_values".to_string(),
            }
        });
    }

    let tool_version = json::opt_str(obj, "terraform_version", "")?.unwrap_or("");
    let errored = json::opt_bool(obj, "errored", "")?.unwrap_or(false);
    let complete = match json::opt_bool(obj, "complete", "")? {
        Some(c) => c,
        None => complete_when_absent(format, tool_version),
    };

    let vars = root_variables(obj);
    let resources = resource_list(obj, "resource_changes", &vars, opts)?;
    let drift = resource_list(obj, "resource_drift", &vars, opts)?;

    Ok(PlanDoc {
        source: "terraform",
        format_version: format_version.to_string(),
        tool_version: tool_version.to_string(),
        complete,
        errored,
        workspace: opts.workspace.clone(),
        resources,
        drift,
        request: None,
    }
    .to_value())
}

/// `MAJOR.MINOR` (an optional further `.PATCH` is tolerated), rejecting unknown majors.
fn parse_format_version(v: &str) -> Result<(u64, u64), PlanError> {
    let malformed = || PlanError::MalformedFormatVersion {
        version: v.to_string(),
    };
    let mut parts = v.split('.');
    let major: u64 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(malformed)?;
    let minor: u64 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(malformed)?;
    if let Some(patch) = parts.next()
        && patch.parse::<u64>().is_err()
    {
        return Err(malformed());
    }
    if parts.next().is_some() {
        return Err(malformed());
    }
    if major > 1 {
        return Err(PlanError::UnsupportedFormatVersion {
            version: v.to_string(),
        });
    }
    Ok((major, minor))
}

/// The leading `MAJOR.MINOR` of a tool version such as `1.2.0-rc1`.
fn leading_major_minor(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_part = parts.next()?;
    let digits: String = minor_part
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let minor = digits.parse().ok()?;
    Some((major, minor))
}

/// See the module docs: `true` only where the writer predates the `complete` field.
fn complete_when_absent(format: (u64, u64), tool_version: &str) -> bool {
    if format < (1, 2) {
        return true;
    }
    matches!(leading_major_minor(tool_version), Some(v) if v < (1, 8))
}

/// The root module's input variables whose values are strings (`-var environment=prod`), as
/// `(name, value)` pairs: they name the environment of the whole configuration.
fn root_variables(obj: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(Value::Object(vars)) = obj.get("variables") else {
        return Vec::new();
    };
    vars.iter()
        .filter_map(|(name, v)| match v.get("value") {
            Some(Value::String(s)) => Some((name.clone(), s.clone())),
            _ => None,
        })
        .collect()
}

fn resource_list(
    obj: &Map<String, Value>,
    key: &str,
    vars: &[(String, String)],
    opts: &PlanOptions,
) -> Result<Vec<Resource>, PlanError> {
    let Some(items) = json::opt_array(obj, key, "")? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("{key}[{i}]");
            let Value::Object(entry) = item else {
                return Err(TypeError {
                    path,
                    expected: "an object",
                    found: kind_of(item),
                }
                .into());
            };
            resource(entry, &path, vars, opts)
        })
        .collect()
}

fn resource(
    entry: &Map<String, Value>,
    path: &str,
    vars: &[(String, String)],
    opts: &PlanOptions,
) -> Result<Resource, PlanError> {
    let module = json::opt_str(entry, "module_address", path)?.unwrap_or("");
    let type_ = json::opt_str(entry, "type", path)?.unwrap_or("");
    let name = json::opt_str(entry, "name", path)?.unwrap_or("");
    let mode = json::opt_str(entry, "mode", path)?;
    let address = match json::opt_str(entry, "address", path)? {
        Some(a) => a.to_string(),
        None => {
            if type_.is_empty() || name.is_empty() {
                return Err(PlanError::MissingField {
                    path: json::join(path, "address"),
                });
            }
            rebuild_address(module, mode, type_, name, entry.get("index"))
        }
    };
    let change = json::opt_obj(entry, "change", path)?.ok_or_else(|| PlanError::MissingField {
        path: json::join(path, "change"),
    })?;
    let change_path = json::join(path, "change");
    if !change.contains_key("actions") {
        return Err(PlanError::MissingField {
            path: json::join(&change_path, "actions"),
        });
    }
    let actions = json::str_list(change, "actions", &change_path)?;
    let (action, replace_order) =
        normalise_actions(&actions).ok_or_else(|| PlanError::UnknownActions {
            address: address.clone(),
            actions: actions.join(","),
        })?;

    let tags = tags_of(change, action);
    let env = resource_env(change, &address, type_, module, vars, opts);

    Ok(Resource {
        address,
        action,
        replace_order,
        reason: json::opt_str(entry, "action_reason", path)?
            .unwrap_or("")
            .to_string(),
        type_: type_.to_string(),
        name: name.to_string(),
        module: module.to_string(),
        provider: json::opt_str(entry, "provider_name", path)?
            .unwrap_or("")
            .to_string(),
        namespace: String::new(),
        env,
        previous_address: json::opt_str(entry, "previous_address", path)?.map(str::to_string),
        tags,
    })
}

/// The normalised action and replace order of a `change.actions` list.
fn normalise_actions(actions: &[String]) -> Option<(&'static str, &'static str)> {
    let a: Vec<&str> = actions.iter().map(String::as_str).collect();
    Some(match a.as_slice() {
        ["create"] => ("create", "none"),
        ["update"] => ("update", "none"),
        ["delete"] => ("delete", "none"),
        ["delete", "create"] => ("replace", "delete_first"),
        ["create", "delete"] | ["create", "forget"] => ("replace", "create_first"),
        ["read"] => ("read", "none"),
        ["no-op"] => ("no-op", "none"),
        ["forget"] => ("forget", "none"),
        _ => return None,
    })
}

/// The address Terraform would have written for an entry that lacks one.
fn rebuild_address(
    module: &str,
    mode: Option<&str>,
    type_: &str,
    name: &str,
    index: Option<&Value>,
) -> String {
    let mut s = String::new();
    if !module.is_empty() {
        s.push_str(module);
        s.push('.');
    }
    if mode == Some("data") {
        s.push_str("data.");
    }
    s.push_str(type_);
    s.push('.');
    s.push_str(name);
    match index {
        Some(Value::Number(n)) => s.push_str(&format!("[{n}]")),
        // JSON string escaping agrees with HCL's for the quotes and backslashes keys contain.
        Some(Value::String(k)) => s.push_str(&format!("[{}]", Value::String(k.clone()))),
        _ => {}
    }
    s
}

/// Attributes that hold tags or labels: AWS and Azure `tags` (and `tags_all`, with provider
/// default tags; `tag`, an Auto Scaling group's list of `{key, value}` blocks), Google `labels`, `user_labels` (Cloud SQL, inside `settings`),
/// `resource_labels` (GKE), and the `effective_labels` and `terraform_labels` the Google
/// provider derives, and Kubernetes provider `labels` (inside `metadata`).
const LABEL_ATTRIBUTES: [&str; 8] = [
    "tags",
    "tag",
    "tags_all",
    "labels",
    "user_labels",
    "resource_labels",
    "effective_labels",
    "terraform_labels",
];

/// Nested blocks whose own attributes are read as if they were the resource's: Cloud SQL's
/// `settings` (its `user_labels`) and the Kubernetes provider's `metadata` (its `labels`,
/// `name` and `namespace`).
const NESTED_BLOCKS: [&str; 2] = ["settings", "metadata"];

/// The object of a change side and its nested blocks (`settings[0]`, `metadata[0]`, or the
/// block itself when it is an object), in that order.
fn objects_of(values: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    let mut out = vec![values];
    for block in NESTED_BLOCKS {
        match values.get(block) {
            Some(Value::Object(o)) => out.push(o),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_object)),
            _ => {}
        }
    }
    out
}

/// Every tag and label of one side of a change, first spelling of a key kept.
fn side_tags(values: &Map<String, Value>) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for object in objects_of(values) {
        for attribute in LABEL_ATTRIBUTES {
            for (k, v) in tag_pairs(object.get(attribute)) {
                if !tags.iter().any(|(tk, _)| *tk == k) {
                    tags.push((k, v));
                }
            }
        }
    }
    tags
}

/// Tags of the object the change leaves behind (or removes, for `delete` and `forget`).
fn tags_of(change: &Map<String, Value>, action: &str) -> Vec<(String, String)> {
    let sides = if matches!(action, "delete" | "forget") {
        ["before", "after"]
    } else {
        ["after", "before"]
    };
    for side in sides {
        let Some(Value::Object(values)) = change.get(side) else {
            continue;
        };
        let tags = side_tags(values);
        if !tags.is_empty() {
            return tags;
        }
    }
    Vec::new()
}

/// Attributes that name the object itself (besides any whose key has a naming word, such as
/// `name`, `identifier`, `cluster_identifier` or `db_name`): read as names, which can only say
/// production.
const NAME_ATTRIBUTES: [&str; 4] = ["id", "bucket", "namespace", "project"];

/// The resource's environment, by the one rule of [`crate::env`]: any production signal wins;
/// else the first environment value of the tags and labels, then of the address patterns, then
/// of the workspace patterns; else `unknown`.
///
/// Both sides of the change are read: a replace destroys the object of `before` even when the
/// tags of `after` say something else, and an update that relabels production is still a
/// change to production.
fn resource_env(
    change: &Map<String, Value>,
    address: &str,
    type_: &str,
    module: &str,
    vars: &[(String, String)],
    opts: &PlanOptions,
) -> String {
    let mut signals = env::EnvSignals::new(&opts.production_tokens);
    for side in ["before", "after"] {
        let Some(Value::Object(values)) = change.get(side) else {
            continue;
        };
        for (k, v) in side_tags(values) {
            signals.tag(&k, &v);
        }
        for object in objects_of(values) {
            for (k, v) in object {
                let Value::String(s) = v else { continue };
                if NAME_ATTRIBUTES.contains(&k.as_str()) || env::key_kind(k).is_some() {
                    signals.name(s);
                }
            }
        }
    }
    signals.name(module);
    // The address without its module path and type: the resource's own name and index key.
    let own = address
        .rsplit_once(&format!("{type_}."))
        .map_or(address, |(_, rest)| rest);
    signals.name(own);
    signals.name(&opts.workspace);
    signals.pattern(3, &opts.address_patterns, address);
    signals.pattern(4, &opts.workspace_patterns, &opts.workspace);
    // The root module's variables describe every resource, after the resource's own sources.
    for (name, value) in vars {
        signals.tag_ranked(name, value, 5);
    }
    signals.finish()
}

/// Tag pairs from a map, or from a list of `key:value` strings; anything else has no tags.
fn tag_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), json::scalar_string(v)))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(match s.split_once(':') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (s.clone(), String::new()),
                }),
                // An Auto Scaling group's `tag` blocks and similar: `{key, value, …}`.
                Value::Object(o) => {
                    let field = |names: [&str; 2]| names.iter().find_map(|n| o.get(*n));
                    match (field(["key", "Key"]), field(["value", "Value"])) {
                        (Some(Value::String(k)), Some(v)) => {
                            Some((k.clone(), json::scalar_string(v)))
                        }
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn format_versions() {
        assert_eq!(parse_format_version("0.1").unwrap(), (0, 1));
        assert_eq!(parse_format_version("1.2").unwrap(), (1, 2));
        assert_eq!(parse_format_version("1.17").unwrap(), (1, 17));
        assert!(matches!(
            parse_format_version("2.0"),
            Err(PlanError::UnsupportedFormatVersion { .. })
        ));
        for bad in ["", "1", "x.y", "1.2.3.4", "1.-2", "1.2.x"] {
            assert!(
                matches!(
                    parse_format_version(bad),
                    Err(PlanError::MalformedFormatVersion { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn complete_default() {
        assert!(complete_when_absent((0, 1), ""));
        assert!(complete_when_absent((1, 1), "1.2.0-rc1"));
        assert!(complete_when_absent((1, 2), "1.7.5"));
        assert!(!complete_when_absent((1, 2), "1.8.0"));
        assert!(!complete_when_absent((1, 2), "1.15.0"));
        assert!(!complete_when_absent((1, 2), "garbage"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            rebuild_address("", Some("managed"), "aws_instance", "web", None),
            "aws_instance.web"
        );
        assert_eq!(
            rebuild_address(
                "module.a[\"x\"]",
                Some("data"),
                "aws_ami",
                "u",
                Some(&Value::from(2))
            ),
            "module.a[\"x\"].data.aws_ami.u[2]"
        );
        assert_eq!(
            rebuild_address("", None, "t", "n", Some(&Value::from("k\"q"))),
            "t.n[\"k\\\"q\"]"
        );
    }
}
