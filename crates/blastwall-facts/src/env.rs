//! Environment detection shared by the adapters: the one production detector.
//!
//! Every adapter ends with the same question: which environment does this resource or command
//! touch? Plans ([`crate::terraform`]), admission requests ([`crate::admission`]) and agent
//! actions ([`crate::agent`]) all answer it here, so that a name means production in one of them
//! exactly when it does in the others. The answer is a string, lowercase unless a configured
//! pattern says otherwise; `production` is the one rules care about most.
//!
//! # The token rule
//!
//! A text is cut into *tokens*: the runs of ASCII letters and digits, lowercased (so `-`, `_`,
//! `.`, `/`, `:`, `@` and spaces all separate, and `Prod-EU` is `prod` then `eu`). A text means
//! production when one of its tokens does, and a token means production when, for one of the
//! configured production tokens `p` (by default `prod`, `production`, `prd` and `live`):
//!
//! 1. the token *is* `p` — `prod`, `k8s/production`, `eu_prd_2`, `pre-prod`, `production_line`;
//! 2. or it is `p` with a *qualifier* after it — `prod1`, `prd02`, `prodcluster`, `proddb01`,
//!    `productioneu`, `livedb`;
//! 3. or it is `p` with a qualifier before it — `k8sprod`, `dbprod`, `euprod`, `01prod`.
//!
//! A qualifier is a run of digits and infrastructure words of [`QUALIFIERS`] (`db`, `cluster`,
//! `k8s`, `api`, `eu`, `east`, …) in any order: `1`, `db01`, `2eu`, `euwest1`, `maindb`. Rules 2
//! and 3 apply to production tokens of three letters or more. Nothing else is production:
//! `product`, `producer`, `produce`, `prodigy`, `reproduce`, `prods`, `alive`, `olive`,
//! `delivery` and `lived` are not (their remainders are no qualifier), and neither are
//! `preprod` and `nonprod` — `pre` and `non` are not qualifiers, and those names mean the
//! environments *before* production. Two consequences are deliberate, because in doubt the
//! detector errs towards the environment rules guard most:
//!
//! - a separator makes a whole token, so `pre-prod` and `non_prod` *are* production, as is
//!   `production_line`; a name spelt that way should be renamed, or given an explicit
//!   environment (a tag or label, which is still overruled by any production signal);
//! - `live` is production as an environment *value* (`env=live`, `--context live-eu`): teams
//!   that call production `live` are common. Being also a common word, `live` is a *word
//!   token* ([`WORD_TOKENS`]): in a *name* it counts only in a segment (the parts of the name
//!   between `/`, `.`, `:`, `@`, `=`, `,` and spaces) whose other tokens are all qualifiers or
//!   production tokens, so the namespace `live`, the host `live-db-1`, the directory
//!   `/srv/envs/live` and `db.live.example.com` are production while the checkout
//!   `~/src/live-chat` and the bucket `live-stream-assets` are not. Remove it from
//!   `[env] production_tokens` where it misleads.
//!
//! Case inside a token does not separate: `nonProd` is one token, `nonprod`, and is not
//! production; `ProdDB` is `proddb`, which is.
//!
//! # Values, names and keys
//!
//! - An environment *value* (an `env` tag, a `--context` flag) is [`normalise`]d: `production`
//!   when it means production, else the trimmed value lowercased.
//! - A *name* — a path, a host, a resource or namespace name, a module path, a workspace — only
//!   ever yields `production` ([`path_env`], [`is_production_name`]; word tokens as above): `/home/dev/project` or `/tmp/test` are far more
//!   often directory names than environments, and reading them as `dev` or `test` would turn
//!   an honest `unknown` into a guess that rules trust.
//! - A value that names every environment (`shared`, `global`, `all`, … [`SHARED_VALUES`]) is
//!   production too, and a placeholder (`none`, `n/a`, `tbd`, `default`, …
//!   [`PLACEHOLDER_VALUES`]) is no value at all.
//! - A tag or label *key* that itself means production (`production = "true"`, `is_prod`)
//!   says production unless its value denies it (`false`, `no`, `0`, `off`).
//! - A tag or label *key* says which of the two its value is ([`key_kind`]): a key with a word
//!   meaning environment (`env`, `environment`, `stage`, in any case and inside longer keys such
//!   as `env_name`, `deploymentEnvironment`, `app.kubernetes.io/environment`) holds a value; a
//!   key with `tier` or a naming word (`name`, `cluster`, `project`, `namespace`, `instance`,
//!   `stack`, `workspace`, `context`, `account`, `host`) holds a name.
//!
//! # Combining sources
//!
//! A resource has many sources. Production wins: when *any* source means
//! production, the environment is `production`, whatever another source says — a label must
//! never make a production resource look safe. Otherwise the first value in the adapter's order
//! of preference is the environment, and with none it is `unknown`, which the shipped rules
//! treat as "cannot be told apart from production" for destructive data-store changes.

