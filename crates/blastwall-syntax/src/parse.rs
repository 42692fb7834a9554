//! Source → AST. pest stays inside this module; one `lower_<rule>` function per grammar rule.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::scan::{Comment, scan};
use crate::span::Span;

#[derive(pest_derive::Parser)]
#[grammar = "blastwall.pest"]
struct Grammar;

/// The deepest expression tree accepted (a long `a + b + c + …` chain counts its length).
pub const MAX_EXPR_DEPTH: usize = 128;

/// The result of parsing: never fails; errors sit beside whatever could be recovered.
#[derive(Debug, Clone, Default)]
pub struct Parse {
    /// Every item that parsed.
    pub file: File,
    /// Every error found, in source order.
    pub errors: Vec<Diagnostic>,
    /// `//` comments, for the formatter.
    pub comments: Vec<Comment>,
}

impl Parse {
    /// Whether the source parsed without error.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Parse a policy file.
pub fn parse(src: &str) -> Parse {
    let scanned = match scan(src) {
        Ok(s) => s,
        Err(e) => {
            return Parse {
                errors: vec![e],
                ..Parse::default()
            };
        }
    };
    let mut out = Parse {
        comments: scanned.comments,
        ..Parse::default()
    };
    // A large file is parsed in two halves at once, split at an item boundary; any error sends
    // it down the one-piece path below, which recovers item by item and reports every error.
    if src.len() >= PARALLEL_BYTES
        && let Some(items) = parse_halves(src, &scanned.item_starts, &out.comments)
    {
        out.file.items = items;
        return out;
    }
    match Grammar::parse(Rule::file, src) {
        Ok(mut pairs) => {
            if let Some(file) = pairs.next() {
                for pair in file.into_inner() {
                    if pair.as_rule() == Rule::EOI {
                        continue;
                    }
                    match lower_item(pair, 0, &out.comments) {
                        Ok(item) => out.file.items.push(item),
                        Err(e) => out.errors.push(e),
                    }
                }
            }
        }
        Err(_) => {
            // Recover: parse each top-level item on its own so one mistake does not hide
            // the next.
            let mut starts = merge_doc_runs(src, &scanned.item_starts);
            if starts.first() != Some(&0) {
                starts.insert(0, 0);
            }
            starts.push(src.len());
            for w in starts.windows(2) {
                let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
                    continue;
                };
                let chunk = src.get(a..b).unwrap_or("");
                if is_blank(chunk) {
                    continue;
                }
                match Grammar::parse(Rule::item_only, chunk) {
                    Ok(mut pairs) => {
                        let item = pairs
                            .next()
                            .and_then(|p| p.into_inner().find(|p| p.as_rule() != Rule::EOI));
                        if let Some(pair) = item {
                            match lower_item(pair, a, &out.comments) {
                                Ok(item) => out.file.items.push(item),
                                Err(e) => out.errors.push(e),
                            }
                        }
                    }
                    Err(e) => out.errors.push(syntax_error(&e, chunk, a)),
                }
            }
        }
    }
    if out.file.items.is_empty() && out.errors.is_empty() {
        out.errors.push(
            Diagnostic::error("empty", "the policy file has no rules", Span::new(0, 0))
                .with_label("nothing here")
                .with_help("a policy file holds `rule`, `test`, `fn` or `param` items"),
        );
    }
    out
}

/// Files at least this large are parsed in two halves on two threads.
const PARALLEL_BYTES: usize = 256 * 1024;

/// The items of `src` parsed as two halves in parallel, or `None` if either half has an error
/// (the caller then parses the whole file the careful way) or no split point exists.
///
/// A split point is an item start (`rule`, `test`, `fn`, `param` or `///` in column 0, found by
/// the scan outside strings and comments). Strings end on their line, and the item keywords
/// are reserved, so such a line always begins an item; were it not so, a half would fail to
/// parse and the careful path would run.
fn parse_halves(src: &str, item_starts: &[usize], comments: &[Comment]) -> Option<Vec<Item>> {
    let starts = merge_doc_runs(src, item_starts);
    let mid = starts
        .iter()
        .copied()
        .filter(|&s| s > 0)
        .min_by_key(|&s| s.abs_diff(src.len() / 2))?;
    let (first, second) = (src.get(..mid)?, src.get(mid..)?);
    let half = |text: &str, offset: usize| -> Option<Vec<Item>> {
        let mut pairs = Grammar::parse(Rule::file, text).ok()?;
        let file = pairs.next()?;
        file.into_inner()
            .filter(|p| p.as_rule() != Rule::EOI)
            .map(|p| lower_item(p, offset, comments).ok())
            .collect()
    };
    std::thread::scope(|scope| {
        // The second half runs on a thread with room for the deepest nesting the limits allow.
        let other = std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn_scoped(scope, || half(second, mid))
            .ok()?;
        let mut items = half(first, 0)?;
        items.extend(other.join().ok()??);
        Some(items)
    })
}

