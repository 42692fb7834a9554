//! CODEOWNERS files (GitHub and GitLab dialects): who owns a path, and the `owners` facts.
//!
//! Parsing never fails. Every line that cannot be used becomes a [`LineError`] (1-based line,
//! message) and the rest of the file still counts, because one bad line must not hide the owners
//! the others name. The errors become `change.owners.errors`, so a rule can fail closed on a
//! broken file.
//!
//! # Which file
//!
//! [`locate`] picks the file the forge itself would read when several exist:
//! - GitHub: `.github/CODEOWNERS`, then `CODEOWNERS`, then `docs/CODEOWNERS` (GitHub's
//!   documented search order; the first found is the only one used);
//! - GitLab: `CODEOWNERS`, then `docs/CODEOWNERS`, then `.gitlab/CODEOWNERS` (the order of
//!   `FILE_PATHS` in GitLab's `ee/lib/gitlab/code_owners.rb`; GitLab's documentation lists the
//!   three places without an order, and its issue 366394 records this observed order).
//!
//! # Lines (both dialects)
//!
//! - A line is split into whitespace-separated tokens; `\` escapes the next character, so
//!   `path\ with\ spaces` is one token. Blank lines and lines whose first non-blank character is
//!   `#` are ignored. A token starting with `#` after the pattern starts a comment (GitHub does
//!   not support these, so in that dialect the line also gets an error).
//! - The first token is the path pattern, matched with [`blastwall_abi::glob::Glob`]
//!   (gitignore semantics: unanchored patterns match at any depth, a pattern matches everything
//!   under a directory it matches, a trailing `/` matches only inside a directory). One
//!   exception, documented by both forges: a pattern ending in `/*` matches only what is
//!   *directly* in that directory (`docs/*` owns `docs/a.md`, not `docs/sub/b.md`; `docs/**/*`
//!   owns both). A pattern
//!   that is not a valid glob is an error line.
//! - The other tokens are owners. An owner that is not valid is an error entry for the line,
//!   and the line's valid owners still count. A line may have no owners at all: it then matches
//!   and leaves its paths unowned.
//! - A file over [`MAX_FILE_BYTES`] (3 MiB, GitHub's limit) is not read: it yields one error and
//!   no rules, as on GitHub. A line over [`MAX_LINE_BYTES`] is an error line.
//!
//! # GitHub
//!
//! The last matching line wins. Owners are `@user`, `@org/team` or an email address. GitHub
//! does not support `!` negation, `[ ]` character classes or a `\#` escape; a line using one is
//! an error line and is skipped, as GitHub skips it. GitLab section headers are therefore error
//! lines too.
//!
//! # GitLab
//!
//! - `[Section]` starts a section; `[Section][N]` requires `N` approvals (default 1; `0` is an
//!   error and counts as 1); `^[Section]` makes it optional; owners after the header
//!   (`[Section] @a @b`) are the default owners of the section's lines that name none. Headers
//!   with the same name (compared case-insensitively) form one section. Lines before any header
//!   belong to the section `codeowners`, as in GitLab.
//! - Owners are `@user`, `@group`, nested groups `@group/sub/team`, roles `@@developer`,
//!   `@@maintainer`, `@@owner`, or an email address. A line with no owners in a section without
//!   default owners gets an error (GitLab reports "zero owners") and leaves its paths unowned.
//! - `!pattern` excludes matching paths from its section, whatever the order of the lines.
//! - Within a section the last matching line wins; a path collects the owners of every section
//!   that matches it.

use blastwall_abi::glob::Glob;
use serde_json::{Value, json};

/// The largest file read, in bytes: GitHub ignores larger CODEOWNERS files.
pub const MAX_FILE_BYTES: usize = 3 * 1024 * 1024;

/// The longest line read, in bytes.
pub const MAX_LINE_BYTES: usize = 4096;

/// The most errors written into the `owners` facts; more are summarised in one last entry.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// Where GitHub looks for the file, in the order it looks.
pub const GITHUB_LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// Where GitLab looks for the file, in the order it looks.
pub const GITLAB_LOCATIONS: [&str; 3] = ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

/// The name GitLab gives the section of the lines before any section header.
pub const GITLAB_DEFAULT_SECTION: &str = "codeowners";

/// Which forge's CODEOWNERS rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// GitHub: last match wins, no sections, no negation.
    GitHub,
    /// GitLab: sections with approval counts, optional sections, default owners, exclusions.
    GitLab,
}

