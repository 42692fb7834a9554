//! The `packages:` list of `pnpm-workspace.yaml`, read without a YAML library.
//!
//! The accepted subset is in the parent module's docs. Everything inside that subset is read as
//! YAML reads it; everything outside it under `packages:` is an error, so a file this reader
//! misunderstands can never silently shrink the graph.

use crate::topo_error::{Loc, TopologyError};

/// The patterns of the top-level `packages:` key, each with its location; empty when the key
/// is absent.
pub(crate) fn packages(text: &str, file: &str) -> Result<Vec<(String, Loc)>, TopologyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut in_list = false;
    let mut found = false;
    for (i, line) in text.lines().enumerate() {
        let at = Loc {
            file: file.to_string(),
            line: i + 1,
        };
        let body = line.trim_start_matches([' ', '\t']);
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.get(..line.len() - body.len()).unwrap_or("");
        if in_list {
            if indent.contains('\t') {
                return Err(err(at, "tabs cannot indent yaml"));
            }
            if !indent.is_empty() || body.starts_with('-') {
                out.push((item(body, &at)?, at));
                continue;
            }
            in_list = false;
        }
        if !indent.is_empty() || is_marker(body) {
            continue;
        }
        let Some(rest) = key_rest(body, "packages") else {
            if body.contains("packages") {
                return Err(err(at, "cannot read this line as the `packages:` key"));
            }
            continue;
        };
        if found {
            return Err(err(at, "`packages` is given twice"));
        }
        found = true;
        let rest = strip_comment(rest).trim();
        if rest.is_empty() {
            in_list = true;
        } else if let Some(inner) = rest.strip_prefix('[') {
            out = flow(inner, &at)?;
        } else {
            return Err(err(at, "`packages` should be a list of strings"));
        }
    }
    Ok(out)
}

fn err(at: Loc, message: &str) -> TopologyError {
    TopologyError::Yaml {
        at,
        message: message.to_string(),
    }
}

/// Document markers and directives, which carry no content here.
fn is_marker(body: &str) -> bool {
    body == "---" || body.starts_with("--- ") || body == "..." || body.starts_with('%')
}

/// For a line `key:` or `key: value` (key plain or quoted), the text after the colon.
fn key_rest<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let after = [
        format!("{key}:"),
        format!("'{key}':"),
        format!("\"{key}\":"),
    ]
    .iter()
    .find_map(|k| body.strip_prefix(k.as_str()))?;
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some(after)
}

/// `s` up to a comment: a `#` at the start or after a blank.
fn strip_comment(s: &str) -> &str {
    let mut prev_blank = true;
    for (i, c) in s.char_indices() {
        if c == '#' && prev_blank {
            return s.get(..i).unwrap_or(s);
        }
        prev_blank = c == ' ' || c == '\t';
    }
    s
}

/// One `- item` line of a block sequence.
fn item(body: &str, at: &Loc) -> Result<String, TopologyError> {
    let Some(rest) = body.strip_prefix('-') else {
        return Err(err(at.clone(), "expected `- item` under `packages:`"));
    };
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return Err(err(at.clone(), "expected `- item` under `packages:`"));
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let (value, tail) = scalar(rest, at, false)?;
    if !strip_comment(tail).trim().is_empty() {
        return Err(err(at.clone(), "unexpected text after the item"));
    }
    Ok(value)
}

/// The items of a one-line flow sequence, `inner` being the text after its `[`.
fn flow(inner: &str, at: &Loc) -> Result<Vec<(String, Loc)>, TopologyError> {
    let mut out = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            if !strip_comment(after).trim().is_empty() {
                return Err(err(at.clone(), "unexpected text after the list"));
            }
            return Ok(out);
        }
        if rest.is_empty() {
            return Err(err(at.clone(), "a `[…]` list must close on the same line"));
        }
        let (value, tail) = scalar(rest, at, true)?;
        out.push((value, at.clone()));
        rest = tail.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.starts_with(']') {
            return Err(err(at.clone(), "expected `,` or `]` in the list"));
        }
    }
}

