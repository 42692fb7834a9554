//! Path globs with CODEOWNERS / gitignore semantics.
//!
//! Policy rules (`f.path matches "services/*/src/**"`) and the CODEOWNERS adapter both use
//! [`Glob`]. This documentation is the reference for the semantics: the WebAssembly compiler
//! turns the [`Glob::segments`] of a pattern into a DFA, and it must accept exactly the paths
//! [`Glob::matches`] accepts.
//!
//! # Patterns
//!
//! A pattern is read left to right into tokens:
//!
//! - `\x` is the literal character `x`, whatever `x` is, except that an escaped `/` is still a
//!   separator (a path segment can never contain `/`). A `\` at the end is an error.
//! - `*` is a star and `?` matches exactly one character.
//! - `[` starts a character class, which runs to the first unescaped `]`:
//!   - a `!` or `^` straight after the `[` negates the class;
//!   - `\x` inside a class is the literal `x`;
//!   - `a-z` is the inclusive range of Unicode scalar values from `a` to `z`; a `-` that is
//!     the first or the last member is literal, and a range whose end is below its start
//!     (`[z-a]`) is an error;
//!   - `]` straight after `[` or `[!` closes the class, so `[]` and `[!]` are empty classes,
//!     which are errors (write `[\]]` for a class containing `]`);
//!   - a `/` (escaped or not) before the closing `]`, or the end of the pattern, makes the `[`
//!     unclosed, which is an error;
//!   - every other character, including `[`, is a member. POSIX named classes (`[:alpha:]`)
//!     are not supported: their characters are members like any other.
//! - `/` is a separator.
//! - Every other character is literal. In particular a leading `!` or `#` means nothing special
//!   here (negation and comments are the business of the file formats that contain globs).
//!
//! The tokens are then normalised:
//!
//! 1. Leading separators are removed; if there was one the pattern is *anchored*.
//! 2. Trailing separators are removed; if there was one the pattern is *directory-only*
//!    ([`Glob::dir_only`]).
//! 3. If nothing is left the pattern is an error (it names no path segment).
//! 4. If a separator is left the pattern is anchored. Runs of separators count as one.
//! 5. The tokens are split at the separators into segments. A segment made of exactly two
//!    unescaped stars is [`Segment::AnyDepth`]. Any other segment becomes
//!    [`Segment::Parts`]: adjacent literal characters are joined into one [`Part::Literal`],
//!    runs of stars become one [`Part::Star`] (so `a**b` behaves like `a*b`, and `***` like
//!    `*`), and class members are sorted and merged into disjoint, non-adjacent inclusive
//!    ranges in ascending order.
//! 6. An unanchored pattern gets a [`Segment::AnyDepth`] in front: `docs` is read as `**/docs`.
//! 7. Consecutive [`Segment::AnyDepth`] collapse into one (`**/**` means the same as `**`).
//!
//! [`Glob::segments`] returns the result of these steps, implicit leading `**` included, so
//! segments plus [`Glob::dir_only`] determine the matching completely;
//! [`Glob::is_anchored`] only reports how the pattern was written.
//!
//! A pattern is an error if it is empty, longer than [`MAX_PATTERN_LEN`] bytes, or contains a
//! NUL character. Whitespace is never trimmed: `" a"` starts with a literal space.
//!
//! # Paths
//!
//! A path is split at every `/`; empty segments and `.` segments are dropped (so a leading `/`
//! or `./`, doubled slashes and a trailing `/` are ignored). Nothing else is normalised: `..`
//! is an ordinary segment. A path with no segments left (`""`, `/`, `.`) matches no glob.
//! After this, every path segment is non-empty and contains no `/`.
//!
//! # Matching
//!
//! Matching is case-sensitive and works on Unicode scalar values (`char`s), never bytes.
//!
//! A [`Segment::Parts`] matches exactly one path segment, and does so when its parts match the
//! whole segment: a [`Part::Literal`] matches exactly its characters, [`Part::Question`] any one
//! character, [`Part::Class`] one character that lies in one of its ranges (or, when negated,
//! in none of them), and [`Part::Star`] any run of characters, the empty run included. Since
//! path segments never contain `/`, none of these ever matches a `/`.
//!
//! A [`Segment::AnyDepth`] matches zero or more whole path segments, except when it is the last
//! segment of the pattern, where it matches one or more. So `**/x` finds `x` at any depth,
//! `a/**/b` allows any number of directories (including none) between `a` and `b`, and `a/**`
//! matches what is inside `a` but not `a` itself.
//!
//! Write the pattern's segments as `p1 … pn` and the path's as `s1 … sm`. The pattern *covers*
//! the prefix `s1 … sk` when the segments can be lined up with it under the rules above. The
//! glob matches the path when it covers some prefix with `1 ≤ k ≤ m`, or with `1 ≤ k < m` if
//! the glob is directory-only. A glob that matches a directory therefore matches everything
//! under it (`src/*` matches `src/sub/b.rs` because it covers `src/sub`), and a
//! directory-only glob matches only things strictly under a directory it covers, never a path
//! it covers itself.
//!
//! Equivalently, for a compiler: join the normalised path's segments with single `/`s and test
//! it against the regular expression `^R(/.*)?$` (or `^R/.+$` for a directory-only glob), with
//! `.` matching any character and `R` built from the segments by writing a literal as itself
//! (escaped), `?` as `[^/]`, `*` as `[^/]*`, a class as `[ranges]` with `/` taken out of any
//! range that spans it (`[+-1]` as `[+-.0-1]`; negated: `[^ranges/]`), separating consecutive
//! segments with `/`, and replacing an `AnyDepth` by `([^/]+/)*` when it is not the last
//! segment (absorbing the separator after it), and by `[^/]+(/[^/]+)*` when it is.
//!
//! # Examples
//!
//! ```
//! use blastwall_abi::glob::Glob;
//!
//! let glob = Glob::new("services/*/src/**")?;
//! assert!(glob.matches("services/cart/src/lib.rs"));
//! assert!(!glob.matches("services/cart/src"));
//!
//! let docs = Glob::new("docs/")?;
//! assert!(docs.matches("a/docs/guide.md"));
//! assert!(!docs.matches("docs"));
//! # Ok::<(), blastwall_abi::glob::GlobError>(())
//! ```
//!
//! # Cost
//!
//! Matching simulates the pattern as a nondeterministic automaton, both across segments and
//! within a segment, so it never backtracks: the time is at most proportional to the length of
//! the path times the length of the pattern, and no recursion depends on the input.

