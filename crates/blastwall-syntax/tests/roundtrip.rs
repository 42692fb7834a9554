//! Generated policies survive formatting: the formatted text parses to the same tree with the
//! same comments, and formatting it again changes nothing. Arbitrary input never panics.
//!
//! The generator writes *source text* from a small version of the grammar, with operators
//! mixed freely and no parentheses except the ones it chooses to write, so the parser decides
//! the grouping and the formatter must print it back without changing it. Set
//! `PROPTEST_CASES` to run more than the default 256 cases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blastwall_syntax::{FormatError, format_source, parse};
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------- tokens

/// Variable names: no keywords, but some words that are keywords elsewhere (`count`, `set`).
fn name() -> impl Strategy<Value = String> {
    select(vec![
        "a", "b", "x", "xs", "change", "config", "plan", "r", "f", "hit", "count", "set", "times",
        "_tmp", "x1", "notable", "order", "android",
    ])
    .prop_map(str::to_string)
}

/// Field names may be keywords.
fn field() -> impl Strategy<Value = String> {
    select(vec![
        "path", "env", "tier", "ai", "assisted", "action", "in", "all", "not", "len", "x", "rule",
    ])
    .prop_map(str::to_string)
}

/// Whitespace between tokens, sometimes with a comment (always followed by a newline).
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(" ".to_string()),
        1 => Just("\n      ".to_string()),
        1 => Just("\t ".to_string()),
        1 => select(vec![" // c1\n  ", "  //c2\n", " // {odd} \"text\"\n\t"]).prop_map(str::to_string),
    ]
}

/// One piece of a plain string body: ordinary text or an escape.
fn plain_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "a", "Z", " ", "é", "日本", "//", "{", "}", "-", "*", "r", "\t"
        ])
        .prop_map(str::to_string),
        select(vec!["\\n", "\\t", "\\r", "\\\\", "\\\""]).prop_map(str::to_string),
    ]
}

fn raw_piece() -> impl Strategy<Value = String> {
    select(vec![
        "a", " ", "\\d", "\\", "+", "^", "$", "é", "//", "{", "}",
    ])
    .prop_map(str::to_string)
}

/// A string literal as written: plain with escapes, or raw.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(plain_piece(), 0..6).prop_map(|p| format!("\"{}\"", p.concat())),
        1 => prop::collection::vec(raw_piece(), 0..6).prop_map(|p| format!("r\"{}\"", p.concat())),
    ]
}

fn int() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..1000).prop_map(|n| n.to_string()),
        Just("1_000".to_string()),
        Just("9223372036854775807".to_string()),
        Just("007".to_string()),
    ]
}

// ---------------------------------------------------------------- expressions

const INFIX: [&str; 18] = [
    "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches", "=~", "??", "+", "-",
    "*", "/", "%",
];

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => name(),
        2 => int(),
        1 => select(vec!["true", "false"]).prop_map(str::to_string),
        1 => string(),
        2 => (name(), field()).prop_map(|(n, f)| format!("{n}.{f}")),
    ]
}

/// An expression as text: every operator, prefix operators, quantifiers, calls with named
/// arguments, lists, comprehensions, parentheses and field access, nested a few levels.
fn expr() -> impl Strategy<Value = String> {
    atom().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            4 => (inner.clone(), select(INFIX.to_vec()), gap(), inner.clone())
                .prop_map(|(l, op, g, r)| format!("{l}{g}{op} {r}")),
            1 => inner.clone().prop_map(|e| format!("not {e}")),
            1 => (select(vec!["-", "- "]), inner.clone()).prop_map(|(m, e)| format!("{m}{e}")),
            2 => inner.clone().prop_map(|e| format!("({e})")),
            1 => (inner.clone(), field()).prop_map(|(e, f)| format!("({e}).{f}")),
            1 => (select(vec!["some", "all"]), name(), inner.clone(), inner.clone())
                .prop_map(|(q, v, over, body)| format!("{q} {v} in {over}: {body}")),
            1 => (name(), prop::collection::vec((prop::option::of(name()), inner.clone()), 0..3), any::<bool>())
                .prop_map(|(func, args, trailing)| {
                    let args: Vec<String> = args
                        .into_iter()
                        .map(|(n, v)| match n {
                            Some(n) => format!("{n}: {v}"),
                            None => v,
                        })
                        .collect();
                    let comma = if trailing && !args.is_empty() { "," } else { "" };
                    format!("{func}({}{comma})", args.join(", "))
                }),
            1 => (prop::collection::vec(inner.clone(), 0..3), any::<bool>()).prop_map(|(items, trailing)| {
                let comma = if trailing && !items.is_empty() { "," } else { "" };
                format!("[{}{comma}]", items.join(", "))
            }),
            1 => (inner.clone(), name(), inner.clone(), prop::option::of(inner.clone())).prop_map(
                |(map, var, over, filter)| match filter {
                    Some(f) => format!("[{map} for {var} in {over} where {f}]"),
                    None => format!("[{map} for {var} in {over}]"),
                }
            ),
            1 => (name(), name(), field()).prop_map(|(n, a, b)| format!("{n}({a}).{b}")),
        ]
    })
}

