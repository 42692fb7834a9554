//! Who already approved a change: the `change.approvals` list.
//!
//! Each entry is an `Approval` record ([`blastwall_abi::schema::APPROVAL`]):
//! `{ by: login, teams: [...], stale: bool }`, every field written. Lists are sorted by `by`
//! and hold one entry per login. Logins compare without regard to ASCII case, as GitHub's do;
//! `by` keeps the spelling of the input.
//!
//! # GitHub reviews
//!
//! [`approvals_from_github_reviews`] reads the response of GitHub's REST endpoint "list reviews
//! for a pull request" (`GET /repos/OWNER/REPO/pulls/NUMBER/reviews`), which is a JSON array of
//! review objects in chronological order. The fields read, as GitHub's REST description
//! (`pull-request-review`, API version 2022-11-28) declares them:
//!
//! | field | type | use |
//! |---|---|---|
//! | `user` | object or `null` (a deleted account) | `user.login` (string) is the reviewer; `user.type` `"Bot"` marks a bot |
//! | `state` | `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING` | see below |
//! | `submitted_at` | RFC 3339 string; absent on a `PENDING` review | ordering |
//! | `commit_id` | string, or `null` | staleness |
//!
//! Other fields (`id`, `node_id`, `body`, `html_url`, `author_association`, `_links`, …) are
//! ignored. The endpoint is paginated: pass one array holding every page's reviews, or the
//! array of pages that `gh api --paginate --slurp` writes (an array whose elements are all
//! arrays is read as that). States are also accepted in lower case, as webhook payloads write
//! them; any other state is an error, as is a field of the wrong type.
//!
//! **The rules.**
//! - `COMMENTED` and `PENDING` reviews are skipped: a comment neither gives nor takes away an
//!   approval, and a pending review is not submitted. Their other fields are not checked.
//! - A review with `user: null` (the account was deleted) is skipped, as are reviews by users of
//!   type `Bot`: the `Approval` record cannot mark an approval as a bot's, so counting one would
//!   let an automated approval satisfy a rule meant for people.
//! - The other reviews are ordered by `submitted_at` (which they must have), ties in array order,
//!   and each reviewer's *latest* one decides: `APPROVED` is an approval; `CHANGES_REQUESTED` or
//!   `DISMISSED` cancels an earlier approval. (GitHub turns a dismissed review's own state into
//!   `DISMISSED`, so a dismissed approval is found in place.)
//! - An approval is `stale` when its `commit_id` is not `head_sha` (compared without regard to
//!   case; a `null` commit counts as not the head). An empty `head_sha` means the head is not
//!   known: then no approval is marked stale. A shortened `head_sha` never equals a full commit
//!   id, so it marks every approval stale; pass the full id.
//!
//! # Flags
//!
//! [`approvals_from_flags`] turns repeated `--approved-by LOGIN` flags into approvals that are
//! never stale. A leading `@` is dropped and blanks are trimmed; empty logins are skipped.
//!
//! # Teams
//!
//! [`TeamMembership`] maps logins to the teams that go into `teams`, read from the `[teams]`
//! table of a TOML configuration:
//!
//! ```toml
//! [teams]
//! "@org/payments" = ["alice", "bob"]
//! "@org/senior" = ["@alice"]
//! ```
//!
//! Other top-level tables of the configuration are left to their own readers. Members are
//! written with or without a leading `@`; team names are kept exactly as written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use toml::de::DeValue;

use crate::error::TypeError;
use crate::json::{self, kind_of};
use crate::topo_error::{ApprovalError, Loc};
use crate::topology::toml_read::{Src, kind};

/// Which logins belong to which teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamMembership {
    /// Lower-cased login → the teams it is in.
    teams: BTreeMap<String, BTreeSet<String>>,
}

impl TeamMembership {
    /// No teams at all.
    pub fn new() -> TeamMembership {
        TeamMembership::default()
    }

