//! Environment detection shared by the adapters.
//!
//! Every adapter ends with the same question: which environment does this resource or command
//! touch? The answer is a string, lowercase unless a configured pattern says otherwise;
//! `production` is the one rules care about most, so
//! every source of a value (a tag, a label, a flag, a path) is normalised: a value
//! with a *production token* in it becomes `production`.
//!
//! A production token matches a whole token of the value, where tokens are the runs of ASCII
//! letters and digits, compared case-insensitively: with the default tokens `prod`, `production`
//! and `prd`, the values `prod`, `Prod-EU`, `eu_prd_2` and `k8s/production` are production, and
//! `product`, `preprod` and `nonprod` are not. A value such as `pre-prod` *is* production: when in
//! doubt the adapter errs towards the environment rules guard most.
//!
//! Names that are not environment values — paths, host names, namespaces, workspaces — only ever
//! yield `production`; they never name another environment, because most such
//! names are not environments at all.

/// The default production tokens: `prod`, `production`, `prd`.
pub const DEFAULT_PRODUCTION_TOKENS: [&str; 3] = ["prod", "production", "prd"];

/// The default production tokens as owned strings, for the options structs.
pub fn default_production_tokens() -> Vec<String> {
    DEFAULT_PRODUCTION_TOKENS
        .iter()
        .map(|t| (*t).to_string())
        .collect()
}

/// The environment that stands for "no source named one".
pub const UNKNOWN: &str = "unknown";

/// The environment rules guard most.
pub const PRODUCTION: &str = "production";

/// A configured pattern that names an environment, e.g. `*prod*` → `production`.
///
/// The pattern is a simple wildcard: `*` matches any run of characters (including none, and
/// including `.` and `/`); every other character matches itself, case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPattern {
    /// The wildcard pattern.
    pub pattern: String,
    /// The environment a match names, used as given.
    pub env: String,
}

impl EnvPattern {
    /// A pattern naming `env`.
    pub fn new(pattern: impl Into<String>, env: impl Into<String>) -> Self {
        EnvPattern {
            pattern: pattern.into(),
            env: env.into(),
        }
    }

    /// Whether the pattern matches all of `text`.
    pub fn matches(&self, text: &str) -> bool {
        wildcard_match(&self.pattern, text)
    }
}

/// The environment named by the first pattern in `patterns` that matches `text`.
pub(crate) fn first_pattern_env(patterns: &[EnvPattern], text: &str) -> Option<String> {
    patterns
        .iter()
        .find(|p| p.matches(text))
        .map(|p| p.env.clone())
}

/// `*`-only wildcard matching, iterative: on a mismatch it backtracks to the last `*` only, so
/// the cost is at most `pattern × text` steps and there is no recursion.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some('*'), _) => {
                star = Some((pi, ti));
                pi += 1;
            }
            (Some(pc), Some(tc)) if pc == tc => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// The lowercase alphanumeric tokens of `s`.
pub(crate) fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whether `s` holds a production token.
pub(crate) fn is_production(s: &str, production_tokens: &[String]) -> bool {
    tokens(s).any(|t| production_tokens.iter().any(|p| p.eq_ignore_ascii_case(&t)))
}

/// An environment value as written normalised: `production` when it holds a production token,
/// else the trimmed value in lowercase; `None` when it is empty.
pub(crate) fn normalise(value: &str, production_tokens: &[String]) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        None
    } else if is_production(v, production_tokens) {
        Some(PRODUCTION.to_string())
    } else {
        Some(v.to_lowercase())
    }
}

/// `production` when a segment of `name` — a path, a host name, a namespace or a workspace —
/// holds a production token, else `None`.
///
/// Names yield no other environment: `/home/dev/project` or `/tmp/test` are far more often
/// directory names than environments, and reading them as `dev` or `test` would turn an honest
/// `unknown` into a guess that rules trust.
pub(crate) fn path_env(name: &str, production_tokens: &[String]) -> Option<String> {
    is_production(name, production_tokens).then(|| PRODUCTION.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn wildcard() {
        assert!(wildcard_match("*prod*", "module.prod.aws_db.x"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("module.db.*", "module.db.x[0]"));
        assert!(!wildcard_match("module.db.*", "module.dbx"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exactly"));
        assert!(wildcard_match("**a", "bba"));
        // Many stars against a long text stays fast (no exponential backtracking).
        let long = "a".repeat(5000);
        assert!(!wildcard_match("*a*a*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn production_tokens() {
        let t = default_production_tokens();
        for yes in ["prod", "Prod-EU", "eu_prd_2", "k8s/production", "pre-prod"] {
            assert!(is_production(yes, &t), "{yes}");
        }
        for no in ["product", "preprod", "nonprod", "staging", "", "reproduce"] {
            assert!(!is_production(no, &t), "{no}");
        }
        assert_eq!(normalise(" Staging ", &t).as_deref(), Some("staging"));
        assert_eq!(normalise("PROD", &t).as_deref(), Some("production"));
        assert_eq!(normalise("  ", &t), None);
    }

    #[test]
    fn paths() {
        let t = default_production_tokens();
        assert_eq!(
            path_env("/srv/infra/prod/db", &t).as_deref(),
            Some("production")
        );
        assert_eq!(path_env("envs/staging", &t), None);
        assert_eq!(path_env("/home/dev/project", &t), None);
        assert_eq!(path_env("/home/user/my-project", &t), None);
        assert_eq!(path_env("/tmp/test", &t), None);
        assert_eq!(
            path_env("C:\\work\\prd\\x", &t).as_deref(),
            Some("production")
        );
    }
}
