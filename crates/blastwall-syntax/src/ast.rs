//! The syntax tree of a policy file.
//!
//! Every node carries a [`Span`] of `u32` byte offsets; spans never take part in equality, so
//! two trees parsed from differently laid-out sources compare equal when they mean the same.

use crate::span::Span;

/// A parsed policy file: its items in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// Rules, tests, functions and parameters, in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `rule name { … }`
    Rule(RuleDef),
    /// `test "name" { … }`
    Test(TestDef),
    /// `fn name(p: T) = expr`
    Fn(FnDef),
    /// `param name: T = literal`
    Param(ParamDef),
}

impl Item {
    /// The span of the whole item, doc comments included.
    pub fn span(&self) -> Span {
        match self {
            Item::Rule(r) => r.span,
            Item::Test(t) => t.span,
            Item::Fn(f) => f.span,
            Item::Param(p) => p.span,
        }
    }
}

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// A string literal.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    /// The value, escapes resolved.
    pub value: String,
    /// Whether it was written raw (`r"…"`): no escapes.
    pub raw: bool,
    /// Where it is written, quotes included.
    pub span: Span,
}

/// A message template: a string whose `{expr}` holes are filled in when a rule fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The string as written.
    pub lit: StrLit,
    /// Literal text and holes, in order.
    pub parts: Vec<TemplatePart>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text printed as is.
    Text(String),
    /// An expression whose value is printed.
    Hole(Expr),
}

/// `rule name { clauses }`
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// `///` lines before the rule, without the slashes.
    pub docs: Vec<String>,
    /// The rule's name.
    pub name: Ident,
    /// The clauses, in source order.
    pub clauses: Vec<Clause>,
    /// The whole rule.
    pub span: Span,
}

/// A clause of a rule, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What the clause says.
    pub kind: ClauseKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of rule clause.
#[derive(Debug, Clone, PartialEq)]
pub enum ClauseKind {
    /// `level advisory|soft|hard`
    Level(LevelName),
    /// `let name = expr`
    Let(Ident, Expr),
    /// `when expr`
    When(Expr),
    /// `deny ["message"]`
    Deny(Option<Template>),
    /// `warn ["message"]`
    Warn(Option<Template>),
    /// `require review [from expr] [count expr]`
    Review {
        /// The group whose approval is needed; anyone when absent.
        from: Option<Expr>,
        /// How many distinct approvals; one when absent.
        count: Option<Expr>,
    },
    /// `message "template"`
    Message(Template),
    /// `about expr`: what the finding is about (a path, an address).
    About(Expr),
}

/// An enforcement level as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelName {
    /// `advisory`
    Advisory,
    /// `soft`
    Soft,
    /// `hard`
    Hard,
}

impl LevelName {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            LevelName::Advisory => "advisory",
            LevelName::Soft => "soft",
            LevelName::Hard => "hard",
        }
    }
}

/// `test "name" { given …  expect … }`
#[derive(Debug, Clone, PartialEq)]
pub struct TestDef {
    /// `///` lines before the test.
    pub docs: Vec<String>,
    /// The test's name.
    pub name: StrLit,
    /// `given` and `expect` clauses in order.
    pub clauses: Vec<TestClause>,
    /// The whole test.
    pub span: Span,
}

/// A clause of a test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestClause {
    /// What it says.
    pub kind: TestClauseKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of test clause.
#[derive(Debug, Clone, PartialEq)]
pub enum TestClauseKind {
    /// `given doc literal`
    Given(Ident, Literal),
    /// `expect …`
    Expect(Expectation),
}

/// What a test expects of the decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `expect allow|warn|review|deny`: the outcome.
    Outcome(String),
    /// `expect review from "group" [count N]`: an unmet review requirement.
    Review {
        /// The group.
        from: StrLit,
        /// The number of approvals needed, when given.
        count: Option<i64>,
    },
    /// `expect fires rule [times N]`
    Fires {
        /// The rule.
        rule: Ident,
        /// How many findings, when given.
        times: Option<i64>,
    },
    /// `expect quiet rule`
    Quiet(Ident),
    /// `expect message "text"`: some finding has exactly this message.
    Message(StrLit),
}

/// A constant value in a `given` or a `param` default.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// The value.
    pub kind: LiteralKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of literal.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralKind {
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(StrLit),
    /// `[a, b]`
    List(Vec<Literal>),
    /// `{ key: value }`
    Record(Vec<(Ident, Literal)>),
}

/// `fn name(params) = body`
#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    /// `///` lines before the function.
    pub docs: Vec<String>,
    /// The function's name.
    pub name: Ident,
    /// Parameters and their types.
    pub params: Vec<(Ident, TypeExpr)>,
    /// The body.
    pub body: Expr,
    /// The whole definition.
    pub span: Span,
}

/// `param name: T = default`
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    /// `///` lines before the parameter.
    pub docs: Vec<String>,
    /// The parameter's name (read as `config.name`).
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// Its default.
    pub default: Literal,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// The base type.
    pub kind: TypeKind,
    /// Whether it ends in `?`.
    pub optional: bool,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of written type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `[T]`
    List(Box<TypeExpr>),
    /// `set<T>`
    Set(Box<TypeExpr>),
    /// `bool`, `int`, `str` or a record or enum name.
    Named(Ident),
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `true` / `false`
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A string literal (no interpolation outside messages).
    Str(StrLit),
    /// A variable, a document (`change`) or `config`.
    Name(Ident),
    /// `base.field`
    Field(Box<Expr>, Ident),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `[map for var in over where filter]`
    Comprehension {
        /// The value produced for each kept element.
        map: Box<Expr>,
        /// The element variable.
        var: Ident,
        /// The list iterated.
        over: Box<Expr>,
        /// The condition an element must meet.
        filter: Option<Box<Expr>>,
    },
    /// `some var in over: body` / `all var in over: body`
    Quant {
        /// `some` or `all`.
        kind: Quantifier,
        /// The element variable.
        var: Ident,
        /// The list iterated.
        over: Box<Expr>,
        /// The condition.
        body: Box<Expr>,
    },
    /// `name(args)`
    Call {
        /// The function.
        func: Ident,
        /// The arguments.
        args: Vec<Arg>,
    },
    /// A prefix operator.
    Unary(UnOp, Box<Expr>),
    /// An infix operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `( expr )`, kept so the formatter preserves the author's grouping.
    Paren(Box<Expr>),
}

/// A call argument, optionally named (`depth: 3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
}

/// `some` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// True when the body holds for at least one element; binds a witness.
    Some,
    /// True when the body holds for every element (and for none).
    All,
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
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
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `matches` (glob)
    Matches,
    /// `=~` (regular expression)
    Regex,
    /// `??`
    Coalesce,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Matches => "matches",
            BinOp::Regex => "=~",
            BinOp::Coalesce => "??",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// Binding power: higher binds tighter. `not` sits between `and` (2) and comparisons (4).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::In
            | BinOp::NotIn
            | BinOp::Matches
            | BinOp::Regex => 4,
            BinOp::Coalesce => 5,
            BinOp::Add | BinOp::Sub => 6,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 7,
        }
    }
}

/// The binding power of the `not` prefix.
pub const NOT_PRECEDENCE: u8 = 3;
/// The binding power of the `-` prefix.
pub const NEG_PRECEDENCE: u8 = 8;
