//! The canonical layout of policy source, and the check that the layout changed nothing.
//!
//! [`format_source`] parses, prints the tree in the one layout described below, parses its
//! own output again and compares: the trees (spans excluded) and the `//` comment texts, in
//! order, must be the same, or the caller gets [`FormatError::Unsound`] instead of a policy
//! that means something else (Cedar's `soundness_check`).
//!
//! # Layout
//!
//! - Items keep their source order, separated by exactly one blank line. Doc comments
//!   (`/// text`) sit directly above their item's keyword. Indentation is 4 spaces. No line has
//!   trailing whitespace and the file ends with exactly one newline. (A file with no items
//!   at all, blank or only comments, is a parse error, so it is never formatted.)
//! - A rule is `rule name {`, one clause per line in source order, then `}`; an empty body is
//!   still written on two lines. Blank lines inside a body are dropped. Tests are laid out the
//!   same way with their `given` and `expect` clauses.
//! - `when` and `let` clauses and `fn` bodies stay on one line while it fits in 100 columns.
//!   A longer one breaks before every `and`/`or` at the top of the condition (not inside
//!   parentheses, quantifier bodies, calls or lists); each continuation line starts with the
//!   operator, indented 4 more than the clause. Other clauses never break.
//! - Expressions have single spaces around infix operators and none inside brackets:
//!   `not x`, `-x`, `f(a, depth: 3)`, `[a, b]`, `some f in xs: body`,
//!   `[e for x in xs where c]`. Parentheses the author wrote are kept (they are `Paren` nodes);
//!   the printer adds parentheses only where a tree without them would otherwise read back
//!   differently (an operand that binds looser than its operator, a prefix operator or a
//!   quantifier whose operand would swallow the operator after it, a non-atomic field base).
//!   Integers lose their `_` separators.
//! - Strings are printed from their value: plain strings re-escaped (`\\`, `\"`, `\n`, `\t`,
//!   `\r`; everything else as is), raw strings as `r"value"`. Message templates are copied
//!   from the source exactly, so hole text and `{{`/`}}` escapes survive as written.
//! - `given` and `param` literals: a record is `{ key: value, key2: value2 }` and a list
//!   `[a, b]` when it fits in 100 columns where it starts; otherwise one field or element per
//!   line, indented 4 more, each followed by a comma, and the closing bracket on its own line.
//!   The rule applies again at each level. A record key is bare when it is a name, else quoted.
//! - `//` comments are attached to the nearest printed unit: an item header (`rule x {`), a
//!   clause, a closing `}`, a whole `fn` or `param`, or the end of the file.
//!   - A comment on its own line goes on its own line before the unit that follows it,
//!     indented like that unit (before the doc comments, for an item). Comments before a
//!     closing `}` stay before it, indented like the body; comments after the last item stay
//!     at the end of the file. Between comments at the top level of the file a blank line is
//!     kept where the source had one (at most one).
//!   - A trailing comment (code before it on its line) stays at the end of the first line of
//!     the unit it trails, after one space.
//!   - Comments inside a unit that prints differently (a clause broken over several lines in
//!     the source, for instance) move to their own lines before that unit, in order; only the
//!     last one, when it is a trailing comment, stays at the end of the unit's first line. No
//!     comment is ever dropped or reordered.
//!
//! Every decision depends on the tree and the comments only, so formatting is idempotent.

use crate::ast::{
    BinOp, Clause, ClauseKind, Expectation, Expr, ExprKind, File, Item, Literal, LiteralKind,
    NEG_PRECEDENCE, NOT_PRECEDENCE, Quantifier, StrLit, Template, TemplatePart, TestClause,
    TestClauseKind, TypeExpr, TypeKind, UnOp,
};
use crate::diag::Diagnostic;
use crate::parse::{Parse, parse};
use crate::scan::Comment;
use crate::span::Span;

/// The widest line the layout aims for, in characters.
const WIDTH: usize = 100;
/// One level of indentation.
const INDENT: usize = 4;

/// Why a policy could not be formatted.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum FormatError {
    /// The source does not parse; nothing was formatted.
    #[error("{}", parse_failure_message(.0))]
    #[diagnostic(code(syntax), help("fix the syntax errors, then format again"))]
    Parse(#[related] Vec<Diagnostic>),
    /// The formatted text would not read back as the same policy. This is a bug in the
    /// formatter; the source should be left as it is.
    #[error("formatting would change the policy: {reason}")]
    #[diagnostic(
        code(formatter_bug),
        help("this is a bug in the formatter; the source was left as it is")
    )]
    Unsound {
        /// What differs between the source and the formatted text.
        reason: String,
        /// The text the formatter produced, for a bug report.
        formatted: String,
    },
}