    /// Read the `[teams]` table of a TOML configuration (see the module docs). A configuration
    /// without one gives no teams.
    pub fn from_toml(text: &str) -> Result<TeamMembership, ApprovalError> {
        let src = Src::new("", text);
        let doc = src
            .parse_raw()
            .map_err(|(at, message)| ApprovalError::Teams {
                at,
                message: format!("invalid toml: {message}"),
            })?;
        let mut out = TeamMembership::new();
        let Some(teams) = doc.get("teams") else {
            return Ok(out);
        };
        let DeValue::Table(teams) = teams.get_ref() else {
            return Err(teams_error(
                src.at(teams),
                format!("`teams` should be a table, found {}", kind(teams.get_ref())),
            ));
        };
        for (team, members) in teams {
            let team_name: &str = team.get_ref();
            if team_name.is_empty() {
                return Err(teams_error(
                    src.at(team),
                    "a team name is empty".to_string(),
                ));
            }
            let DeValue::Array(members) = members.get_ref() else {
                return Err(teams_error(
                    src.at(members),
                    format!(
                        "the members of `{team_name}` should be a list of logins, found {}",
                        kind(members.get_ref())
                    ),
                ));
            };
            for member in members.iter() {
                let login = match member.get_ref() {
                    DeValue::String(s) => normalise(s),
                    other => {
                        return Err(teams_error(
                            src.at(member),
                            format!(
                                "a member of `{team_name}` should be a login string, found {}",
                                kind(other)
                            ),
                        ));
                    }
                };
                if login.is_empty() {
                    return Err(teams_error(
                        src.at(member),
                        format!("a member of `{team_name}` is empty"),
                    ));
                }
                out.add(team_name, login);
            }
        }
        Ok(out)
    }

    /// Put `login` (a leading `@` is dropped) in `team`.
    pub fn add(&mut self, team: &str, login: &str) {
        self.teams
            .entry(normalise(login).to_ascii_lowercase())
            .or_default()
            .insert(team.to_string());
    }

    /// The teams `login` is in, sorted; the login compares without regard to ASCII case.
    pub fn teams_of(&self, login: &str) -> Vec<String> {
        self.teams
            .get(&normalise(login).to_ascii_lowercase())
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether no login is in any team.
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
    }
}

fn teams_error(at: Loc, message: String) -> ApprovalError {
    ApprovalError::Teams { at, message }
}

/// A login as written in flags or configuration: blanks trimmed, a leading `@` dropped.
fn normalise(login: &str) -> &str {
    let login = login.trim();
    login.strip_prefix('@').unwrap_or(login)
}

/// One `Approval` record.
fn approval(login: &str, stale: bool, teams: &TeamMembership) -> Value {
    json!({ "by": login, "teams": teams.teams_of(login), "stale": stale })
}

/// Approvals from repeated `--approved-by LOGIN` flags (see the module docs).
pub fn approvals_from_flags(logins: &[String], teams: &TeamMembership) -> Vec<Value> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for login in logins {
        let login = normalise(login);
        if !login.is_empty() {
            seen.entry(login.to_ascii_lowercase()).or_insert(login);
        }
    }
    let mut logins: Vec<&str> = seen.into_values().collect();
    logins.sort_unstable();
    logins
        .into_iter()
        .map(|login| approval(login, false, teams))
        .collect()
}

/// The review states GitHub writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

impl State {
    fn parse(s: &str) -> Option<State> {
        const STATES: [(&str, State); 5] = [
            ("APPROVED", State::Approved),
            ("CHANGES_REQUESTED", State::ChangesRequested),
            ("COMMENTED", State::Commented),
            ("DISMISSED", State::Dismissed),
            ("PENDING", State::Pending),
        ];
        STATES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, state)| *state)
    }
}

/// A review that decides something.
#[derive(Debug)]
struct Review<'a> {
    login: &'a str,
    state: State,
    commit: Option<&'a str>,
    submitted: (i64, u32),
}

