//! AI provenance of commits: which coding assistants left a marker, as a tri-state.
//!
//! [`classify_commit`] looks at one commit's message and identities and returns the tools whose
//! markers it carries; [`Provenance::from_commits`] combines the commits of a range into the
//! `change.ai` record. Both are pure functions of text: no repository is read here.
//!
//! # The tri-state
//!
//! A commit (and a range) is `yes` when at least one marker below matched. Otherwise it is `no`
//! only when [`ProvenanceOptions::unmarked_means_human`] is set — a team that requires its
//! assistants to leave markers may say so — and `unknown` otherwise, because most assistants can
//! be configured to leave no trace and the absence of a marker proves nothing.
//!
//! # What is matched, and what is not
//!
//! Identities are matched by **email address or bot login, never by display name**: "Claude"
//! and "Devin" are people's names too, so `Co-Authored-By: Claude <claude@example.com>` is not a
//! marker. A `users.noreply.github.com` address proves nothing on its own either: every GitHub
//! user has one; only the specific bot logins below count. The one name-based rule is aider's
//! ` (aider)` suffix, because that suffix is what aider itself writes.
//!
//! The identities examined are the author, the committer, and every `Co-authored-by:` line of
//! the message (key in any case, value `Name <email>`). Trailer-shaped lines (`Key: value`) are
//! looked for on **every** line of the message, not only in the final trailer block: a squash
//! merge keeps the trailers of the squashed commits in its body, and missing a marker there would
//! be a silent "no". (The commit's `trailers` fact, by contrast, follows git's stricter rule; see
//! [`parse_trailers`].) Emails and bot logins are compared case-insensitively; a bot login is
//! the name when it ends in `[bot]`, or the local part of the email with GitHub's `NNN+` user-id
//! prefix removed.
//!
//! The built-in markers — agent emails, bot logins, the GitHub users behind agents' noreply
//! addresses, footers, trailer keys, disclosure lines (`AI-assisted: …`, `AI disclosure: …`,
//! the value's first word naming the tool, a no being no marker) and `Assisted-by:` — are one
//! table, `data/provenance.toml` in this crate, each entry with the source that makes it a
//! marker. It is compiled in and read once. `tests/fixtures/commits/` holds real commit
//! messages it is tested against.
//!
//! Configured [`ProvenancePattern`]s add to these: an exact email (case-insensitive, any of the
//! identities above), a trailer key (case-insensitive), a regular expression over trailer values,
//! or a regular expression over the whole message (the `regex` crate's syntax; use `(?m)` for
//! `^`/`$` per line).
//!
//! # Evidence
//!
//! Each marker is recorded once per commit as `{tool, marker}`: the marker is the matching line
//! (trimmed), or for an author or committer `author: Name <email>` / `committer: Name <email>`.

use regex::Regex;

use crate::provenance_table::{self as markers, Kind};
use serde_json::{Value, json};

pub use crate::git_error::PatternError;

/// `yes`, `no` or `unknown`, as in the schema's `TriState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriState {
    /// A marker was found.
    Yes,
    /// No marker, and the configuration says unmarked means human.
    No,
    /// No marker, and absence proves nothing.
    Unknown,
}

impl TriState {
    /// The spelling in fact documents.
    pub fn as_str(self) -> &'static str {
        match self {
            TriState::Yes => "yes",
            TriState::No => "no",
            TriState::Unknown => "unknown",
        }
    }
}

/// An author, committer or co-author identity as written in a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Person {
    /// The display name.
    pub name: String,
    /// The email address, without angle brackets.
    pub email: String,
}

impl Person {
    /// A person from a name and an email.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Person {
            name: name.into(),
            email: email.into(),
        }
    }

    /// Whether this is a bot account: a name ending in `[bot]`, or an email whose local part
    /// does (`…[bot]@users.noreply.github.com`, `NNN+name[bot]@…`).
    pub fn is_bot(&self) -> bool {
        ends_with_ignore_case(self.name.trim(), "[bot]")
            || ends_with_ignore_case(local_part(&self.email), "[bot]")
    }

    /// `Name <email>`, as git writes it.
    fn display(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }
}

/// What a configured [`ProvenancePattern`] is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// An exact email address (case-insensitive) of the author, committer or a co-author.
    Email,
    /// A trailer key (case-insensitive), e.g. `AI-Assisted`.
    TrailerKey,
    /// A regular expression over the values of trailer-shaped lines.
    TrailerValueRegex,
    /// A regular expression over the whole message.
    MessageRegex,
}

/// A team's own marker of AI assistance.
#[derive(Debug, Clone)]
pub struct ProvenancePattern {
    tool: String,
    kind: PatternKind,
    pattern: String,
    regex: Option<Regex>,
}