fn parse_failure_message(errors: &[Diagnostic]) -> String {
    match errors {
        [] => "cannot format a policy that does not parse".to_string(),
        [one] => format!(
            "cannot format a policy that does not parse: {}",
            one.message
        ),
        [first, rest @ ..] => format!(
            "cannot format a policy that does not parse: {} (and {} more)",
            first.message,
            rest.len()
        ),
    }
}

/// Format a policy file in the canonical layout described in the module documentation.
///
/// The output is parsed again and compared with the source: the same tree and the same
/// comments in the same order, or [`FormatError::Unsound`].
pub fn format_source(src: &str) -> Result<String, FormatError> {
    let parsed = parse(src);
    if parsed.errors.iter().any(Diagnostic::is_error) {
        return Err(FormatError::Parse(parsed.errors));
    }
    let formatted = format_file(&parsed.file, &parsed.comments, src);
    match soundness_problem(&parsed, &formatted) {
        None => Ok(formatted),
        Some(reason) => Err(FormatError::Unsound { reason, formatted }),
    }
}

/// Print a parsed file in the canonical layout, placing `comments` (as collected by the
/// parser from `src`) around it. Message templates are copied from `src` by their spans.
///
/// This does not check its output; [`format_source`] does.
pub fn format_file(file: &File, comments: &[Comment], src: &str) -> String {
    let printer = Printer { src, comments };
    let units = printer.units(file);
    let attached = attach(&units, comments);
    printer.emit(&units, &attached)
}

/// Why `formatted` does not read back as `original`, if it does not.
fn soundness_problem(original: &Parse, formatted: &str) -> Option<String> {
    let again = parse(formatted);
    if let Some(e) = again.errors.first() {
        return Some(format!(
            "the formatted text does not parse: {} at bytes {}..{}",
            e.message, e.span.start, e.span.end
        ));
    }
    if again.file != original.file {
        let before = &original.file.items;
        let after = &again.file.items;
        if before.len() != after.len() {
            return Some(format!(
                "the source has {} items but the formatted text has {}",
                before.len(),
                after.len()
            ));
        }
        let index = before
            .iter()
            .zip(after)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let name = before.get(index).map_or_else(String::new, item_name);
        return Some(format!(
            "item {} ({name}) reads back differently",
            index + 1
        ));
    }
    let before: Vec<&str> = original.comments.iter().map(|c| c.text.as_str()).collect();
    let after: Vec<&str> = again.comments.iter().map(|c| c.text.as_str()).collect();
    if before != after {
        let index = before
            .iter()
            .zip(&after)
            .position(|(a, b)| a != b)
            .unwrap_or(before.len().min(after.len()));
        return Some(match (before.get(index), after.get(index)) {
            (Some(b), Some(a)) => {
                format!(
                    "comment {} is `{b}` in the source but `{a}` after",
                    index + 1
                )
            }
            (Some(b), None) => format!("comment `{b}` is lost"),
            (None, Some(a)) => format!("comment `{a}` appears from nowhere"),
            (None, None) => "the comments differ".to_string(),
        });
    }
    None
}

fn item_name(item: &Item) -> String {
    match item {
        Item::Rule(r) => format!("rule `{}`", r.name.name),
        Item::Test(t) => format!("test `{}`", t.name.value),
        Item::Fn(f) => format!("fn `{}`", f.name.name),
        Item::Param(p) => format!("param `{}`", p.name.name),
    }
}

// ---------------------------------------------------------------- units and comments

/// A stretch of source that prints as a whole and that comments attach to: an item header,
/// a clause, a closing brace, a `fn` or `param`, or the end of the file.
#[derive(Debug)]
struct Unit {
    /// Where it starts in the source.
    start: usize,
    /// Where its code ends in the source (comments after it not included).
    end: usize,
    /// The indentation of comments printed before it.
    indent: usize,
    /// Its printed lines, indentation included.
    lines: Vec<String>,
    /// Which line a trailing comment goes on (after the doc comments, for an item).
    comment_line: usize,
    /// Whether it starts an item (or is the end of the file): a blank line separates it from
    /// what comes before, and blank lines between its leading comments are kept.
    item_start: bool,
}

impl Unit {
    fn new(start: usize, end: usize, indent: usize, lines: Vec<String>) -> Unit {
        Unit {
            start,
            end,
            indent,
            lines,
            comment_line: 0,
            item_start: false,
        }
    }
}

