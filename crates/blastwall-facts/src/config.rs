//! The configuration file `blastwall check` reads (`blastwall.toml`): parameter values for the
//! policy, team membership, and how the adapters decide provenance and environments.
//!
//! ```toml
//! [params]                      # values for the policy's `param` declarations
//! max_dependents = 5
//! production_envs = ["production", "live"]
//!
//! [teams]                       # who is in which review group
//! "@org/payments" = ["alice", "bob"]
//!
//! [people]                     # who commits under which email: email → forge login
//! "alice@example.com" = "alice"
//!
//! [ai]
//! unmarked_means_human = false  # commits with no AI marker are `no` rather than `unknown`
//! [[ai.patterns]]               # a team's own markers; exactly one of the four keys
//! tool = "internal-agent"
//! email = "agent@corp.example"  # or trailer_key = "…", trailer_value = "regex", message = "regex"
//!
//! [env]
//! production_tokens = ["prod", "production", "prd"]  # replaces the default, which adds "live"
//! workspace = "prod-eu"         # the Terraform workspace or cluster context
//! [[env.patterns]]              # exactly one of address, workspace, namespace
//! address = "*prod*"
//! env = "production"
//! ```
//!
//! Every table and key is optional; an unknown one is an error, so a misspelt setting is never
//! silently ignored.

use serde_json::{Map, Value};
use toml::de::{DeTable, DeValue};

use crate::agent::ActionOptions;
use crate::approvals::TeamMembership;
use crate::env::EnvPattern;
use crate::plan::PlanOptions;
use crate::provenance::{PatternKind, ProvenanceOptions, ProvenancePattern};
use crate::topo_error::Loc;
use crate::topology::toml_read::{Item, Src, kind};

/// Everything `blastwall check` takes from its configuration file.
#[derive(Debug, Clone, Default)]
pub struct CheckConfig {
    /// Parameter values, as the facts' `config` object.
    pub params: Map<String, Value>,
    /// Team membership for approvals.
    pub teams: TeamMembership,
    /// How AI provenance is decided.
    pub provenance: ProvenanceOptions,
    /// How plan resources get their environment.
    pub plan: PlanOptions,
    /// How agent commands get their environment.
    pub action: ActionOptions,
    /// `[topology.tiers]`: globs over node names (`*` any run of characters) and the tier a
    /// matching node gets, in file order; the first match wins.
    pub topology_tiers: Vec<(String, i64)>,
    /// `[people]`: commit emails and the forge login of the person behind each, in file order.
    /// A change's author, known from commits by an email, is also that login, so their own
    /// approval never counts.
    pub people: Vec<(String, String)>,
}

/// A configuration file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{at}: {message}")]
#[diagnostic(code(blastwall::config))]
pub struct ConfigError {
    /// Where.
    pub at: Loc,
    /// What is wrong.
    pub message: String,
}

fn err<T>(src: &Src<'_>, item: Option<&Item<'_>>, message: String) -> Result<T, ConfigError> {
    let at = item.map_or_else(|| src.loc(0), |i| src.at(i));
    Err(ConfigError { at, message })
}

fn table<'t, 'i>(
    src: &Src<'_>,
    item: &'t Item<'i>,
    path: &str,
) -> Result<&'t DeTable<'i>, ConfigError> {
    match item.get_ref() {
        DeValue::Table(t) => Ok(t),
        other => err(
            src,
            Some(item),
            format!("`{path}` should be a table, found {}", kind(other)),
        ),
    }
}

fn string(src: &Src<'_>, item: &Item<'_>, path: &str) -> Result<String, ConfigError> {
    match item.get_ref() {
        DeValue::String(s) => Ok(s.to_string()),
        other => err(
            src,
            Some(item),
            format!("`{path}` should be a string, found {}", kind(other)),
        ),
    }
}

fn strings(src: &Src<'_>, item: &Item<'_>, path: &str) -> Result<Vec<String>, ConfigError> {
    let DeValue::Array(items) = item.get_ref() else {
        return err(
            src,
            Some(item),
            format!(
                "`{path}` should be a list of strings, found {}",
                kind(item.get_ref())
            ),
        );
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| string(src, v, &format!("{path}[{i}]")))
        .collect()
}

