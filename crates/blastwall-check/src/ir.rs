//! The checked, typed intermediate representation.
//!
//! Everything downstream (the interpreter, the compiler) consumes this and never re-checks
//! types: names are resolved to slots, fields to indices, calls to builtins or functions.

use std::collections::BTreeSet;

use blastwall_abi::decision::Level;
use blastwall_abi::glob::Glob;
use blastwall_abi::schema::DocKind;
use blastwall_syntax::Span;

use crate::ty::Type;

/// A checked policy: every rule, function, parameter and test of its source files.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The source files, in the order given.
    pub sources: Vec<SourceFile>,
    /// Parameters (`config.*`), in declaration order.
    pub params: Vec<Param>,
    /// Helper functions, in an order where callees come before callers.
    pub fns: Vec<Function>,
    /// Rules, in source order (file order, then position).
    pub rules: Vec<Rule>,
    /// Tests, in source order.
    pub tests: Vec<Test>,
    /// Glob patterns written as literals, compiled once.
    pub globs: Vec<Glob>,
    /// Regular expressions, as validated source patterns.
    pub regexes: Vec<String>,
}

/// A source file of the policy.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as given (used in `source` locations).
    pub path: String,
    /// The text.
    pub text: String,
}

/// A location in the policy's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Index into [`Policy::sources`].
    pub file: usize,
    /// Byte span in that file.
    pub span: Span,
}

/// A declared parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// The name (read as `config.name`).
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its default, as JSON.
    pub default: serde_json::Value,
    /// Its documentation.
    pub doc: Vec<String>,
    /// Where it is declared.
    pub loc: Loc,
    /// Whether it is used as a glob pattern (`x matches config.name`): a host compiles its
    /// patterns, and refuses a config whose patterns cannot be compiled (docs/abi.md).
    pub glob: bool,
}

/// A helper function.
#[derive(Debug, Clone)]
pub struct Function {
    /// The name.
    pub name: String,
    /// Parameter names and types; parameters occupy slots `0..params.len()`.
    pub params: Vec<(String, Type)>,
    /// The body.
    pub body: Expr,
    /// The result type.
    pub ret: Type,
    /// How many local slots a call needs.
    pub slots: usize,
    /// Where it is declared.
    pub loc: Loc,
}

/// A checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name.
    pub name: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Its level (`hard` when not written).
    pub level: Level,
    /// `let` bindings, evaluated in order into their slots.
    pub lets: Vec<(usize, Expr)>,
    /// The condition.
    pub when: Expr,
    /// What it yields when it fires.
    pub effect: Effect,
    /// The message template; a default is derived from the rule when absent.
    pub message: Option<Template>,
    /// What each finding is about.
    pub about: Option<Expr>,
    /// Slots of the witness variables the effect mentions: one finding per distinct tuple.
    pub witness: Vec<usize>,
    /// Documents the rule reads (besides `config`): it applies only when all are given.
    pub reads: BTreeSet<DocKind>,
    /// How many local slots an evaluation needs.
    pub slots: usize,
    /// The name bound to each slot, for explanations.
    pub slot_names: Vec<String>,
    /// Where the rule is written.
    pub loc: Loc,
}

/// What a rule yields.
#[derive(Debug, Clone)]
pub enum Effect {
    /// `deny`
    Deny,
    /// `warn`
    Warn,
    /// `require review [from X] [count N]`
    Review {
        /// The group; anyone when absent.
        from: Option<Expr>,
        /// The count; 1 when absent.
        count: Option<Expr>,
    },
}

/// A message template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Text and holes.
    pub parts: Vec<TemplatePart>,
}

/// A piece of a template.
#[derive(Debug, Clone)]
pub enum TemplatePart {
    /// Printed as is.
    Text(String),
    /// Printed as its value.
    Hole(Expr),
}

/// A typed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Type,
    /// Where it is written (in the file of the enclosing rule or function).
    pub span: Span,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Integer arithmetic; every operation checks for overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (division by zero is an error)
    Div,
    /// `%` (by zero is an error)
    Rem,
}

/// The pattern side of `matches`.
#[derive(Debug, Clone)]
pub enum GlobRef {
    /// A literal pattern: index into [`Policy::globs`].
    Const(usize),
    /// A pattern (`str`) or list of patterns (`[str]`) computed at run time.
    Dynamic(Box<Expr>),
}

