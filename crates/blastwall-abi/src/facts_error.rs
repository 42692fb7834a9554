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
