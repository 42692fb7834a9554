//! Classifying a raw `action.command` before any decision.
//!
//! The `action` document's `commands`, `classes` and `env` are what the action adapter finds
//! in a command; a rule reads those, not the command text. An embedder that passes only the
//! command (`{"action": {"command": "terraform destroy -auto-approve"}}`) would otherwise get
//! every rule's "no destructive class, unknown environment" answer: an allow. So every entry of
//! this crate that takes facts runs the one action adapter over such an action first.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// `facts` with its `action` classified by the action adapter when it needs it, else `facts`
/// unchanged.
///
/// An action **needs classifying** when its `command` is a string that is not blank, it has
/// no `commands` (the member is absent, `null` or `[]`) and no `parse_error`. The adapter
/// (`blastwall check --action`'s, with the default production tokens) then reads the command
/// in the action's `cwd`, and its findings are merged in without lowering anything the action
/// already says:
///
/// - `commands` and `parse_error` are the adapter's;
/// - `classes` is the union of the action's own and the adapter's, sorted;
/// - `env` is `production` when either says so, else the action's own unless it is empty or
///   `unknown`, else the adapter's.
///
/// An action that already has `commands` (or a `parse_error`) is classified and left exactly as
/// given, as is one without a command (a tool call), and any member of the wrong type, which
/// loading the facts then reports.
pub fn classify_action(facts: &Value) -> Cow<'_, Value> {
    let Some(action) = facts.get("action").and_then(Value::as_object) else {
        return Cow::Borrowed(facts);
    };
    if !needs_classifying(action) {
        return Cow::Borrowed(facts);
    }
    let command = action.get("command").and_then(Value::as_str).unwrap_or("");
    let cwd = action.get("cwd").and_then(Value::as_str).unwrap_or("");
    let found = blastwall_facts::action_from_command(
        command,
        cwd,
        &blastwall_facts::ActionOptions::default(),
    );
    let mut merged = action.clone();
    merge(&mut merged, &found);
    let mut facts = facts.clone();
    if let Some(members) = facts.as_object_mut() {
        members.insert("action".to_string(), Value::Object(merged));
    }
    Cow::Owned(facts)
}

/// Whether an action carries a command the adapter has not read (see [`classify_action`]).
fn needs_classifying(action: &Map<String, Value>) -> bool {
    let has_command = action
        .get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.trim().is_empty());
    let has_commands = match action.get("commands") {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        // Of the wrong type: left for loading to report.
        Some(_) => true,
    };
    let has_parse_error = !matches!(action.get("parse_error"), None | Some(Value::Null));
    has_command && !has_commands && !has_parse_error
}

/// Merge the adapter's document `found` into `action`, lowering nothing the action says.
fn merge(action: &mut Map<String, Value>, found: &Value) {
    if let Some(commands) = found.get("commands") {
        action.insert("commands".to_string(), commands.clone());
    }
    if let Some(error) = found.get("parse_error").filter(|e| !e.is_null()) {
        action.insert("parse_error".to_string(), error.clone());
    }

    let found_classes = string_list(found.get("classes"));
    match action.get("classes") {
        None | Some(Value::Null) => {
            action.insert("classes".to_string(), to_list(found_classes));
        }
        Some(Value::Array(given)) if given.iter().all(Value::is_string) => {
            let mut all = string_list(Some(&Value::Array(given.clone())));
            all.extend(found_classes);
            action.insert("classes".to_string(), to_list(all));
        }
        // Of the wrong type: left for loading to report.
        Some(_) => {}
    }

    let found_env = found
        .get("env")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let env = match action.get("env") {
        None | Some(Value::Null) => Some(found_env),
        Some(Value::String(_)) if found_env == "production" => Some(found_env),
        Some(Value::String(given)) if given.is_empty() || given == "unknown" => Some(found_env),
        // A known environment stays; one of the wrong type is left for loading to report.
        Some(_) => None,
    };
    if let Some(env) = env {
        action.insert("env".to_string(), Value::String(env.to_string()));
    }
}

/// The strings of a JSON list, sorted and without repeats.
fn string_list(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn to_list(mut items: Vec<String>) -> Value {
    items.sort_unstable();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}
