//! The error of facts that do not fit the schemas, shared by every host so that each refuses the
//! same facts with the same words.

/// Facts that do not fit the schemas.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("`{path}`: ") })]
pub struct FactsError {
    /// Where in the facts, e.g. `change.files[3].path`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FactsError {
    /// An error at `path` (empty for the whole document).
    pub fn at(path: &str, message: String) -> FactsError {
        FactsError {
            path: path.to_string(),
            message,
        }
    }
}

/// How a JSON value is named in errors: `` `null` ``, `a boolean`, `a number`, `a string`,
/// `a list` or `an object`.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match v {
        J::Null => "`null`",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "a list",
        J::Object(_) => "an object",
    }
}

/// The typo test behind "did you mean": same first byte, lengths within two and all but two
/// characters in common, or `a` (three bytes or more) a prefix of `b`.
pub fn similar(a: &str, b: &str) -> bool {
    (a.len().abs_diff(b.len()) <= 2
        && a.get(..1) == b.get(..1)
        && common_chars(a, b) + 2 >= a.len().max(b.len()))
        || (a.len() >= 3 && b.starts_with(a))
}

fn common_chars(a: &str, b: &str) -> usize {
    let mut pool: Vec<char> = b.chars().collect();
    a.chars()
        .filter(|c| {
            if let Some(i) = pool.iter().position(|p| p == c) {
                pool.swap_remove(i);
                true
            } else {
                false
            }
        })
        .count()
}

/// The message for a top-level member that is not a document: `` unknown document `X` ``, with
/// `` ; did you mean `D`? `` for the first document name that starts with X's first two bytes.
pub fn unknown_document(key: &str) -> String {
    const NAMES: [&str; 6] = [
        "change",
        "plan",
        "action",
        "topology",
        "config",
        "overrides",
    ];
    let mut msg = format!("unknown document `{key}`");
    if let Some(s) = NAMES
        .iter()
        .find(|n| n.starts_with(key.get(..2).unwrap_or(key)))
    {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    msg
}