/// For each unit, the comments that print with it, in source order.
///
/// A trailing comment belongs to the last unit starting before it (the code before it on its
/// line is part of that unit); a comment on its own line belongs to the first unit that ends
/// after it (the unit it sits in or, between units, the next one). Every byte of code lies in
/// some unit, so this keeps the comments in source order when each unit prints its own.
fn attach<'c>(units: &[Unit], comments: &'c [Comment]) -> Vec<Vec<&'c Comment>> {
    let mut attached: Vec<Vec<&Comment>> = units.iter().map(|_| Vec::new()).collect();
    let last = units.len().saturating_sub(1);
    for c in comments {
        let at = c.span.start as usize;
        let index = if c.trailing {
            units.partition_point(|u| u.start < at).saturating_sub(1)
        } else {
            units.partition_point(|u| u.end <= at).min(last)
        };
        if let Some(list) = attached.get_mut(index) {
            list.push(c);
        }
    }
    attached
}

/// Whether `text` (source between two things) contains an empty line.
fn has_blank_line(text: &str) -> bool {
    let mut lines = text.split('\n');
    lines.next();
    let mut middle: Vec<&str> = lines.collect();
    middle.pop();
    middle.iter().any(|l| l.trim().is_empty())
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

// ---------------------------------------------------------------- the printer

/// Where an expression stands, for deciding whether it needs parentheses.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// Delimited on both sides: a whole clause, an argument, a list element, inside `( )`.
    Free,
    /// The left operand of an infix operator of this precedence.
    Left(u8),
    /// The right operand of an infix operator of this precedence.
    Right(u8),
    /// The operand of a prefix operator of this precedence.
    Operand(u8),
    /// The base of a field access.
    Base,
}

/// A position: the side, and the precedence of the operator printed right after the
/// expression (0 when a delimiter or keyword follows).
#[derive(Debug, Clone, Copy)]
struct Pos {
    side: Side,
    follow: u8,
}

/// A delimited position.
const FREE: Pos = Pos {
    side: Side::Free,
    follow: 0,
};
/// Binds tighter than any operator: what a field access `.name` counts as.
const POSTFIX: u8 = u8::MAX;

/// How an expression reads when printed without parentheses around it.
enum Shape {
    /// Self-delimiting: names, literals, calls, lists, field accesses, parentheses.
    Atom,
    /// Starts with a prefix operator (or is a quantifier, which reads as a prefix of
    /// precedence 0): its operand takes in every following operator that binds tighter.
    Prefix(u8),
    /// An infix operator of this precedence at the top.
    Infix(u8),
}

fn shape(e: &Expr) -> Shape {
    match &e.kind {
        ExprKind::Binary(op, _, _) => Shape::Infix(op.precedence()),
        ExprKind::Unary(UnOp::Not, _) => Shape::Prefix(NOT_PRECEDENCE),
        ExprKind::Unary(UnOp::Neg, _) => Shape::Prefix(NEG_PRECEDENCE),
        // A negative literal prints with a leading `-`.
        ExprKind::Int(n) if *n < 0 => Shape::Prefix(NEG_PRECEDENCE),
        ExprKind::Quant { .. } => Shape::Prefix(0),
        _ => Shape::Atom,
    }
}

/// Whether `e` printed at `pos` needs parentheses to read back as the same tree.
///
/// Operators are left-associative. A prefix operator can start any operand, so it only needs
/// parentheses when the operator after it would be pulled into its operand. For any tree the
/// parser builds this is false everywhere (its own grouping shows as `Paren`), which is what
/// the soundness check relies on.
fn needs_parens(e: &Expr, pos: Pos) -> bool {
    match shape(e) {
        Shape::Atom => false,
        Shape::Prefix(bp) => pos.follow > bp,
        Shape::Infix(bp) => {
            pos.follow > bp
                || match pos.side {
                    Side::Free => false,
                    Side::Left(p) => bp < p,
                    Side::Right(p) | Side::Operand(p) => bp <= p,
                    Side::Base => true,
                }
        }
    }
}

struct Printer<'s> {
    src: &'s str,
    comments: &'s [Comment],
}