/// Of the repository files `files`, the CODEOWNERS file the forge would use, if any.
///
/// Paths are repository-relative; a leading `./` or `/` is ignored.
pub fn locate<'a>(files: &[&'a str], dialect: Dialect) -> Option<&'a str> {
    let order = match dialect {
        Dialect::GitHub => GITHUB_LOCATIONS,
        Dialect::GitLab => GITLAB_LOCATIONS,
    };
    order.iter().find_map(|want| {
        files.iter().copied().find(|f| {
            let f = f.strip_prefix("./").unwrap_or(f);
            f.strip_prefix('/').unwrap_or(f) == *want
        })
    })
}

/// A line of the file that could not be used, in full or in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number; 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A section (GitLab); GitHub files have one implicit section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name as first written; [`GITLAB_DEFAULT_SECTION`] for lines before any header, and
    /// empty for GitHub.
    pub name: String,
    /// Approvals required.
    pub approvals: u32,
    /// Whether the section is optional (`^[Section]`).
    pub optional: bool,
    /// The line of the first header; 0 for the implicit section.
    pub line: usize,
}

/// One usable line.
#[derive(Debug, Clone)]
struct Rule {
    line: usize,
    pattern: String,
    owners: Vec<String>,
    section: usize,
    exclusion: bool,
    glob: Glob,
    /// For a pattern ending in `/*`: the same pattern as directory-only, which matches exactly
    /// the paths nested deeper than `glob` may own.
    too_deep: Option<Glob>,
}

impl Rule {
    fn matches(&self, path: &str) -> bool {
        self.glob.matches(path) && !self.too_deep.as_ref().is_some_and(|g| g.matches(path))
    }
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct Codeowners {
    dialect: Dialect,
    file: Option<String>,
    rules: Vec<Rule>,
    sections: Vec<Section>,
    errors: Vec<LineError>,
}

/// The owners of one section that matched a path (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionMatch {
    /// The section's name.
    pub name: String,
    /// Approvals the section requires.
    pub approvals: u32,
    /// Whether the section is optional.
    pub optional: bool,
    /// The owners of the section's last matching line.
    pub owners: Vec<String>,
    /// That line's number.
    pub line: usize,
    /// That line's pattern as written.
    pub pattern: String,
}

/// Who owns a path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnersResult {
    /// The owners; empty when no line matched or the matching line names none. For GitLab, the
    /// owners of every matching section, in section order, without repeats.
    pub owners: Vec<String>,
    /// The matching line (for GitLab, the latest of the sections' matching lines).
    pub line: Option<usize>,
    /// That line's pattern as written.
    pub pattern: Option<String>,
    /// For GitLab, each section that matched, in section order; empty for GitHub.
    pub sections: Vec<SectionMatch>,
}

impl Codeowners {
    /// Record the repository path the file was read from, for the `owners.file` fact.
    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The dialect the file was parsed as.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The path given to [`Codeowners::with_file`].
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Lines that could not be used, in line order.
    pub fn errors(&self) -> &[LineError] {
        &self.errors
    }

    /// The sections, the implicit first one included.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// How many lines are rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Who owns `path` (repository-relative, `/`-separated).
    pub fn owners_of(&self, path: &str) -> OwnersResult {
        match self.dialect {
            Dialect::GitHub => match self.rules.iter().rev().find(|r| r.matches(path)) {
                Some(r) => OwnersResult {
                    owners: r.owners.clone(),
                    line: Some(r.line),
                    pattern: Some(r.pattern.clone()),
                    sections: Vec::new(),
                },
                None => OwnersResult::default(),
            },
            Dialect::GitLab => {
                let mut result = OwnersResult::default();
                for (index, section) in self.sections.iter().enumerate() {
                    let rules = || self.rules.iter().filter(move |r| r.section == index);
                    if rules().any(|r| r.exclusion && r.matches(path)) {
                        continue;
                    }
                    let Some(rule) = rules().filter(|r| !r.exclusion).rfind(|r| r.matches(path))
                    else {
                        continue;
                    };
                    for owner in &rule.owners {
                        if !result.owners.contains(owner) {
                            result.owners.push(owner.clone());
                        }
                    }
                    if result.line.is_none_or(|l| l < rule.line) {
                        result.line = Some(rule.line);
                        result.pattern = Some(rule.pattern.clone());
                    }
                    result.sections.push(SectionMatch {
                        name: section.name.clone(),
                        approvals: section.approvals,
                        optional: section.optional,
                        owners: rule.owners.clone(),
                        line: rule.line,
                        pattern: rule.pattern.clone(),
                    });
                }
                result
            }
        }
    }
}