fn unknown<T>(
    src: &Src<'_>,
    key: &toml::Spanned<std::borrow::Cow<'_, str>>,
    path: &str,
    known: &[&str],
) -> Result<T, ConfigError> {
    let name: &str = key.get_ref();
    let at = src.loc(key.span().start);
    Err(ConfigError {
        at,
        message: format!(
            "unknown setting `{path}{name}`; known: {}",
            known.join(", ")
        ),
    })
}

/// A TOML value as JSON: strings, integers, booleans and lists of them.
fn to_json(src: &Src<'_>, item: &Item<'_>, path: &str) -> Result<Value, ConfigError> {
    match item.get_ref() {
        DeValue::String(s) => Ok(Value::String(s.to_string())),
        DeValue::Boolean(b) => Ok(Value::Bool(*b)),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Ok(Value::from(n)),
            Err(_) => err(src, Some(item), format!("`{path}` does not fit in 64 bits")),
        },
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| to_json(src, v, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => err(
            src,
            Some(item),
            format!(
                "`{path}` should be a string, integer, boolean or list, found {}",
                kind(other)
            ),
        ),
    }
}

/// Read a configuration file; `file` names it in errors.
pub fn read_config(file: &str, text: &str) -> Result<CheckConfig, ConfigError> {
    let src = Src::new(file, text);
    let doc = src.parse_raw().map_err(|(at, message)| ConfigError {
        at,
        message: format!("invalid TOML: {message}"),
    })?;
    let teams = TeamMembership::from_toml(text).map_err(|e| ConfigError {
        at: Loc::in_file(file),
        message: e.to_string(),
    })?;
    let mut cfg = CheckConfig {
        teams,
        ..CheckConfig::default()
    };
    for (key, value) in doc.iter() {
        match key.get_ref().as_ref() {
            "params" => {
                for (name, v) in table(&src, value, "params")? {
                    let n: &str = name.get_ref();
                    cfg.params
                        .insert(n.to_string(), to_json(&src, v, &format!("params.{n}"))?);
                }
            }
            "teams" => {}
            "ai" => read_ai(&src, value, &mut cfg)?,
            "env" => read_env(&src, value, &mut cfg)?,
            "topology" => read_topology(&src, value, &mut cfg)?,
            "people" => {
                for (email, login) in table(&src, value, "people")? {
                    let e: &str = email.get_ref();
                    match login.get_ref() {
                        DeValue::String(l) if !l.trim().is_empty() && e.contains('@') => {
                            cfg.people
                                .push((e.trim().to_string(), l.trim().to_string()));
                        }
                        _ => {
                            return err(
                                &src,
                                Some(login),
                                format!(
                                    "`people.\"{e}\"` should map an email to a login, as `\"alice@example.com\" = \"alice\"`"
                                ),
                            );
                        }
                    }
                }
            }
            _ => {
                return unknown(
                    &src,
                    key,
                    "",
                    &["params", "teams", "people", "ai", "env", "topology"],
                );
            }
        }
    }
    Ok(cfg)
}

fn read_topology(
    src: &Src<'_>,
    value: &Item<'_>,
    cfg: &mut CheckConfig,
) -> Result<(), ConfigError> {
    for (key, v) in table(src, value, "topology")? {
        match key.get_ref().as_ref() {
            "tiers" => {
                for (glob, tier) in table(src, v, "topology.tiers")? {
                    let g: &str = glob.get_ref();
                    let path = format!("topology.tiers.{g}");
                    match to_json(src, tier, &path)?.as_i64() {
                        Some(t) if (0..=1000).contains(&t) => {
                            cfg.topology_tiers.push((g.to_string(), t));
                        }
                        _ => {
                            return err(
                                src,
                                Some(tier),
                                format!("`{path}` should be a tier, a whole number from 0 to 1000"),
                            );
                        }
                    }
                }
            }
            _ => return unknown(src, key, "topology.", &["tiers"]),
        }
    }
    Ok(())
}