impl Printer<'_> {
    /// A unit for the source `span`, ending where its code ends.
    fn unit(&self, span: Span, indent: usize, lines: Vec<String>) -> Unit {
        let start = span.start as usize;
        Unit::new(
            start,
            self.code_end(start, span.end as usize),
            indent,
            lines,
        )
    }

    /// Where the code in `start..end` ends: before any whitespace and comments at its end.
    ///
    /// A grammar rule that ends in an optional or repeated part (`require review` without
    /// `count`, an expression) has a span that takes in the whitespace and comments after
    /// it; those comments belong to what follows.
    fn code_end(&self, start: usize, end: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut pos = end.min(self.src.len());
        loop {
            while pos > start && bytes.get(pos - 1).is_some_and(u8::is_ascii_whitespace) {
                pos -= 1;
            }
            let next = self
                .comments
                .partition_point(|c| (c.span.start as usize) < pos);
            match next.checked_sub(1).and_then(|i| self.comments.get(i)) {
                Some(c) if c.span.start as usize >= start && c.span.end as usize >= pos => {
                    pos = c.span.start as usize;
                }
                _ => return pos,
            }
        }
    }

    fn units(&self, file: &File) -> Vec<Unit> {
        let mut units = Vec::new();
        for item in &file.items {
            match item {
                Item::Rule(r) => {
                    let header = format!("rule {} {{", r.name.name);
                    units.push(self.header(r.span.start, r.name.span.end, &r.docs, header));
                    for c in &r.clauses {
                        units.push(self.unit(c.span, INDENT, self.clause(c)));
                    }
                    units.push(close(r.span.end));
                }
                Item::Test(t) => {
                    let header = format!("test {} {{", str_lit(&t.name));
                    units.push(self.header(t.span.start, t.name.span.end, &t.docs, header));
                    for c in &t.clauses {
                        units.push(self.unit(c.span, INDENT, self.test_clause(c)));
                    }
                    units.push(close(t.span.end));
                }
                Item::Fn(f) => {
                    let params: Vec<String> = f
                        .params
                        .iter()
                        .map(|(name, ty)| format!("{}: {}", name.name, type_expr(ty)))
                        .collect();
                    let head = format!("fn {}({}) = ", f.name.name, params.join(", "));
                    let mut lines = doc_lines(&f.docs);
                    lines.extend(self.broken(&head, &f.body, 0));
                    units.push(item_unit(self.unit(f.span, 0, lines), f.docs.len()));
                }
                Item::Param(p) => {
                    let head = format!("param {}: {} = ", p.name.name, type_expr(&p.ty));
                    let value = literal(&p.default, width(&head), 0, 0);
                    let mut lines = doc_lines(&p.docs);
                    lines.extend(format!("{head}{value}").split('\n').map(str::to_string));
                    units.push(item_unit(self.unit(p.span, 0, lines), p.docs.len()));
                }
            }
        }
        let mut end = Unit::new(self.src.len(), self.src.len(), 0, Vec::new());
        end.item_start = true;
        units.push(end);
        units
    }

    /// The `rule x {` / `test "x" {` line with its doc comments. The unit runs to the `{`
    /// so that a comment between the name and the brace stays in order.
    fn header(&self, start: u32, name_end: u32, docs: &[String], line: String) -> Unit {
        let mut lines = doc_lines(docs);
        lines.push(line);
        let end = open_brace_end(self.src, name_end as usize);
        item_unit(Unit::new(start as usize, end, 0, lines), docs.len())
    }

    fn emit(&self, units: &[Unit], attached: &[Vec<&Comment>]) -> String {
        let mut out = String::new();
        for (unit, comments) in units.iter().zip(attached) {
            if unit.lines.is_empty() && comments.is_empty() {
                continue;
            }
            if unit.item_start && !out.is_empty() {
                out.push('\n');
            }
            let mut leading: Vec<&Comment> = comments.clone();
            let trailing = match leading.last() {
                Some(c) if c.trailing && !unit.lines.is_empty() => leading.pop(),
                _ => None,
            };
            let pad = spaces(unit.indent);
            for (k, c) in leading.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&c.text);
                out.push('\n');
                let end = c.span.end as usize;
                let is_last = k + 1 == leading.len();
                if unit.item_start && end <= unit.start && !(is_last && unit.lines.is_empty()) {
                    let next = leading
                        .get(k + 1)
                        .map_or(unit.start, |n| n.span.start as usize)
                        .min(unit.start);
                    if self.src.get(end..next).is_some_and(has_blank_line) {
                        out.push('\n');
                    }
                }
            }
            for (j, line) in unit.lines.iter().enumerate() {
                out.push_str(line);
                if let Some(c) = trailing.filter(|_| j == unit.comment_line) {
                    out.push(' ');
                    out.push_str(&c.text);
                }
                out.push('\n');
            }
        }
        out
    }

    // ------------------------------------------------------------ clauses

    fn clause(&self, c: &Clause) -> Vec<String> {
        let pad = spaces(INDENT);
        let line = match &c.kind {
            ClauseKind::Level(level) => format!("{pad}level {}", level.as_str()),
            ClauseKind::Let(name, value) => {
                return self.broken(&format!("{pad}let {} = ", name.name), value, INDENT);
            }
            ClauseKind::When(cond) => return self.broken(&format!("{pad}when "), cond, INDENT),
            ClauseKind::Deny(t) => self.effect(&pad, "deny", t.as_ref()),
            ClauseKind::Warn(t) => self.effect(&pad, "warn", t.as_ref()),
            ClauseKind::Review { from, count } => {
                let mut line = format!("{pad}require review");
                if let Some(from) = from {
                    line.push_str(" from ");
                    line.push_str(&self.expr(from, FREE));
                }
                if let Some(count) = count {
                    line.push_str(" count ");
                    line.push_str(&self.expr(count, FREE));
                }
                line
            }
            ClauseKind::Message(t) => format!("{pad}message {}", self.template(t)),
            ClauseKind::About(e) => format!("{pad}about {}", self.expr(e, FREE)),
        };
        vec![line]
    }

    fn effect(&self, pad: &str, keyword: &str, message: Option<&Template>) -> String {
        match message {
            Some(t) => format!("{pad}{keyword} {}", self.template(t)),
            None => format!("{pad}{keyword}"),
        }
    }

    fn test_clause(&self, c: &TestClause) -> Vec<String> {
        let pad = spaces(INDENT);
        let text = match &c.kind {
            TestClauseKind::Given(doc, value) => {
                let head = format!("{pad}given {} ", doc.name);
                let value = literal(value, width(&head), INDENT, 0);
                format!("{head}{value}")
            }
            TestClauseKind::Expect(e) => {
                let what = match e {
                    Expectation::Outcome(outcome) => outcome.clone(),
                    Expectation::Review { from, count } => match count {
                        Some(n) => format!("review from {} count {n}", str_lit(from)),
                        None => format!("review from {}", str_lit(from)),
                    },
                    Expectation::Fires { rule, times } => match times {
                        Some(n) => format!("fires {} times {n}", rule.name),
                        None => format!("fires {}", rule.name),
                    },
                    Expectation::Quiet(rule) => format!("quiet {}", rule.name),
                    Expectation::Message(m) => format!("message {}", str_lit(m)),
                };
                format!("{pad}expect {what}")
            }
        };
        text.split('\n').map(str::to_string).collect()
    }

    /// `head` followed by `e`, broken before each top-level `and`/`or` when too wide.
    fn broken(&self, head: &str, e: &Expr, indent: usize) -> Vec<String> {
        let inline = self.expr(e, FREE);
        if width(head) + width(&inline) <= WIDTH {
            return vec![format!("{head}{inline}")];
        }
        let mut parts = Vec::new();
        self.chain(e, FREE, &mut parts);
        let mut lines = Vec::with_capacity(parts.len());
        let pad = spaces(indent + INDENT);
        for (op, text) in parts {
            match op {
                None => lines.push(format!("{head}{text}")),
                Some(op) => lines.push(format!("{pad}{} {text}", op.as_str())),
            }
        }
        lines
    }

    /// The operands of the `and`/`or` operators at the top of `e`, each with the operator
    /// before it; joined with spaces they make exactly `self.expr(e, pos)`.
    fn chain(&self, e: &Expr, pos: Pos, out: &mut Vec<(Option<BinOp>, String)>) {
        if let ExprKind::Binary(op @ (BinOp::And | BinOp::Or), l, r) = &e.kind
            && !needs_parens(e, pos)
        {
            let bp = op.precedence();
            self.chain(
                l,
                Pos {
                    side: Side::Left(bp),
                    follow: bp,
                },
                out,
            );
            let first = out.len();
            self.chain(
                r,
                Pos {
                    side: Side::Right(bp),
                    follow: pos.follow,
                },
                out,
            );
            if let Some(part) = out.get_mut(first) {
                part.0 = Some(*op);
            }
            return;
        }
        out.push((None, self.expr(e, pos)));
    }

    // ------------------------------------------------------------ expressions

    fn expr(&self, e: &Expr, pos: Pos) -> String {
        if needs_parens(e, pos) {
            return format!("({})", self.expr(e, FREE));
        }
        match &e.kind {
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Int(n) => n.to_string(),
            ExprKind::Str(s) => str_lit(s),
            ExprKind::Name(name) => name.name.clone(),
            ExprKind::Field(base, field) => {
                let base = self.expr(
                    base,
                    Pos {
                        side: Side::Base,
                        follow: POSTFIX,
                    },
                );
                format!("{base}.{}", field.name)
            }
            ExprKind::List(items) => format!("[{}]", self.exprs(items)),
            ExprKind::Comprehension {
                map,
                var,
                over,
                filter,
            } => {
                let mut text = format!(
                    "[{} for {} in {}",
                    self.expr(map, FREE),
                    var.name,
                    self.expr(over, FREE)
                );
                if let Some(filter) = filter {
                    text.push_str(" where ");
                    text.push_str(&self.expr(filter, FREE));
                }
                text.push(']');
                text
            }
            ExprKind::Quant {
                kind,
                var,
                over,
                body,
            } => {
                let keyword = match kind {
                    Quantifier::Some => "some",
                    Quantifier::All => "all",
                };
                // The body runs to the end of the expression: whatever follows the
                // quantifier follows the body.
                let body = self.expr(
                    body,
                    Pos {
                        side: Side::Free,
                        follow: pos.follow,
                    },
                );
                format!(
                    "{keyword} {} in {}: {body}",
                    var.name,
                    self.expr(over, FREE)
                )
            }
            ExprKind::Call { func, args } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.name {
                        Some(name) => format!("{}: {}", name.name, self.expr(&a.value, FREE)),
                        None => self.expr(&a.value, FREE),
                    })
                    .collect();
                format!("{}({})", func.name, args.join(", "))
            }
            ExprKind::Unary(op, operand) => {
                let (text, bp) = match op {
                    UnOp::Not => ("not ", NOT_PRECEDENCE),
                    UnOp::Neg => ("-", NEG_PRECEDENCE),
                };
                let operand = self.expr(
                    operand,
                    Pos {
                        side: Side::Operand(bp),
                        follow: pos.follow,
                    },
                );
                format!("{text}{operand}")
            }
            ExprKind::Binary(op, l, r) => {
                let bp = op.precedence();
                let l = self.expr(
                    l,
                    Pos {
                        side: Side::Left(bp),
                        follow: bp,
                    },
                );
                let r = self.expr(
                    r,
                    Pos {
                        side: Side::Right(bp),
                        follow: pos.follow,
                    },
                );
                format!("{l} {} {r}", op.as_str())
            }
            ExprKind::Paren(inner) => format!("({})", self.expr(inner, FREE)),
        }
    }

    fn exprs(&self, items: &[Expr]) -> String {
        let items: Vec<String> = items.iter().map(|e| self.expr(e, FREE)).collect();
        items.join(", ")
    }

    /// A message template as written in the source, or rebuilt from its parts when the
    /// span does not point at a string (a tree that was not parsed from `src`).
    fn template(&self, t: &Template) -> String {
        let text = t.lit.span.text(self.src);
        if is_string_token(text) {
            return text.to_string();
        }
        let mut body = String::new();
        for part in &t.parts {
            match part {
                TemplatePart::Text(text) => {
                    let text = text.replace('{', "{{").replace('}', "}}");
                    if t.lit.raw {
                        body.push_str(&text);
                    } else {
                        body.push_str(&escape(&text));
                    }
                }
                TemplatePart::Hole(e) => {
                    body.push('{');
                    body.push_str(&self.expr(e, FREE));
                    body.push('}');
                }
            }
        }
        if t.lit.raw {
            format!("r\"{body}\"")
        } else {
            format!("\"{body}\"")
        }
    }
}

