//! Formatter cases: `tests/fmt/NAME.bw` formats to `tests/fmt/NAME.expected.bw`, or, for a
//! source that does not parse, fails with the diagnostics in `tests/fmt/NAME.expected.err`.
//!
//! Run with `BLESS=1` to rewrite the expected files from the current output; review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use blastwall_syntax::{FormatError, format_source, parse};

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt")
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}

/// Every `NAME.bw` in the case folder that is not itself an expected output.
fn case_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(case_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bw") && !n.ends_with(".expected.bw"))
        .map(|n| n.trim_end_matches(".bw").to_string())
        .collect();
    names.sort();
    names
}

/// Format one case and compare with (or, under `BLESS=1`, write) its expectation. Returns a
/// description of what is wrong, if anything.
fn check(name: &str) -> Option<String> {
    let dir = case_dir();
    let src = fs::read_to_string(dir.join(format!("{name}.bw"))).unwrap();
    let (actual, expected_path, other_path) = match format_source(&src) {
        Ok(out) => {
            if let Some(problem) = check_output(&src, &out) {
                return Some(format!("{name}: {problem}"));
            }
            (
                out,
                dir.join(format!("{name}.expected.bw")),
                dir.join(format!("{name}.expected.err")),
            )
        }
        Err(FormatError::Parse(errors)) => {
            assert!(
                !errors.is_empty(),
                "{name}: a parse failure with no diagnostics"
            );
            let path = format!("tests/fmt/{name}.bw");
            let rendered: String = errors.iter().map(|e| e.render(&path, &src)).collect();
            (
                rendered,
                dir.join(format!("{name}.expected.err")),
                dir.join(format!("{name}.expected.bw")),
            )
        }
        Err(e @ FormatError::Unsound { .. }) => return Some(format!("{name}: {e}")),
    };
    if bless() {
        fs::write(&expected_path, &actual).unwrap();
        if other_path.exists() {
            fs::remove_file(&other_path).unwrap();
        }
        return None;
    }
    let expected = match fs::read_to_string(&expected_path) {
        Ok(text) => text,
        Err(_) => {
            return Some(format!(
                "{name}: no {} (run with BLESS=1 to create it); the output is:\n{actual}",
                expected_path.display()
            ));
        }
    };
    if actual != expected {
        return Some(format!(
            "{name}: output differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        ));
    }
    None
}

/// What must hold of every successful format: idempotent, same comments, same tree, layout.
fn check_output(src: &str, out: &str) -> Option<String> {
    match format_source(out) {
        Ok(again) if again == out => {}
        Ok(again) => return Some(format!("not idempotent; second pass:\n{again}")),
        Err(e) => return Some(format!("the output does not format again: {e}")),
    }
    let before = parse(src);
    let after = parse(out);
    if before.file != after.file {
        return Some("the output parses to a different tree".to_string());
    }
    let texts = |p: &blastwall_syntax::Parse| -> Vec<String> {
        p.comments.iter().map(|c| c.text.clone()).collect()
    };
    if texts(&before) != texts(&after) {
        return Some("the output has different comments".to_string());
    }
    if !out.is_empty() && (!out.ends_with('\n') || out.ends_with("\n\n")) {
        return Some("the output does not end in exactly one newline".to_string());
    }
    if let Some(line) = out.lines().find(|l| l.ends_with([' ', '\t'])) {
        return Some(format!("trailing whitespace on `{line}`"));
    }
    None
}

#[test]
fn formatter_cases() {
    let names = case_names();
    assert!(
        names.len() >= 12,
        "expected at least 12 cases, found {}",
        names.len()
    );
    let failures: Vec<String> = names.iter().filter_map(|n| check(n)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} formatter cases failed:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

#[test]
fn parse_errors_are_reported_with_their_spans() {
    let src = "rule broken {\n    wen change.ai.assisted == \"yes\"\n}\n";
    let Err(FormatError::Parse(errors)) = format_source(src) else {
        panic!("expected a parse error");
    };
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(&src[e.span.start as usize..e.span.end as usize], "wen");
    let message = FormatError::Parse(errors.clone()).to_string();
    assert!(
        message.starts_with("cannot format a policy that does not parse: "),
        "{message}"
    );
    assert!(!message.ends_with('.'));
}

#[test]
fn every_parse_error_is_returned() {
    let src = "rule a {\n    wen x\n}\n\nrule b {\n    when\n}\n\nparam ok: int = 1\n";
    let Err(FormatError::Parse(errors)) = format_source(src) else {
        panic!("expected parse errors");
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        FormatError::Parse(errors)
            .to_string()
            .ends_with("(and 1 more)")
    );
}

#[test]
fn a_file_without_items_is_not_formatted() {
    // The parser reports a file with no items (blank, or only comments) as an error; the
    // formatter does not second-guess it.
    for src in ["", "\n\n   \n\t\n", "// only a comment\n"] {
        let Err(FormatError::Parse(errors)) = format_source(src) else {
            panic!("expected a parse error for {src:?}");
        };
        assert_eq!(errors[0].code, "empty", "{src:?}");
    }
}

#[test]
fn comments_survive_in_order() {
    let src = "// a\nrule x { // b\n  // c\n  when a // d\n    and b // e\n  // f\n} // g\n// h\n";
    let out = format_source(src).unwrap();
    let texts: Vec<String> = parse(&out).comments.into_iter().map(|c| c.text).collect();
    assert_eq!(
        texts,
        [
            "// a", "// b", "// c", "// d", "// e", "// f", "// g", "// h"
        ]
    );
    assert_eq!(
        out,
        "// a\nrule x { // b\n    // c\n    // d\n    when a and b // e\n    // f\n} // g\n\n// h\n"
    );
}

// ---------------------------------------------------------------- parser bugs found here
//
// Each of these fails today; the formatter works around the ones it can (see `code_end` in
// `src/fmt.rs`) and its soundness check catches the rest.

#[test]
fn the_smallest_integer_parses_in_an_expression() {
    let p = parse("fn f() = -9223372036854775808\n");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
}

#[test]
fn a_comment_right_after_a_division_is_kept() {
    let src = "fn f() = a ///b\n    c\n";
    assert_eq!(parse(src).comments.len(), 1);
    assert!(format_source(src).unwrap().contains("//b"));
}

#[test]
fn many_negative_numbers_are_not_deep_nesting() {
    let list: Vec<String> = (1..=70).map(|n| format!("-{n}")).collect();
    let src = format!("param xs: [int] = [{}]\n", list.join(", "));
    assert!(parse(&src).errors.is_empty(), "{:?}", parse(&src).errors);
    let nots: Vec<&str> = (0..70).map(|_| "not a").collect();
    let src = format!("fn f(a: bool) = {}\n", nots.join(" and "));
    assert!(parse(&src).errors.is_empty(), "{:?}", parse(&src).errors);
}

#[test]
fn spans_end_where_the_code_ends() {
    use blastwall_syntax::ast::Item;
    let src = "rule x {\n    when a // c\n    require review // d\n}\n\nfn f() = a // e\n";
    let p = parse(src);
    let Item::Rule(rule) = &p.file.items[0] else {
        panic!("expected a rule");
    };
    assert_eq!(rule.clauses[0].span.text(src), "when a");
    assert_eq!(rule.clauses[1].span.text(src), "require review");
    assert_eq!(p.file.items[1].span().text(src), "fn f() = a");
}

#[test]
fn a_comment_inside_not_in_is_allowed() {
    let p = parse("fn f() = a not // why\n    in b\n");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
}