impl ProvenancePattern {
    /// A pattern marking `tool`; the regex kinds compile `pattern` here, so a bad one is an
    /// error before any commit is read.
    pub fn new(
        tool: impl Into<String>,
        kind: PatternKind,
        pattern: impl Into<String>,
    ) -> Result<Self, PatternError> {
        let tool = tool.into();
        let pattern = pattern.into();
        let regex = match kind {
            PatternKind::Email | PatternKind::TrailerKey => None,
            PatternKind::TrailerValueRegex | PatternKind::MessageRegex => {
                Some(Regex::new(&pattern).map_err(|e| PatternError {
                    tool: tool.clone(),
                    pattern: pattern.clone(),
                    detail: e.to_string(),
                })?)
            }
        };
        Ok(ProvenancePattern {
            tool,
            kind,
            pattern,
            regex,
        })
    }

    /// The tool a match marks.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// What the pattern is matched against.
    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// How provenance is decided.
#[derive(Debug, Clone, Default)]
pub struct ProvenanceOptions {
    /// Treat a commit (and a range) without any marker as human-written (`no`) rather than
    /// `unknown`. Off by default: absence of a marker proves nothing unless a team enforces them.
    pub unmarked_means_human: bool,
    /// Extra markers, checked after the built-in ones.
    pub patterns: Vec<ProvenancePattern>,
}

/// One marker found in a commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Marker {
    /// The tool the marker names.
    pub tool: String,
    /// The matching line, or `author: Name <email>` / `committer: Name <email>`.
    pub marker: String,
}

/// The provenance of one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitProvenance {
    /// `yes` when a marker matched, else `no` or `unknown` as configured.
    pub ai: TriState,
    /// The tools found, sorted and deduplicated.
    pub tools: Vec<String>,
    /// Every marker, in the order found, each once.
    pub evidence: Vec<Marker>,
}

/// A `Key: value` trailer of a commit message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Trailer {
    /// The key, case preserved.
    pub key: String,
    /// The value, trimmed; continuation lines are joined with one space.
    pub value: String,
}