use std::fmt;
use std::str::FromStr;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written.
    text: String,
    /// Whether the pattern was anchored as written.
    anchored: bool,
    /// Whether the pattern ended in `/`.
    dir_only: bool,
    /// The normalised segments.
    segments: Vec<Segment>,
    /// The segments in the form the matcher runs, one per entry of `segments`.
    compiled: Vec<Compiled>,
}

/// One `/`-separated segment of a normalised pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `**`: any number of whole path segments (at least one when it ends the pattern).
    AnyDepth,
    /// A sequence of parts that together match exactly one path segment.
    Parts(Vec<Part>),
}

/// One element of a [`Segment::Parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// These characters, exactly. Never empty; never next to another literal.
    Literal(String),
    /// `*`: any run of characters, possibly empty. Never next to another star.
    Star,
    /// `?`: exactly one character.
    Question,
    /// `[...]`: one character in (or, if `negated`, not in) one of the inclusive `ranges`.
    /// The ranges are non-empty, sorted, disjoint and not adjacent.
    Class {
        /// `[!...]` or `[^...]`.
        negated: bool,
        /// Inclusive ranges of Unicode scalar values; a single character `c` is `(c, c)`.
        ranges: Vec<(char, char)>,
    },
}

/// Why a pattern is not a valid glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern is the empty string.
    #[error("empty glob")]
    Empty,
    /// The pattern has nothing but slashes.
    #[error("glob `{pattern}` has no path segments")]
    NoSegments {
        /// The pattern.
        pattern: String,
    },
    /// The pattern is longer than [`MAX_PATTERN_LEN`] bytes.
    #[error("glob of {len} bytes is longer than the limit of {max} bytes", max = MAX_PATTERN_LEN)]
    TooLong {
        /// The pattern's length in bytes.
        len: usize,
    },
    /// The pattern contains a NUL character.
    #[error("glob `{pattern}` contains a nul byte")]
    Nul {
        /// The pattern, with each NUL written as `\0`.
        pattern: String,
    },
    /// A `[` has no matching `]` in the same segment.
    #[error("unclosed `[` in glob `{pattern}`")]
    UnclosedClass {
        /// The pattern.
        pattern: String,
    },
    /// A character class has no members: `[]` or `[!]`.
    #[error("empty character class in glob `{pattern}`")]
    EmptyClass {
        /// The pattern.
        pattern: String,
    },
    /// The pattern ends in an unescaped `\`.
    #[error("trailing `\\` in glob `{pattern}`")]
    TrailingBackslash {
        /// The pattern.
        pattern: String,
    },
    /// A class range ends below where it starts, as in `[z-a]`.
    #[error("reversed range `{start}-{end}` in glob `{pattern}`")]
    ReversedRange {
        /// The pattern.
        pattern: String,
        /// The first character of the range.
        start: char,
        /// The last character of the range.
        end: char,
    },
}

/// Does `path` match any of the patterns.
pub fn matches_any(globs: &[Glob], path: &str) -> bool {
    globs.iter().any(|g| g.matches(path))
}

