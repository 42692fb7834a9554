//! Parser cases: `tests/cases/parse/NAME.bw` → `NAME.out`, the items with every expression
//! fully parenthesised (so precedence is visible), or the rendered diagnostics with their
//! underlines. `BLESS=1 cargo test --test parse` rewrites the `.out` files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_syntax::ast::*;
use blastwall_syntax::parse;

fn check(name: &str, src: &str) -> String {
    let p = parse(src);
    let mut out = String::new();
    for item in &p.file.items {
        out.push_str(&item_sexp(item));
        out.push('\n');
    }
    for e in &p.errors {
        out.push_str(&e.render(name, src));
    }
    out
}

#[test]
fn parse_cases() {
    let dir = common::cases_dir("parse");
    let mut failures = Vec::new();
    let files = common::files_with(&dir, "bw");
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let name = format!("{}", f.file_name().unwrap().to_string_lossy());
        let actual = check(&name, &src);
        if let Err(e) = common::expect_file(&f.with_extension("out"), &actual) {
            failures.push(e);
        }
    }
    common::report(failures, files.len());
}

fn item_sexp(item: &Item) -> String {
    match item {
        Item::Rule(r) => {
            let mut s = format!("rule {}", r.name.name);
            for d in &r.docs {
                s.push_str(&format!("\n  doc {d:?}"));
            }
            for c in &r.clauses {
                s.push_str("\n  ");
                s.push_str(&match &c.kind {
                    ClauseKind::Level(l) => format!("level {}", l.as_str()),
                    ClauseKind::Let(n, e) => format!("let {} {}", n.name, sexp(e)),
                    ClauseKind::When(e) => format!("when {}", sexp(e)),
                    ClauseKind::Deny(t) => {
                        format!("deny {}", t.as_ref().map(template).unwrap_or_default())
                    }
                    ClauseKind::Warn(t) => {
                        format!("warn {}", t.as_ref().map(template).unwrap_or_default())
                    }
                    ClauseKind::Review { from, count } => format!(
                        "review from={} count={}",
                        from.as_ref().map(sexp).unwrap_or_else(|| "-".into()),
                        count.as_ref().map(sexp).unwrap_or_else(|| "-".into())
                    ),
                    ClauseKind::Message(t) => format!("message {}", template(t)),
                    ClauseKind::About(e) => format!("about {}", sexp(e)),
                });
            }
            s
        }
        Item::Test(t) => {
            let mut s = format!("test {:?}", t.name.value);
            for c in &t.clauses {
                s.push_str("\n  ");
                s.push_str(&match &c.kind {
                    TestClauseKind::Given(d, l) => format!("given {} {}", d.name, lit(l)),
                    TestClauseKind::Expect(e) => match e {
                        Expectation::Outcome(o) => format!("expect outcome {o}"),
                        Expectation::Review { from, count } => {
                            format!("expect review from {:?} count {count:?}", from.value)
                        }
                        Expectation::Fires { rule, times } => {
                            format!("expect fires {} times {times:?}", rule.name)
                        }
                        Expectation::Quiet(rule) => format!("expect quiet {}", rule.name),
                        Expectation::Message(m) => format!("expect message {:?}", m.value),
                    },
                });
            }
            s
        }
        Item::Fn(f) => {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|(n, t)| format!("{}: {}", n.name, ty(t)))
                .collect();
            format!(
                "fn {}({}) = {}",
                f.name.name,
                params.join(", "),
                sexp(&f.body)
            )
        }
        Item::Param(p) => format!("param {}: {} = {}", p.name.name, ty(&p.ty), lit(&p.default)),
    }
}

fn ty(t: &TypeExpr) -> String {
    let base = match &t.kind {
        TypeKind::List(i) => format!("[{}]", ty(i)),
        TypeKind::Set(i) => format!("set<{}>", ty(i)),
        TypeKind::Named(n) => n.name.clone(),
    };
    if t.optional { format!("{base}?") } else { base }
}