/// Parse a CODEOWNERS file. Never fails: bad lines become [`Codeowners::errors`].
pub fn parse_codeowners(text: &str, dialect: Dialect) -> Codeowners {
    let implicit = Section {
        name: match dialect {
            Dialect::GitHub => String::new(),
            Dialect::GitLab => GITLAB_DEFAULT_SECTION.to_string(),
        },
        approvals: 1,
        optional: false,
        line: 0,
    };
    let mut co = Codeowners {
        dialect,
        file: None,
        rules: Vec::new(),
        sections: vec![implicit],
        errors: Vec::new(),
    };
    if text.len() > MAX_FILE_BYTES {
        co.errors.push(LineError {
            line: 0,
            message: format!(
                "the file is {} bytes, over the {MAX_FILE_BYTES}-byte limit: it is not read",
                text.len()
            ),
        });
        return co;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut state = State {
        section: 0,
        default_owners: Vec::new(),
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.len() > MAX_LINE_BYTES {
            co.errors.push(LineError {
                line: line_no,
                message: format!(
                    "the line is {} bytes, over the {MAX_LINE_BYTES}-byte limit: it is ignored",
                    line.len()
                ),
            });
            continue;
        }
        co.parse_line(line, line_no, &mut state);
    }
    co
}

/// Where the parser is: the current section, and the owners its header named.
struct State {
    section: usize,
    default_owners: Vec<String>,
}

/// Split a line into tokens at unescaped whitespace; escapes stay in the tokens.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `pattern` has a `[` that is not escaped.
fn has_unescaped_bracket(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => return true,
            _ => {}
        }
    }
    false
}

impl Codeowners {
    fn error(&mut self, line: usize, message: String) {
        self.errors.push(LineError { line, message });
    }

    fn parse_line(&mut self, line: &str, line_no: usize, state: &mut State) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return;
        }
        if self.dialect == Dialect::GitLab
            && (trimmed.starts_with('[') || trimmed.starts_with("^["))
        {
            self.parse_section_header(trimmed, line_no, state);
            return;
        }

        let mut toks = tokens(trimmed);
        // A token starting with `#` after the pattern starts a comment.
        if let Some(pos) = toks.iter().skip(1).position(|t| t.starts_with('#')) {
            toks.truncate(pos + 1);
            if self.dialect == Dialect::GitHub {
                self.error(
                    line_no,
                    "GitHub does not support comments after a pattern; the rest of the line is ignored"
                        .to_string(),
                );
            }
        }
        let mut toks = toks.into_iter();
        let Some(mut pattern) = toks.next() else {
            return;
        };
        let written = pattern.clone();

        let mut exclusion = false;
        match self.dialect {
            Dialect::GitHub => {
                let unsupported = if pattern.starts_with('!') {
                    Some("negation with `!`")
                } else if has_unescaped_bracket(&pattern) {
                    Some("character classes with `[ ]`")
                } else if pattern.starts_with("\\#") {
                    Some("escaping a leading `#` with `\\`")
                } else {
                    None
                };
                if let Some(what) = unsupported {
                    self.error(
                        line_no,
                        format!(
                            "GitHub does not support {what} in `{written}`; the line is ignored"
                        ),
                    );
                    return;
                }
            }
            Dialect::GitLab => {
                if let Some(rest) = pattern.strip_prefix('!') {
                    exclusion = true;
                    pattern = rest.to_string();
                }
            }
        }

        let glob = match Glob::new(&pattern) {
            Ok(g) => g,
            Err(e) => {
                self.error(
                    line_no,
                    format!("invalid pattern: {e}; the line is ignored"),
                );
                return;
            }
        };
        // `a/**/*` reaches every depth by itself; only a plain `dir/*` stops at one level.
        let too_deep = if pattern.ends_with("/*") && !pattern.ends_with("**/*") {
            Glob::new(&format!("{pattern}/")).ok()
        } else {
            None
        };

        let mut owners = Vec::new();
        for token in toks {
            match self.check_owner(&token) {
                Ok(()) => {
                    if !owners.contains(&token) {
                        owners.push(token);
                    }
                }
                Err(message) => self.error(line_no, message),
            }
        }

        if self.dialect == Dialect::GitLab {
            if exclusion && !owners.is_empty() {
                self.error(
                    line_no,
                    format!("the exclusion `{written}` takes no owners; they are ignored"),
                );
                owners.clear();
            } else if !exclusion && owners.is_empty() {
                owners = state.default_owners.clone();
                if owners.is_empty() {
                    let section = self
                        .sections
                        .get(state.section)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    self.error(
                        line_no,
                        format!(
                            "`{written}` has zero owners and section `{section}` has no default owners"
                        ),
                    );
                }
            }
        }

        self.rules.push(Rule {
            line: line_no,
            pattern: written,
            owners,
            section: state.section,
            exclusion,
            glob,
            too_deep,
        });
    }

    /// `[Name]`, `[Name][N]`, `^[Name]`, each optionally followed by default owners.
    fn parse_section_header(&mut self, line: &str, line_no: usize, state: &mut State) {
        let (optional, rest) = match line.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, line),
        };
        let Some(after_open) = rest.strip_prefix('[') else {
            self.error(line_no, format!("malformed section header `{line}`"));
            return;
        };
        let Some((name, mut rest)) = after_open.split_once(']') else {
            self.error(
                line_no,
                format!("unclosed section header `{line}`; the lines after it stay in the previous section"),
            );
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            self.error(
                line_no,
                "empty section name; the lines after it stay in the previous section".to_string(),
            );
            return;
        }
        let mut approvals = 1u32;
        if let Some(after) = rest.strip_prefix('[') {
            let Some((count, after_count)) = after.split_once(']') else {
                self.error(line_no, format!("unclosed approval count in `{line}`"));
                return;
            };
            rest = after_count;
            match count.trim().parse::<u32>() {
                Ok(0) => self.error(
                    line_no,
                    format!("section `{name}` requires 0 approvals; at least 1 is required, so 1 is used"),
                ),
                Ok(n) => approvals = n,
                Err(_) => self.error(
                    line_no,
                    format!("invalid approval count `{count}` in section `{name}`; 1 is used"),
                ),
            }
        }

        let mut default_owners = Vec::new();
        for token in tokens(rest) {
            if token.starts_with('#') {
                break;
            }
            match self.check_owner(&token) {
                Ok(()) => {
                    if !default_owners.contains(&token) {
                        default_owners.push(token);
                    }
                }
                Err(message) => self.error(line_no, message),
            }
        }

        let existing = self
            .sections
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name));
        state.section = match existing {
            Some(index) => index,
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    approvals,
                    optional,
                    line: line_no,
                });
                self.sections.len() - 1
            }
        };
        state.default_owners = default_owners;
    }

    /// Whether `owner` is an owner this dialect accepts; the error message when not.
    fn check_owner(&self, owner: &str) -> Result<(), String> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if let Some(role) = owner.strip_prefix("@@") {
            return if self.dialect == Dialect::GitLab
                && matches!(
                    role,
                    "developer" | "developers" | "maintainer" | "maintainers" | "owner" | "owners"
                ) {
                Ok(())
            } else {
                Err(format!(
                    "invalid owner `{owner}`: roles such as `@@maintainer` are GitLab-only and must name `developer`, `maintainer` or `owner`"
                ))
            };
        }
        if let Some(name) = owner.strip_prefix('@') {
            let parts: Vec<&str> = name.split('/').collect();
            let valid = parts.iter().all(|p| name_ok(p));
            return match (self.dialect, parts.len(), valid) {
                (_, 1, true) | (Dialect::GitHub, 2, true) => Ok(()),
                (Dialect::GitLab, _, true) => Ok(()),
                (Dialect::GitHub, _, true) => Err(format!(
                    "invalid owner `{owner}`: GitHub teams are `@org/team`; nested groups are GitLab-only"
                )),
                _ => Err(format!(
                    "invalid owner `{owner}`: owners are `@user`, `@org/team` or an email address"
                )),
            };
        }
        if let Some((local, domain)) = owner.split_once('@')
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !owner.chars().any(char::is_whitespace)
        {
            return Ok(());
        }
        Err(format!(
            "invalid owner `{owner}`: owners are `@user`, `@org/team` or an email address"
        ))
    }
}