/// The trailers of `message`, git-interpret-trailers style.
///
/// The trailer block is the last paragraph (lines separated by blank lines) of the message,
/// provided it is not the first paragraph (the subject can never be trailers) and *every* line
/// of it is a trailer line `Key: value` or a continuation of the previous one (a line starting
/// with whitespace). A key is ASCII letters, digits and `-`, starting with a letter or digit;
/// whitespace may separate it from the `:`. A value starting with `//` makes the line a URL, not
/// a trailer. git also accepts blocks that are only three-quarters trailers when one of them is
/// a git-generated trailer; this parser does not, so such a message has no trailers here.
pub fn parse_trailers(message: &str) -> Vec<Trailer> {
    let lines: Vec<&str> = message.lines().collect();
    let Some(last) = lines.iter().rposition(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let mut start = last;
    while start > 0 && lines.get(start - 1).is_some_and(|l| !l.trim().is_empty()) {
        start -= 1;
    }
    // The first paragraph is the subject: only lines before it that are not blank make the last
    // paragraph a later one.
    let is_first_paragraph = lines
        .get(..start)
        .is_none_or(|before| before.iter().all(|l| l.trim().is_empty()));
    if is_first_paragraph {
        return Vec::new();
    }
    let mut trailers: Vec<Trailer> = Vec::new();
    for line in lines.get(start..=last).unwrap_or_default() {
        if line.starts_with([' ', '\t']) {
            match trailers.last_mut() {
                Some(t) => {
                    if !t.value.is_empty() {
                        t.value.push(' ');
                    }
                    t.value.push_str(line.trim());
                }
                None => return Vec::new(),
            }
        } else if let Some((key, value)) = trailer_line(line) {
            trailers.push(Trailer {
                key: key.to_string(),
                value: value.to_string(),
            });
        } else {
            return Vec::new();
        }
    }
    trailers
}

/// `Some((key, value))` when `line` has the shape of a trailer.
fn trailer_line(line: &str) -> Option<(&str, &str)> {
    let key_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let key = line.get(..key_len)?;
    if !key.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = line.get(key_len..)?.trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix(':')?;
    if value.starts_with("//") {
        return None;
    }
    Some((key, value.trim()))
}

/// The markers of one commit. See the module documentation for every rule.
pub fn classify_commit(
    message: &str,
    author: &Person,
    committer: &Person,
    opts: &ProvenanceOptions,
) -> CommitProvenance {
    let mut found = Found::default();

    // Identities: author, committer, then each co-author line, with the marker text each gives.
    let mut identities: Vec<(Person, String)> = vec![
        (author.clone(), format!("author: {}", author.display())),
        (
            committer.clone(),
            format!("committer: {}", committer.display()),
        ),
    ];
    let table = markers::table();
    for (role, person) in [("author", author), ("committer", committer)] {
        for m in table.of(Kind::NameSuffix) {
            if person.name.trim_end().ends_with(m.value.as_str()) {
                found.add(&m.tool, format!("{role}: {}", person.display()));
            }
        }
    }

    for m in table.of(Kind::MessagePrefix) {
        if message.trim_start().starts_with(m.value.as_str()) {
            let first = message.trim_start().lines().next().unwrap_or_default();
            found.add(&m.tool, first.trim().to_string());
        }
    }

    for raw in message.lines() {
        let line = raw.trim();
        let lower = line.to_ascii_lowercase();
        for m in table.of(Kind::Footer) {
            if lower.contains(m.value.as_str()) {
                found.add(&m.tool, line.to_string());
            }
        }
        // A disclosure key with a space (`AI disclosure: …`) is no trailer key.
        for m in table.of(Kind::Disclosure).filter(|m| m.value.contains(' ')) {
            if let Some(value) = strip_prefix_ignore_case(line, &format!("{}:", m.value))
                && let Some(tool) = disclosure_tool(value.trim())
            {
                found.add(&tool, line.to_string());
            }
        }
        let Some((key, value)) = trailer_line(line) else {
            continue;
        };
        let key_is = |kind: Kind| table.of(kind).find(|m| key.eq_ignore_ascii_case(&m.value));
        if key.eq_ignore_ascii_case("co-authored-by") {
            identities.push((parse_identity(value), line.to_string()));
        } else if let Some(m) = key_is(Kind::Trailer) {
            found.add(&m.tool, line.to_string());
        } else if key_is(Kind::Disclosure).is_some()
            && let Some(tool) = disclosure_tool(value)
            // A team that configured this key names the tool itself.
            && !opts
                .patterns
                .iter()
                .any(|p| p.kind == PatternKind::TrailerKey && key.eq_ignore_ascii_case(&p.pattern))
        {
            found.add(&tool, line.to_string());
        } else if key_is(Kind::AssistedBy).is_some() {
            let agent = match value.split_once(':') {
                Some((agent, _)) => agent.trim(),
                None => value.split_whitespace().next().unwrap_or_default(),
            };
            if !agent.is_empty() {
                found.add(&agent.to_lowercase(), line.to_string());
            }
        }
        for p in &opts.patterns {
            let hit = match (p.kind, &p.regex) {
                (PatternKind::TrailerKey, _) => key.eq_ignore_ascii_case(&p.pattern),
                (PatternKind::TrailerValueRegex, Some(re)) => re.is_match(value),
                _ => false,
            };
            if hit {
                found.add(&p.tool, line.to_string());
            }
        }
    }

    for (person, marker) in &identities {
        if let Some(tool) = builtin_identity_tool(person) {
            found.add(tool, marker.clone());
        }
        for p in &opts.patterns {
            if p.kind == PatternKind::Email && person.email.trim().eq_ignore_ascii_case(&p.pattern)
            {
                found.add(&p.tool, marker.clone());
            }
        }
    }

    for p in &opts.patterns {
        if let (PatternKind::MessageRegex, Some(re)) = (p.kind, &p.regex)
            && let Some(m) = re.find(message)
        {
            found.add(&p.tool, line_around(message, m.start()).to_string());
        }
    }

    found.finish(opts)
}

/// The tool a built-in identity marker assigns to `person`, if any: its email, the GitHub
/// user its noreply address stands for, or its bot login (from the name or the email).
fn builtin_identity_tool(person: &Person) -> Option<&'static str> {
    let table = markers::table();
    let email = person.email.trim().to_ascii_lowercase();
    if let Some(m) = table.of(Kind::Email).find(|m| m.value == email) {
        return Some(&m.tool);
    }
    if let Some((local, domain)) = email.rsplit_once('@')
        && domain == "users.noreply.github.com"
        && let Some((id, login)) = local.split_once('+')
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && let Some(m) = table.of(Kind::NoreplyUser).find(|m| m.value == login)
    {
        return Some(&m.tool);
    }
    let name = person.name.trim().to_ascii_lowercase();
    let email_login = strip_user_id(local_part(&email));
    [name.as_str(), email_login]
        .into_iter()
        .filter(|login| login.ends_with("[bot]"))
        .find_map(|login| table.of(Kind::Bot).find(|m| m.value == login))
        .map(|m| m.tool.as_str())
}