fn lit(l: &Literal) -> String {
    match &l.kind {
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::Int(i) => i.to_string(),
        LiteralKind::Str(s) => format!("{:?}", s.value),
        LiteralKind::List(items) => {
            format!("[{}]", items.iter().map(lit).collect::<Vec<_>>().join(" "))
        }
        LiteralKind::Record(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{}: {}", k.name, lit(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn template(t: &Template) -> String {
    let parts: Vec<String> = t
        .parts
        .iter()
        .map(|p| match p {
            TemplatePart::Text(s) => format!("{s:?}"),
            TemplatePart::Hole(e) => format!("{{{}}}", sexp(e)),
        })
        .collect();
    format!("<{}>", parts.join(" "))
}

fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Str(s) => format!("{:?}", s.value),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::Field(b, f) => format!("{}.{}", sexp(b), f.name),
        ExprKind::List(items) => {
            format!("[{}]", items.iter().map(sexp).collect::<Vec<_>>().join(" "))
        }
        ExprKind::Comprehension {
            map,
            var,
            over,
            filter,
        } => format!(
            "[{} for {} in {}{}]",
            sexp(map),
            var.name,
            sexp(over),
            filter
                .as_ref()
                .map(|f| format!(" where {}", sexp(f)))
                .unwrap_or_default()
        ),
        ExprKind::Quant {
            kind,
            var,
            over,
            body,
        } => format!(
            "({} {} {} {})",
            if *kind == Quantifier::Some {
                "some"
            } else {
                "all"
            },
            var.name,
            sexp(over),
            sexp(body)
        ),
        ExprKind::Call { func, args } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}: {}", n.name, sexp(&a.value)),
                    None => sexp(&a.value),
                })
                .collect();
            format!("{}({})", func.name, a.join(", "))
        }
        ExprKind::Unary(op, x) => format!(
            "({} {})",
            if *op == UnOp::Not { "not" } else { "-" },
            sexp(x)
        ),
        ExprKind::Binary(op, l, r) => format!("({} {} {})", op.as_str(), sexp(l), sexp(r)),
        ExprKind::Paren(x) => format!("(paren {})", sexp(x)),
    }
}

/// Inputs too large or too odd to keep as files: each gives a diagnostic, never a panic,
/// a hang or a stack overflow.
#[test]
fn hostile_inputs_give_diagnostics() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a million nested parentheses",
            format!(
                "rule r {{ when {}x{} deny }}",
                "(".repeat(1_000_000),
                ")".repeat(1_000_000)
            ),
            "nesting is deeper than the limit of 64",
        ),
        (
            "a long chain of `not`",
            format!("rule r {{ when {} true deny }}", "not ".repeat(100_000)),
            "nesting is deeper than the limit of 64",
        ),
        (
            "a long chain of unary minus",
            format!("rule r {{ when {}1 > 0 deny }}", "- ".repeat(100_000)),
            "nesting is deeper than the limit of 64",
        ),
        (
            "a long chain of `+`",
            format!(
                "rule r {{ when change.x{} > 0 deny }}",
                " + 1".repeat(100_000)
            ),
            "expression is deeper than the limit of 128",
        ),
        (
            "nested quantifiers",
            format!(
                "rule r {{ when {}true deny }}",
                "some x in y: ".repeat(10_000)
            ),
            "nesting is deeper than the limit of 64",
        ),
        (
            "nested set types",
            format!(
                "fn f(a: {}int{}) = 1",
                "set<".repeat(100_000),
                ">".repeat(100_000)
            ),
            "nesting is deeper than the limit of 64",
        ),
        (
            "nested lists",
            format!(
                "param p: [int] = {}1{}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            "nesting is deeper than the limit of 64",
        ),
        (
            "over 8 MiB",
            " ".repeat(9 * 1024 * 1024),
            "over the limit of 8388608 bytes",
        ),
        (
            "NUL bytes",
            "rule r {\0}".to_string(),
            "contains a NUL byte",
        ),
        (
            "unknown characters",
            "rule r { when § deny }".to_string(),
            "expected an expression",
        ),
        (
            "a huge integer",
            "param p: int = 99999999999999999999999".to_string(),
            "does not fit in 64 bits",
        ),
        (
            "a truncated rule",
            "rule r { level hard when change.author ==".to_string(),
            "expected",
        ),
    ];
    for (what, src, want) in cases {
        let p = parse(&src);
        assert!(!p.errors.is_empty(), "{what}: expected an error");
        let all: String = p
            .errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains(want), "{what}: expected `{want}` in:\n{all}");
        for e in &p.errors {
            assert!(
                (e.span.end as usize) <= src.len(),
                "{what}: span beyond input"
            );
            // Rendering a diagnostic on a huge line must stay small.
            assert!(
                e.render("x.bw", &src).len() < 2_000,
                "{what}: rendering is too long"
            );
        }
    }
}

