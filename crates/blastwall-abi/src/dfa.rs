//! Patterns compiled to DFAs: the tables a compiled module walks to match globs and regular
//! expressions.
//!
//! `docs/abi.md` (section "Patterns") is the reference for the table and the walk; [`Dfa`] is
//! that table in Rust, [`Dfa::is_match`] is the walk and [`Dfa::encode_into`] writes the bytes
//! a module reads. The compiler puts the patterns written in a policy into the module's data,
//! and a host compiles the patterns of the `glob` parameters it sets ([`glob_param_dfa`]).
//!
//! # The table
//!
//! Bytes are mapped to classes (`classes[b]`); a state has one successor per class (`next`),
//! one after the end of the input (`eoi`) and a matching flag (`accept`). State 0 is the dead
//! state. The walk stops with *match* as soon as it enters a matching state, with *no match* as
//! soon as it enters state 0, and otherwise answers whether the state after the end of the input
//! is matching. The tables built here keep two promises beyond that, which make them small:
//!
//! - there is at most one matching state, every transition out of it (`eoi` included) leads back
//!   to it, and it is exactly the set of states from which every input matches, so the walk
//!   stops at the first byte after which the answer can no longer change;
//! - the table is minimal: no two states accept the same inputs, state 0 is the only state from
//!   which nothing matches, and no two classes have the same transitions.
//!
//! # How a pattern becomes a table
//!
//! A glob is built straight from its [segments](Glob::segments) into a small nondeterministic
//! automaton over bytes, a few states per token, that accepts exactly the bytes the regular
//! expression [`glob_regex`] matches (the translation the [glob documentation](crate::glob)
//! gives, written for bytes). A union of globs ([`glob_list_dfas`]) is one such automaton with
//! a start that leads to each glob's. Subset construction determinises it; a set that holds the
//! state after the `/` of the trailing `(?:/.*)?$` or `/.+$`, from which everything matches,
//! is the matching state at once, so a union stops following its other globs there.
//!
//! A regular expression goes through `regex-automata`, which determinises it (unanchored), and
//! the states reachable from the start state are read out through its public transition
//! functions. Its matches are delayed by one byte: a state it flags as matching means that a
//! match ended just before the byte that led there, which is why the walk looks after every
//! byte and once more after the end of the input. All such states become the one matching
//! state.
//!
//! Either automaton is then minimised (Hopcroft's partition refinement), its states numbered in
//! the order a breadth-first walk from the start finds them, trying bytes in increasing order,
//! and the byte classes with identical columns merged and numbered by their first byte. The
//! minimal automaton of a language is unique and this numbering depends on nothing else, so a
//! table is a function of what its pattern matches: a glob gets the very table
//! `regex-automata` would build from [`glob_regex`] (a test holds the two to it).
//!
//! Regular expressions use the syntax of the `regex` crate and match when the pattern occurs
//! anywhere in the subject. Unicode word boundaries (`\b`, `\B`) have no DFA and are refused
//! ([`DfaError::Unsupported`]); the ASCII ones (`(?-u:\b)`) work.
//!
//! # Limits
//!
//! A table has at most [`MAX_STATES`] states; a pattern that needs more is refused with
//! [`DfaError::TooLarge`] (with at most 256 classes, the largest table is then about 10 MB).
//! The intermediate automata are bounded too: a pattern whose unminimised DFA has more than
//! twice [`MAX_STATES`] states, or a regular expression whose NFA or working memory would take
//! more than 16 MiB, is refused with the same error, even if it would minimise below the limit
//! (the regular expression `a[ab]{14}` is one: the intermediate DFA follows every `a` of a run,
//! the table only the first). Building a glob's table, or all the tables of a parameter's list
//! of globs, may take at most [`MAX_WORK`] steps of the subset construction
//! ([`DfaError::TooCostly`]): the state limits alone let a list of long `*a*b*c…` globs, whose
//! automata are small but whose states are large sets, take seconds.
//!
//! # Examples
//!
//! ```
//! use blastwall_abi::dfa::{glob_dfa, regex_dfa};
//! use blastwall_abi::glob::Glob;
//!
//! let dfa = glob_dfa(&Glob::new("services/*/src/**")?)?;
//! assert!(dfa.is_match("services/cart/src/lib.rs"));
//! assert!(dfa.is_match("./services//cart/src/lib.rs"));
//! assert!(!dfa.is_match("services/cart/src"));
//!
//! let dfa = regex_dfa(r"^v\d+\.")?;
//! assert!(dfa.is_match("v12.3"));
//! assert!(!dfa.is_match("xv12.3"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

use crate::glob::{Glob, Part, Segment};

pub mod filter;
mod nfa;

/// The most states a compiled table may have.
pub const MAX_STATES: usize = 10_000;

/// The most steps of work building a glob's table, or all the tables of a parameter's list of
/// globs, may take (see `nfa::determinise`), about a tenth of a second. The shipped lists take
/// at most 0.6 million (`datastore_types`, 42 globs), a list of a thousand path globs of the
/// usual kinds about 10 million. Without the limit a list of ten `*a*b*c…` globs of a thousand
/// letters each took ten seconds to compile, and a config in the facts may hold such a list.
pub const MAX_WORK: u64 = 50_000_000;

/// The most states the unminimised automaton may have before it is refused.
const MAX_EXPLORED: usize = 2 * MAX_STATES;

/// The memory `regex-automata` may use for the NFA and for the work of determinisation.
const BUILD_BYTES: usize = 16 << 20;

/// Bytes of the header: kind, classes, states, start.
const HEADER_LEN: usize = 16;

/// Bytes of a valid table before its filters: the header, the number of filters and a word of
/// padding.
const FILTERS_AT: usize = HEADER_LEN + 8;

/// A table whose last row's offset with 2-byte entries (`2 × c × (s − 1)`, which leaves
/// room for the matching bit) and number of states are below this has 2-byte entries
/// ([`Dfa::entry_size`]).
pub const NARROW_ENTRY_MAX: u64 = 1 << 16;

/// Bytes of an encoded invalid pattern, not counting its text: the header and a `str` slot.
const INVALID_LEN: usize = HEADER_LEN + 8;

/// A compiled pattern: a DFA over bytes in the table form `docs/abi.md` describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dfa {
    kind: DfaKind,
    /// The class of each byte value.
    classes: [u8; 256],
    /// The number of classes, `c`; 0 for an invalid pattern.
    nclasses: u32,
    /// The number of states, `s`; 0 for an invalid pattern.
    nstates: u32,
    /// The start state.
    start: u32,
    /// `s × c` entries: `next[state × c + class]`.
    next: Vec<u32>,
    /// `s` entries: the state after the end of the input.
    eoi: Vec<u32>,
    /// `s` entries: `1` for a matching state, else `0`.
    accept: Vec<u8>,
    /// For an invalid pattern, why it is invalid; empty otherwise.
    text: String,
    /// The literal filters of a glob table ([`filter`]); empty for a table walked whatever
    /// the subject.
    filters: Vec<u64>,
}

