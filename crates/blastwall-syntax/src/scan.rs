//! A cheap lexical pass that runs before the grammar.
//!
//! It enforces the documented limits (size, nesting) before any recursive descent can start,
//! collects `//` comments for the formatter, and finds where top-level items begin so the
//! parser can recover from an error in one item and go on with the next.

use crate::diag::Diagnostic;
use crate::span::Span;

/// The largest policy file accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 8 * 1024 * 1024;
/// The deepest nesting accepted: brackets, quantifiers and prefix operators together.
pub const MAX_NESTING: usize = 64;

/// A `//` comment (not a `///` doc comment) and whether code precedes it on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment text, `//` included, trailing space removed.
    pub text: String,
    /// Where it is written.
    pub span: Span,
    /// True when code stands before it on the same line.
    pub trailing: bool,
}

/// What the scan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub comments: Vec<Comment>,
    /// Byte offsets where a top-level item (or its doc comment) starts in column 0.
    pub item_starts: Vec<usize>,
}

const ITEM_KEYWORDS: [&str; 4] = ["rule", "test", "fn", "param"];
/// Keywords that start a clause: nesting from prefix operators and quantifiers ends there.
const CLAUSE_KEYWORDS: [&str; 12] = [
    "rule", "test", "fn", "param", "let", "when", "deny", "warn", "require", "message", "about",
    "given",
];

/// Scan `src`, or report the first limit it exceeds.
pub(crate) fn scan(src: &str) -> Result<Scan, Diagnostic> {
    if src.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostic::error(
            "limit",
            format!(
                "policy file is {} bytes, over the limit of {MAX_SOURCE_BYTES} bytes",
                src.len()
            ),
            Span::new(0, 0),
        )
        .with_help("split the policy into several files"));
    }
    // A NUL byte is never policy text: the grammar would report it as a token it did not
    // expect, naming the keyword it stopped at (`expected rule, found rule`).
    if let Some(at) = src.find('\0') {
        return Err(Diagnostic::error(
            "nul",
            "policy file contains a NUL byte".to_string(),
            Span::new(at, at + 1),
        )
        .with_help("policy files are text; was a binary file named as a policy?"));
    }
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    let mut frames: Vec<Frame> = vec![Frame::default()];
    let mut line_has_code = false;
    // Whether the last token could end an operand: then `-` is subtraction, not negation.
    let mut after_operand = false;
    // The last word, to recognise `set<` (a nested type) and `not in` (an operator).
    let mut last_word = "";
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line_has_code = false;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let is_doc = bytes.get(i + 2) == Some(&b'/');
                if is_doc && line_has_code {
                    // Mid-line, `///` is a `/` followed by a `//` comment, as the grammar
                    // reads it: step over the operator and scan the comment next.
                    after_operand = false;
                    i += 1;
                    continue;
                }
                let end = src
                    .get(i..)
                    .and_then(|s| s.find('\n'))
                    .map_or(src.len(), |n| i + n);
                if is_doc {
                    if starts_line(bytes, i) {
                        push_start(&mut out.item_starts, i);
                    }
                } else {
                    out.comments.push(Comment {
                        text: src.get(i..end).unwrap_or("").trim_end().to_string(),
                        span: Span::new(i, end),
                        trailing: line_has_code,
                    });
                }
                i = end;
            }
            b'"' => {
                line_has_code = true;
                operand(&mut frames, &mut after_operand);
                i = skip_string(bytes, i + 1, false);
            }
            b'r' if bytes.get(i + 1) == Some(&b'"') && !prev_is_ident(bytes, i) => {
                line_has_code = true;
                operand(&mut frames, &mut after_operand);
                i = skip_string(bytes, i + 2, true);
            }
            b'(' | b'[' | b'{' => {
                line_has_code = true;
                frames.push(Frame::default());
                check_depth(&frames, i)?;
                after_operand = false;
                i += 1;
            }
            b'<' if last_word == "set" => {
                line_has_code = true;
                frames.push(Frame {
                    angle: true,
                    ..Frame::default()
                });
                check_depth(&frames, i)?;
                i += 1;
            }
            b'>' if frames.last().is_some_and(|f| f.angle) => {
                frames.pop();
                i += 1;
            }
            b')' | b']' | b'}' => {
                line_has_code = true;
                if frames.len() > 1 {
                    frames.pop();
                }
                operand(&mut frames, &mut after_operand);
                i += 1;
            }
            b'-' if !after_operand => {
                line_has_code = true;
                if let Some(top) = frames.last_mut() {
                    top.prefix_run += 1;
                }
                check_depth(&frames, i)?;
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = src.get(start..i).unwrap_or("");
                if ITEM_KEYWORDS.contains(&word) && starts_line(bytes, start) {
                    push_start(&mut out.item_starts, start);
                }
                if CLAUSE_KEYWORDS.contains(&word) {
                    if let Some(top) = frames.last_mut() {
                        *top = Frame::default();
                    }
                    after_operand = false;
                } else if matches!(word, "some" | "all") {
                    // A quantifier's condition runs to the end of its bracket, so every later
                    // quantifier in the same bracket is nested inside it.
                    if let Some(top) = frames.last_mut() {
                        top.quantifiers += 1;
                    }
                    check_depth(&frames, start)?;
                    after_operand = false;
                } else if word == "not" && !next_word_is(src, i, "in") {
                    if let Some(top) = frames.last_mut() {
                        top.prefix_run += 1;
                    }
                    check_depth(&frames, start)?;
                    after_operand = false;
                } else if OPERATOR_WORDS.contains(&word) {
                    after_operand = false;
                } else {
                    operand(&mut frames, &mut after_operand);
                }
                last_word = word;
                line_has_code = true;
                continue;
            }
            _ => {
                line_has_code = true;
                after_operand = false;
                // Step over a whole UTF-8 character.
                i += src
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
            }
        }
        last_word = "";
    }
    Ok(out)
}