fn read_ai(src: &Src<'_>, value: &Item<'_>, cfg: &mut CheckConfig) -> Result<(), ConfigError> {
    for (key, v) in table(src, value, "ai")? {
        match key.get_ref().as_ref() {
            "unmarked_means_human" => match v.get_ref() {
                DeValue::Boolean(b) => cfg.provenance.unmarked_means_human = *b,
                other => {
                    return err(
                        src,
                        Some(v),
                        format!(
                            "`ai.unmarked_means_human` should be a boolean, found {}",
                            kind(other)
                        ),
                    );
                }
            },
            "patterns" => {
                let DeValue::Array(items) = v.get_ref() else {
                    return err(
                        src,
                        Some(v),
                        "`ai.patterns` should be a list of tables (`[[ai.patterns]]`)".into(),
                    );
                };
                for (i, item) in items.iter().enumerate() {
                    let path = format!("ai.patterns[{i}]");
                    let t = table(src, item, &path)?;
                    let mut tool = None;
                    let mut which = None;
                    for (k, x) in t {
                        let kind = match k.get_ref().as_ref() {
                            "tool" => {
                                tool = Some(string(src, x, &format!("{path}.tool"))?);
                                continue;
                            }
                            "email" => PatternKind::Email,
                            "trailer_key" => PatternKind::TrailerKey,
                            "trailer_value" => PatternKind::TrailerValueRegex,
                            "message" => PatternKind::MessageRegex,
                            _ => {
                                return unknown(
                                    src,
                                    k,
                                    &format!("{path}."),
                                    &["tool", "email", "trailer_key", "trailer_value", "message"],
                                );
                            }
                        };
                        if which.is_some() {
                            return err(
                                src,
                                Some(item),
                                format!(
                                    "`{path}` needs exactly one of `email`, `trailer_key`, `trailer_value`, `message`"
                                ),
                            );
                        }
                        which = Some((kind, string(src, x, &format!("{path}.{}", k.get_ref()))?));
                    }
                    let (Some(tool), Some((kind, pattern))) = (tool, which) else {
                        return err(
                            src,
                            Some(item),
                            format!(
                                "`{path}` needs `tool` and one of `email`, `trailer_key`, `trailer_value`, `message`"
                            ),
                        );
                    };
                    let p =
                        ProvenancePattern::new(tool, kind, pattern).map_err(|e| ConfigError {
                            at: src.at(item),
                            message: e.to_string(),
                        })?;
                    cfg.provenance.patterns.push(p);
                }
            }
            _ => return unknown(src, key, "ai.", &["unmarked_means_human", "patterns"]),
        }
    }
    Ok(())
}

fn read_env(src: &Src<'_>, value: &Item<'_>, cfg: &mut CheckConfig) -> Result<(), ConfigError> {
    for (key, v) in table(src, value, "env")? {
        match key.get_ref().as_ref() {
            "production_tokens" => {
                let tokens = strings(src, v, "env.production_tokens")?;
                cfg.plan.production_tokens.clone_from(&tokens);
                cfg.action.production_tokens = tokens;
            }
            "workspace" => cfg.plan.workspace = string(src, v, "env.workspace")?,
            "patterns" => {
                let DeValue::Array(items) = v.get_ref() else {
                    return err(
                        src,
                        Some(v),
                        "`env.patterns` should be a list of tables (`[[env.patterns]]`)".into(),
                    );
                };
                for (i, item) in items.iter().enumerate() {
                    let path = format!("env.patterns[{i}]");
                    let mut env = None;
                    let mut target = None;
                    for (k, x) in table(src, item, &path)? {
                        let name: &str = k.get_ref();
                        match name {
                            "env" => env = Some(string(src, x, &format!("{path}.env"))?),
                            "address" | "workspace" | "namespace" => {
                                if target.is_some() {
                                    return err(
                                        src,
                                        Some(item),
                                        format!(
                                            "`{path}` needs exactly one of `address`, `workspace`, `namespace`"
                                        ),
                                    );
                                }
                                target = Some((
                                    name.to_string(),
                                    string(src, x, &format!("{path}.{name}"))?,
                                ));
                            }
                            _ => {
                                return unknown(
                                    src,
                                    k,
                                    &format!("{path}."),
                                    &["env", "address", "workspace", "namespace"],
                                );
                            }
                        }
                    }
                    let (Some(env), Some((on, pattern))) = (env, target) else {
                        return err(
                            src,
                            Some(item),
                            format!(
                                "`{path}` needs `env` and one of `address`, `workspace`, `namespace`"
                            ),
                        );
                    };
                    let p = EnvPattern::new(pattern, env);
                    match on.as_str() {
                        "address" => cfg.plan.address_patterns.push(p),
                        "workspace" => cfg.plan.workspace_patterns.push(p),
                        _ => cfg.plan.namespace_patterns.push(p),
                    }
                }
            }
            _ => {
                return unknown(
                    src,
                    key,
                    "env.",
                    &["production_tokens", "workspace", "patterns"],
                );
            }
        }
    }
    Ok(())
}
