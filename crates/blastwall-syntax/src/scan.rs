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
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    // One frame per open bracket: (bracket offset, open-ended nesting inside it).
    let mut frames: Vec<(usize, usize)> = vec![(0, 0)];
    let mut line_has_code = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line_has_code = false;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = src
                    .get(i..)
                    .and_then(|s| s.find('\n'))
                    .map_or(src.len(), |n| i + n);
                let is_doc = bytes.get(i + 2) == Some(&b'/');
                let at_line_start = !line_has_code;
                if is_doc {
                    if at_line_start && starts_line(bytes, i) {
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
                i = skip_string(bytes, i + 1, false);
            }
            b'r' if bytes.get(i + 1) == Some(&b'"') && !prev_is_ident(bytes, i) => {
                line_has_code = true;
                i = skip_string(bytes, i + 2, true);
            }
            b'(' | b'[' | b'{' => {
                line_has_code = true;
                frames.push((i, 0));
                check_depth(&frames, i)?;
                i += 1;
            }
            b')' | b']' | b'}' => {
                line_has_code = true;
                if frames.len() > 1 {
                    frames.pop();
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) != Some(&b'>') => {
                line_has_code = true;
                if let Some(top) = frames.last_mut() {
                    top.1 += 1;
                }
                check_depth(&frames, i)?;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
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
                        top.1 = 0;
                    }
                } else if matches!(word, "some" | "all" | "not") {
                    if let Some(top) = frames.last_mut() {
                        top.1 += 1;
                    }
                    check_depth(&frames, start)?;
                }
                line_has_code = true;
            }
            _ => {
                line_has_code = true;
                // Step over a whole UTF-8 character.
                i += src
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
            }
        }
    }
    Ok(out)
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

fn check_depth(frames: &[(usize, usize)], at: usize) -> Result<(), Diagnostic> {
    let depth = frames.len() - 1 + frames.iter().map(|f| f.1).sum::<usize>();
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