/// The default production tokens: `prod`, `production`, `prd`, `live`.
pub const DEFAULT_PRODUCTION_TOKENS: [&str; 4] = ["prod", "production", "prd", "live"];

/// Words that may stand before or after a production token inside one token (`prodcluster`,
/// `k8sprod`): kinds of infrastructure, regions and roles. None of them turns a common English
/// word into production: `product`, `produce`, `prodigy`, `alive` and `delivery` leave
/// remainders that are not here, and neither `pre` nor `non` is.
pub const QUALIFIERS: [&str; 60] = [
    "db", "dbs", "database", "sql", "pg", "psql", "postgres", "mysql", "mongo", "redis", "cache",
    "kafka", "rds", "s3", "bucket", "storage", "data", "cluster", "k8s", "kube", "eks", "gke",
    "aks", "ns", "env", "main", "primary", "replica", "api", "app", "apps", "web", "www", "svc",
    "service", "srv", "server", "host", "node", "vm", "vpc", "net", "acct", "account", "aws",
    "gcp", "azure", "eu", "us", "uk", "ap", "apac", "emea", "east", "west", "north", "south",
    "central", "region", "ctx",
];

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
    /// The environment a match names: used as given, except that one meaning production
    /// (`prod`, `Prod-EU`) is `production`.
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

/// `*`-only wildcard matching: see [`star_match`].
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    star_match(&p, &t, |c| *c == '*', |a, b| a == b)
}

/// Whether all of `text` matches `pattern`, where an element for which `is_star` holds matches
/// any run of elements (none included) and `eq` compares one pattern element with one text
/// element. Iterative: on a mismatch it backtracks to the last star only, so the cost is at
/// most `pattern × text` steps and there is no recursion. One matcher for characters (the
/// `*` wildcards here, the agent adapter's `*`/`?` components) and for path components (its
/// `**`).
pub(crate) fn star_match<P, T>(
    pattern: &[P],
    text: &[T],
    is_star: impl Fn(&P) -> bool,
    eq: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match (pattern.get(pi), text.get(ti)) {
            (Some(p), _) if is_star(p) => {
                star = Some((pi, ti));
                pi += 1;
            }
            (Some(p), Some(t)) if eq(p, t) => {
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
    pattern
        .get(pi..)
        .is_some_and(|rest| rest.iter().all(&is_star))
}

/// The lowercase alphanumeric tokens of `s`.
pub(crate) fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Whether `rest`, what a token holds besides a production token, is a qualifier: a run of
/// digits and words of [`QUALIFIERS`] in any order (`1`, `db`, `db01`, `euwest1`,
/// `k8scluster`). Dynamic programming over the prefixes: `rest` is a few letters long.
fn is_qualifier(rest: &str) -> bool {
    let b = rest.as_bytes();
    if b.is_empty() {
        return false;
    }
    // `ok[i]`: the first `i` bytes split into digits and qualifier words.
    let mut ok = vec![false; b.len() + 1];
    if let Some(first) = ok.first_mut() {
        *first = true;
    }
    for i in 0..b.len() {
        if !ok.get(i).copied().unwrap_or(false) {
            continue;
        }
        let tail = rest.get(i..).unwrap_or("");
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && let Some(slot) = ok.get_mut(i + digits)
        {
            *slot = true;
        }
        for word in QUALIFIERS {
            if tail.starts_with(word)
                && let Some(slot) = ok.get_mut(i + word.len())
            {
                *slot = true;
            }
        }
    }
    ok.last().copied().unwrap_or(false)
}

/// Whether one lowercase token means production (rules 1 to 3 of the module docs).
pub fn is_production_token(token: &str, production_tokens: &[String]) -> bool {
    production_tokens.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        if token == p {
            return true;
        }
        if p.len() < 3 {
            return false;
        }
        let after = token.strip_prefix(p.as_str()).is_some_and(is_qualifier);
        let before = token.strip_suffix(p.as_str()).is_some_and(is_qualifier);
        after || before
    })
}