/// Built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `count(xs)`: number of elements.
    Count,
    /// `sum(xs)`: sum of integers.
    Sum,
    /// `min(xs)`: smallest integer, absent for an empty list.
    Min,
    /// `max(xs)`: largest integer, absent for an empty list.
    Max,
    /// `len(s)`: length in characters.
    Len,
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `trim(s)`
    Trim,
    /// `starts_with(s, prefix)`
    StartsWith,
    /// `ends_with(s, suffix)`
    EndsWith,
    /// `contains(s, part)`
    Contains,
    /// `split(s, sep)`
    Split,
    /// `join(xs, sep)`
    Join,
    /// `set(xs)`
    Set,
    /// `union(a, b)`
    Union,
    /// `intersection(a, b)`
    Intersection,
    /// `difference(a, b)`
    Difference,
    /// `has(x)`: whether an optional value is present.
    Has,
    /// `dependents(topology, names, depth: n)`: nodes that depend on `names`, transitively.
    Dependents,
    /// `dependencies(topology, names, depth: n)`: nodes `names` depend on, transitively.
    Dependencies,
}

impl Builtin {
    /// Every builtin and its name.
    pub const ALL: [(&'static str, Builtin); 20] = [
        ("count", Builtin::Count),
        ("sum", Builtin::Sum),
        ("min", Builtin::Min),
        ("max", Builtin::Max),
        ("len", Builtin::Len),
        ("lower", Builtin::Lower),
        ("upper", Builtin::Upper),
        ("trim", Builtin::Trim),
        ("starts_with", Builtin::StartsWith),
        ("ends_with", Builtin::EndsWith),
        ("contains", Builtin::Contains),
        ("split", Builtin::Split),
        ("join", Builtin::Join),
        ("set", Builtin::Set),
        ("union", Builtin::Union),
        ("intersection", Builtin::Intersection),
        ("difference", Builtin::Difference),
        ("has", Builtin::Has),
        ("dependents", Builtin::Dependents),
        ("dependencies", Builtin::Dependencies),
    ];

    /// The builtin named `name`.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Builtin::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("?", |(n, _)| n)
    }
}

/// The kinds of typed expression.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A boolean constant.
    Bool(bool),
    /// An integer constant.
    Int(i64),
    /// A string constant.
    Str(String),
    /// A list built from elements.
    List(Vec<Expr>),
    /// A root document.
    Doc(DocKind),
    /// A parameter: index into [`Policy::params`].
    Param(usize),
    /// A local slot: a `let`, a quantifier or comprehension variable, a function parameter.
    Local(usize),
    /// A field of a record, by index in its schema.
    Field {
        /// The record.
        base: Box<Expr>,
        /// Index of the field in the record's schema.
        index: usize,
        /// The field's name, for explanations.
        name: &'static str,
    },
    /// `not e`
    Not(Box<Expr>),
    /// `-e` (overflow checked)
    Neg(Box<Expr>),
    /// `a and b` (short-circuit)
    And(Box<Expr>, Box<Expr>),
    /// `a or b` (short-circuit)
    Or(Box<Expr>, Box<Expr>),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Integer arithmetic.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// String concatenation.
    Concat(Box<Expr>, Box<Expr>),
    /// `elem in coll` (list or set)
    In(Box<Expr>, Box<Expr>),
    /// `subject matches pattern`
    Glob(Box<Expr>, GlobRef),
    /// `subject =~ regex`: index into [`Policy::regexes`]; unanchored search.
    Regex(Box<Expr>, usize),
    /// `opt ?? default`
    Coalesce(Box<Expr>, Box<Expr>),
    /// `some`/`all` over a list or set, the element bound to `slot`.
    Quant {
        /// `true` for `all`, `false` for `some`.
        all: bool,
        /// The element's slot.
        slot: usize,
        /// The collection.
        over: Box<Expr>,
        /// The condition.
        body: Box<Expr>,
        /// Whether the quantifier is in witness position: its matches each make a finding.
        witness: bool,
    },
    /// `[map for x in over where filter]`
    Comprehension {
        /// The element's slot.
        slot: usize,
        /// The collection.
        over: Box<Expr>,
        /// The value kept per element (the element itself when `None`).
        map: Option<Box<Expr>>,
        /// The condition.
        filter: Option<Box<Expr>>,
    },
    /// A builtin call.
    Builtin(Builtin, Vec<Expr>),
    /// A call of a helper function: index into [`Policy::fns`].
    Call(usize, Vec<Expr>),
}

/// A checked test.
#[derive(Debug, Clone)]
pub struct Test {
    /// The test's name.
    pub name: String,
    /// Where it is written.
    pub loc: Loc,
    /// The rules it evaluates: those of its own file.
    pub rules: Vec<usize>,
    /// The facts it gives: a JSON object with one member per `given`.
    pub facts: serde_json::Value,
    /// Span of each `given`, by document name, for reporting bad facts.
    pub given_spans: Vec<(String, Span)>,
    /// What it expects.
    pub expects: Vec<(Expect, Span)>,
}

/// A checked expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The outcome.
    Outcome(blastwall_abi::decision::Outcome),
    /// An unmet review requirement from this group (and count, when given).
    Review(String, Option<u32>),
    /// The rule fires (this many times, when given).
    Fires(usize, Option<u32>),
    /// The rule does not fire.
    Quiet(usize),
    /// Some finding has exactly this message.
    Message(String),
}