/// Parse one expression, e.g. a template hole; `offset` is where `src` starts in its file.
pub fn parse_expr(src: &str, offset: usize) -> Result<Expr, Diagnostic> {
    if let Some(e) = simple_path(src, offset) {
        return Ok(e);
    }
    scan(src).map_err(|e| shift(e, offset))?;
    let mut pairs =
        Grammar::parse(Rule::expr_only, src).map_err(|e| syntax_error(&e, src, offset))?;
    let expr = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| {
            Diagnostic::error(
                "syntax",
                "expected an expression",
                Span::new(offset, offset),
            )
        })?;
    let ctx = Ctx::new(offset, &[]);
    let e = ctx.lower_expr(expr).map(|(e, _)| e)?;
    ctx.finish()?;
    Ok(e)
}

/// Most template holes are a plain path such as `f.path`: build it without the grammar.
/// Anything else (or a path starting with a keyword) goes through the full parser.
fn simple_path(src: &str, offset: usize) -> Option<Expr> {
    const KEYWORDS: [&str; 27] = [
        "rule", "test", "fn", "param", "let", "when", "level", "deny", "warn", "require", "review",
        "from", "message", "about", "given", "expect", "some", "all", "in", "not", "and", "or",
        "matches", "true", "false", "for", "where",
    ];
    let is_name = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut parts = src.split('.');
    let first = parts.next()?;
    if !is_name(first) || KEYWORDS.contains(&first) {
        return None;
    }
    let mut expr = Expr {
        kind: ExprKind::Name(Ident {
            name: first.to_string(),
            span: Span::new(offset, offset + first.len()),
        }),
        span: Span::new(offset, offset + first.len()),
    };
    let mut end = offset + first.len();
    for part in parts {
        if !is_name(part) {
            return None;
        }
        let start = end + 1;
        end = start + part.len();
        let field = Ident {
            name: part.to_string(),
            span: Span::new(start, end),
        };
        expr = Expr {
            span: Span::new(offset, end),
            kind: ExprKind::Field(Box::new(expr), field),
        };
    }
    Some(expr)
}

fn shift(mut d: Diagnostic, offset: usize) -> Diagnostic {
    d.span = d.span.shifted(offset);
    d
}

fn is_blank(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        l.trim().is_empty()
            || (l.trim_start().starts_with("//") && !l.trim_start().starts_with("///"))
    })
}