/// Whether `s` means production: one of its tokens does (see the module docs).
pub fn is_production(s: &str, production_tokens: &[String]) -> bool {
    tokens(s).any(|t| is_production_token(&t, production_tokens))
}

/// Environment values that name every environment at once, production among them: a store
/// `shared` between environments is a production store.
pub const SHARED_VALUES: [&str; 5] = ["shared", "global", "all", "common", "multi"];

/// Environment values that name none: a placeholder is no environment, so the next source
/// decides, and with none the environment stays `unknown`.
pub const PLACEHOLDER_VALUES: [&str; 10] = [
    "unknown", "none", "n/a", "na", "tbd", "todo", "default", "-", "*", "?",
];

/// An environment value as written normalised: `production` when it means production (see
/// the module docs) or names every environment ([`SHARED_VALUES`]), else the trimmed value in
/// lowercase; `None` when it is empty or a placeholder ([`PLACEHOLDER_VALUES`]).
pub fn normalise(value: &str, production_tokens: &[String]) -> Option<String> {
    let v = value.trim();
    let lower = v.to_lowercase();
    if v.is_empty() || PLACEHOLDER_VALUES.contains(&lower.as_str()) {
        None
    } else if is_production(v, production_tokens) || SHARED_VALUES.contains(&lower.as_str()) {
        Some(PRODUCTION.to_string())
    } else {
        Some(lower)
    }
}

/// `production` when `name` — a path, a host name, a resource, module or namespace name, a
/// workspace — means production, else `None`.
///
/// Names yield no other environment: `/home/dev/project` or `/tmp/test` are far more often
/// directory names than environments, and reading them as `dev` or `test` would turn an honest
/// `unknown` into a guess that rules trust.
pub fn path_env(name: &str, production_tokens: &[String]) -> Option<String> {
    is_production_name(name, production_tokens).then(|| PRODUCTION.to_string())
}

/// Production tokens that are also common words (`live`): in a *name* they count only where
/// they stand with nothing but qualifiers beside them (see the module docs).
pub const WORD_TOKENS: [&str; 1] = ["live"];

fn is_word_token(t: &str) -> bool {
    WORD_TOKENS.iter().any(|w| w.eq_ignore_ascii_case(t))
}

/// Whether a *name* — a path, host, resource, module or namespace name, a workspace — means
/// production: a segment of it (the parts between `/`, `\`, `.`, `:`, `@`, `=`, `,` and
/// whitespace) holds a production token that is not a word token; or it holds a word token
/// (`live`) and every other token of that segment is a qualifier (digits, `db`, `eu`, …) or a
/// production token (`live`, `live-db`, `eu-live-1` but not `live-chat`).
pub fn is_production_name(name: &str, production_tokens: &[String]) -> bool {
    let (words, strong): (Vec<String>, Vec<String>) = production_tokens
        .iter()
        .cloned()
        .partition(|t| is_word_token(t));
    if is_production(name, &strong) {
        return true;
    }
    if words.is_empty() {
        return false;
    }
    name.split(|c: char| matches!(c, '/' | '\\' | '.' | ':' | '@' | '=' | ',') || c.is_whitespace())
        .any(|segment| {
            let toks: Vec<String> = tokens(segment).collect();
            toks.iter().any(|t| is_production_token(t, &words))
                && toks.iter().all(|t| {
                    is_production_token(t, &words)
                        || t.bytes().all(|b| b.is_ascii_digit())
                        || QUALIFIERS.contains(&t.as_str())
                })
        })
}

/// What a tag or label key says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    /// The value names an environment (`env`, `Environment`, `env_name`, `STAGE`, …); the
    /// number orders keys by preference when their values disagree and none is production:
    /// 0 for exactly `env` or `environment`, 1 for a longer key about the environment, 2 for
    /// a stage.
    Env(u8),
    /// The value is a name (`Name`, `tier`, `cluster`, …): it can only say production.
    Name,
}

/// Words that make a key hold an environment value.
const ENV_KEY_WORDS: [&str; 4] = ["env", "environment", "environ", "envname"];