impl Glob {
    /// Parse a pattern. Errors on: empty pattern, unclosed `[`, an empty class `[]`, a `\` at
    /// the end, a reversed class range, a pattern with nothing but `/`, a pattern longer than
    /// [`MAX_PATTERN_LEN`] bytes, NUL bytes.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(GlobError::TooLong { len: pattern.len() });
        }
        if pattern.contains('\0') {
            return Err(GlobError::Nul {
                pattern: pattern.replace('\0', "\\0"),
            });
        }
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let tokens = tokenise(pattern)?;

        let start = tokens.iter().take_while(|t| **t == Token::Sep).count();
        let end = tokens.len()
            - tokens
                .iter()
                .rev()
                .take_while(|t| **t == Token::Sep)
                .count();
        let body = tokens.get(start..end).unwrap_or_default();
        if body.is_empty() {
            return Err(GlobError::NoSegments {
                pattern: pattern.to_owned(),
            });
        }
        let dir_only = end < tokens.len();
        let anchored = start > 0 || body.contains(&Token::Sep);

        let mut segments = Vec::new();
        if !anchored {
            segments.push(Segment::AnyDepth);
        }
        for raw in body.split(|t| *t == Token::Sep).filter(|s| !s.is_empty()) {
            let segment = build_segment(raw);
            if segment == Segment::AnyDepth && segments.last() == Some(&Segment::AnyDepth) {
                continue;
            }
            segments.push(segment);
        }
        let compiled = segments.iter().map(Compiled::new).collect();

        Ok(Glob {
            text: pattern.to_owned(),
            anchored,
            dir_only,
            segments,
            compiled,
        })
    }

    /// The original pattern text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern as written is anchored to the repository root: it starts with `/`
    /// or contains a `/` other than at its end. An unanchored pattern matches at any depth.
    pub fn is_anchored(&self) -> bool {
        self.anchored
    }

    /// Whether the pattern ended in `/`: it then matches only paths strictly under a
    /// directory it names.
    pub fn dir_only(&self) -> bool {
        self.dir_only
    }

    /// Segments of the normalised pattern, for compilers that turn globs into automata.
    ///
    /// An unanchored pattern starts with an implicit [`Segment::AnyDepth`]; see the
    /// [module documentation](self) for the full semantics.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Does `path` (repository-relative, `/`-separated) match this glob.
    pub fn matches(&self, path: &str) -> bool {
        let n = self.compiled.len();
        let mut path_segments = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .peekable();
        if path_segments.peek().is_none() {
            return false;
        }

        // `current[j]`: the first `j` pattern segments can cover the path segments read so far.
        let mut current = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        let mut scratch = Scratch::default();
        set(&mut current, 0);
        self.close(&mut current);

        while let Some(segment) = path_segments.next() {
            next.iter_mut().for_each(|b| *b = false);
            for (j, compiled) in self.compiled.iter().enumerate() {
                if !get(&current, j) {
                    continue;
                }
                match compiled {
                    Compiled::AnyDepth => {
                        set(&mut next, j);
                        if j + 1 == n {
                            set(&mut next, n);
                        }
                    }
                    Compiled::Literal(literal) => {
                        if literal == segment {
                            set(&mut next, j + 1);
                        }
                    }
                    Compiled::Atoms(atoms) => {
                        if scratch.matches(atoms, segment) {
                            set(&mut next, j + 1);
                        }
                    }
                }
            }
            self.close(&mut next);
            std::mem::swap(&mut current, &mut next);

            let more = path_segments.peek().is_some();
            if get(&current, n) && (more || !self.dir_only) {
                return true;
            }
            if !current.iter().any(|b| *b) {
                return false;
            }
        }
        false
    }

    /// Adds the states reachable without reading a path segment: past an `AnyDepth` that
    /// matches zero segments (which one at the end of the pattern may not).
    fn close(&self, states: &mut [bool]) {
        let n = self.compiled.len();
        for (j, compiled) in self.compiled.iter().enumerate() {
            if *compiled == Compiled::AnyDepth && j + 1 < n && get(states, j) {
                set(states, j + 1);
            }
        }
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Glob {
    type Err = GlobError;

    fn from_str(s: &str) -> Result<Glob, GlobError> {
        Glob::new(s)
    }
}

/// A pattern token before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Sep,
    Char(char),
    Star,
    Question,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn tokenise(pattern: &str) -> Result<Vec<Token>, GlobError> {
    let chars: Vec<char> = pattern.chars().collect();
    let unclosed = || GlobError::UnclosedClass {
        pattern: pattern.to_owned(),
    };
    let trailing = || GlobError::TrailingBackslash {
        pattern: pattern.to_owned(),
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '/' => tokens.push(Token::Sep),
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Question),
            '\\' => {
                let &escaped = chars.get(i).ok_or_else(trailing)?;
                i += 1;
                tokens.push(if escaped == '/' {
                    Token::Sep
                } else {
                    Token::Char(escaped)
                });
            }
            '[' => {
                let negated = matches!(chars.get(i), Some('!' | '^'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    // One member: a character, or a range `lo-hi`.
                    let lo = match chars.get(i) {
                        None | Some('/') => return Err(unclosed()),
                        Some(']') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                None => return Err(trailing()),
                                Some('/') => return Err(unclosed()),
                                Some(&e) => e,
                            }
                        }
                        Some(&m) => m,
                    };
                    i += 1;
                    let is_range =
                        chars.get(i) == Some(&'-') && !matches!(chars.get(i + 1), None | Some(']'));
                    if !is_range {
                        ranges.push((lo, lo));
                        continue;
                    }
                    i += 1;
                    let hi = match chars.get(i) {
                        None | Some('/') => return Err(unclosed()),
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                None => return Err(trailing()),
                                Some('/') => return Err(unclosed()),
                                Some(&e) => e,
                            }
                        }
                        Some(&m) => m,
                    };
                    i += 1;
                    if hi < lo {
                        return Err(GlobError::ReversedRange {
                            pattern: pattern.to_owned(),
                            start: lo,
                            end: hi,
                        });
                    }
                    ranges.push((lo, hi));
                }
                if ranges.is_empty() {
                    return Err(GlobError::EmptyClass {
                        pattern: pattern.to_owned(),
                    });
                }
                tokens.push(Token::Class {
                    negated,
                    ranges: merge_ranges(ranges),
                });
            }
            other => tokens.push(Token::Char(other)),
        }
    }
    Ok(tokens)
}