/// A scalar at the start of `s`, and the text after it. In a flow sequence a plain scalar ends
/// at `,` or `]`.
fn scalar<'a>(s: &'a str, at: &Loc, in_flow: bool) -> Result<(String, &'a str), TopologyError> {
    if let Some(rest) = s.strip_prefix('\'') {
        return single_quoted(rest, at);
    }
    if let Some(rest) = s.strip_prefix('"') {
        return double_quoted(rest, at);
    }
    let end = if in_flow {
        s.find([',', ']']).unwrap_or(s.len())
    } else {
        s.len()
    };
    let (raw, tail) = s.split_at_checked(end).unwrap_or((s, ""));
    let value = strip_comment(raw).trim();
    if strip_comment(raw).len() != raw.len() && in_flow {
        return Err(err(at.clone(), "a comment cannot sit inside a `[…]` list"));
    }
    if value.is_empty() {
        return Err(err(at.clone(), "an empty item"));
    }
    if value.starts_with(['&', '*', '!', '|', '>', '%', '@', '`', '{', '[', '"', '\''])
        || value.starts_with("- ")
        || value.starts_with("? ")
        || value.contains(": ")
        || value.ends_with(':')
    {
        return Err(err(
            at.clone(),
            &format!("`{value}` is outside the yaml subset read here: quote it"),
        ));
    }
    Ok((value.to_string(), tail))
}

fn single_quoted<'a>(s: &'a str, at: &Loc) -> Result<(String, &'a str), TopologyError> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
                out.push('\'');
            } else {
                return Ok((out, s.get(i + 1..).unwrap_or("")));
            }
        } else {
            out.push(c);
        }
    }
    Err(err(
        at.clone(),
        "unclosed quote: multi-line strings are not read here",
    ))
}

fn double_quoted<'a>(s: &'a str, at: &Loc) -> Result<(String, &'a str), TopologyError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, s.get(i + 1..).unwrap_or(""))),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('/') => out.push('/'),
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(e) => {
                    return Err(err(
                        at.clone(),
                        &format!("the escape `\\{e}` is not read here"),
                    ));
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(err(
        at.clone(),
        "unclosed quote: multi-line strings are not read here",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<String>, String> {
        packages(text, "pnpm-workspace.yaml")
            .map(|v| v.into_iter().map(|(s, _)| s).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepted_forms() {
        let text = "# pnpm\npackages:\n  # apps\n  - 'apps/*'\n  - \"libs/**\"   # all\n  - tools/x#y # c\n  - '!**/test/**'\n  - 'it''s'\n\ncatalog:\n  react: ^18\n  - not ours\n";
        assert_eq!(
            read(text),
            Ok(vec![
                "apps/*".to_string(),
                "libs/**".to_string(),
                "tools/x#y".to_string(),
                "!**/test/**".to_string(),
                "it's".to_string(),
            ])
        );
        assert_eq!(
            read("packages:\n- a\n- b\nonlyBuiltDependencies:\n  - esbuild\n"),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            read("---\npackages: ['a/*', \"b\", c , ] # x\n"),
            Ok(vec!["a/*".to_string(), "b".to_string(), "c".to_string()])
        );
        assert_eq!(read("packages: []\n"), Ok(vec![]));
        assert_eq!(read("catalog:\n  packages: x\n"), Ok(vec![]));
        assert_eq!(
            read("\u{feff}packages:\r\n  - a\r\n"),
            Ok(vec!["a".to_string()])
        );
    }

    #[test]
    fn rejected_forms() {
        for text in [
            "packages:\n  - !**/test/**\n",
            "packages:\n  - &a x\n",
            "packages:\n  - *a\n",
            "packages:\n  - |\n    x\n",
            "packages:\n  - a: b\n",
            "packages:\n  - - a\n",
            "packages:\n  - 'a\n    b'\n",
            "packages:\n\t- a\n",
            "packages:\n  -\n",
            "packages: [a,\n  b]\n",
            "packages: a\n",
            "packages:\n  - a\npackages:\n  - b\n",
            "packages:\n  - \"\\u0041\"\n",
            "packages:\n  - a b: c\n",
            "\"packages\" : [a]\n",
        ] {
            assert!(read(text).is_err(), "{text:?} should be rejected");
        }
    }
}