/// A doc-comment run and the item keyword after it are one item: drop the keyword's start
/// when only doc comments stand between it and the previous start.
fn merge_doc_runs(src: &str, starts: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for &s in starts {
        if let Some(&prev) = out.last() {
            let between = src.get(prev..s).unwrap_or("");
            let prev_is_doc = src.get(prev..).is_some_and(|t| t.starts_with("///"));
            if prev_is_doc
                && between
                    .lines()
                    .all(|l| l.trim().is_empty() || l.trim_start().starts_with("///"))
            {
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// Turn a pest error into a diagnostic that says what was expected in words.
fn syntax_error(err: &pest::error::Error<Rule>, src: &str, offset: usize) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = found_token(src, pos);
    // The underline covers the token's own bytes (a word, or one character), never the
    // length of its printed name, so it always ends on a character boundary.
    let token_len = src.get(pos..).map_or(0, |rest| {
        let word = rest
            .char_indices()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .take(40)
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        if word > 0 {
            word
        } else {
            rest.chars().next().map_or(0, char::len_utf8)
        }
    });
    let end = pos + token_len.max(1);
    let span = Span::new(offset + pos, offset + end.min(src.len()).max(pos));
    let message = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&'static str> = Vec::new();
            for r in positives {
                for word in describe(*r) {
                    if !expected.contains(word) {
                        expected.push(word);
                    }
                }
            }
            if expected.is_empty() {
                "unexpected input".to_string()
            } else {
                format!("expected {}", join_or(&expected))
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    // An unterminated string reads to the grammar as a stray quote; say what it is.
    let rest_of_line = src.get(pos..).and_then(|r| r.lines().next()).unwrap_or("");
    if rest_of_line.starts_with('"') && !rest_of_line.get(1..).unwrap_or("").contains('"') {
        return Diagnostic::error("syntax", "unterminated string", span)
            .with_label("this string has no closing quote")
            .with_help("a string ends with `\"` on the same line");
    }
    let label = match &found {
        Some(tok) => format!("found `{tok}`"),
        None => "found the end of the file".to_string(),
    };
    Diagnostic::error("syntax", message, span).with_label(label)
}

fn found_token(src: &str, pos: usize) -> Option<String> {
    let rest = src.get(pos..)?;
    let first = rest.chars().next()?;
    if first.is_alphanumeric() || first == '_' {
        Some(
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .take(40)
                .collect(),
        )
    } else if first.is_control() && first != '\n' && first != '\t' {
        Some(format!("\\u{{{:04x}}}", first as u32))
    } else if first == '\n' {
        Some("end of line".to_string())
    } else {
        Some(first.to_string())
    }
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// What a grammar rule looks like to a user, in words.
fn describe(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::EOI => &["the end of the file"],
        Rule::item | Rule::rule_def | Rule::test_def | Rule::fn_def | Rule::param_def => {
            &["`rule`", "`test`", "`fn`", "`param`"]
        }
        Rule::doc => &["a `///` doc comment"],
        Rule::level_clause => &["`level`"],
        Rule::level_name => &["`advisory`", "`soft`", "`hard`"],
        Rule::let_clause | Rule::kw_let => &["`let`"],
        Rule::when_clause | Rule::kw_when => &["`when`"],
        Rule::deny_effect | Rule::kw_deny => &["`deny`"],
        Rule::warn_effect | Rule::kw_warn => &["`warn`"],
        Rule::review_effect | Rule::kw_require => &["`require review`"],
        Rule::review_from | Rule::kw_from => &["`from`"],
        Rule::review_count | Rule::kw_count => &["`count`"],
        Rule::message_clause | Rule::kw_message => &["`message`"],
        Rule::about_clause | Rule::kw_about => &["`about`"],
        Rule::given_clause | Rule::kw_given => &["`given`"],
        Rule::expect_clause | Rule::kw_expect => &["`expect`"],
        Rule::doc_name => {
            &["a document name (`change`, `plan`, `action`, `topology`, `config`, `overrides`)"]
        }
        Rule::expect_review => &["`review from`"],
        Rule::expect_fires | Rule::kw_fires => &["`fires`"],
        Rule::expect_quiet | Rule::kw_quiet => &["`quiet`"],
        Rule::expect_message => &["`message`"],
        Rule::expect_outcome => &["an outcome (`allow`, `warn`, `review`, `deny`)"],
        Rule::kw_times => &["`times`"],
        Rule::literal | Rule::record_lit | Rule::list_lit | Rule::lit_field | Rule::neg_int => {
            &["a literal value"]
        }
        Rule::fn_param => &["a parameter (`name: type`)"],
        Rule::type_expr | Rule::list_type | Rule::set_type | Rule::named_type => &["a type"],
        Rule::optional_mark => &["`?`"],
        Rule::expr
        | Rule::expr_only
        | Rule::postfix_expr
        | Rule::quantifier
        | Rule::paren
        | Rule::comprehension
        | Rule::list_expr
        | Rule::call
        | Rule::call_args
        | Rule::arg
        | Rule::named_arg => &["an expression"],
        Rule::prefix | Rule::op_not | Rule::op_neg => &["an expression"],
        Rule::infix
        | Rule::op_or
        | Rule::op_and
        | Rule::op_not_in
        | Rule::op_in
        | Rule::op_matches
        | Rule::op_regex
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_coalesce
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_rem => &["an operator"],
        Rule::field_access => &["`.`"],
        Rule::bool_lit => &["`true` or `false`"],
        Rule::int => &["an integer"],
        Rule::string
        | Rule::plain_string
        | Rule::raw_string
        | Rule::string_body
        | Rule::raw_body => &["a string"],
        Rule::ident | Rule::name | Rule::keyword => &["a name"],
        Rule::kw_rule => &["`rule`"],
        Rule::kw_test => &["`test`"],
        Rule::kw_fn => &["`fn`"],
        Rule::kw_param => &["`param`"],
        Rule::kw_level => &["`level`"],
        Rule::kw_review => &["`review`"],
        Rule::kw_some => &["`some`"],
        Rule::kw_all => &["`all`"],
        Rule::kw_in => &["`in`"],
        Rule::kw_for => &["`for`"],
        Rule::kw_where => &["`where`"],
        Rule::kw_set => &["`set`"],
        Rule::file | Rule::item_only => &["`rule`", "`test`", "`fn`", "`param`"],
        Rule::rule_clause => &[
            "a clause (`level`, `let`, `when`, `deny`, `warn`, `require review`, `message`, `about`)",
        ],
        Rule::test_clause => &["`given`", "`expect`"],
        Rule::primary => &["an expression"],
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => &[],
    }
}

fn span_of(pair: &Pair<'_, Rule>, offset: usize) -> Span {
    // pest can leave the whitespace after a repetition inside a pair; spans never cover it.
    let s = pair.as_span();
    let len = pair.as_str().trim_end().len();
    Span::new(offset + s.start(), offset + s.start() + len)
}

fn err(pair: &Pair<'_, Rule>, offset: usize, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error("syntax", msg, span_of(pair, offset))
}

fn lower_item(
    pair: Pair<'_, Rule>,
    offset: usize,
    comments: &[Comment],
) -> Result<Item, Diagnostic> {
    let ctx = Ctx::new(offset, comments);
    let item = match pair.as_rule() {
        Rule::rule_def => ctx.lower_rule_def(pair).map(Item::Rule),
        Rule::test_def => ctx.lower_test_def(pair).map(Item::Test),
        Rule::fn_def => ctx.lower_fn_def(pair).map(Item::Fn),
        Rule::param_def => ctx.lower_param_def(pair).map(Item::Param),
        _ => Err(err(
            &pair,
            offset,
            "expected `rule`, `test`, `fn` or `param`",
        )),
    }?;
    ctx.finish()?;
    Ok(item)
}

type Result<T, E = Diagnostic> = std::result::Result<T, E>;

/// Lowering context: where the text being lowered starts in its file, the file's comments
/// (so spans stop where the code stops), and `9223372036854775808` literals still waiting
/// for the `-` that makes them representable.
struct Ctx<'c> {
    offset: usize,
    comments: &'c [Comment],
    pending_min: std::cell::RefCell<Vec<Span>>,
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left)
            | Op::infix(Rule::op_matches, Assoc::Left)
            | Op::infix(Rule::op_regex, Assoc::Left))
        .op(Op::infix(Rule::op_coalesce, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left)
            | Op::infix(Rule::op_div, Assoc::Left)
            | Op::infix(Rule::op_rem, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// An expression and the depth of its tree.
type Node = (Expr, usize);

impl<'c> Ctx<'c> {
    fn new(offset: usize, comments: &'c [Comment]) -> Ctx<'c> {
        Ctx {
            offset,
            comments,
            pending_min: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// A `9223372036854775808` that no `-` took is out of range.
    fn finish(&self) -> Result<()> {
        match self.pending_min.borrow().first() {
            Some(&span) => Err(Diagnostic::error(
                "syntax",
                "integer `9223372036854775808` does not fit in 64 bits",
                span,
            )
            .with_help("integers range from -9223372036854775808 to 9223372036854775807")),
            None => Ok(()),
        }
    }

    /// The span of a pair, ending where its code ends: pest leaves trailing whitespace and
    /// comments inside pairs that end in a repetition.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let start = self.offset + s.start();
        let text = pair.as_str();
        let mut end = start + text.trim_end().len();
        loop {
            // The comment that contains the last byte, if any and if it starts inside.
            let i = self
                .comments
                .partition_point(|c| (c.span.end as usize) < end);
            match self.comments.get(i) {
                Some(c) if (c.span.start as usize) < end && (c.span.start as usize) >= start => {
                    let cut = c.span.start as usize - start;
                    end = start + text.get(..cut).unwrap_or("").trim_end().len();
                }
                _ => break,
            }
        }
        Span::new(start, end)
    }

    fn lower_docs<'i>(
        &self,
        inner: &mut std::iter::Peekable<pest::iterators::Pairs<'i, Rule>>,
    ) -> Vec<String> {
        let mut docs = Vec::new();
        while let Some(p) = inner.peek() {
            if p.as_rule() != Rule::doc {
                break;
            }
            let text = p.as_str();
            let body = text.strip_prefix("///").unwrap_or(text);
            docs.push(
                body.strip_prefix(' ')
                    .unwrap_or(body)
                    .trim_end()
                    .to_string(),
            );
            inner.next();
        }
        docs
    }

    fn next<'i>(
        &self,
        inner: &mut impl Iterator<Item = Pair<'i, Rule>>,
        whole: Span,
    ) -> Result<Pair<'i, Rule>> {
        inner
            .next()
            .ok_or_else(|| Diagnostic::error("syntax", "incomplete syntax", whole))
    }

    fn lower_ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn lower_rule_def(&self, pair: Pair<'_, Rule>) -> Result<RuleDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = self.lower_docs(&mut inner);
        let _kw = self.next(&mut inner, span)?;
        let name = self.lower_ident(self.next(&mut inner, span)?);
        let mut clauses = Vec::new();
        for p in inner {
            clauses.push(self.lower_rule_clause(p)?);
        }
        Ok(RuleDef {
            docs,
            name,
            clauses,
            span,
        })
    }

    fn lower_rule_clause(&self, pair: Pair<'_, Rule>) -> Result<Clause> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let _kw = self.next(&mut inner, span)?;
        let kind = match rule {
            Rule::level_clause => {
                let l = self.next(&mut inner, span)?;
                ClauseKind::Level(match l.as_str() {
                    "advisory" => LevelName::Advisory,
                    "soft" => LevelName::Soft,
                    _ => LevelName::Hard,
                })
            }
            Rule::let_clause => {
                let name = self.lower_ident(self.next(&mut inner, span)?);
                let value = self.lower_expr(self.next(&mut inner, span)?)?.0;
                ClauseKind::Let(name, value)
            }
            Rule::when_clause => ClauseKind::When(self.lower_expr(self.next(&mut inner, span)?)?.0),
            Rule::deny_effect => {
                ClauseKind::Deny(inner.next().map(|p| self.lower_template(p)).transpose()?)
            }
            Rule::warn_effect => {
                ClauseKind::Warn(inner.next().map(|p| self.lower_template(p)).transpose()?)
            }
            Rule::review_effect => {
                let _review = self.next(&mut inner, span)?;
                let mut from = None;
                let mut count = None;
                for p in inner {
                    let which = p.as_rule();
                    let pspan = self.span(&p);
                    let mut pi = p.into_inner();
                    let _kw = self.next(&mut pi, pspan)?;
                    let e = self.lower_expr(self.next(&mut pi, pspan)?)?.0;
                    if which == Rule::review_from {
                        from = Some(e);
                    } else {
                        count = Some(e);
                    }
                }
                ClauseKind::Review { from, count }
            }
            Rule::message_clause => {
                ClauseKind::Message(self.lower_template(self.next(&mut inner, span)?)?)
            }
            Rule::about_clause => {
                ClauseKind::About(self.lower_expr(self.next(&mut inner, span)?)?.0)
            }
            _ => return Err(Diagnostic::error("syntax", "unexpected clause", span)),
        };
        Ok(Clause { kind, span })
    }

    fn lower_test_def(&self, pair: Pair<'_, Rule>) -> Result<TestDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = self.lower_docs(&mut inner);
        let _kw = self.next(&mut inner, span)?;
        let name = self.lower_string(self.next(&mut inner, span)?)?;
        let mut clauses = Vec::new();
        for p in inner {
            clauses.push(self.lower_test_clause(p)?);
        }
        Ok(TestDef {
            docs,
            name,
            clauses,
            span,
        })
    }

    fn lower_test_clause(&self, pair: Pair<'_, Rule>) -> Result<TestClause> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let _kw = self.next(&mut inner, span)?;
        let kind = if rule == Rule::given_clause {
            let doc = self.lower_ident(self.next(&mut inner, span)?);
            let value = self.lower_literal(self.next(&mut inner, span)?)?;
            TestClauseKind::Given(doc, value)
        } else {
            let e = self.next(&mut inner, span)?;
            TestClauseKind::Expect(self.lower_expectation(e)?)
        };
        Ok(TestClause { kind, span })
    }

    fn lower_expectation(&self, pair: Pair<'_, Rule>) -> Result<Expectation> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let text = pair.as_str().to_string();
        let mut inner = pair.into_inner();
        Ok(match rule {
            Rule::expect_outcome => Expectation::Outcome(text),
            Rule::expect_review => {
                let _review = self.next(&mut inner, span)?;
                let _from = self.next(&mut inner, span)?;
                let from = self.lower_string(self.next(&mut inner, span)?)?;
                let count = match (inner.next(), inner.next()) {
                    (Some(_), Some(n)) => Some(self.lower_int(&n)?),
                    _ => None,
                };
                Expectation::Review { from, count }
            }
            Rule::expect_fires => {
                let _kw = self.next(&mut inner, span)?;
                let rule = self.lower_ident(self.next(&mut inner, span)?);
                let times = match (inner.next(), inner.next()) {
                    (Some(_), Some(n)) => Some(self.lower_int(&n)?),
                    _ => None,
                };
                Expectation::Fires { rule, times }
            }
            Rule::expect_quiet => {
                let _kw = self.next(&mut inner, span)?;
                Expectation::Quiet(self.lower_ident(self.next(&mut inner, span)?))
            }
            _ => {
                let _kw = self.next(&mut inner, span)?;
                Expectation::Message(self.lower_string(self.next(&mut inner, span)?)?)
            }
        })
    }

    fn lower_literal(&self, pair: Pair<'_, Rule>) -> Result<Literal> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::record_lit => {
                let mut fields = Vec::new();
                for f in pair.into_inner() {
                    let fspan = self.span(&f);
                    let mut fi = f.into_inner();
                    let key = self.next(&mut fi, fspan)?;
                    let key = if key.as_rule() == Rule::string {
                        let s = self.lower_string(key)?;
                        Ident {
                            name: s.value,
                            span: s.span,
                        }
                    } else {
                        self.lower_ident(key)
                    };
                    let value = self.lower_literal(self.next(&mut fi, fspan)?)?;
                    fields.push((key, value));
                }
                LiteralKind::Record(fields)
            }
            Rule::list_lit => LiteralKind::List(
                pair.into_inner()
                    .map(|p| self.lower_literal(p))
                    .collect::<Result<_>>()?,
            ),
            Rule::string => LiteralKind::Str(self.lower_string(pair)?),
            Rule::int | Rule::neg_int => LiteralKind::Int(self.lower_int(&pair)?),
            Rule::bool_lit => LiteralKind::Bool(pair.as_str() == "true"),
            _ => return Err(err(&pair, self.offset, "expected a literal value")),
        };
        Ok(Literal { kind, span })
    }

    fn lower_int(&self, pair: &Pair<'_, Rule>) -> Result<i64> {
        let digits: String = pair.as_str().chars().filter(|c| *c != '_').collect();
        if digits == "9223372036854775808" && pair.as_rule() == Rule::int {
            self.pending_min.borrow_mut().push(self.span(pair));
            return Ok(i64::MIN);
        }
        digits.parse::<i64>().map_err(|_| {
            err(
                pair,
                self.offset,
                format!("integer `{}` does not fit in 64 bits", pair.as_str()),
            )
            .with_help("integers range from -9223372036854775808 to 9223372036854775807")
        })
    }

    fn lower_string(&self, pair: Pair<'_, Rule>) -> Result<StrLit> {
        let span = self.span(&pair);
        let inner = pair
            .into_inner()
            .next()
            .ok_or_else(|| Diagnostic::error("syntax", "expected a string", span))?;
        let raw = inner.as_rule() == Rule::raw_string;
        let body = inner
            .into_inner()
            .next()
            .ok_or_else(|| Diagnostic::error("syntax", "expected a string", span))?;
        let value = if raw {
            body.as_str().to_string()
        } else {
            self.unescape(&body)?
        };
        Ok(StrLit { value, raw, span })
    }

    fn unescape(&self, body: &Pair<'_, Rule>) -> Result<String> {
        let text = body.as_str();
        let base = self.offset + body.as_span().start();
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((j, other)) => {
                    return Err(Diagnostic::error(
                        "syntax",
                        format!("unknown escape `\\{other}` in string"),
                        Span::new(base + i, base + j + other.len_utf8()),
                    )
                    .with_help("escapes are `\\n`, `\\t`, `\\r`, `\\\\` and `\\\"`; for patterns, a raw string `r\"…\"` needs none"));
                }
                None => out.push('\\'),
            }
        }
        Ok(out)
    }

    /// A message template: `{expr}` holes, `{{` and `}}` for literal braces.
    fn lower_template(&self, pair: Pair<'_, Rule>) -> Result<Template> {
        let lit = self.lower_string(pair.clone())?;
        // Holes are found in the source text so their spans point into the file.
        let body_pair = pair
            .into_inner()
            .next()
            .and_then(|p| p.into_inner().next())
            .ok_or_else(|| Diagnostic::error("syntax", "expected a string", lit.span))?;
        let body_start = self.offset + body_pair.as_span().start();
        let src = body_pair.as_str();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let bytes = src.as_bytes();
        while i < src.len() {
            let rest = src.get(i..).unwrap_or("");
            if rest.starts_with("{{") {
                text.push('{');
                i += 2;
            } else if rest.starts_with("}}") {
                text.push('}');
                i += 2;
            } else if rest.starts_with('{') {
                let close = rest.find('}').ok_or_else(|| {
                    Diagnostic::error(
                        "syntax",
                        "unclosed `{` in message",
                        Span::new(body_start + i, body_start + i + 1),
                    )
                    .with_help("write `{{` for a literal brace")
                })?;
                let hole = rest.get(1..close).unwrap_or("");
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(
                        self.unescape_text(&std::mem::take(&mut text), lit.raw),
                    ));
                }
                // Inside a plain string a hole writes its own strings as `\"…\"`.
                let expr = if lit.raw || !hole.contains('\\') {
                    parse_expr(hole, body_start + i + 1)?
                } else {
                    parse_expr(
                        &hole.replace("\\\"", "\"").replace("\\\\", "\\"),
                        body_start + i + 1,
                    )?
                };
                parts.push(TemplatePart::Hole(expr));
                i += close + 1;
            } else if rest.starts_with('}') {
                return Err(Diagnostic::error(
                    "syntax",
                    "unmatched `}` in message",
                    Span::new(body_start + i, body_start + i + 1),
                )
                .with_help("write `}}` for a literal brace"));
            } else {
                let ch = rest.chars().next().unwrap_or(' ');
                if ch == '\\' && !lit.raw {
                    // Keep the escape and the escaped char together for unescaping below.
                    text.push('\\');
                    i += 1;
                    if let Some(next) = src.get(i..).and_then(|r| r.chars().next()) {
                        text.push(next);
                        i += next.len_utf8();
                    }
                    continue;
                }
                text.push(ch);
                i += ch.len_utf8();
            }
            let _ = bytes;
        }
        if !text.is_empty() {
            parts.push(TemplatePart::Text(self.unescape_text(&text, lit.raw)));
        }
        Ok(Template { lit, parts })
    }

    fn unescape_text(&self, text: &str, raw: bool) -> String {
        if raw {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        out
    }

    fn lower_fn_def(&self, pair: Pair<'_, Rule>) -> Result<FnDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = self.lower_docs(&mut inner);
        let _kw = self.next(&mut inner, span)?;
        let name = self.lower_ident(self.next(&mut inner, span)?);
        let mut params = Vec::new();
        let mut body = None;
        for p in inner {
            if p.as_rule() == Rule::fn_param {
                let pspan = self.span(&p);
                let mut pi = p.into_inner();
                let pname = self.lower_ident(self.next(&mut pi, pspan)?);
                let ty = self.lower_type(self.next(&mut pi, pspan)?)?;
                params.push((pname, ty));
            } else {
                body = Some(self.lower_expr(p)?.0);
            }
        }
        let body =
            body.ok_or_else(|| Diagnostic::error("syntax", "expected a function body", span))?;
        Ok(FnDef {
            docs,
            name,
            params,
            body,
            span,
        })
    }

    fn lower_type(&self, pair: Pair<'_, Rule>) -> Result<TypeExpr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let base = self.next(&mut inner, span)?;
        let optional = inner.next().is_some();
        let bspan = self.span(&base);
        let kind = match base.as_rule() {
            Rule::list_type => {
                let mut bi = base.into_inner();
                TypeKind::List(Box::new(self.lower_type(self.next(&mut bi, bspan)?)?))
            }
            Rule::set_type => {
                let mut bi = base.into_inner();
                let _kw = self.next(&mut bi, bspan)?;
                TypeKind::Set(Box::new(self.lower_type(self.next(&mut bi, bspan)?)?))
            }
            _ => {
                let mut bi = base.into_inner();
                TypeKind::Named(self.lower_ident(self.next(&mut bi, bspan)?))
            }
        };
        Ok(TypeExpr {
            kind,
            optional,
            span,
        })
    }

    fn lower_param_def(&self, pair: Pair<'_, Rule>) -> Result<ParamDef> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let docs = self.lower_docs(&mut inner);
        let _kw = self.next(&mut inner, span)?;
        let name = self.lower_ident(self.next(&mut inner, span)?);
        let ty = self.lower_type(self.next(&mut inner, span)?)?;
        let default = self.lower_literal(self.next(&mut inner, span)?)?;
        Ok(ParamDef {
            docs,
            name,
            ty,
            default,
            span,
        })
    }

    fn lower_expr(&self, pair: Pair<'_, Rule>) -> Result<Node> {
        PRATT
            .map_primary(|p| self.lower_postfix_expr(p))
            .map_prefix(|op, rhs| {
                let (rhs, depth) = rhs?;
                let op_span = self.span(&op);
                let un = if op.as_rule() == Rule::op_not {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                // `-9223372036854775808`: the literal waited for this minus.
                if let (UnOp::Neg, ExprKind::Int(i64::MIN)) = (un, &rhs.kind) {
                    let mut pending = self.pending_min.borrow_mut();
                    if let Some(i) = pending.iter().position(|s| s.same_range(rhs.span)) {
                        pending.remove(i);
                        return Ok((
                            Expr {
                                kind: ExprKind::Int(i64::MIN),
                                span: op_span.to(rhs.span),
                            },
                            depth,
                        ));
                    }
                }
                // Fold `-` on an integer literal, so a negative literal is one node.
                if let (UnOp::Neg, ExprKind::Int(v)) = (un, &rhs.kind)
                    && let Some(n) = v.checked_neg()
                {
                    return Ok((
                        Expr {
                            kind: ExprKind::Int(n),
                            span: op_span.to(rhs.span),
                        },
                        depth,
                    ));
                }
                self.deeper(
                    Expr {
                        span: op_span.to(rhs.span),
                        kind: ExprKind::Unary(un, Box::new(rhs)),
                    },
                    depth,
                )
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, ld) = lhs?;
                let (rhs, rd) = rhs?;
                let bin = match op.as_rule() {
                    Rule::op_or => BinOp::Or,
                    Rule::op_and => BinOp::And,
                    Rule::op_eq => BinOp::Eq,
                    Rule::op_ne => BinOp::Ne,
                    Rule::op_lt => BinOp::Lt,
                    Rule::op_le => BinOp::Le,
                    Rule::op_gt => BinOp::Gt,
                    Rule::op_ge => BinOp::Ge,
                    Rule::op_in => BinOp::In,
                    Rule::op_not_in => BinOp::NotIn,
                    Rule::op_matches => BinOp::Matches,
                    Rule::op_regex => BinOp::Regex,
                    Rule::op_coalesce => BinOp::Coalesce,
                    Rule::op_add => BinOp::Add,
                    Rule::op_sub => BinOp::Sub,
                    Rule::op_mul => BinOp::Mul,
                    Rule::op_div => BinOp::Div,
                    _ => BinOp::Rem,
                };
                self.deeper(
                    Expr {
                        span: lhs.span.to(rhs.span),
                        kind: ExprKind::Binary(bin, Box::new(lhs), Box::new(rhs)),
                    },
                    ld.max(rd),
                )
            })
            .parse(pair.into_inner())
    }

    fn deeper(&self, expr: Expr, child_depth: usize) -> Result<Node> {
        let depth = child_depth + 1;
        if depth > MAX_EXPR_DEPTH {
            return Err(Diagnostic::error(
                "limit",
                format!("expression is deeper than the limit of {MAX_EXPR_DEPTH}"),
                expr.span,
            )
            .with_help("name parts of it with `let`, or use `count`/`sum` over a list"));
        }
        Ok((expr, depth))
    }

    fn lower_postfix_expr(&self, pair: Pair<'_, Rule>) -> Result<Node> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let (mut expr, mut depth) = self.lower_primary(self.next(&mut inner, span)?)?;
        for access in inner {
            let aspan = self.span(&access);
            let mut ai = access.into_inner();
            let field = self.lower_ident(self.next(&mut ai, aspan)?);
            let start = expr.span;
            (expr, depth) = self.deeper(
                Expr {
                    span: start.to(field.span),
                    kind: ExprKind::Field(Box::new(expr), field),
                },
                depth,
            )?;
        }
        Ok((expr, depth))
    }

    fn lower_primary(&self, pair: Pair<'_, Rule>) -> Result<Node> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::bool_lit => Ok((
                Expr {
                    kind: ExprKind::Bool(pair.as_str() == "true"),
                    span,
                },
                1,
            )),
            Rule::int => Ok((
                Expr {
                    kind: ExprKind::Int(self.lower_int(&pair)?),
                    span,
                },
                1,
            )),
            Rule::string => Ok((
                Expr {
                    kind: ExprKind::Str(self.lower_string(pair)?),
                    span,
                },
                1,
            )),
            Rule::ident => Ok((
                Expr {
                    kind: ExprKind::Name(self.lower_ident(pair)),
                    span,
                },
                1,
            )),
            Rule::paren => {
                let mut inner = pair.into_inner();
                let (e, d) = self.lower_expr(self.next(&mut inner, span)?)?;
                self.deeper(
                    Expr {
                        kind: ExprKind::Paren(Box::new(e)),
                        span,
                    },
                    d,
                )
            }
            Rule::list_expr => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (e, d) = self.lower_expr(p)?;
                    depth = depth.max(d);
                    items.push(e);
                }
                self.deeper(
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth,
                )
            }
            Rule::comprehension => {
                let mut inner = pair.into_inner();
                let (map, d1) = self.lower_expr(self.next(&mut inner, span)?)?;
                let _for = self.next(&mut inner, span)?;
                let var = self.lower_ident(self.next(&mut inner, span)?);
                let _in = self.next(&mut inner, span)?;
                let (over, d2) = self.lower_expr(self.next(&mut inner, span)?)?;
                let mut depth = d1.max(d2);
                let filter = match (inner.next(), inner.next()) {
                    (Some(_), Some(f)) => {
                        let (f, d3) = self.lower_expr(f)?;
                        depth = depth.max(d3);
                        Some(Box::new(f))
                    }
                    _ => None,
                };
                self.deeper(
                    Expr {
                        kind: ExprKind::Comprehension {
                            map: Box::new(map),
                            var,
                            over: Box::new(over),
                            filter,
                        },
                        span,
                    },
                    depth,
                )
            }
            Rule::quantifier => {
                let mut inner = pair.into_inner();
                let kw = self.next(&mut inner, span)?;
                let kind = if kw.as_rule() == Rule::kw_some {
                    Quantifier::Some
                } else {
                    Quantifier::All
                };
                let var = self.lower_ident(self.next(&mut inner, span)?);
                let _in = self.next(&mut inner, span)?;
                let (over, d1) = self.lower_expr(self.next(&mut inner, span)?)?;
                let (body, d2) = self.lower_expr(self.next(&mut inner, span)?)?;
                self.deeper(
                    Expr {
                        kind: ExprKind::Quant {
                            kind,
                            var,
                            over: Box::new(over),
                            body: Box::new(body),
                        },
                        span,
                    },
                    d1.max(d2),
                )
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let func = self.lower_ident(self.next(&mut inner, span)?);
                let Some(call_args) = inner.next() else {
                    // A bare name.
                    return Ok((
                        Expr {
                            kind: ExprKind::Name(func),
                            span,
                        },
                        1,
                    ));
                };
                let mut args = Vec::new();
                let mut depth = 0;
                for a in call_args.into_inner() {
                    let aspan = self.span(&a);
                    let first = a.into_inner().next().ok_or_else(|| {
                        Diagnostic::error("syntax", "expected an argument", aspan)
                    })?;
                    if first.as_rule() == Rule::named_arg {
                        let mut ni = first.into_inner();
                        let name = self.lower_ident(self.next(&mut ni, aspan)?);
                        let (value, d) = self.lower_expr(self.next(&mut ni, aspan)?)?;
                        depth = depth.max(d);
                        args.push(Arg {
                            name: Some(name),
                            value,
                        });
                    } else {
                        let (value, d) = self.lower_expr(first)?;
                        depth = depth.max(d);
                        args.push(Arg { name: None, value });
                    }
                }
                self.deeper(
                    Expr {
                        kind: ExprKind::Call { func, args },
                        span,
                    },
                    depth,
                )
            }
            _ => Err(err(&pair, self.offset, "expected an expression")),
        }
    }
}