fn close(end: u32) -> Unit {
    let end = end as usize;
    Unit::new(end.saturating_sub(1), end, INDENT, vec!["}".to_string()])
}

fn item_unit(mut unit: Unit, docs: usize) -> Unit {
    unit.comment_line = docs;
    unit.item_start = true;
    unit
}

fn doc_lines(docs: &[String]) -> Vec<String> {
    docs.iter()
        .map(|d| {
            if d.is_empty() {
                "///".to_string()
            } else {
                format!("/// {d}")
            }
        })
        .collect()
}

/// Just past the `{` that follows `from`, skipping whitespace and `//` comments; `from`
/// itself when there is no such brace.
fn open_brace_end(src: &str, from: usize) -> usize {
    let bytes = src.as_bytes();
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = src
                    .get(i..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(src.len(), |n| i + n);
            }
            b'{' => return i + 1,
            _ => break,
        }
    }
    from
}

fn is_string_token(text: &str) -> bool {
    let body = text.strip_prefix('r').unwrap_or(text);
    body.len() >= 2 && body.starts_with('"') && body.ends_with('"') && !body.contains('\n')
}

// ---------------------------------------------------------------- literals, strings, types

fn str_lit(s: &StrLit) -> String {
    if s.raw {
        format!("r\"{}\"", s.value)
    } else {
        format!("\"{}\"", escape(&s.value))
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// A record key: bare when it is a name, quoted otherwise.
fn key(name: &str) -> String {
    let mut chars = name.chars();
    let is_name = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_name {
        name.to_string()
    } else {
        format!("\"{}\"", escape(name))
    }
}

fn type_expr(t: &TypeExpr) -> String {
    let base = match &t.kind {
        TypeKind::List(inner) => format!("[{}]", type_expr(inner)),
        TypeKind::Set(inner) => format!("set<{}>", type_expr(inner)),
        TypeKind::Named(name) => name.name.clone(),
    };
    if t.optional { format!("{base}?") } else { base }
}

fn literal_inline(lit: &Literal) -> String {
    match &lit.kind {
        LiteralKind::Bool(b) => b.to_string(),
        LiteralKind::Int(n) => n.to_string(),
        LiteralKind::Str(s) => str_lit(s),
        LiteralKind::List(items) => {
            let items: Vec<String> = items.iter().map(literal_inline).collect();
            format!("[{}]", items.join(", "))
        }
        LiteralKind::Record(fields) if fields.is_empty() => "{}".to_string(),
        LiteralKind::Record(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", key(&k.name), literal_inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

/// A literal that starts at column `col` of a line indented by `indent` and is followed by
/// `after` more characters on its last line: on one line when that fits, else one field or
/// element per line. The result may hold newlines, each followed by its indentation.
fn literal(lit: &Literal, col: usize, indent: usize, after: usize) -> String {
    let inline = literal_inline(lit);
    if col + width(&inline) + after <= WIDTH {
        return inline;
    }
    let inner = indent + INDENT;
    let pad = spaces(inner);
    match &lit.kind {
        LiteralKind::List(items) if !items.is_empty() => {
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&pad);
                out.push_str(&literal(item, inner, inner, 1));
                out.push_str(",\n");
            }
            out.push_str(&spaces(indent));
            out.push(']');
            out
        }
        LiteralKind::Record(fields) if !fields.is_empty() => {
            let mut out = String::from("{\n");
            for (k, v) in fields {
                let k = key(&k.name);
                out.push_str(&pad);
                out.push_str(&k);
                out.push_str(": ");
                out.push_str(&literal(v, inner + width(&k) + 2, inner, 1));
                out.push_str(",\n");
            }
            out.push_str(&spaces(indent));
            out.push('}');
            out
        }
        _ => inline,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::ast::{Arg, Ident};
    use crate::parse::parse_expr;
    use proptest::prelude::*;

    const OPS: [BinOp; 18] = [
        BinOp::Or,
        BinOp::And,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::In,
        BinOp::NotIn,
        BinOp::Matches,
        BinOp::Regex,
        BinOp::Coalesce,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Rem,
    ];

    fn ident(name: &str) -> Ident {
        Ident {
            name: name.to_string(),
            span: Span::default(),
        }
    }

    fn ex(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    /// Trees with no `Paren` nodes at all: the printer must add every parenthesis needed.
    fn bare_expr() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            prop::sample::select(vec!["a", "b", "xs"]).prop_map(|n| ex(ExprKind::Name(ident(n)))),
            (-20i64..20).prop_map(|n| ex(ExprKind::Int(n))),
            any::<bool>().prop_map(|b| ex(ExprKind::Bool(b))),
        ];
        leaf.prop_recursive(5, 40, 3, |inner| {
            let boxed = inner.clone().prop_map(Box::new);
            prop_oneof![
                4 => (boxed.clone(), 0..OPS.len(), boxed.clone())
                    .prop_map(|(l, op, r)| ex(ExprKind::Binary(OPS[op], l, r))),
                1 => boxed.clone().prop_map(|e| ex(ExprKind::Unary(UnOp::Not, e))),
                1 => boxed.clone().prop_map(|e| ex(ExprKind::Unary(UnOp::Neg, e))),
                1 => (any::<bool>(), boxed.clone(), boxed.clone()).prop_map(|(some, over, body)| {
                    ex(ExprKind::Quant {
                        kind: if some { Quantifier::Some } else { Quantifier::All },
                        var: ident("v"),
                        over,
                        body,
                    })
                }),
                1 => boxed.clone().prop_map(|e| ex(ExprKind::Field(e, ident("f")))),
                1 => prop::collection::vec(inner.clone(), 0..3).prop_map(|items| ex(ExprKind::List(items))),
                1 => (boxed.clone(), boxed.clone(), prop::option::of(boxed.clone())).prop_map(
                    |(map, over, filter)| {
                        ex(ExprKind::Comprehension {
                            map,
                            var: ident("v"),
                            over,
                            filter,
                        })
                    }
                ),
                1 => prop::collection::vec((any::<bool>(), inner), 0..3).prop_map(|args| {
                    let args = args
                        .into_iter()
                        .map(|(named, value)| Arg {
                            name: named.then(|| ident("k")),
                            value,
                        })
                        .collect();
                    ex(ExprKind::Call {
                        func: ident("g"),
                        args,
                    })
                }),
            ]
        })
    }

    /// Drop `Paren` nodes and fold `-` into integer literals, as the parser does.
    fn normalize(e: Expr) -> Expr {
        let n = |b: Box<Expr>| Box::new(normalize(*b));
        let kind = match e.kind {
            ExprKind::Paren(inner) => return normalize(*inner),
            ExprKind::Unary(UnOp::Neg, inner) => match normalize(*inner) {
                Expr {
                    kind: ExprKind::Int(v),
                    ..
                } if v.checked_neg().is_some() => ExprKind::Int(-v),
                other => ExprKind::Unary(UnOp::Neg, Box::new(other)),
            },
            ExprKind::Unary(op, inner) => ExprKind::Unary(op, n(inner)),
            ExprKind::Binary(op, l, r) => ExprKind::Binary(op, n(l), n(r)),
            ExprKind::Field(base, f) => ExprKind::Field(n(base), f),
            ExprKind::List(items) => ExprKind::List(items.into_iter().map(normalize).collect()),
            ExprKind::Comprehension {
                map,
                var,
                over,
                filter,
            } => ExprKind::Comprehension {
                map: n(map),
                var,
                over: n(over),
                filter: filter.map(n),
            },
            ExprKind::Quant {
                kind,
                var,
                over,
                body,
            } => ExprKind::Quant {
                kind,
                var,
                over: n(over),
                body: n(body),
            },
            ExprKind::Call { func, args } => ExprKind::Call {
                func,
                args: args
                    .into_iter()
                    .map(|a| Arg {
                        name: a.name,
                        value: normalize(a.value),
                    })
                    .collect(),
            },
            other => other,
        };
        ex(kind)
    }

    fn print(e: &Expr) -> String {
        Printer {
            src: "",
            comments: &[],
        }
        .expr(e, FREE)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A tree without parentheses prints with exactly the ones it needs to read back
        /// as the same tree.
        #[test]
        fn printer_adds_the_parentheses_a_tree_needs(e in bare_expr()) {
            let text = print(&e);
            let back = parse_expr(&text, 0).map_err(|d| TestCaseError::fail(format!("{text}: {d}")))?;
            prop_assert_eq!(normalize(back), normalize(e), "{}", text);
        }

        /// Splitting at top-level `and`/`or` gives the same text as printing on one line.
        #[test]
        fn chain_joins_back_to_the_one_line_form(e in bare_expr()) {
            let printer = Printer { src: "", comments: &[] };
            let mut parts = Vec::new();
            printer.chain(&e, FREE, &mut parts);
            let joined: Vec<String> = parts
                .into_iter()
                .map(|(op, t)| match op {
                    Some(op) => format!("{} {t}", op.as_str()),
                    None => t,
                })
                .collect();
            prop_assert_eq!(joined.join(" "), print(&e));
        }
    }

    #[test]
    fn parentheses_are_added_only_where_needed() {
        let bin = |op, l, r| ex(ExprKind::Binary(op, Box::new(l), Box::new(r)));
        let name = |n: &str| ex(ExprKind::Name(ident(n)));
        let not = |e| ex(ExprKind::Unary(UnOp::Not, Box::new(e)));
        let some = |body| {
            ex(ExprKind::Quant {
                kind: Quantifier::Some,
                var: ident("x"),
                over: Box::new(name("xs")),
                body: Box::new(body),
            })
        };
        let cases = [
            (
                bin(BinOp::Mul, bin(BinOp::Add, name("a"), name("b")), name("c")),
                "(a + b) * c",
            ),
            (
                bin(BinOp::Sub, name("a"), bin(BinOp::Sub, name("b"), name("c"))),
                "a - (b - c)",
            ),
            (
                bin(BinOp::Sub, bin(BinOp::Sub, name("a"), name("b")), name("c")),
                "a - b - c",
            ),
            (bin(BinOp::Eq, not(name("a")), name("b")), "(not a) == b"),
            (not(bin(BinOp::Eq, name("a"), name("b"))), "not a == b"),
            (not(bin(BinOp::And, name("a"), name("b"))), "not (a and b)"),
            (bin(BinOp::And, not(name("a")), name("b")), "not a and b"),
            (
                bin(
                    BinOp::Eq,
                    bin(BinOp::Eq, name("a"), not(name("b"))),
                    name("c"),
                ),
                "a == (not b) == c",
            ),
            (
                bin(BinOp::And, some(name("a")), name("b")),
                "(some x in xs: a) and b",
            ),
            (
                bin(BinOp::And, name("b"), some(name("a"))),
                "b and some x in xs: a",
            ),
            (
                ex(ExprKind::Field(Box::new(ex(ExprKind::Int(-5))), ident("f"))),
                "(-5).f",
            ),
            (
                ex(ExprKind::Field(
                    Box::new(bin(BinOp::Add, name("a"), name("b"))),
                    ident("f"),
                )),
                "(a + b).f",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(print(&e), want);
        }
    }
}