/// Approvals from GitHub's "list reviews for a pull request" response (see the module docs).
pub fn approvals_from_github_reviews(
    json: &str,
    head_sha: &str,
    teams: &TeamMembership,
) -> Result<Vec<Value>, ApprovalError> {
    let root = json::parse(json)?;
    let Value::Array(items) = &root else {
        return Err(ApprovalError::NotAnArray {
            found: kind_of(&root),
        });
    };
    let pages = !items.is_empty() && items.iter().all(Value::is_array);
    let mut entries: Vec<(String, &Value)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Array(page) if pages => {
                entries.extend(
                    page.iter()
                        .enumerate()
                        .map(|(j, r)| (format!("[{i}][{j}]"), r)),
                );
            }
            other => entries.push((format!("[{i}]"), other)),
        }
    }

    let mut reviews = Vec::new();
    for (path, entry) in &entries {
        if let Some(review) = review(entry, path)? {
            reviews.push(review);
        }
    }
    // A stable sort: equal times keep array order.
    reviews.sort_by_key(|r| r.submitted);
    let mut latest: BTreeMap<String, &Review<'_>> = BTreeMap::new();
    for r in &reviews {
        latest.insert(r.login.to_ascii_lowercase(), r);
    }
    let mut out: Vec<(&str, bool)> = latest
        .values()
        .filter(|r| r.state == State::Approved)
        .map(|r| {
            let stale =
                !head_sha.is_empty() && !r.commit.is_some_and(|c| c.eq_ignore_ascii_case(head_sha));
            (r.login, stale)
        })
        .collect();
    out.sort_unstable();
    Ok(out
        .into_iter()
        .map(|(login, stale)| approval(login, stale, teams))
        .collect())
}

/// Read one review; `None` for a review that cannot change an approval.
fn review<'a>(entry: &'a Value, path: &str) -> Result<Option<Review<'a>>, ApprovalError> {
    let Value::Object(obj) = entry else {
        return Err(TypeError {
            path: path.to_string(),
            expected: "a review object",
            found: kind_of(entry),
        }
        .into());
    };
    let state_text = required_str(obj, "state", path)?;
    let state = State::parse(state_text).ok_or_else(|| ApprovalError::UnknownState {
        path: json::join(path, "state"),
        state: state_text.to_string(),
    })?;
    if matches!(state, State::Commented | State::Pending) {
        return Ok(None);
    }
    let user = match obj.get("user") {
        None => return Err(missing(path, "user")),
        Some(Value::Null) => return Ok(None),
        Some(Value::Object(user)) => user,
        Some(other) => {
            return Err(TypeError {
                path: json::join(path, "user"),
                expected: "an object",
                found: kind_of(other),
            }
            .into());
        }
    };
    let user_path = json::join(path, "user");
    let login = required_str(user, "login", &user_path)?;
    if json::opt_str(user, "type", &user_path)? == Some("Bot") {
        return Ok(None);
    }
    let submitted_text = required_str(obj, "submitted_at", path)?;
    let submitted = parse_timestamp(submitted_text).ok_or_else(|| ApprovalError::BadTimestamp {
        path: json::join(path, "submitted_at"),
        value: submitted_text.to_string(),
    })?;
    let commit = json::opt_str(obj, "commit_id", path)?;
    Ok(Some(Review {
        login,
        state,
        commit,
        submitted,
    }))
}

fn missing(path: &str, key: &str) -> ApprovalError {
    ApprovalError::MissingField {
        path: json::join(path, key),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, ApprovalError> {
    json::opt_str(obj, key, path)?.ok_or_else(|| missing(path, key))
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00Z`, `…T12:00:00.5+02:00`) as seconds since the
/// Unix epoch and nanoseconds.
fn parse_timestamp(s: &str) -> Option<(i64, u32)> {
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let sep = |at: usize, allowed: &[u8]| s.as_bytes().get(at).is_some_and(|b| allowed.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, b) in frac.bytes().take(digits.min(9)).enumerate() {
            let place = 10u32.pow(8 - u32::try_from(i).ok()?);
            nanos += u32::from(b - b'0') * place;
        }
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.get(3..4)? != ":" {
                return None;
            }
            let digits = |r: &str| -> Option<i64> {
                r.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| r.parse().ok())?
            };
            let (h, m) = (digits(rest.get(1..3)?)?, digits(rest.get(4..6)?)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_timestamp("1970-01-02T00:00:01Z"), Some((86_401, 0)));
        assert_eq!(
            parse_timestamp("2000-03-01T00:00:00Z"),
            Some((951_868_800, 0))
        );
        assert_eq!(
            parse_timestamp("2024-02-29T12:00:00.25+02:00"),
            Some((1_709_200_800, 250_000_000))
        );
        assert_eq!(
            parse_timestamp("2024-02-29T10:00:00Z"),
            parse_timestamp("2024-02-29T12:00:00+02:00").map(|(s, _)| (s, 0))
        );
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some((-1, 0)));
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0200",
            "2024-01-01 00:00:00 UTC",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Zjunk",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