/// Words that make a key hold a name, which can only say production.
const NAME_KEY_WORDS: [&str; 13] = [
    "name",
    "tier",
    "cluster",
    "project",
    "namespace",
    "instance",
    "stack",
    "workspace",
    "context",
    "account",
    "host",
    "hostname",
    "identifier",
];

/// The words of a key: split at every character that is not an ASCII letter or digit and where
/// a lowercase letter or digit meets an uppercase one (`deploymentEnvironment`), lowercased.
/// The agent adapter splits tool names (`dropTable`, `execute_sql`) the same way.
pub(crate) fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// What the key of a tag or label says its value is, or `None` when it says neither an
/// environment nor a name (`owner`, `cost-center`, `description`: their values are prose
/// and never decide an environment).
pub fn key_kind(key: &str) -> Option<KeyKind> {
    let words = key_words(key);
    let whole = key.trim().to_ascii_lowercase();
    if matches!(whole.as_str(), "env" | "environment") {
        return Some(KeyKind::Env(0));
    }
    if words.iter().any(|w| ENV_KEY_WORDS.contains(&w.as_str())) {
        return Some(KeyKind::Env(1));
    }
    if words.iter().any(|w| w == "stage") {
        return Some(KeyKind::Env(2));
    }
    if words.iter().any(|w| NAME_KEY_WORDS.contains(&w.as_str())) {
        return Some(KeyKind::Name);
    }
    None
}

/// Values that deny what their key says (`production = "false"`).
const NEGATIVE_VALUES: [&str; 6] = ["false", "no", "0", "off", "n", "disabled"];

/// The sources of one resource's environment, gathered and then combined by the one rule of
/// the module docs: any production source makes it `production`; else the most preferred
/// value; else `unknown`.
#[derive(Debug, Clone)]
pub(crate) struct EnvSignals<'t> {
    production_tokens: &'t [String],
    production: bool,
    /// The best value so far, with its rank (lower is preferred; ties keep the first).
    value: Option<(u8, String)>,
}

impl<'t> EnvSignals<'t> {
    pub(crate) fn new(production_tokens: &'t [String]) -> Self {
        EnvSignals {
            production_tokens,
            production: false,
            value: None,
        }
    }

    /// An environment value of rank `rank` (lower is preferred).
    pub(crate) fn value(&mut self, rank: u8, value: &str) {
        match normalise(value, self.production_tokens) {
            Some(v) if v == PRODUCTION => self.production = true,
            Some(v) if self.value.as_ref().is_none_or(|(r, _)| rank < *r) => {
                self.value = Some((rank, v));
            }
            _ => {}
        }
    }

    /// A name: it can only say production.
    pub(crate) fn name(&mut self, name: &str) {
        if is_production_name(name, self.production_tokens) {
            self.production = true;
        }
    }

    /// A tag or label, read by what its key says (see [`key_kind`]); tags of other keys say
    /// nothing. Their values rank 0 to 2, before any other source's.
    pub(crate) fn tag(&mut self, key: &str, value: &str) {
        self.tag_ranked(key, value, 0);
    }

    /// A tag-like pair from a source that ranks after tags: its value's rank is `base` plus
    /// what its key gives (0 to 2).
    pub(crate) fn tag_ranked(&mut self, key: &str, value: &str, base: u8) {
        // A key that itself means production (`production = "true"`, `is_prod`) says so unless
        // its value denies it.
        if is_production_name(key, self.production_tokens)
            && !NEGATIVE_VALUES.contains(&value.trim().to_ascii_lowercase().as_str())
        {
            self.production = true;
        }
        match key_kind(key) {
            Some(KeyKind::Env(rank)) => self.value(base.saturating_add(rank), value),
            Some(KeyKind::Name) => self.name(value),
            None => {}
        }
    }

    /// The environment of the first pattern of `patterns` matching `text`, as a value of rank
    /// `rank`.
    pub(crate) fn pattern(&mut self, rank: u8, patterns: &[EnvPattern], text: &str) {
        if let Some(p) = patterns.iter().find(|p| p.matches(text)) {
            if is_production(&p.env, self.production_tokens) {
                self.production = true;
            } else if !p.env.trim().is_empty() && self.value.as_ref().is_none_or(|(r, _)| rank < *r)
            {
                // A configured environment is used as given.
                self.value = Some((rank, p.env.clone()));
            }
        }
    }