/// Nesting opened by one bracket (or `set<`).
#[derive(Debug, Default, Clone, Copy)]
struct Frame {
    /// Quantifiers since the bracket opened (or the last clause keyword).
    quantifiers: usize,
    /// The current run of consecutive prefix operators (`-`, `not`).
    prefix_run: usize,
    /// Whether this frame is a `set<…>` type, closed by `>`.
    angle: bool,
}

/// Words that are infix operators or keywords after which an operand is expected.
const OPERATOR_WORDS: [&str; 14] = [
    "and", "or", "in", "matches", "from", "count", "for", "where", "level", "review", "expect",
    "fires", "times", "quiet",
];

/// An operand ends a run of prefix operators.
fn operand(frames: &mut [Frame], after_operand: &mut bool) {
    if let Some(top) = frames.last_mut() {
        top.prefix_run = 0;
    }
    *after_operand = true;
}

fn next_word_is(src: &str, from: usize, word: &str) -> bool {
    src.get(from..).map(str::trim_start).is_some_and(|rest| {
        rest.strip_prefix(word)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    })
}

fn push_start(starts: &mut Vec<usize>, offset: usize) {
    // A doc comment block and the keyword after it start one item: keep the first offset of
    // a run with nothing but doc comments between.
    starts.push(offset);
}

fn starts_line(bytes: &[u8], i: usize) -> bool {
    i == 0 || bytes.get(i - 1) == Some(&b'\n')
}

fn prev_is_ident(bytes: &[u8], i: usize) -> bool {
    i > 0
        && bytes
            .get(i - 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Skip to just after the closing quote, or to the end of the line for an unclosed string.
fn skip_string(bytes: &[u8], mut i: usize, raw: bool) -> usize {
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' => return i + 1,
            b'\n' => return i,
            b'\\' if !raw => i += 2,
            _ => i += 1,
        }
    }
    i
}

fn check_depth(frames: &[Frame], at: usize) -> Result<(), Diagnostic> {
    let depth = frames.len() - 1
        + frames
            .iter()
            .map(|f| f.quantifiers + f.prefix_run)
            .sum::<usize>();
    if depth > MAX_NESTING {
        return Err(Diagnostic::error(
            "limit",
            format!("nesting is deeper than the limit of {MAX_NESTING}"),
            Span::new(at, at + 1),
        )
        .with_label("too deep here")
        .with_help("name inner parts with `let` or a `fn`"));
    }
    Ok(())
}