/// Sorts ranges and merges the overlapping and adjacent ones.
fn merge_ranges(mut ranges: Vec<(char, char)>) -> Vec<(char, char)> {
    ranges.sort_unstable();
    let mut merged: Vec<(char, char)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some((_, last_hi)) if u32::from(lo) <= u32::from(*last_hi).saturating_add(1) => {
                if hi > *last_hi {
                    *last_hi = hi;
                }
            }
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Builds one segment from the tokens between two separators (never empty, no `Sep`).
fn build_segment(tokens: &[Token]) -> Segment {
    if tokens == [Token::Star, Token::Star] {
        return Segment::AnyDepth;
    }
    let mut parts: Vec<Part> = Vec::new();
    for token in tokens {
        match token {
            Token::Char(c) => {
                if let Some(Part::Literal(s)) = parts.last_mut() {
                    s.push(*c);
                } else {
                    parts.push(Part::Literal(c.to_string()));
                }
            }
            Token::Star => {
                if parts.last() != Some(&Part::Star) {
                    parts.push(Part::Star);
                }
            }
            Token::Question => parts.push(Part::Question),
            Token::Class { negated, ranges } => parts.push(Part::Class {
                negated: *negated,
                ranges: ranges.clone(),
            }),
            // Never present: the caller splits at separators.
            Token::Sep => {}
        }
    }
    Segment::Parts(parts)
}

/// A segment in the form the matcher runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Compiled {
    AnyDepth,
    /// A segment that is one literal: compared as a string.
    Literal(String),
    /// Anything else, one atom per character position.
    Atoms(Vec<Atom>),
}

impl Compiled {
    fn new(segment: &Segment) -> Compiled {
        match segment {
            Segment::AnyDepth => Compiled::AnyDepth,
            Segment::Parts(parts) => match parts.as_slice() {
                [Part::Literal(s)] => Compiled::Literal(s.clone()),
                _ => Compiled::Atoms(
                    parts
                        .iter()
                        .flat_map(|part| -> Vec<Atom> {
                            match part {
                                Part::Literal(s) => s.chars().map(Atom::Char).collect(),
                                Part::Star => vec![Atom::Star],
                                Part::Question => vec![Atom::Any],
                                Part::Class { negated, ranges } => vec![Atom::Class {
                                    negated: *negated,
                                    ranges: ranges.clone(),
                                }],
                            }
                        })
                        .collect(),
                ),
            },
        }
    }
}

/// One position of a within-segment automaton.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Reusable state sets for matching within a segment.
#[derive(Debug, Default)]
struct Scratch {
    current: Vec<bool>,
    next: Vec<bool>,
}