    /// The environment: `production`, else the preferred value, else `unknown`.
    pub(crate) fn finish(self) -> String {
        if self.production {
            PRODUCTION.to_string()
        } else {
            self.value.map_or_else(|| UNKNOWN.to_string(), |(_, v)| v)
        }
    }
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

    /// The specification of the token rule: every row is a text and whether it means
    /// production with the default tokens.
    const TABLE: &[(&str, bool)] = &[
        // A production token as a whole token, in any case, between any separators.
        ("prod", true),
        ("PROD", true),
        ("Production", true),
        ("prd", true),
        ("live", true),
        ("prod-db", true),
        ("prod-main-db", true),
        ("production-eu", true),
        ("Prod-EU", true),
        ("eu_prd_2", true),
        ("k8s/production", true),
        ("module.prod.aws_db_instance.main", true),
        ("gke_acme_europe-west1_prod-cluster", true),
        ("db01.prod.example.com", true),
        ("postgres://app:secret@prod-db:5432/app", true),
        ("s3://prod-bucket", true),
        ("arn:aws:rds:eu-west-1:123:db:prod-main", true),
        ("payments-live", true),
        // Separators make whole tokens, so these are production (documented).
        ("pre-prod", true),
        ("non_prod", true),
        ("production_line", true),
        // A production token with a qualifier after it.
        ("prod1", true),
        ("prod-1", true),
        ("prd02", true),
        ("production2", true),
        ("prodcluster", true),
        ("ProdCluster", true),
        ("proddb", true),
        ("proddb01", true),
        ("prodeu", true),
        ("productioneu", true),
        ("prodk8s", true),
        ("prodapi", true),
        ("livedb", true),
        ("prd2eu", true),
        ("prodeuwest1", true),
        ("prodmaindb", true),
        ("k8sclusterprod", true),
        ("productdb", false),
        ("producteu", false),
        // A production token with a qualifier before it.
        ("k8sprod", true),
        ("dbprod", true),
        ("euprod", true),
        ("01prod", true),
        ("eu1prod", true),
        ("clusterproduction", true),
        // Words that only start or end like a production token.
        ("product", false),
        ("products", false),
        ("product-catalog", false),
        ("producer", false),
        ("produce", false),
        ("productive", false),
        ("prodigy", false),
        ("prods", false),
        ("prodding", false),
        ("reproduce", false),
        ("reproduction", false),
        ("coproduction", false),
        ("alive", false),
        ("olive", false),
        ("lived", false),
        ("liver", false),
        ("lively", false),
        ("livestock", false),
        ("delivery", false),
        ("deliver", false),
        ("oliver-prd-notes", true),
        // The environments before production are not production.
        ("preprod", false),
        ("nonprod", false),
        ("nonProd", false),
        ("preproduction", false),
        ("nonproduction", false),
        ("staging", false),
        ("stage", false),
        ("dev", false),
        ("test", false),
        ("qa", false),
        ("uat", false),
        ("sandbox", false),
        ("", false),
        ("---", false),
        ("/home/dev/project", false),
        ("/tmp/test", false),
        ("my-project", false),
        ("myprod", false),
        ("reprod", false),
        ("p", false),
        ("pro", false),
        ("prodx", false),
    ];