/// Long flat expressions are not deep: binary minus, many negations side by side, negative
/// list elements.
#[test]
fn flat_expressions_are_not_nesting() {
    let minus = (0..100)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join(" - ");
    let nots = (0..100)
        .map(|i| format!("not y{i}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let negs = (1..=100)
        .map(|i| format!("-{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    for src in [
        format!("fn f() = {minus}"),
        format!("fn g() = {nots}"),
        format!("param p: [int] = [{negs}]"),
        "fn h() = -9223372036854775808".to_string(),
    ] {
        let p = parse(&src);
        assert!(p.errors.is_empty(), "{src}: {:?}", p.errors.first());
    }
    let p = parse("fn h() = 9223372036854775808");
    assert!(
        p.errors[0].message.contains("does not fit in 64 bits"),
        "{:?}",
        p.errors
    );
}

/// A 1 MB policy on a single line parses (this is a size the limits allow).
#[test]
fn one_megabyte_single_line_parses() {
    let rule = "rule r_N { level hard when some f in change.files: f.path matches \"src/**\" and f.added > 10 deny \"x {f.path}\" } ";
    let mut src = String::new();
    let mut i = 0;
    while src.len() < 1_000_000 {
        src.push_str(&rule.replace("_N", &format!("_{i}")));
        i += 1;
    }
    let p = parse(&src);
    assert!(p.errors.is_empty(), "{:?}", p.errors.first());
    assert_eq!(p.file.items.len(), i);
}

/// A large file is parsed in two halves at once: the result must be exactly what each item
/// parses to on its own, in order, with spans pointing into the whole file; and an error
/// anywhere still gives every diagnostic and every other item.
#[test]
fn large_files_parse_the_same_in_halves() {
    let kinds = [
        "/// A rule.\nrule r_N {\n    when some f in change.files: f.path matches \"s/N/**\" and f.added > N\n    deny \"{f.path} N\"\n}\n",
        "fn f_N(x: int) = x + N * 2\n",
        "param p_N: [str] = [\"a\", \"N\"]\n",
        "test \"t N\" {\n    given change { title: \"N\" }\n    expect allow\n}\n",
        "// a comment between items\n",
    ];
    let mut pieces = Vec::new();
    let mut src = String::new();
    let mut i = 0;
    while src.len() < 600_000 {
        let piece = kinds[i % kinds.len()].replace('N', &i.to_string());
        src.push_str(&piece);
        src.push('\n');
        pieces.push(piece);
        i += 1;
    }
    let whole = parse(&src);
    assert!(whole.errors.is_empty(), "{:?}", whole.errors.first());
    let expected: Vec<Item> = pieces.iter().flat_map(|p| parse(p).file.items).collect();
    assert_eq!(whole.file.items.len(), expected.len());
    assert!(
        whole.file.items == expected,
        "the halves parse differently from the items alone"
    );
    // Spans are offsets into the whole file: the last item's span covers its own text.
    let last = whole.file.items.last().unwrap();
    let last_piece = pieces.iter().rev().find(|p| !p.starts_with("//")).unwrap();
    let span = last.span();
    assert!(span.start as usize > src.len() / 2);
    assert_eq!(
        &src[span.start as usize..span.end as usize],
        last_piece.trim_end()
    );

    // One mistake: every other item still parses, and the error is reported.
    let broken = src.replacen("fn f_", "fn 1f_", 1);
    let p = parse(&broken);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.file.items.len(), expected.len() - 1);
}