/// What a [`Dfa`] was compiled from; the values are the `kind` field of the encoded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DfaKind {
    /// A pattern that did not compile; matching against it is an error of the rule.
    Invalid = 0,
    /// A glob: the subject is a path, normalised before the walk.
    Glob = 1,
    /// A regular expression, searched for anywhere in the subject.
    Regex = 2,
}

/// Why a pattern could not be compiled to a [`Dfa`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DfaError {
    /// The regular expression does not parse.
    #[error("invalid regular expression `{pattern}`: {reason}")]
    Syntax {
        /// The pattern.
        pattern: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The pattern uses something a DFA cannot do, such as a Unicode word boundary.
    #[error("regular expression `{pattern}` cannot be compiled to a DFA: {reason}")]
    Unsupported {
        /// The pattern.
        pattern: String,
        /// What is unsupported.
        reason: String,
    },
    /// Building the tables would take more than [`MAX_WORK`] steps: for a parameter's list,
    /// all its tables together.
    #[error("pattern `{pattern}` takes more than the limit of {max} steps to compile", max = MAX_WORK)]
    TooCostly {
        /// The pattern, or the patterns of the union being built, as written.
        pattern: String,
    },
    /// The table would have more than [`MAX_STATES`] states.
    #[error("pattern `{pattern}` needs a DFA larger than the limit of {max} states", max = MAX_STATES)]
    TooLarge {
        /// The pattern (for a glob, the glob as written).
        pattern: String,
    },
}

/// Normalise a path as `docs/abi.md` says: split at `/`, drop empty and `.` segments, join with
/// single `/`s. A path with no segment left becomes `""`, which matches no glob.
pub fn normalize_path(path: &str) -> String {
    normalized(path).into_owned()
}

/// [`normalize_path`], borrowing a path that is already normal (no empty and no `.` segment):
/// most paths are, and matching one then allocates nothing.
fn normalized(path: &str) -> Cow<'_, str> {
    let keep = |s: &&str| !s.is_empty() && *s != ".";
    if path.split('/').all(|s| keep(&s)) {
        return Cow::Borrowed(path);
    }
    Cow::Owned(path.split('/').filter(keep).collect::<Vec<_>>().join("/"))
}

/// The regular expression a glob stands for, on normalised paths (see the
/// [glob documentation](crate::glob), "Matching").
///
/// It is the documented translation with changes that do not alter what matches a valid UTF-8
/// path (subjects are always `&str`) but keep the automaton small, since decoding UTF-8 exactly
/// takes about eight states per character:
///
/// - groups do not capture;
/// - the runs `[^/]*`, `[^/]+` and `.*` match bytes (`(?-u:[^/])`, `(?-u:.)`), not characters;
/// - `?` is one byte that starts a character (anything but `/` and `\x80`–`\xBF`) followed by
///   any continuation bytes (`\x80`–`\xBF`), without checking that they form a valid sequence.
///
/// In a valid UTF-8 path every token but a run starts at a character boundary (a character, a
/// `/` or the end), so a run ends on one and a `?` takes exactly the continuation bytes of its
/// character: both then match whole characters, as in the documented translation. Classes
/// still match exactly one Unicode scalar value in one of their ranges (in none, when
/// negated), and never `/`.
pub fn glob_regex(glob: &Glob) -> String {
    const CHAR: &str = r"(?-u:[^/\x80-\xBF][\x80-\xBF]*)";
    const RUN: &str = "(?-u:[^/])*";
    const SEGMENT: &str = "(?-u:[^/])+";

    let segments = glob.segments();
    let mut r = String::from("(?s)^");
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match segment {
            Segment::AnyDepth if last => {
                let _ = write!(r, "{SEGMENT}(?:/{SEGMENT})*");
            }
            Segment::AnyDepth => {
                let _ = write!(r, "(?:{SEGMENT}/)*");
            }
            Segment::Parts(parts) => {
                for part in parts {
                    match part {
                        Part::Literal(text) => text.chars().for_each(|c| push_literal(&mut r, c)),
                        Part::Star => r.push_str(RUN),
                        Part::Question => r.push_str(CHAR),
                        Part::Class { negated, ranges } => push_class(&mut r, *negated, ranges),
                    }
                }
                if !last {
                    r.push('/');
                }
            }
        }
    }
    r.push_str(if glob.dir_only() {
        "/(?-u:.)+$"
    } else {
        "(?:/(?-u:.)*)?$"
    });
    r
}

/// Writes a class of a glob, which never matches `/` (a path segment has none) even when one
/// of its ranges spans it: `[ranges]` without `/`, or `[^ranges/]` when negated.
///
/// Ranges that meet across the surrogates (`…\x{D7FF}` and `\x{E000}…`) are written as one:
/// `regex-syntax` does not merge them, and negating a class in which they are apart gives
/// back the range `\x{D7FF}-\x{E000}`, characters that the negated class must not match.
fn push_class(r: &mut String, negated: bool, ranges: &[(char, char)]) {
    let mut members: Vec<(char, char)> = Vec::with_capacity(ranges.len() + 1);
    for &(lo, hi) in ranges {
        if (lo..=hi).contains(&'/') {
            push_member(&mut members, lo, '.');
            push_member(&mut members, '0', hi);
        } else {
            push_member(&mut members, lo, hi);
        }
    }
    r.push('[');
    if negated {
        r.push('^');
    }
    for (lo, hi) in members {
        push_literal(r, lo);
        if hi != lo {
            r.push('-');
            push_literal(r, hi);
        }
    }
    if negated {
        r.push('/');
    }
    r.push(']');
}

/// Adds `lo..=hi`, unless it is empty, to the sorted `members` of a class, joining it to the
/// last one when they meet across the surrogates.
fn push_member(members: &mut Vec<(char, char)>, lo: char, hi: char) {
    if lo > hi {
        return;
    }
    match members.last_mut() {
        Some(last) if last.1 == '\u{D7FF}' && lo == '\u{E000}' => last.1 = hi,
        _ => members.push((lo, hi)),
    }
}

/// Writes `c` so that the regex parser reads it as itself, in or out of a class: ASCII letters
/// and digits as they are, everything else as `\x{…}`.
fn push_literal(r: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        r.push(c);
    } else {
        let _ = write!(r, "\\x{{{:X}}}", u32::from(c));
    }
}

/// Compile a glob (`blastwall_abi::glob` semantics) to a DFA matching *normalised* paths.
pub fn glob_dfa(glob: &Glob) -> Result<Dfa, DfaError> {
    union_dfa(std::slice::from_ref(glob))
}

/// The table of the union of `globs`, built without a regular expression ([`nfa`]), within a
/// budget of [`MAX_WORK`] steps; an error names the globs as written, separated by `, `.
fn union_dfa(globs: &[Glob]) -> Result<Dfa, DfaError> {
    let mut work = MAX_WORK;
    union_dfa_within(globs, MAX_EXPLORED, &mut work)
}

