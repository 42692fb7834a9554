//! Small helpers for reading untrusted JSON with typed errors that name the offending field.

use serde_json::{Map, Value};

use crate::error::{InputError, TypeError};

/// Parse `text` as JSON, telling an empty or truncated input apart from a malformed one.
///
/// serde_json bounds nesting depth (128 levels) itself, so deeply nested input is an error here,
/// not a stack overflow.
pub(crate) fn parse(text: &str) -> Result<Value, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        if e.is_eof() {
            InputError::Truncated { line, column }
        } else {
            let full = e.to_string();
            // serde_json appends " at line L column C"; the variant carries them separately.
            let message = match full.rsplit_once(" at line ") {
                Some((head, _)) => head.to_string(),
                None => full,
            };
            InputError::Syntax {
                line,
                column,
                message,
            }
        }
    })
}

/// A phrase naming the JSON type of `v`, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Join a parent path and a key, e.g. `change` + `actions` = `change.actions`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_error(path: &str, key: &str, expected: &'static str, found: &Value) -> TypeError {
    TypeError {
        path: join(path, key),
        expected,
        found: kind_of(found),
    }
}

/// An optional string field: absent or `null` is `None`, a non-string is an error.
pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, TypeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(type_error(path, key, "a string", other)),
    }
}

/// An optional boolean field: absent or `null` is `None`, a non-boolean is an error.
pub(crate) fn opt_bool(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<bool>, TypeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(type_error(path, key, "a boolean", other)),
    }
}

/// An optional object field: absent or `null` is `None`, a non-object is an error.
pub(crate) fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, TypeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(type_error(path, key, "an object", other)),
    }
}

/// An optional array field: absent or `null` is `None`, a non-array is an error.
pub(crate) fn opt_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, TypeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(type_error(path, key, "an array", other)),
    }
}

/// An optional list of strings: absent or `null` is empty; any non-string element is an error.
pub(crate) fn str_list(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Vec<String>, TypeError> {
    let Some(items) = opt_array(obj, key, path)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(TypeError {
                path: format!("{}[{i}]", join(path, key)),
                expected: "a string",
                found: kind_of(other),
            }),
        })
        .collect()
}

/// A scalar rendered as the string a rule compares against: strings as they are, numbers and
/// booleans in JSON spelling, `null` as empty, and arrays or objects as compact JSON.
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => v.to_string(),
    }
}

/// The top-level keys of `obj`, each in backticks, comma-separated, at most 12 of them.
pub(crate) fn key_list(obj: &Map<String, Value>) -> String {
    const MAX: usize = 12;
    let mut keys: Vec<String> = obj.keys().take(MAX).map(|k| format!("`{k}`")).collect();
    if obj.len() > MAX {
        keys.push(format!("and {} more", obj.len() - MAX));
    }
    if keys.is_empty() {
        "(none)".to_string()
    } else {
        keys.join(", ")
    }
}