impl Scratch {
    /// Do `atoms` match the whole of `text`: a simulation of the automaton whose state `i`
    /// means "the first `i` atoms have matched the text read so far".
    fn matches(&mut self, atoms: &[Atom], text: &str) -> bool {
        let n = atoms.len();
        let Scratch { current, next } = self;
        current.clear();
        current.resize(n + 1, false);
        next.clear();
        next.resize(n + 1, false);
        set(current, 0);
        close_stars(atoms, current);

        for c in text.chars() {
            next.iter_mut().for_each(|b| *b = false);
            let mut alive = false;
            for (i, atom) in atoms.iter().enumerate() {
                if !get(current, i) {
                    continue;
                }
                let target = match atom {
                    Atom::Star => i,
                    Atom::Any => i + 1,
                    Atom::Char(want) if *want == c => i + 1,
                    Atom::Class { negated, ranges }
                        if ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated =>
                    {
                        i + 1
                    }
                    Atom::Char(_) | Atom::Class { .. } => continue,
                };
                set(next, target);
                alive = true;
            }
            if !alive {
                return false;
            }
            close_stars(atoms, next);
            std::mem::swap(current, next);
        }
        get(current, n)
    }
}

/// Adds the states reachable past stars that match the empty run.
fn close_stars(atoms: &[Atom], states: &mut [bool]) {
    for (i, atom) in atoms.iter().enumerate() {
        if *atom == Atom::Star && get(states, i) {
            set(states, i + 1);
        }
    }
}

fn get(states: &[bool], i: usize) -> bool {
    states.get(i).copied().unwrap_or(false)
}