/// [`union_dfa`], refused as too large past `limit` unminimised states, and as too costly
/// when it would take more steps than are left in `work`.
fn union_dfa_within(globs: &[Glob], limit: usize, work: &mut u64) -> Result<Dfa, DfaError> {
    let pattern = || {
        globs
            .iter()
            .map(Glob::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let too_large = || DfaError::TooLarge { pattern: pattern() };
    let (nfa, start) = nfa::Nfa::union(globs);
    let raw = nfa::determinise(&nfa, start, limit, work).map_err(|e| match e {
        nfa::Exceeded::States => too_large(),
        nfa::Exceeded::Work => DfaError::TooCostly { pattern: pattern() },
    })?;
    let table = raw.minimise();
    if table.nstates as usize > MAX_STATES {
        return Err(too_large());
    }
    Ok(Dfa {
        kind: DfaKind::Glob,
        filters: filter::union_filters(globs),
        ..table
    })
}

/// For a glob given as a parameter value: compile `pattern`; when it is not a valid glob,
/// return the invalid DFA whose text is `` invalid glob `PATTERN`: REASON `` (the error the
/// reference interpreter reports for it).
pub fn glob_param_dfa(pattern: &str) -> Result<Dfa, DfaError> {
    match Glob::new(pattern) {
        Ok(glob) => glob_dfa(&glob),
        Err(e) => Ok(Dfa::invalid(format!("invalid glob `{pattern}`: {e}"))),
    }
}

/// Compile the globs of a parameter's value into few tables that keep its meaning.
///
/// The interpreter tries the patterns in order, answers *match* at the first that matches and
/// fails at the first invalid one it reaches. So the valid patterns before the first invalid one
/// become tables of up to 16 patterns each (their union), split in halves while a union
/// passes 2,000 unminimised states, followed by the invalid one;
/// patterns after it are never reached. A walker tries the tables in order, as for a list of
/// single patterns, so a list of a few dozen patterns costs a few walks per subject.
pub fn glob_list_dfas(patterns: &[&str]) -> Result<Vec<Dfa>, DfaError> {
    let mut globs = Vec::new();
    let mut invalid = None;
    for p in patterns {
        match Glob::new(p) {
            Ok(g) => globs.push(g),
            Err(e) => {
                invalid = Some(Dfa::invalid(format!("invalid glob `{p}`: {e}")));
                break;
            }
        }
    }
    let mut out = Vec::new();
    let mut work = MAX_WORK;
    for group in globs.chunks(UNION_GROUP) {
        union_tables(group, &mut out, &mut work)?;
    }
    out.extend(invalid);
    Ok(out)
}

/// The patterns of a glob parameter's value, as [`glob_list_dfas`] takes them: a string is
/// one pattern, a list its string elements (the value's type was checked before).
pub fn param_patterns(value: &serde_json::Value) -> Vec<&str> {
    match value {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    }
}

/// [`glob_list_dfas`], remembered for the process: a host given a `config` with every decision
/// (a facts file per change, `blastwall replay`'s repository config on every commit) would
/// otherwise compile the same lists each time, which takes up to milliseconds. Holds the
/// results of up to 256 lists and 16 MB (the patterns and their tables), and starts afresh
/// when either would be passed; a list whose patterns and tables alone take more than 1 MB is
/// compiled each time, so that facts from a stranger cannot make the process keep what they
/// sent.
pub fn glob_list_dfas_shared(patterns: &[&str]) -> Result<Arc<Vec<Dfa>>, DfaError> {
    /// Lists remembered, and bytes.
    const KEPT: usize = 256;
    const KEPT_BYTES: usize = 16 << 20;
    /// The most bytes one list may take and be kept.
    const KEPT_LIST_BYTES: usize = 1 << 20;
    type Lists = BTreeMap<Vec<String>, Result<Arc<Vec<Dfa>>, DfaError>>;
    static LISTS: Mutex<(Lists, usize)> = Mutex::new((BTreeMap::new(), 0));
    let lists = || {
        LISTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let key: Vec<String> = patterns.iter().map(|p| (*p).to_string()).collect();
    if let Some(known) = lists().0.get(&key) {
        return known.clone();
    }
    // Compiled without the lock held: another thread may compile the same list meanwhile,
    // and both results are the same.
    let result = glob_list_dfas(patterns).map(Arc::new);
    let tables: usize = match &result {
        Ok(dfas) => dfas.iter().map(Dfa::encoded_len).sum(),
        Err(e) => e.to_string().len(),
    };
    let bytes = key.iter().map(String::len).sum::<usize>() + tables;
    if bytes <= KEPT_LIST_BYTES {
        let mut kept = lists();
        if kept.0.len() >= KEPT || kept.1 + bytes > KEPT_BYTES {
            *kept = (BTreeMap::new(), 0);
        }
        kept.1 += bytes;
        kept.0.insert(key, result.clone());
    }
    result
}

/// How many globs of a list are joined into one table at most. The shipped lists have up to
/// 42 globs (three tables at this size); much larger unions rarely fit the state limit, and a
/// union that does not fit costs a failed subset construction before it is halved, so for a
/// list of hundreds of globs the attempts would cost seconds.
const UNION_GROUP: usize = 16;

/// The most unminimised states a union of several globs may reach before it is halved. Far
/// below [`MAX_EXPLORED`], which still bounds a single glob: a union that grows this large
/// saves little over its halves at decision time, and giving up early keeps a failed attempt
/// cheap (the shipped lists' unions reach a few hundred).
const MAX_UNION_EXPLORED: usize = 2_000;

/// Pushes tables for the union of `globs`: one table, or when that is too large the tables of
/// each half, recursively (so at most `log2(globs.len())` deep). A single glob that is too
/// large is an error.
fn union_tables(globs: &[Glob], out: &mut Vec<Dfa>, work: &mut u64) -> Result<(), DfaError> {
    let alone = |one: &Glob, work: &mut u64| {
        union_dfa_within(std::slice::from_ref(one), MAX_EXPLORED, work)
    };
    match globs {
        [] => Ok(()),
        [one] => {
            out.push(alone(one, work)?);
            Ok(())
        }
        many => match union_dfa_within(many, MAX_UNION_EXPLORED, work) {
            Ok(d) => {
                // A union stops following its other globs once one of them matches whatever
                // follows, so a glob too large on its own may sit in a small union (`**`
                // beside it). Whether a list is refused must not depend on how it is grouped
                // (docs/abi.md, Patterns): each glob is held to the limit by itself.
                for one in many {
                    alone(one, work)?;
                }
                out.push(d);
                Ok(())
            }
            Err(DfaError::TooLarge { .. }) => {
                let (a, b) = many.split_at(many.len() / 2);
                union_tables(a, out, work)?;
                union_tables(b, out, work)
            }
            Err(e) => Err(e),
        },
    }
}

/// Compile a regular expression (`regex` crate syntax; it matches when the pattern occurs
/// anywhere in the subject) to a DFA.
pub fn regex_dfa(pattern: &str) -> Result<Dfa, DfaError> {
    build(DfaKind::Regex, pattern, pattern, syntax::Config::new())
}

impl Dfa {
    /// What the pattern was compiled from.
    pub fn kind(&self) -> DfaKind {
        self.kind
    }

    /// A pattern that did not compile, with the error a rule matching against it fails with.
    pub fn invalid(text: String) -> Dfa {
        Dfa {
            kind: DfaKind::Invalid,
            classes: [0; 256],
            nclasses: 0,
            nstates: 0,
            start: 0,
            next: Vec::new(),
            eoi: Vec::new(),
            accept: Vec::new(),
            text,
            filters: Vec::new(),
        }
    }

    /// For an invalid pattern, the error text; `None` otherwise.
    pub fn error_text(&self) -> Option<&str> {
        (self.kind == DfaKind::Invalid).then_some(self.text.as_str())
    }

    /// The number of states (0 for an invalid pattern).
    pub fn state_count(&self) -> u32 {
        self.nstates
    }

    /// The number of byte classes (0 for an invalid pattern).
    pub fn class_count(&self) -> u32 {
        self.nclasses
    }

    /// The literal filters of a glob table ([`filter`]): a subject whose mask holds none of
    /// them is not walked. Empty when every subject is walked.
    pub fn filters(&self) -> &[u64] {
        &self.filters
    }

    /// The walk of `docs/abi.md`: for a glob the subject's mask is tested against the table's
    /// filters, then the subject is normalised and an empty path matches nothing. An invalid
    /// pattern matches nothing (the caller reports its error).
    pub fn is_match(&self, subject: &str) -> bool {
        match self.kind {
            DfaKind::Invalid => false,
            DfaKind::Regex => self.walk(subject.as_bytes()),
            DfaKind::Glob => {
                if !filter::passes(&self.filters, filter::subject_mask(subject.as_bytes())) {
                    return false;
                }
                let path = normalized(subject);
                !path.is_empty() && self.walk(path.as_bytes())
            }
        }
    }

    fn walk(&self, bytes: &[u8]) -> bool {
        let c = self.nclasses as usize;
        let mut state = self.start as usize;
        for &b in bytes {
            let class = self.classes.get(usize::from(b)).copied().unwrap_or(0);
            let at = state.saturating_mul(c).saturating_add(usize::from(class));
            state = self.next.get(at).copied().unwrap_or(0) as usize;
            if self.accepts(state) {
                return true;
            }
            if state == 0 {
                return false;
            }
        }
        let state = self.eoi.get(state).copied().unwrap_or(0) as usize;
        self.accepts(state)
    }

    fn accepts(&self, state: usize) -> bool {
        self.accept.get(state) == Some(&1)
    }

    /// Bytes of each entry of the encoded table's `next` and `eoi` (docs/abi.md, Patterns):
    /// 2 when every successor's row offset, with its matching bit, fits in 16 bits
    /// ([`NARROW_ENTRY_MAX`]), else 4; 0 for an invalid pattern, which has no entries.
    ///
    /// Narrow entries halve a table: the shipped rules' tables all fit, and their module's
    /// data is half as large, which is less to copy and map when a module is loaded.
    pub fn entry_size(&self) -> u32 {
        match self.kind {
            DfaKind::Invalid => 0,
            DfaKind::Glob | DfaKind::Regex => {
                // The last row's offset, and (for `eoi`) the state numbers.
                let last_row =
                    2 * u64::from(self.nclasses) * u64::from(self.nstates.saturating_sub(1));
                if last_row.max(u64::from(self.nstates)) < NARROW_ENTRY_MAX {
                    2
                } else {
                    4
                }
            }
        }
    }

    /// Bytes of the encoded table (the `docs/abi.md` layout), not counting the error text of an
    /// invalid pattern.
    pub fn encoded_len(&self) -> usize {
        match self.kind {
            DfaKind::Invalid => INVALID_LEN,
            DfaKind::Glob | DfaKind::Regex => {
                let w = self.entry_size() as usize;
                FILTERS_AT
                    + 8 * self.filters.len()
                    + 256
                    + w * self.next.len()
                    + w * self.eoi.len()
                    + self.accept.len()
            }
        }
    }

    /// Append the encoded table to `out` and return its address. `base` is the address `out[0]`
    /// will have in module memory; `out` is first padded with zeros so that the table starts at
    /// an 8-byte aligned address. An invalid pattern's text follows its 24 bytes, and its `str`
    /// slot points at it.
    pub fn encode_into(&self, out: &mut Vec<u8>, base: u32) -> u32 {
        while !(u64::from(base) + out.len() as u64).is_multiple_of(8) {
            out.push(0);
        }
        let addr = address(base, out.len());
        let push = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        push(out, self.kind as u32);
        push(out, self.nclasses);
        push(out, self.nstates);
        push(out, self.start);
        match self.kind {
            DfaKind::Invalid => {
                let text = address(base, out.len() + 8);
                push(out, text);
                push(out, u32::try_from(self.text.len()).unwrap_or(u32::MAX));
                out.extend_from_slice(self.text.as_bytes());
            }
            DfaKind::Glob | DfaKind::Regex => {
                let w = self.entry_size();
                push(out, u32::try_from(self.filters.len()).unwrap_or(u32::MAX));
                push(out, w);
                for f in &self.filters {
                    out.extend_from_slice(&f.to_le_bytes());
                }
                out.extend_from_slice(&self.classes);
                // An entry of `w` bytes; with `w = 2` every value fits (`entry_size`).
                let entry = |out: &mut Vec<u8>, v: u32| match w {
                    2 => out.extend_from_slice(&(v as u16).to_le_bytes()),
                    _ => push(out, v),
                };
                // Each successor as the byte offset of its row, with bit 0 set when it is the
                // matching state (docs/abi.md): the walk then needs no multiplication and no
                // second load per byte.
                let row = w * self.nclasses;
                self.next.iter().for_each(|&t| {
                    let matching = self.accept.get(t as usize) == Some(&1);
                    entry(out, t.wrapping_mul(row) | u32::from(matching));
                });
                self.eoi.iter().for_each(|&v| entry(out, v));
                out.extend_from_slice(&self.accept);
            }
        }
        addr
    }
}

/// `base + offset` as a 32-bit address. Module memory is at most 4 GiB, so a table that does
/// not fit cannot be placed anyway; the address then wraps and the module reads garbage from
/// its own memory, never outside it.
fn address(base: u32, offset: usize) -> u32 {
    base.wrapping_add(offset as u32)
}

/// Determinises `regex`, reads the automaton out and turns it into a minimal table.
fn build(
    kind: DfaKind,
    pattern: &str,
    regex: &str,
    syntax: syntax::Config,
) -> Result<Dfa, DfaError> {
    let too_large = || DfaError::TooLarge {
        pattern: pattern.to_owned(),
    };
    let unsupported = |reason: String| DfaError::Unsupported {
        pattern: pattern.to_owned(),
        reason,
    };
    if let Err(e) = syntax::parse_with(regex, &syntax) {
        return Err(DfaError::Syntax {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        });
    }
    let nfa = thompson::Compiler::new()
        .syntax(syntax)
        .configure(
            thompson::Config::new()
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(BUILD_BYTES)),
        )
        .build(regex)
        .map_err(|e| {
            if e.size_limit().is_some() {
                too_large()
            } else {
                unsupported(error_chain(&e))
            }
        })?;
    // Bound the automaton by states rather than bytes: regex-automata stores a state in as
    // many `u32`s as the smallest power of two that holds the NFA's classes and the end.
    let stride = nfa.byte_classes().alphabet_len().next_power_of_two();
    let dfa_bytes = (MAX_EXPLORED + 64) * stride * 4 + (64 << 10);
    let anchored = kind == DfaKind::Glob;
    let config = dense::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .start_kind(if anchored {
            StartKind::Anchored
        } else {
            StartKind::Unanchored
        })
        .minimize(false)
        .accelerate(false)
        .dfa_size_limit(Some(dfa_bytes))
        .determinize_size_limit(Some(BUILD_BYTES));
    let dfa = dense::Builder::new()
        .configure(config)
        .build_from_nfa(&nfa)
        .map_err(|e| {
            if e.is_size_limit_exceeded() {
                too_large()
            } else {
                unsupported(error_chain(&e))
            }
        })?;
    let mode = if anchored {
        Anchored::Yes
    } else {
        Anchored::No
    };
    let start = dfa
        .start_state(&start::Config::new().anchored(mode))
        .map_err(|e| unsupported(e.to_string()))?;

    let raw = Raw::read(&dfa, start).map_err(|e| match e {
        ReadError::TooLarge => too_large(),
        ReadError::Quit => unsupported("the automaton gives up on some bytes".to_owned()),
    })?;
    let table = raw.minimise();
    if table.nstates as usize > MAX_STATES {
        return Err(too_large());
    }
    Ok(Dfa { kind, ..table })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

enum ReadError {
    TooLarge,
    Quit,
}

/// An automaton before minimisation, read out of `regex-automata` or built by
/// [`nfa::determinise`]. State 0 is dead, state 1 is the one matching state (every
/// `regex-automata` match state becomes it), and the rest are the other reachable states in the
/// order they were found.
struct Raw {
    /// The class of each byte. Classes are numbered in the order of their first byte (both
    /// sources make them contiguous ranges in increasing order): [`Raw::minimise`] walks them in
    /// that order, which is what makes its numbering independent of how bytes were classed.
    classes: [u8; 256],
    /// The number of those classes.
    k: usize,
    /// `n × k` transitions.
    next: Vec<u32>,
    /// Per state: whether the end of the input leads to a match.
    eoi_matches: Vec<bool>,
    start: u32,
}

/// The dead state of [`Raw`] and of every table.
const DEAD: u32 = 0;
/// The matching state of [`Raw`].
const MATCH: u32 = 1;

impl Raw {
    fn read(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Result<Raw, ReadError> {
        let byte_classes = dfa.byte_classes();
        let mut classes = [0u8; 256];
        // One byte standing for each class (the end of the input is the last class, not a byte).
        let k = byte_classes.alphabet_len().saturating_sub(1);
        let mut reps: Vec<Option<u8>> = vec![None; k];
        for (b, class) in (0..=255u8).zip(classes.iter_mut()) {
            *class = byte_classes.get(b);
            if let Some(rep @ None) = reps.get_mut(usize::from(*class)) {
                *rep = Some(b);
            }
        }
        // Every class has a byte; were one empty, any byte would do since none leads to it.
        let reps: Vec<u8> = reps.into_iter().map(|r| r.unwrap_or(0)).collect();

        let mut ids: HashMap<StateID, u32> = HashMap::new();
        let mut queue: VecDeque<StateID> = VecDeque::new();
        let mut id_of = |s: StateID, queue: &mut VecDeque<StateID>| -> Result<u32, ReadError> {
            if dfa.is_quit_state(s) {
                return Err(ReadError::Quit);
            }
            if dfa.is_dead_state(s) {
                return Ok(DEAD);
            }
            if dfa.is_match_state(s) {
                return Ok(MATCH);
            }
            if let Some(&id) = ids.get(&s) {
                return Ok(id);
            }
            if ids.len() >= MAX_EXPLORED {
                return Err(ReadError::TooLarge);
            }
            let id = u32::try_from(ids.len() + 2).map_err(|_| ReadError::TooLarge)?;
            ids.insert(s, id);
            queue.push_back(s);
            Ok(id)
        };

        let start = id_of(start, &mut queue)?;
        let mut next = vec![DEAD; k];
        next.extend(std::iter::repeat_n(MATCH, k));
        let mut eoi_matches = vec![false, true];
        while let Some(s) = queue.pop_front() {
            for &b in &reps {
                next.push(id_of(dfa.next_state(s, b), &mut queue)?);
            }
            let e = dfa.next_eoi_state(s);
            if dfa.is_quit_state(e) {
                return Err(ReadError::Quit);
            }
            eoi_matches.push(dfa.is_match_state(e));
        }
        Ok(Raw {
            classes,
            k,
            next,
            eoi_matches,
            start,
        })
    }

    /// The minimal table that accepts the same inputs under the walk of `docs/abi.md`.
    ///
    /// Since [`MATCH`] absorbs everything, the walk accepts an input exactly when the state
    /// after its last byte has `eoi_matches`; so two states are equivalent exactly when they
    /// are equivalent in the ordinary sense with `eoi_matches` as the final states, and the
    /// block of [`MATCH`] is the set of states from which everything matches.
    fn minimise(&self) -> Dfa {
        let n = self.eoi_matches.len();
        let k = self.k;
        let block = hopcroft(n, k, &self.next, &self.eoi_matches);
        let block_of = |s: u32| block.get(s as usize).copied().unwrap_or(0);
        let dead_block = block_of(DEAD);
        let match_block = block_of(MATCH);

        // A member of each block, to read its transitions from.
        let mut member: HashMap<u32, u32> = HashMap::new();
        for (s, &b) in (0u32..).zip(&block) {
            member.entry(b).or_insert(s);
        }
        let row = |b: u32| -> &[u32] {
            let s = member.get(&b).copied().unwrap_or(DEAD) as usize;
            self.next.get(s * k..(s + 1) * k).unwrap_or_default()
        };
        let eoi_block = |b: u32| {
            let s = member.get(&b).copied().unwrap_or(DEAD) as usize;
            if self.eoi_matches.get(s) == Some(&true) {
                match_block
            } else {
                dead_block
            }
        };

        // Number the blocks: the dead one 0, the others in the order a breadth-first walk from
        // the start finds them; unreachable blocks are dropped.
        let mut number: HashMap<u32, u32> = HashMap::from([(dead_block, 0)]);
        let mut order = vec![dead_block];
        let mut queue = VecDeque::new();
        let mut visit = |b: u32, queue: &mut VecDeque<u32>, order: &mut Vec<u32>| {
            let len = number.len() as u32;
            *number.entry(b).or_insert_with(|| {
                queue.push_back(b);
                order.push(b);
                len
            })
        };
        let start = visit(block_of(self.start), &mut queue, &mut order);
        while let Some(b) = queue.pop_front() {
            for &t in row(b) {
                visit(block_of(t), &mut queue, &mut order);
            }
            visit(eoi_block(b), &mut queue, &mut order);
        }
        let renumber = |b: u32| number.get(&b).copied().unwrap_or(0);

        // Merge the classes whose columns agree, numbering them by their first byte.
        let column = |class: usize| -> Vec<u32> {
            order
                .iter()
                .map(|&b| renumber(row(b).get(class).map_or(dead_block, |&t| block_of(t))))
                .collect()
        };
        let mut merged: HashMap<Vec<u32>, u8> = HashMap::new();
        let mut of_raw: Vec<Option<u8>> = vec![None; k];
        let mut rep_raw: Vec<usize> = Vec::new();
        let mut classes = [0u8; 256];
        for (class, &raw) in classes.iter_mut().zip(&self.classes) {
            let raw = usize::from(raw);
            let slot = of_raw.get_mut(raw);
            *class = match slot {
                Some(Some(c)) => *c,
                Some(slot) => {
                    let next_id = u8::try_from(merged.len()).unwrap_or(u8::MAX);
                    let c = *merged.entry(column(raw)).or_insert_with(|| {
                        rep_raw.push(raw);
                        next_id
                    });
                    *slot = Some(c);
                    c
                }
                None => 0,
            };
        }

        let mut next = Vec::with_capacity(order.len() * rep_raw.len());
        let mut eoi = Vec::with_capacity(order.len());
        let mut accept = Vec::with_capacity(order.len());
        for &b in &order {
            let r = row(b);
            for &raw in &rep_raw {
                next.push(renumber(r.get(raw).map_or(dead_block, |&t| block_of(t))));
            }
            eoi.push(renumber(eoi_block(b)));
            accept.push(u8::from(b == match_block));
        }
        Dfa {
            kind: DfaKind::Regex,
            classes,
            nclasses: rep_raw.len() as u32,
            nstates: order.len() as u32,
            start,
            next,
            eoi,
            accept,
            text: String::new(),
            filters: Vec::new(),
        }
    }
}

/// Hopcroft's partition refinement: the coarsest partition of the `n` states of a complete DFA
/// over `k` symbols (`next[s × k + a]`) that separates `finals` from the other states and is
/// stable under the transitions. Returns the block of each state.
#[expect(
    clippy::indexing_slicing,
    reason = "every index is a state below n, a symbol below k, a block below blocks.len() or a \
              position in a block, by construction; the caller passes `next` of length n × k \
              with every entry below n"
)]
fn hopcroft(n: usize, k: usize, next: &[u32], finals: &[bool]) -> Vec<u32> {
    // The predecessors of each state under each symbol, as one compressed array: the sources
    // of `t` under `a` are `sources[start[a × n + t] .. start[a × n + t + 1]]`.
    let mut start = vec![0u32; k * n + 1];
    for s in 0..n {
        for a in 0..k {
            start[a * n + next[s * k + a] as usize + 1] += 1;
        }
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut fill = start.clone();
    let mut sources = vec![0u32; k * n];
    for s in 0..n {
        for a in 0..k {
            let key = a * n + next[s * k + a] as usize;
            sources[fill[key] as usize] = s as u32;
            fill[key] += 1;
        }
    }

    // The partition: `elems` lists the states block by block, block `b` occupying
    // `elems[bounds[b].0 .. bounds[b].1]`; `pos[s]` is where `s` is in `elems`.
    let mut elems: Vec<u32> = (0..n as u32).filter(|&s| finals[s as usize]).collect();
    let nfinal = elems.len();
    elems.extend((0..n as u32).filter(|&s| !finals[s as usize]));
    let mut bounds: Vec<(usize, usize)> = [(0, nfinal), (nfinal, n)]
        .into_iter()
        .filter(|(lo, hi)| lo < hi)
        .collect();
    let mut block = vec![0u32; n];
    let mut pos = vec![0usize; n];
    for (b, &(lo, hi)) in bounds.iter().enumerate() {
        for i in lo..hi {
            block[elems[i] as usize] = b as u32;
            pos[elems[i] as usize] = i;
        }
    }
    // How many states of each block the current splitter has moved to the block's front.
    let mut marked = vec![0usize; bounds.len()];
    let mut waiting: Vec<usize> = (0..bounds.len()).collect();
    let mut is_waiting = vec![true; bounds.len()];
    let mut touched: Vec<usize> = Vec::new();

    while let Some(a_block) = waiting.pop() {
        is_waiting[a_block] = false;
        let (lo, hi) = bounds[a_block];
        let splitter: Vec<u32> = elems[lo..hi].to_vec();
        for a in 0..k {
            for &t in &splitter {
                let key = a * n + t as usize;
                for &s in &sources[start[key] as usize..start[key + 1] as usize] {
                    let s = s as usize;
                    let b = block[s] as usize;
                    let front = bounds[b].0 + marked[b];
                    if pos[s] < front {
                        continue;
                    }
                    let other = elems[front] as usize;
                    elems.swap(pos[s], front);
                    pos[other] = pos[s];
                    pos[s] = front;
                    if marked[b] == 0 {
                        touched.push(b);
                    }
                    marked[b] += 1;
                }
            }
            for b in touched.drain(..) {
                let (blo, bhi) = bounds[b];
                let m = std::mem::take(&mut marked[b]);
                if m == bhi - blo {
                    continue;
                }
                let new = bounds.len();
                bounds.push((blo, blo + m));
                bounds[b] = (blo + m, bhi);
                marked.push(0);
                for &s in &elems[blo..blo + m] {
                    block[s as usize] = new as u32;
                }
                let smaller = if is_waiting[b] || m <= bhi - blo - m {
                    new
                } else {
                    b
                };
                is_waiting.push(false);
                if !is_waiting[smaller] {
                    waiting.push(smaller);
                    is_waiting[smaller] = true;
                }
            }
        }
    }
    block
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn small_lists_are_remembered_and_large_ones_are_not() {
        let small = ["docs/**", "*.md"];
        let a = glob_list_dfas_shared(&small).unwrap_or_default();
        let b = glob_list_dfas_shared(&small).unwrap_or_default();
        assert_eq!(a.len(), 1);
        assert!(Arc::ptr_eq(&a, &b));
        // Over a megabyte of patterns (cheap ones: runs of `**/` are one `**`), compiled each
        // time and never kept.
        let long: Vec<String> = (0..300)
            .map(|i| format!("{}x{i}", "**/".repeat(1300)))
            .collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let a = glob_list_dfas_shared(&long).unwrap_or_default();
        let b = glob_list_dfas_shared(&long).unwrap_or_default();
        assert!(!a.is_empty());
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a, b);
    }

    #[test]
    fn a_list_of_globs_is_one_table_and_keeps_its_meaning() {
        let pats = ["docs/**", "*.md", "**/tests/**", ".github/workflows/*"];
        let dfas = glob_list_dfas(&pats).unwrap_or_default();
        assert_eq!(dfas.len(), 1);
        assert_tables_mean(
            &pats,
            &dfas,
            &[
                "docs/a",
                "a/b.md",
                "x/tests/y.rs",
                ".github/workflows/ci.yml",
                "src/a.rs",
                "",
                "docs",
            ],
        );
    }

    /// Asserts that a path matches one of `dfas` exactly when it matches one of the globs
    /// `pats`.
    fn assert_tables_mean(pats: &[&str], dfas: &[Dfa], paths: &[&str]) {
        let globs: Vec<Glob> = pats.iter().filter_map(|p| Glob::new(p).ok()).collect();
        assert_eq!(globs.len(), pats.len());
        for path in paths {
            let want = globs.iter().any(|g| g.matches(path));
            let got = dfas.iter().any(|d| d.is_match(path));
            assert_eq!(got, want, "{path}");
        }
    }

    #[test]
    fn shared_lists_are_compiled_once_and_mean_the_same() {
        let pats = ["docs/**", "*.md", "[z-a]"];
        let first = glob_list_dfas_shared(&pats);
        let again = glob_list_dfas_shared(&pats);
        assert!(matches!((&first, &again), (Ok(a), Ok(b)) if Arc::ptr_eq(a, b)));
        assert_eq!(first.map(|d| (*d).clone()), glob_list_dfas(&pats));
        let big = format!("*a{}", "?".repeat(14));
        assert_eq!(
            glob_list_dfas_shared(&[&big]),
            glob_list_dfas_shared(&[&big])
        );
        assert!(glob_list_dfas_shared(&[&big]).is_err());
    }

    #[test]
    fn a_glob_too_large_alone_is_refused_in_any_union() {
        let big = format!("*a{}", "?".repeat(14));
        let too_large = |pats: &[&str]| matches!(glob_list_dfas(pats), Err(DfaError::TooLarge { pattern }) if pattern == big);
        assert!(too_large(&[&big]));
        assert!(too_large(&["a/**", &big]));
        // The union alone would be a few states: `**` matches every path.
        let union: Vec<Glob> = ["**", big.as_str()]
            .iter()
            .filter_map(|p| Glob::new(p).ok())
            .collect();
        assert_eq!(union.len(), 2);
        assert!(union_dfa_within(&union, MAX_UNION_EXPLORED, &mut { MAX_WORK }).is_ok());
        assert!(too_large(&["**", &big]));
        // Nothing after an invalid pattern is compiled.
        assert_eq!(glob_list_dfas(&["[z-a]", &big]).map(|d| d.len()), Ok(1));
    }

    #[test]
    fn a_list_too_large_for_one_table_is_halved() {
        // Each of the first three needs about 2^11 states alone: too many to join with
        // anything, while a union may not pass MAX_UNION_EXPLORED.
        let pats = [
            "*a??????????",
            "*b??????????",
            "*c??????????",
            "docs/**",
            "*.md",
        ];
        let dfas = glob_list_dfas(&pats).unwrap_or_default();
        // [a, b] and [c, docs, md] are halved again; [docs, md] fits.
        let sizes: Vec<u32> = dfas.iter().map(Dfa::state_count).collect();
        assert_eq!(sizes.len(), 4, "{sizes:?}");
        // Lists longer than UNION_GROUP are cut into groups first.
        let many: Vec<String> = (0..40).map(|i| format!("d{i}/**")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(glob_list_dfas(&many).map(|d| d.len()), Ok(3));
        assert_tables_mean(
            &pats,
            &dfas,
            &[
                "x/a1234567890",
                "b1234567890",
                "y/z/c1234567890",
                "docs/x",
                "a/b.md",
                "x/a123456789",
                "c123456789",
            ],
        );
    }

    #[test]
    fn an_invalid_glob_ends_the_list() {
        let dfas = glob_list_dfas(&["docs/**", "src/[x", "never/**"]).unwrap_or_default();
        assert_eq!(dfas.len(), 2);
        assert_eq!(dfas.last().map(Dfa::kind), Some(DfaKind::Invalid));
        assert_eq!(
            dfas.last().and_then(Dfa::error_text),
            Some("invalid glob `src/[x`: unclosed `[` in glob `src/[x`")
        );
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    #[test]
    fn a_normal_path_is_matched_as_given_and_any_other_normalised_first() {
        let cases = [
            ("services/cart/src/lib.rs", "services/cart/src/lib.rs"),
            ("a", "a"),
            ("./a", "a"),
            ("a//b", "a/b"),
            ("a/./b/", "a/b"),
            ("/a/b", "a/b"),
            ("..", ".."),
            ("a/../b", "a/../b"),
            ("", ""),
            ("/", ""),
            ("./.", ""),
        ];
        for (path, want) in cases {
            let got = normalized(path);
            assert_eq!(got, want, "{path:?}");
            assert_eq!(normalize_path(path), want, "{path:?}");
            // Borrowed exactly when nothing had to change (`""` is not a path: it is rebuilt).
            assert_eq!(
                matches!(got, Cow::Borrowed(_)),
                !path.is_empty() && path == want,
                "{path:?}"
            );
        }
        let dfa = glob_list_dfas(&["services/**"]).unwrap_or_default();
        for path in [
            "services/cart/x.rs",
            "./services//cart/x.rs",
            "services/./x",
        ] {
            assert!(dfa.iter().any(|d| d.is_match(path)), "{path:?}");
        }
        assert!(!dfa.iter().any(|d| d.is_match("web/services/x")));
    }

    /// The tables as `regex-automata` builds them from [`glob_regex`]: the reference the direct
    /// construction is held to, byte for byte.
    fn regex_union_dfa(globs: &[Glob]) -> Result<Dfa, DfaError> {
        let label: Vec<&str> = globs.iter().map(Glob::as_str).collect();
        let regex = match globs {
            [one] => glob_regex(one),
            many => many
                .iter()
                .map(|g| format!("(?:{})", glob_regex(g)))
                .collect::<Vec<_>>()
                .join("|"),
        };
        let syntax = syntax::Config::new().utf8(false);
        // The filters come from the globs' literals, whichever way the automaton is built.
        build(DfaKind::Glob, &label.join(", "), &regex, syntax).map(|d| Dfa {
            filters: filter::union_filters(globs),
            ..d
        })
    }

    /// Characters for classes and paths: the ends of each UTF-8 length and of the surrogate
    /// gap, `/` and its neighbours (so that ranges can span it), and the syntax of classes.
    const EDGES: [char; 22] = [
        'a',
        'b',
        'z',
        '.',
        '0',
        '-',
        ']',
        '[',
        '!',
        '^',
        '\u{1}',
        '\u{7F}',
        '\u{80}',
        'é',
        '\u{7FF}',
        '\u{800}',
        '日',
        '\u{D7FF}',
        '\u{E000}',
        '\u{FFFF}',
        '\u{10000}',
        '\u{10FFFF}',
    ];

    fn any_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => select(EDGES.to_vec()),
            1 => any::<char>().prop_filter("not a separator or nul", |c| !matches!(c, '/' | '\0')),
        ]
    }

    /// A class with every member escaped, so that any character can be one.
    fn class_text() -> impl Strategy<Value = String> {
        let member = (any_char(), prop::option::of(any_char())).prop_map(|(a, b)| match b {
            None => format!("\\{a}"),
            Some(b) => format!("\\{}-\\{}", a.min(b), a.max(b)),
        });
        (
            select(vec!["", "!", "^"]),
            prop::collection::vec(member, 1..4),
        )
            .prop_map(|(negation, members)| format!("[{negation}{}]", members.concat()))
    }

    fn glob_text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            4 => select(vec![
                "a", "b", "ab", ".", "é", "日", "😀", "\\*", "\\?", "\\[", " ", "-",
            ])
            .prop_map(str::to_owned),
            4 => select(vec!["*", "**", "?", "/", "/**/"]).prop_map(str::to_owned),
            2 => class_text(),
        ];
        (
            select(vec!["", "/", "//"]),
            prop::collection::vec(token, 1..6),
            select(vec!["", "/"]),
        )
            .prop_map(|(lead, body, trail)| format!("{lead}{}{trail}", body.concat()))
    }

    fn path_text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            3 => select(vec!["a", "b", "ab", "/", "//", ".", "./", "..", "é", "日本", "😀", " "])
                .prop_map(str::to_owned),
            2 => any_char().prop_map(String::from),
        ];
        prop::collection::vec(token, 0..8).prop_map(|t| t.concat())
    }

    /// A path the glob is likely to match: each segment filled in with a sample.
    fn sample_path(glob: &Glob, fill: &str) -> String {
        let mut path = Vec::new();
        for segment in glob.segments() {
            let text = match segment {
                Segment::AnyDepth => fill.to_owned(),
                Segment::Parts(parts) => parts
                    .iter()
                    .map(|part| match part {
                        Part::Literal(text) => text.clone(),
                        Part::Star => fill.to_owned(),
                        Part::Question => "é".to_owned(),
                        Part::Class {
                            negated: false,
                            ranges,
                        } => ranges.first().map_or(String::new(), |r| r.1.to_string()),
                        Part::Class { negated: true, .. } => "\u{FFFF}".to_owned(),
                    })
                    .collect(),
            };
            path.push(text);
        }
        path.join("/")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The direct construction builds the very table `regex-automata` did, and it matches
        /// what `Glob::matches` does.
        #[test]
        fn direct_tables_are_the_regex_tables(
            patterns in prop::collection::vec(glob_text(), 1..=4),
            paths in prop::collection::vec(path_text(), 30),
        ) {
            let globs: Vec<Glob> = patterns.iter().filter_map(|p| Glob::new(p).ok()).collect();
            prop_assume!(!globs.is_empty());
            let direct = union_dfa(&globs);
            prop_assert_eq!(&direct, &regex_union_dfa(&globs), "{:?}", patterns);
            let dfa = direct.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut subjects = paths;
            for glob in &globs {
                for fill in ["x", "", "é/日", "a/b/c"] {
                    let sample = sample_path(glob, fill);
                    subjects.push(format!("{sample}/x"));
                    subjects.push(format!("y/{sample}"));
                    subjects.push(sample);
                }
            }
            for path in &subjects {
                let want = globs.iter().any(|g| g.matches(path));
                prop_assert_eq!(dfa.is_match(path), want, "{:?} against {:?}", patterns, path);
            }
        }
    }

    /// The `param NAME: [str] = [...]` lists of the shipped rules, read from `rules/*.bw`.
    fn shipped_lists() -> Vec<(String, Vec<String>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        let mut lists = Vec::new();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "bw"))
        {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("\nparam ") {
                rest = rest.get(at + 7..).unwrap_or_default();
                let Some((name, tail)) = rest.split_once(": [str] = [") else {
                    continue;
                };
                if name.contains('\n') {
                    continue;
                }
                let Some((body, _)) = tail.split_once(']') else {
                    continue;
                };
                let items: Vec<String> = body
                    .split('"')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect();
                lists.push((name.to_owned(), items));
            }
        }
        lists
    }

    #[test]
    fn shipped_lists_build_the_regex_tables() {
        let lists = shipped_lists();
        assert!(lists.len() >= 12, "{lists:?}");
        for (name, patterns) in &lists {
            let globs: Vec<Glob> = patterns.iter().filter_map(|p| Glob::new(p).ok()).collect();
            assert_eq!(globs.len(), patterns.len(), "{name}");
            for glob in &globs {
                assert_eq!(
                    union_dfa(std::slice::from_ref(glob)),
                    regex_union_dfa(std::slice::from_ref(glob)),
                    "{name}"
                );
            }
            for group in globs.chunks(4) {
                assert_eq!(union_dfa(group), regex_union_dfa(group), "{name}");
            }
            // Larger unions, which `regex-automata` often gives up on (its automaton goes on
            // following the other globs after one has matched) or takes long to build.
            for size in [8, 16, globs.len()] {
                for group in globs.chunks(size) {
                    let dfa = union_dfa(group);
                    assert!(dfa.is_ok(), "{name}");
                    for glob in group {
                        for fill in ["x", "é/日", "a/b/c"] {
                            let sample = sample_path(glob, fill);
                            for path in [format!("{sample}/x"), format!("y/{sample}"), sample] {
                                let want = group.iter().any(|g| g.matches(&path));
                                assert_eq!(
                                    dfa.as_ref().map(|d| d.is_match(&path)),
                                    Ok(want),
                                    "{name}: {path}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn glob_regex_text() -> Result<(), crate::glob::GlobError> {
        let cases = [
            ("a", r"(?s)^(?:(?-u:[^/])+/)*a(?:/(?-u:.)*)?$"),
            ("/a/", r"(?s)^a/(?-u:.)+$"),
            (
                "/x/**",
                r"(?s)^x/(?-u:[^/])+(?:/(?-u:[^/])+)*(?:/(?-u:.)*)?$",
            ),
            (
                "/?[!a-c].*",
                r"(?s)^(?-u:[^/\x80-\xBF][\x80-\xBF]*)[^a-c/]\x{2E}(?-u:[^/])*(?:/(?-u:.)*)?$",
            ),
            ("/é", r"(?s)^\x{E9}(?:/(?-u:.)*)?$"),
            ("/[+-1]", r"(?s)^[\x{2B}-\x{2E}0-1](?:/(?-u:.)*)?$"),
            (
                "/[!\u{D7FF}\u{E000}]",
                r"(?s)^[^\x{D7FF}-\x{E000}/](?:/(?-u:.)*)?$",
            ),
        ];
        for (glob, want) in cases {
            assert_eq!(glob_regex(&Glob::new(glob)?), want, "{glob}");
        }
        Ok(())
    }
}