/// A message template: text with escapes, `{{`/`}}`, and holes of simple expressions.
fn template() -> impl Strategy<Value = String> {
    let hole = select(vec![
        "{f.path}",
        "{ config.team }",
        "{count(x) + 1}",
        "{a.b.c}",
        "{not x}",
        "{[a, b]}",
        "{some x in xs: x.ok}",
        "{-n}",
    ])
    .prop_map(str::to_string);
    let text = select(vec![
        "plan would ",
        "x",
        " ",
        "{{",
        "}}",
        "é",
        "\\n",
        "\\\"",
        "\\\\",
        "//",
    ])
    .prop_map(str::to_string);
    let raw_text = select(vec!["raw ", "\\d", "{{", "}}", " "]).prop_map(str::to_string);
    prop_oneof![
        3 => prop::collection::vec(prop_oneof![text, hole.clone()], 0..6)
            .prop_map(|p| format!("\"{}\"", p.concat())),
        1 => prop::collection::vec(prop_oneof![raw_text, hole], 0..5)
            .prop_map(|p| format!("r\"{}\"", p.concat())),
    ]
}

// ---------------------------------------------------------------- items

fn clause() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => select(vec!["advisory", "soft", "hard"]).prop_map(|l| format!("level {l}")),
        1 => (name(), expr()).prop_map(|(n, e)| format!("let {n} = {e}")),
        3 => expr().prop_map(|e| format!("when {e}")),
        1 => (select(vec!["deny", "warn"]), prop::option::of(template())).prop_map(|(k, t)| match t {
            Some(t) => format!("{k} {t}"),
            None => k.to_string(),
        }),
        1 => (prop::option::of(expr()), prop::option::of(expr())).prop_map(|(from, count)| {
            let mut s = "require review".to_string();
            if let Some(f) = from {
                s.push_str(&format!(" from {f}"));
            }
            if let Some(c) = count {
                s.push_str(&format!(" count {c}"));
            }
            s
        }),
        1 => template().prop_map(|t| format!("message {t}")),
        1 => expr().prop_map(|e| format!("about {e}")),
    ]
}

/// What goes between clauses: a newline, maybe comments, maybe just a space.
fn clause_gap() -> impl Strategy<Value = String> {
    select(vec![
        "\n  ",
        " ",
        "\n\n    ",
        " // trailing\n  ",
        "\n  // own line\n  ",
        "\n\t",
    ])
    .prop_map(str::to_string)
}

fn docs() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            "/// Docs.\n",
            "///\n",
            "///   indented\n",
            "///no space\n",
        ]),
        0..3,
    )
    .prop_map(|d| d.concat())
}

fn rule() -> impl Strategy<Value = String> {
    (
        docs(),
        name(),
        prop::collection::vec((clause_gap(), clause()), 0..6),
        clause_gap(),
    )
        .prop_map(|(docs, name, clauses, end)| {
            let body: String = clauses
                .into_iter()
                .map(|(g, c)| format!("{g}{c}"))
                .collect();
            format!("{docs}rule rule_{name} {{{body}{end}}}")
        })
}

fn literal() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        int(),
        (1i64..100).prop_map(|n| format!("-{n}")),
        select(vec!["true", "false"]).prop_map(str::to_string),
        string(),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        let key = prop_oneof![
            field(),
            select(vec!["\"team-name\"", "\"\"", "\"a b\"", "\"ok\""]).prop_map(str::to_string),
        ];
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), any::<bool>()).prop_map(|(items, t)| {
                let comma = if t && !items.is_empty() { "," } else { "" };
                format!("[{}{comma}]", items.join(", "))
            }),
            (prop::collection::vec((key, inner), 0..5), any::<bool>()).prop_map(|(fields, t)| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                let comma = if t && !fields.is_empty() { "," } else { "" };
                format!("{{ {}{comma} }}", fields.join(", "))
            }),
        ]
    })
}

fn test_clause() -> impl Strategy<Value = String> {
    let doc = select(vec![
        "change",
        "plan",
        "action",
        "topology",
        "config",
        "overrides",
    ]);
    prop_oneof![
        3 => (doc, literal()).prop_map(|(d, l)| format!("given {d} {l}")),
        1 => select(vec!["allow", "warn", "review", "deny"]).prop_map(|o| format!("expect {o}")),
        1 => (string(), prop::option::of(0i64..10)).prop_map(|(s, n)| match n {
            Some(n) => format!("expect review from {s} count {n}"),
            None => format!("expect review from {s}"),
        }),
        1 => (name(), prop::option::of(0i64..10)).prop_map(|(r, n)| match n {
            Some(n) => format!("expect fires rule_{r} times {n}"),
            None => format!("expect fires rule_{r}"),
        }),
        1 => name().prop_map(|r| format!("expect quiet rule_{r}")),
        1 => string().prop_map(|s| format!("expect message {s}")),
    ]
}