/// The tool a project's own disclosure line names, from its value: the value's first word,
/// lowercased, as `Assisted-by:` does; `ai` for a bare yes; `None` for a value that says no AI
/// was used (the table's `disclosure_values`).
fn disclosure_tool(value: &str) -> Option<String> {
    let table = markers::table();
    let lower = value.trim().to_ascii_lowercase();
    let first: String = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_string();
    if first.is_empty() || table.negative.contains(&first) {
        return None;
    }
    Some(if table.affirmative.contains(&first) {
        "ai".to_string()
    } else {
        first
    })
}

/// `line` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ignore_case<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| line.get(prefix.len()..))
        .flatten()
}

/// `Name <email>` → a person; without angle brackets a lone address is the email, anything
/// else the name.
fn parse_identity(value: &str) -> Person {
    match value.split_once('<') {
        Some((name, rest)) => {
            let email = rest.split_once('>').map_or(rest, |(e, _)| e);
            Person::new(name.trim(), email.trim())
        }
        // A bare address is an email, not a name.
        None if value.contains('@') && !value.trim().contains(char::is_whitespace) => {
            Person::new("", value.trim())
        }
        None => Person::new(value.trim(), ""),
    }
}

/// The part of an email before the last `@` (the whole string when there is none).
fn local_part(email: &str) -> &str {
    email
        .trim()
        .rsplit_once('@')
        .map_or(email.trim(), |(l, _)| l)
}

/// GitHub's noreply addresses are `ID+login@…`: drop a numeric `ID+` prefix.
fn strip_user_id(local: &str) -> &str {
    match local.split_once('+') {
        Some((id, login)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => login,
        _ => local,
    }
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
}

/// The trimmed line of `text` holding byte offset `at`.
fn line_around(text: &str, at: usize) -> &str {
    let start = text
        .get(..at)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(at..)
        .and_then(|after| after.find('\n'))
        .map_or(text.len(), |i| at + i);
    text.get(start..end).unwrap_or_default().trim()
}

/// Markers collected for one commit, each `(tool, marker)` once.
#[derive(Default)]
struct Found {
    evidence: Vec<Marker>,
}

impl Found {
    fn add(&mut self, tool: &str, marker: String) {
        if !self
            .evidence
            .iter()
            .any(|m| m.tool == tool && m.marker == marker)
        {
            self.evidence.push(Marker {
                tool: tool.to_string(),
                marker,
            });
        }
    }

    fn finish(self, opts: &ProvenanceOptions) -> CommitProvenance {
        let mut tools: Vec<String> = self.evidence.iter().map(|m| m.tool.clone()).collect();
        tools.sort();
        tools.dedup();
        let ai = if !self.evidence.is_empty() {
            TriState::Yes
        } else if opts.unmarked_means_human {
            TriState::No
        } else {
            TriState::Unknown
        };
        CommitProvenance {
            ai,
            tools,
            evidence: self.evidence,
        }
    }
}

/// One marker of a range, with the commit that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// The tool the marker names.
    pub tool: String,
    /// The commit id.
    pub commit: String,
    /// The matching line or identity.
    pub marker: String,
}

/// The provenance of a range: the `change.ai` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `yes` if any commit has a marker; else `no` if unmarked means human; else `unknown`.
    pub assisted: TriState,
    /// Every tool found, sorted and deduplicated.
    pub tools: Vec<String>,
    /// Every marker, in commit order then the order found.
    pub evidence: Vec<Evidence>,
}

impl Provenance {
    /// Combine the provenance of the commits of a range, given as `(commit id, provenance)`.
    /// An empty range is `no` or `unknown`, as configured.
    pub fn from_commits<'a>(
        commits: impl IntoIterator<Item = (&'a str, &'a CommitProvenance)>,
        opts: &ProvenanceOptions,
    ) -> Provenance {
        let mut tools = Vec::new();
        let mut evidence = Vec::new();
        for (sha, p) in commits {
            tools.extend(p.tools.iter().cloned());
            evidence.extend(p.evidence.iter().map(|m| Evidence {
                tool: m.tool.clone(),
                commit: sha.to_string(),
                marker: m.marker.clone(),
            }));
        }
        tools.sort();
        tools.dedup();
        let assisted = if !evidence.is_empty() {
            TriState::Yes
        } else if opts.unmarked_means_human {
            TriState::No
        } else {
            TriState::Unknown
        };
        Provenance {
            assisted,
            tools,
            evidence,
        }
    }

    /// The `ai` record, every field written except `initiator`, which a git range cannot tell.
    pub fn to_json(&self) -> Value {
        let evidence: Vec<Value> = self
            .evidence
            .iter()
            .map(|e| json!({"tool": e.tool, "commit": e.commit, "marker": e.marker}))
            .collect();
        json!({
            "assisted": self.assisted.as_str(),
            "tools": self.tools,
            "evidence": evidence,
        })
    }
}