    #[test]
    fn production_token_table() {
        let t = default_production_tokens();
        let wrong: Vec<String> = TABLE
            .iter()
            .filter(|(text, want)| is_production(text, &t) != *want)
            .map(|(text, want)| {
                format!(
                    "{text:?} should be {}",
                    if *want {
                        "production"
                    } else {
                        "not production"
                    }
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert_eq!(normalise(" Staging ", &t).as_deref(), Some("staging"));
        assert_eq!(normalise("PROD", &t).as_deref(), Some("production"));
        assert_eq!(normalise("prod1", &t).as_deref(), Some("production"));
        assert_eq!(normalise("  ", &t), None);
        assert_eq!(normalise("Shared", &t).as_deref(), Some("production"));
        assert_eq!(normalise("N/A", &t), None);
        assert_eq!(normalise("unknown", &t), None);
    }

    /// Names: word tokens (`live`) count only beside qualifiers; other tokens as in values.
    const NAME_TABLE: &[(&str, bool)] = &[
        ("live", true),
        ("LIVE", true),
        ("live-db", true),
        ("live-db-01", true),
        ("eu-live-1", true),
        ("livedb", true),
        ("/srv/infra/envs/live", true),
        ("/srv/live/db", true),
        ("db.live.example.com", true),
        ("postgres://app@live-db:5432/app", true),
        ("module.live.aws_db_instance.main", true),
        ("live-chat", false),
        ("/home/me/src/live-chat", false),
        ("live-stream-assets", false),
        ("deliver-live-updates", false),
        ("alive", false),
        ("prod-chat", true),
        ("/home/me/src/prod-tools", true),
        ("product-live-demo", false),
        ("payments-prod", true),
        ("staging", false),
        ("", false),
    ];

    #[test]
    fn production_name_table() {
        let t = default_production_tokens();
        let wrong: Vec<String> = NAME_TABLE
            .iter()
            .filter(|(name, want)| is_production_name(name, &t) != *want)
            .map(|(name, want)| format!("{name:?}: expected {want}"))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // A value is read whole: `live` anywhere in it is production.
        assert!(is_production("live-chat", &t));
        // Configured without `live`, it is nothing.
        let plain = vec!["prod".to_string()];
        assert!(!is_production_name("live", &plain));
        assert!(!is_production("live", &plain));
    }

    #[test]
    fn configured_tokens() {
        // Only the configured tokens count; a short one matches only as a whole token.
        let t = vec!["pr".to_string(), "Main".to_string()];
        assert!(is_production("eu-pr", &t));
        assert!(!is_production("pr1", &t));
        assert!(is_production("main", &t));
        assert!(is_production("maindb", &t));
        assert!(!is_production("prod", &t));
        assert!(!is_production("maintenance", &t));
        assert!(!is_production("prod", &[]));
    }

    #[test]
    fn keys() {
        for (key, kind) in [
            ("env", Some(KeyKind::Env(0))),
            ("Env", Some(KeyKind::Env(0))),
            ("ENVIRONMENT", Some(KeyKind::Env(0))),
            ("env_name", Some(KeyKind::Env(1))),
            ("EnvName", Some(KeyKind::Env(1))),
            ("deployment_environment", Some(KeyKind::Env(1))),
            ("deploymentEnvironment", Some(KeyKind::Env(1))),
            ("app.kubernetes.io/environment", Some(KeyKind::Env(1))),
            ("Stage", Some(KeyKind::Env(2))),
            ("STAGE", Some(KeyKind::Env(2))),
            ("tier", Some(KeyKind::Name)),
            ("Tier", Some(KeyKind::Name)),
            ("Name", Some(KeyKind::Name)),
            ("cluster_name", Some(KeyKind::Name)),
            ("owner", None),
            ("cost-center", None),
            ("Description", None),
            ("envoy", None),
            ("app", None),
        ] {
            assert_eq!(key_kind(key), kind, "{key}");
        }
    }

    #[test]
    fn production_wins_over_every_other_source() {
        let t = default_production_tokens();
        let mut s = EnvSignals::new(&t);
        s.tag("env", "test");
        s.tag("Name", "prod-main-db");
        assert_eq!(s.finish(), "production");

        let mut s = EnvSignals::new(&t);
        s.tag("Stage", "dev");
        s.tag("environment", "qa");
        s.tag("tier", "frontend");
        s.tag("owner", "prod-team");
        assert_eq!(s.finish(), "qa");

        let mut s = EnvSignals::new(&t);
        s.pattern(3, &[EnvPattern::new("*", "staging")], "x");
        s.name("module.prod.x");
        assert_eq!(s.finish(), "production");

        let mut s = EnvSignals::new(&t);
        s.tag("is_production", "true");
        s.tag("env", "dev");
        assert_eq!(s.finish(), "production");
        let mut s = EnvSignals::new(&t);
        s.tag("production", "false");
        s.tag("env", "none");
        s.tag("Environment", "dev");
        assert_eq!(s.finish(), "dev");

        let mut s = EnvSignals::new(&t);
        s.pattern(3, &[EnvPattern::new("*", "Staging-EU")], "x");
        s.name("db-main");
        assert_eq!(s.finish(), "Staging-EU");
        assert_eq!(EnvSignals::new(&t).finish(), "unknown");
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