fn test_def() -> impl Strategy<Value = String> {
    (
        docs(),
        string(),
        prop::collection::vec((clause_gap(), test_clause()), 0..5),
        clause_gap(),
    )
        .prop_map(|(docs, name, clauses, end)| {
            let body: String = clauses
                .into_iter()
                .map(|(g, c)| format!("{g}{c}"))
                .collect();
            format!("{docs}test {name} {{{body}{end}}}")
        })
}

/// A type: names, `[T]` and `set<T>`, each maybe optional (`?`, at most once).
fn type_expr() -> impl Strategy<Value = String> {
    let leaf = (
        select(vec!["int", "str", "bool", "Resource", "set"]),
        any::<bool>(),
    )
        .prop_map(|(t, opt)| if opt { format!("{t}?") } else { t.to_string() });
    leaf.prop_recursive(3, 8, 1, |inner| {
        (inner, any::<bool>(), any::<bool>()).prop_map(|(t, set, opt)| {
            let base = if set {
                format!("set<{t}>")
            } else {
                format!("[{t}]")
            };
            if opt { format!("{base}?") } else { base }
        })
    })
}

fn fn_def() -> impl Strategy<Value = String> {
    (
        docs(),
        name(),
        prop::collection::vec((name(), type_expr()), 0..3),
        expr(),
    )
        .prop_map(|(docs, name, params, body)| {
            let params: Vec<String> = params
                .into_iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect();
            format!("{docs}fn fn_{name}({}) = {body}", params.join(", "))
        })
}

fn param_def() -> impl Strategy<Value = String> {
    (docs(), name(), type_expr(), literal())
        .prop_map(|(docs, name, ty, lit)| format!("{docs}param p_{name}: {ty} = {lit}"))
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![3 => rule(), 1 => test_def(), 1 => fn_def(), 1 => param_def()]
}

/// A whole file: items separated by newlines and comments, sometimes with comments at the
/// top and bottom. Doc comments always start a line.
fn policy() -> impl Strategy<Value = String> {
    let sep = select(vec![
        "\n",
        "\n\n",
        "\n// between items\n",
        "\n\n// after a blank\n\n",
    ]);
    (
        select(vec!["", "// header\n\n", "// header\n"]),
        prop::collection::vec((item(), sep), 1..5),
        select(vec!["", "// the end\n", "\n\n// the end", "  "]),
    )
        .prop_map(|(head, items, tail)| {
            let body: String = items.into_iter().map(|(i, s)| format!("{i}{s}")).collect();
            format!("{head}{body}{tail}")
        })
}

// ---------------------------------------------------------------- properties

fn comment_texts(src: &str) -> Vec<String> {
    parse(src).comments.into_iter().map(|c| c.text).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn formatting_keeps_the_tree_and_is_idempotent(src in policy()) {
        let original = parse(&src);
        prop_assert!(original.errors.is_empty(), "generated source does not parse: {:?}\n{src}", original.errors);
        let formatted = match format_source(&src) {
            Ok(f) => f,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n--- source\n{src}\n--- debug\n{e:?}"))),
        };
        let again = parse(&formatted);
        prop_assert!(again.errors.is_empty());
        prop_assert_eq!(&again.file, &original.file, "tree changed\n--- source\n{}\n--- formatted\n{}", src, formatted);
        prop_assert_eq!(comment_texts(&formatted), comment_texts(&src));
        let twice = format_source(&formatted).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&twice, &formatted, "not idempotent\n--- source\n{}", src);
        prop_assert!(formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
        prop_assert!(!formatted.lines().any(|l| l.ends_with(' ')));
    }

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        let _ = parse(&src);
        check_no_unsound(&src)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let src = String::from_utf8_lossy(&bytes);
        let _ = parse(&src);
        check_no_unsound(&src)?;
    }

    #[test]
    fn edited_policies_never_panic(
        src in policy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, select(vec!["", "(", "}", "\"", "not ", "//", "\n", "-", "{", "r\""])), 1..4),
    ) {
        let mut src = src;
        for (at, cut, insert) in edits {
            let mut i = at.index(src.len() + 1);
            while !src.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + cut).min(src.len());
            while !src.is_char_boundary(j) {
                j += 1;
            }
            src.replace_range(i..j, insert);
        }
        let _ = parse(&src);
        check_no_unsound(&src)?;
    }
}

/// Whatever the input, formatting either succeeds soundly or reports a parse error.
fn check_no_unsound(src: &str) -> Result<(), TestCaseError> {
    match format_source(src) {
        Ok(out) => {
            prop_assert_eq!(&parse(&out).file, &parse(src).file);
            Ok(())
        }
        Err(FormatError::Parse(errors)) => {
            prop_assert!(!errors.is_empty());
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!("{e}\n--- source\n{src}"))),
    }
}