/// The owners of each changed path, and the `Owners` record (`file`, `errors`, `unowned`) for
/// `change.owners`.
///
/// A path is unowned when no line matches it, when the matching line names no owners, or (for
/// GitLab) when every section that could own it excludes it. At most [`MAX_REPORTED_ERRORS`]
/// errors are written; a last entry counts the rest.
pub fn owners_facts(
    co: &Codeowners,
    changed_paths: &[&str],
) -> (Vec<(String, Vec<String>)>, Value) {
    let per_path: Vec<(String, Vec<String>)> = changed_paths
        .iter()
        .map(|p| ((*p).to_string(), co.owners_of(p).owners))
        .collect();
    let unowned: Vec<&str> = per_path
        .iter()
        .filter(|(_, owners)| owners.is_empty())
        .map(|(p, _)| p.as_str())
        .collect();
    let mut errors: Vec<Value> = co
        .errors
        .iter()
        .take(MAX_REPORTED_ERRORS)
        .map(|e| json!({ "line": e.line, "message": e.message }))
        .collect();
    if co.errors.len() > MAX_REPORTED_ERRORS {
        errors.push(json!({
            "line": 0,
            "message": format!("and {} more errors", co.errors.len() - MAX_REPORTED_ERRORS),
        }));
    }
    let mut record = json!({ "errors": errors, "unowned": unowned });
    if let (Some(file), Value::Object(map)) = (&co.file, &mut record) {
        map.insert("file".to_string(), Value::String(file.clone()));
    }
    (per_path, record)
}