fn set(states: &mut [bool], i: usize) {
    if let Some(b) = states.get_mut(i) {
        *b = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(pattern, must match, must not match)`.
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );

    const CASES: &[Case] = &[
        // Unanchored: matches at any depth, and everything under a match.
        (
            "docs",
            &[
                "docs",
                "docs/a/b.md",
                "a/docs/x",
                "a/b/docs",
                "/docs",
                "./docs/x",
            ],
            &["doc", "docsx", "xdocs/a", "a/mydocs", "Docs"],
        ),
        // Leading `/` anchors.
        (
            "/deps/cares",
            &["deps/cares", "deps/cares/src/x.c", "/deps/cares/x"],
            &["deps/caress", "x/deps/cares", "deps", "deps/care"],
        ),
        // A `/` in the middle anchors too.
        (
            "src/*",
            &["src/a.rs", "src/sub/b.rs", "src/.hidden"],
            &["src", "x/src/a.rs", "srcs/a.rs"],
        ),
        // Trailing `/`: directory only, still unanchored.
        (
            "build/",
            &["build/x", "a/build/x/y"],
            &["build", "a/build", "builds/x"],
        ),
        ("*", &["a", "a/b", ".x", "a.b/c"], &["", "/", ".", "./"]),
        ("?", &["a", "a/b", "x/y/z"], &["ab", "ab/cd"]),
        ("a?c", &["abc", "a.c", "x/a-c"], &["ac", "abbc", "a/c"]),
        (
            "*.rs",
            &["lib.rs", "src/lib.rs", ".rs", "x.rs/y"],
            &["lib.rsx", "lib_rs"],
        ),
        (
            "a*b*c",
            &["abc", "aXbYc", "abbbc", "acbc"],
            &["ab", "acb", "a/b/c"],
        ),
        // Classes.
        (
            "[abc].txt",
            &["a.txt", "c.txt", "d/b.txt"],
            &["d.txt", "ab.txt", ".txt"],
        ),
        ("[a-c]x", &["ax", "bx", "cx"], &["dx", "Ax", "x"]),
        ("[!a-c]x", &["dx", "Ax", "-x"], &["ax", "bx", "x"]),
        ("[^a-c]x", &["dx"], &["ax"]),
        ("[-a]", &["-", "a"], &["b"]),
        ("[a-]", &["-", "a"], &["b"]),
        ("[[]", &["["], &["]"]),
        ("[\\]]", &["]"], &["\\"]),
        ("[\\!a]", &["!", "a"], &["b"]),
        ("[é-ë]", &["é", "ê", "ë"], &["e", "ì"]),
        // Escapes.
        ("\\*", &["*", "a/*"], &["a", "**"]),
        ("\\?", &["?"], &["a"]),
        ("\\[a]", &["[a]"], &["a"]),
        ("a\\\\b", &["a\\b"], &["ab", "a/b"]),
        ("\\#x", &["#x"], &["x"]),
        // `**`.
        (
            "**/foo",
            &["foo", "a/foo", "a/b/foo", "foo/x"],
            &["xfoo", "a/xfoo"],
        ),
        (
            "a/**/b",
            &["a/b", "a/x/b", "a/x/y/b", "a/b/c"],
            &["b", "x/a/b", "a/xb", "ab"],
        ),
        ("a/**", &["a/x", "a/x/y"], &["a", "b/a/x", "ab/x"]),
        ("/**", &["a", "a/b"], &[""]),
        ("**", &["a", "a/b"], &[""]),
        ("**/", &["a/b", "a/b/c"], &["a"]),
        ("a/**/", &["a/b/c"], &["a/b", "a"]),
        ("a/**/**/b", &["a/b", "a/x/b", "a/x/y/b"], &["b"]),
        // `**` that is not a whole segment is a star.
        ("a**b", &["ab", "axxb", "q/ab"], &["a/b", "a/x/b"]),
        ("**a", &["a", "xa", "q/xa"], &["ab"]),
        ("/x/***", &["x/a", "x/a/b"], &["x"]),
        // Case sensitivity and chars.
        ("README", &["README"], &["readme", "ReadMe"]),
        ("?.md", &["é.md", "日.md"], &["ab.md", ".md"]),
        // Consecutive slashes.
        ("a//b", &["a/b", "a/b/c"], &["b", "x/a/b"]),
        ("//a", &["a"], &["x/a"]),
        ("a//", &["a/x", "x/a/y"], &["a"]),
        // Path normalisation.
        (
            "a/b",
            &["a//b", "/a/b", "./a/b", "a/./b", "a/b/"],
            &["a/../a/b", "aa/b"],
        ),
        // A `!` means nothing special.
        ("!x", &["!x"], &["x", "y"]),
        // CODEOWNERS examples.
        (
            "*.gyp",
            &["node.gyp", "deps/v8/v8.gyp", "tools/x.gyp/y"],
            &["node.gypi", "gyp", "x.gyp.bak"],
        ),
        (
            "/doc/contributing/**/*",
            &["doc/contributing/a.md", "doc/contributing/x/y/z.md"],
            &["doc/contributing", "doc/a.md", "x/doc/contributing/a.md"],
        ),
        (
            "**/*genobject*",
            &[
                "genobject.h",
                "Objects/genobject.c",
                "Include/internal/pycore_genobject.h",
            ],
            &["Objects/gen_object.c", "Objects/genobjec.c"],
        ),
        (
            "Lib/test/test_*time.py",
            &["Lib/test/test_time.py", "Lib/test/test_datetime.py"],
            &[
                "Lib/test/sub/test_time.py",
                "x/Lib/test/test_time.py",
                "Lib/test/test_time.pyc",
                "Lib/test/test_timer.py",
            ],
        ),
        (
            "Modules/**/clinic/",
            &[
                "Modules/clinic/a.c.h",
                "Modules/_io/clinic/x.h",
                "Modules/a/b/clinic/x/y.h",
            ],
            &["Modules/clinic", "Modules/a/clinic", "x/Modules/clinic/a.h"],
        ),
        (
            "/vcpkg*.json",
            &["vcpkg.json", "vcpkg-configuration.json"],
            &["sub/vcpkg.json", "vcpkg.jsonc", "xvcpkg.json"],
        ),
        (
            "/eeschema/connection_graph.*",
            &[
                "eeschema/connection_graph.cpp",
                "eeschema/connection_graph.h",
            ],
            &[
                "eeschema/sub/connection_graph.cpp",
                "x/eeschema/connection_graph.cpp",
                "eeschema/connection_graph",
            ],
        ),
        (
            "/docs/**/api-reference/peripherals/usb*/",
            &[
                "docs/en/api-reference/peripherals/usb_host/index.rst",
                "docs/api-reference/peripherals/usb/x",
                "docs/zh_CN/a/api-reference/peripherals/usb_device/b/c.rst",
            ],
            &[
                "docs/en/api-reference/peripherals/usb_host.rst",
                "docs/en/api-reference/peripherals/usb_host",
                "x/docs/en/api-reference/peripherals/usb/y",
                "docs/en/api-reference/peripherals/uart/y",
            ],
        ),
        (
            "/.*",
            &[".github/CODEOWNERS", ".gitignore", ".x/y/z"],
            &["a/.gitignore", "github/.x"],
        ),
        // The policy example.
        (
            "services/*/src/**",
            &["services/cart/src/lib.rs", "services/cart/src/a/b.rs"],
            &[
                "services/cart/src",
                "services/cart/tests/x.rs",
                "services/src/x.rs",
                "x/services/cart/src/lib.rs",
            ],
        ),
    ];

    #[test]
    fn table() -> Result<(), GlobError> {
        for &(pattern, yes, no) in CASES {
            let glob = Glob::new(pattern)?;
            for path in yes {
                assert!(glob.matches(path), "`{pattern}` should match `{path}`");
            }
            for path in no {
                assert!(!glob.matches(path), "`{pattern}` should not match `{path}`");
            }
        }
        Ok(())
    }

    #[test]
    fn flags_and_text() -> Result<(), GlobError> {
        for (pattern, anchored, dir_only) in [
            ("docs", false, false),
            ("docs/", false, true),
            ("/docs", true, false),
            ("/docs/", true, true),
            ("a/b", true, false),
            ("**/b", true, false),
            ("a//", false, true),
        ] {
            let glob = Glob::new(pattern)?;
            assert_eq!(glob.is_anchored(), anchored, "{pattern}");
            assert_eq!(glob.dir_only(), dir_only, "{pattern}");
            assert_eq!(glob.as_str(), pattern);
            assert_eq!(glob.to_string(), pattern);
        }
        Ok(())
    }

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_owned())
    }

    #[test]
    fn segments() -> Result<(), GlobError> {
        use Segment::{AnyDepth, Parts};
        let cases: Vec<(&str, Vec<Segment>)> = vec![
            ("docs", vec![AnyDepth, Parts(vec![lit("docs")])]),
            ("/a//b/", vec![Parts(vec![lit("a")]), Parts(vec![lit("b")])]),
            (
                "**/**/x/**/**",
                vec![AnyDepth, Parts(vec![lit("x")]), AnyDepth],
            ),
            ("**", vec![AnyDepth]),
            (
                "a**b",
                vec![AnyDepth, Parts(vec![lit("a"), Part::Star, lit("b")])],
            ),
            ("/\\*\\*", vec![Parts(vec![lit("**")])]),
            ("/a\\/b", vec![Parts(vec![lit("a")]), Parts(vec![lit("b")])]),
            (
                "/x?[!c-ea-b]\\[",
                vec![Parts(vec![
                    lit("x"),
                    Part::Question,
                    Part::Class {
                        negated: true,
                        ranges: vec![('a', 'e')],
                    },
                    lit("["),
                ])],
            ),
            (
                "/[zb-cx-ya]",
                vec![Parts(vec![Part::Class {
                    negated: false,
                    ranges: vec![('a', 'c'), ('x', 'z')],
                }])],
            ),
        ];
        for (pattern, want) in cases {
            assert_eq!(Glob::new(pattern)?.segments(), want.as_slice(), "{pattern}");
        }
        Ok(())
    }

    #[test]
    fn errors() {
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        let cases: Vec<(&str, GlobError, &str)> = vec![
            ("", GlobError::Empty, "empty glob"),
            (
                "//",
                GlobError::NoSegments {
                    pattern: "//".into(),
                },
                "glob `//` has no path segments",
            ),
            (
                "src/[ab",
                GlobError::UnclosedClass {
                    pattern: "src/[ab".into(),
                },
                "unclosed `[` in glob `src/[ab`",
            ),
            (
                "[ab/c]",
                GlobError::UnclosedClass {
                    pattern: "[ab/c]".into(),
                },
                "unclosed `[` in glob `[ab/c]`",
            ),
            (
                "[a\\/]",
                GlobError::UnclosedClass {
                    pattern: "[a\\/]".into(),
                },
                "unclosed `[` in glob `[a\\/]`",
            ),
            (
                "[a-",
                GlobError::UnclosedClass {
                    pattern: "[a-".into(),
                },
                "unclosed `[` in glob `[a-`",
            ),
            (
                "a[]",
                GlobError::EmptyClass {
                    pattern: "a[]".into(),
                },
                "empty character class in glob `a[]`",
            ),
            (
                "[!]x]",
                GlobError::EmptyClass {
                    pattern: "[!]x]".into(),
                },
                "empty character class in glob `[!]x]`",
            ),
            (
                "a\\",
                GlobError::TrailingBackslash {
                    pattern: "a\\".into(),
                },
                "trailing `\\` in glob `a\\`",
            ),
            (
                "[a\\",
                GlobError::TrailingBackslash {
                    pattern: "[a\\".into(),
                },
                "trailing `\\` in glob `[a\\`",
            ),
            (
                "[z-a]",
                GlobError::ReversedRange {
                    pattern: "[z-a]".into(),
                    start: 'z',
                    end: 'a',
                },
                "reversed range `z-a` in glob `[z-a]`",
            ),
            (
                "a\0b",
                GlobError::Nul {
                    pattern: "a\\0b".into(),
                },
                "glob `a\\0b` contains a nul byte",
            ),
            (
                &long,
                GlobError::TooLong {
                    len: MAX_PATTERN_LEN + 1,
                },
                "glob of 4097 bytes is longer than the limit of 4096 bytes",
            ),
        ];
        for (pattern, want, message) in cases {
            let got = Glob::new(pattern);
            assert_eq!(got, Err(want), "{pattern}");
            if let Err(e) = got {
                assert_eq!(e.to_string(), message);
            }
        }
        assert!(Glob::new(&"a".repeat(MAX_PATTERN_LEN)).is_ok());
        assert!("[".parse::<Glob>().is_err());
    }

    #[test]
    fn matches_any_works() -> Result<(), GlobError> {
        let globs = [Glob::new("*.md")?, Glob::new("/src/")?];
        assert!(matches_any(&globs, "a/b.md"));
        assert!(matches_any(&globs, "src/x.rs"));
        assert!(!matches_any(&globs, "lib/x.rs"));
        assert!(!matches_any(&[], "x"));
        Ok(())
    }

    #[test]
    // An exponential matcher would not finish these in any reasonable time; a linear one
    // finishes at once. No timing is asserted: the test runner's time-out is the bound.
    fn pathological_patterns_finish() -> Result<(), GlobError> {
        let long = "a".repeat(20_000);
        assert!(!Glob::new("*a*a*a*a*a*a*a*a*a*a*b")?.matches(&long));
        assert!(Glob::new("*a*a*a*a*a*a*a*a*a*a")?.matches(&long));

        let deep = vec!["a"; 2_000].join("/");
        let pattern = vec!["**/a"; 200].join("/") + "/**/b";
        assert!(!Glob::new(&pattern)?.matches(&deep));
        let pattern = vec!["**"; 1_000].join("/") + "/b";
        assert!(!Glob::new(&pattern)?.matches(&deep));
        assert!(Glob::new(&pattern)?.matches(&(deep.clone() + "/b")));

        let stars = "*?".repeat(MAX_PATTERN_LEN / 2 - 1) + "b";
        assert!(!Glob::new(&stars)?.matches(&"a".repeat(3_000)));
        Ok(())
    }

    /// A direct, exponential transcription of the documented semantics, for small inputs.
    fn reference(glob: &Glob, path: &str) -> bool {
        fn parts(p: &[Part], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some((Part::Star, rest)) => {
                    (0..=t.len()).any(|k| t.get(k..).is_some_and(|tail| parts(rest, tail)))
                }
                Some((Part::Literal(s), rest)) => {
                    let s: Vec<char> = s.chars().collect();
                    t.starts_with(&s) && t.get(s.len()..).is_some_and(|tail| parts(rest, tail))
                }
                Some((Part::Question, rest)) => {
                    t.split_first().is_some_and(|(_, tail)| parts(rest, tail))
                }
                Some((Part::Class { negated, ranges }, rest)) => {
                    t.split_first().is_some_and(|(c, tail)| {
                        ranges.iter().any(|&(lo, hi)| lo <= *c && *c <= hi) != *negated
                            && parts(rest, tail)
                    })
                }
            }
        }
        fn covers(p: &[Segment], s: &[&str]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((Segment::AnyDepth, rest)) => {
                    let min = usize::from(rest.is_empty());
                    (min..=s.len()).any(|k| s.get(k..).is_some_and(|tail| covers(rest, tail)))
                }
                Some((Segment::Parts(ps), rest)) => s.split_first().is_some_and(|(first, tail)| {
                    let chars: Vec<char> = first.chars().collect();
                    parts(ps, &chars) && covers(rest, tail)
                }),
            }
        }
        let s: Vec<&str> = path
            .split('/')
            .filter(|x| !x.is_empty() && *x != ".")
            .collect();
        let max = if glob.dir_only() {
            s.len().saturating_sub(1)
        } else {
            s.len()
        };
        (1..=max).any(|k| {
            s.get(..k)
                .is_some_and(|prefix| covers(glob.segments(), prefix))
        })
    }

    #[test]
    fn agrees_with_reference() -> Result<(), GlobError> {
        let pieces = ["a", "b", "*", "?", "[ab]", "[!a]", "**", "a*", "*b", "?a"];
        let names = ["a", "b", "ab", "aa", "c"];
        let mut patterns = Vec::new();
        for x in pieces {
            for lead in ["", "/"] {
                for trail in ["", "/"] {
                    patterns.push(format!("{lead}{x}{trail}"));
                    for y in pieces {
                        patterns.push(format!("{lead}{x}/{y}{trail}"));
                        patterns.push(format!("{lead}{x}{y}{trail}"));
                        for z in ["a", "**", "*"] {
                            patterns.push(format!("{lead}{x}/{y}/{z}{trail}"));
                        }
                    }
                }
            }
        }
        let mut paths: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        for depth in 0..3 {
            let shorter: Vec<String> = paths.clone();
            for p in &shorter {
                if p.matches('/').count() == depth {
                    for n in names {
                        paths.push(format!("{p}/{n}"));
                    }
                }
            }
        }
        let mut checked = 0usize;
        for pattern in &patterns {
            let glob = Glob::new(pattern)?;
            for path in &paths {
                assert_eq!(
                    glob.matches(path),
                    reference(&glob, path),
                    "`{pattern}` against `{path}`"
                );
                checked += 1;
            }
        }
        assert!(checked > 100_000);
        Ok(())
    }
}
