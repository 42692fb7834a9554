//! Name resolution and type checking: AST → IR.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use blastwall_abi::decision::{Level, Outcome};
use blastwall_abi::glob::Glob;
use blastwall_abi::schema::{self, DocKind, Record};
use blastwall_syntax::ast::{self, BinOp, ClauseKind, ExprKind as A, LevelName, UnOp};
use blastwall_syntax::{Diagnostic, Span};

use crate::ir::*;
use crate::suggest::closest;
use crate::ty::Type;

/// The longest chain of helper-function calls accepted (`a` calls `b` calls `c` …).
pub const MAX_CALL_DEPTH: usize = 16;
/// The largest compiled size of one regular expression, in bytes.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// A diagnostic and the file it is about.
#[derive(Debug, Clone)]
pub struct FileDiagnostic {
    /// Index into the sources given to [`check`].
    pub file: usize,
    /// The diagnostic.
    pub diagnostic: Diagnostic,
}

/// The result of checking: a policy when there were no errors, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    /// The policy, when no error was found.
    pub policy: Option<Policy>,
    /// Errors and warnings, in file then source order.
    pub diagnostics: Vec<FileDiagnostic>,
    /// The sources, for rendering diagnostics.
    pub sources: Vec<SourceFile>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.diagnostic.is_error())
    }

    /// Every diagnostic rendered for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            if let Some(src) = self.sources.get(d.file) {
                out.push_str(&d.diagnostic.render(&src.path, &src.text));
                out.push('\n');
            }
        }
        out
    }
}

/// Parse and check a set of policy files together.
pub fn check(sources: Vec<SourceFile>) -> Checked {
    let mut diags: Vec<FileDiagnostic> = Vec::new();
    let mut files = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let parsed = blastwall_syntax::parse(&src.text);
        diags.extend(parsed.errors.into_iter().map(|d| FileDiagnostic {
            file: i,
            diagnostic: d,
        }));
        files.push(parsed.file);
    }
    let mut cx = Checker {
        diags,
        params: Vec::new(),
        param_index: HashMap::new(),
        fn_index: HashMap::new(),
        fns: Vec::new(),
        globs: Vec::new(),
        regexes: Vec::new(),
        pattern_index: HashMap::new(),
        file: 0,
        sigs: None,
        declared_fns: std::collections::HashSet::new(),
    };
    cx.declare_params(&files);
    cx.check_fns(&files);
    let rules = cx.check_rules(&files);
    cx.check_glob_params();
    let tests = cx.check_tests(&files, &rules);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| (d.file, d.diagnostic.span.start));
    let failed = diagnostics.iter().any(|d| d.diagnostic.is_error());
    let policy = (!failed).then(|| Policy {
        sources: sources.clone(),
        params: cx.params,
        fns: cx.fns.into_iter().flatten().collect(),
        rules: rules.into_iter().map(|(_, r)| r).collect(),
        tests,
        globs: cx.globs,
        regexes: cx.regexes,
    });
    Checked {
        policy,
        diagnostics,
        sources,
    }
}

struct Checker {
    diags: Vec<FileDiagnostic>,
    params: Vec<Param>,
    param_index: HashMap<String, usize>,
    /// Function name → index into `fns` (assigned in dependency order).
    fn_index: HashMap<String, usize>,
    /// Checked functions; `None` for one whose body failed (calls still type-check).
    fns: Vec<Option<Function>>,
    globs: Vec<Glob>,
    regexes: Vec<String>,
    /// (kind, pattern) → index into `globs` or `regexes`, so each is compiled once.
    pattern_index: HashMap<(&'static str, String), usize>,
    /// The file being checked.
    file: usize,
    /// Signatures of checked functions, kept between phases.
    sigs: Option<HashMap<String, Sig>>,
    /// Names of every function declared, checked or not.
    declared_fns: std::collections::HashSet<String>,
}

/// A signature for calls: parameter types and result type.
struct Sig {
    params: Vec<Type>,
    ret: Type,
    reads: BTreeSet<DocKind>,
}

/// A variable in scope.
#[derive(Debug, Clone)]
struct Var {
    name: String,
    slot: usize,
    ty: Type,
    span: Span,
    /// For `let`s: whether anything reads it.
    used: bool,
    is_let: bool,
}

/// Per-body state: a rule's or a function's locals.
#[derive(Default)]
struct Body {
    scope: Vec<Var>,
    slots: usize,
    reads: BTreeSet<DocKind>,
    /// Witness variables bound by `some` in witness position, in binding order.
    witnesses: Vec<Var>,
    /// Slots read while checking the current effect clause.
    touched: BTreeSet<usize>,
    /// The name bound to each slot.
    names: Vec<String>,
}

impl Body {
    fn bind(&mut self, name: &str, ty: Type, span: Span, is_let: bool) -> usize {
        let slot = self.slots;
        self.slots += 1;
        self.names.push(name.to_string());
        self.scope.push(Var {
            name: name.to_string(),
            slot,
            ty,
            span,
            used: false,
            is_let,
        });
        slot
    }

    fn lookup(&mut self, name: &str) -> Option<(usize, Type)> {
        let var = self.scope.iter_mut().rev().find(|v| v.name == name)?;
        var.used = true;
        self.touched.insert(var.slot);
        Some((var.slot, var.ty.clone()))
    }
}

const RESERVED: [&str; 6] = [
    "change",
    "plan",
    "action",
    "topology",
    "config",
    "overrides",
];

/// The diagnostic for patterns (`n` globs, one list) that cannot be compiled to automata
/// within the builder's limits: short, whatever the size of the list, and saying what to do.
fn pattern_too_large(e: &blastwall_abi::dfa::DfaError, n: usize, span: Span) -> Diagnostic {
    use blastwall_abi::dfa::{DfaError, MAX_STATES, MAX_WORK};
    match e {
        DfaError::TooCostly { .. } => {
            let what = if n == 1 {
                "this glob takes".to_string()
            } else {
                format!("these {n} globs take")
            };
            Diagnostic::error(
                "limit",
                format!("{what} more than the limit of {MAX_WORK} steps to compile"),
                span,
            )
            .with_help(
                "split the list into several, or use fewer wildcards (`*`, `?`, `**`) in each glob",
            )
        }
        DfaError::TooLarge { pattern } => Diagnostic::error(
            "limit",
            format!(
                "glob `{}` needs an automaton larger than the limit of {MAX_STATES} states",
                brief(pattern)
            ),
            span,
        )
        .with_help("use fewer `?` and `*` in a row"),
        other => Diagnostic::error("glob", brief(&other.to_string()), span),
    }
}

/// `text` cut to 200 characters, with a mark where it was cut.
fn brief(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}

impl Checker {
    /// The defaults of parameters used as globs compile to automata, as `build` compiles them:
    /// a default `build` would refuse is refused here, where `test` and `eval` see it too.
    fn check_glob_params(&mut self) {
        let mut found = Vec::new();
        for p in self.params.iter().filter(|p| p.glob) {
            let patterns = blastwall_abi::dfa::param_patterns(&p.default);
            if let Err(e) = blastwall_abi::dfa::glob_list_dfas_shared(&patterns) {
                let mut d = pattern_too_large(&e, patterns.len(), p.loc.span);
                d.message = format!("parameter `config.{}`: {}", p.name, d.message);
                found.push(FileDiagnostic {
                    file: p.loc.file,
                    diagnostic: d,
                });
            }
        }
        self.diags.extend(found);
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(FileDiagnostic {
            file: self.file,
            diagnostic: d,
        });
    }

    fn loc(&self, span: Span) -> Loc {
        Loc {
            file: self.file,
            span,
        }
    }

    // ------------------------------------------------------------------ types

    fn resolve_type(&mut self, t: &ast::TypeExpr) -> Type {
        let base = match &t.kind {
            ast::TypeKind::List(inner) => Type::List(Box::new(self.resolve_type(inner))),
            ast::TypeKind::Set(inner) => Type::Set(Box::new(self.resolve_type(inner))),
            ast::TypeKind::Named(id) => match id.name.as_str() {
                "bool" => Type::Bool,
                "int" => Type::Int,
                "str" => Type::Str,
                name => {
                    if let Some(r) = schema::ALL_RECORDS.iter().find(|r| r.name == name) {
                        Type::Record(r)
                    } else if let Some(e) = schema::ALL_ENUMS.iter().find(|e| e.name == name) {
                        Type::Enum(e)
                    } else {
                        let names = ["bool", "int", "str"]
                            .into_iter()
                            .chain(schema::ALL_RECORDS.iter().map(|r| r.name))
                            .chain(schema::ALL_ENUMS.iter().map(|e| e.name));
                        let mut d = Diagnostic::error(
                            "unknown-type",
                            format!("unknown type `{name}`"),
                            id.span,
                        );
                        if let Some(s) = closest(name, names) {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.error(d);
                        Type::Error
                    }
                }
            },
        };
        if t.optional {
            Type::Optional(Box::new(base))
        } else {
            base
        }
    }

    // ------------------------------------------------------------------ params

    fn declare_params(&mut self, files: &[ast::File]) {
        for (fi, file) in files.iter().enumerate() {
            self.file = fi;
            for item in &file.items {
                let ast::Item::Param(p) = item else { continue };
                let ty = self.resolve_type(&p.ty);
                if !matches!(
                    strip_list(&ty),
                    Type::Bool | Type::Int | Type::Str | Type::Error
                ) {
                    self.error(
                        Diagnostic::error(
                            "param-type",
                            format!("parameter `{}` has type `{ty}`", p.name.name),
                            p.ty.span,
                        )
                        .with_help("parameters are `bool`, `int`, `str` or lists of them"),
                    );
                    continue;
                }
                let Some(default) = self.literal_json(&p.default, &ty) else {
                    continue;
                };
                if let Some(&existing) = self.param_index.get(&p.name.name) {
                    let same = self
                        .params
                        .get(existing)
                        .is_some_and(|e| e.ty == ty && e.default == default);
                    if !same {
                        self.error(
                            Diagnostic::error(
                                "duplicate-param",
                                format!("parameter `{}` is declared again with another type or default", p.name.name),
                                p.name.span,
                            )
                            .with_help("declare a parameter once, or identically in every file that needs it"),
                        );
                    }
                    continue;
                }
                self.param_index
                    .insert(p.name.name.clone(), self.params.len());
                self.params.push(Param {
                    name: p.name.name.clone(),
                    ty,
                    default,
                    doc: p.docs.clone(),
                    loc: self.loc(p.span),
                    glob: false,
                });
            }
        }
    }

    /// A literal as JSON, checked against `ty`.
    fn literal_json(&mut self, lit: &ast::Literal, ty: &Type) -> Option<serde_json::Value> {
        use ast::LiteralKind as L;
        let mismatch = |cx: &mut Checker, what: &str| {
            cx.error(Diagnostic::error(
                "type",
                format!("expected a value of type `{ty}`, found {what}"),
                lit.span,
            ));
            None
        };
        match (&lit.kind, ty) {
            (_, Type::Error) => None,
            (L::Bool(b), Type::Bool) => Some(serde_json::Value::Bool(*b)),
            (L::Int(i), Type::Int) => Some(serde_json::Value::from(*i)),
            (L::Str(s), Type::Str) => Some(serde_json::Value::String(s.value.clone())),
            (L::List(items), Type::List(elem)) => {
                let mut out = Vec::new();
                for item in items {
                    out.push(self.literal_json(item, elem)?);
                }
                Some(serde_json::Value::Array(out))
            }
            (L::Bool(_), _) => mismatch(self, "a boolean"),
            (L::Int(_), _) => mismatch(self, "an integer"),
            (L::Str(_), _) => mismatch(self, "a string"),
            (L::List(_), _) => mismatch(self, "a list"),
            (L::Record(_), _) => mismatch(self, "a record"),
        }
    }

    // ------------------------------------------------------------------ functions

    fn check_fns(&mut self, files: &[ast::File]) {
        // Gather every definition, reject duplicates, then check callees before callers.
        let mut defs: Vec<(usize, &ast::FnDef)> = Vec::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (fi, file) in files.iter().enumerate() {
            self.file = fi;
            for item in &file.items {
                let ast::Item::Fn(f) = item else { continue };
                if Builtin::from_name(&f.name.name).is_some() {
                    self.error(Diagnostic::error(
                        "duplicate-fn",
                        format!("function `{}` has the name of a builtin", f.name.name),
                        f.name.span,
                    ));
                    continue;
                }
                if by_name.contains_key(f.name.name.as_str()) {
                    self.error(Diagnostic::error(
                        "duplicate-fn",
                        format!("function `{}` is defined twice", f.name.name),
                        f.name.span,
                    ));
                    continue;
                }
                self.declared_fns.insert(f.name.name.clone());
                by_name.insert(&f.name.name, defs.len());
                defs.push((fi, f));
            }
        }
        // Depth-first order with cycle detection; the call chain length is bounded too.
        let calls: Vec<Vec<usize>> = defs
            .iter()
            .map(|(_, f)| {
                let mut names = Vec::new();
                called_names(&f.body, &mut names);
                names
                    .iter()
                    .filter_map(|n| by_name.get(n.as_str()).copied())
                    .collect()
            })
            .collect();
        let mut state = vec![0u8; defs.len()]; // 0 new, 1 on stack, 2 done
        let mut height = vec![0usize; defs.len()];
        let mut order = Vec::new();
        for start in 0..defs.len() {
            if state.get(start) != Some(&0) {
                continue;
            }
            // Iterative DFS: (node, next child index).
            let mut stack = vec![(start, 0usize)];
            if let Some(s) = state.get_mut(start) {
                *s = 1;
            }
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let children = calls.get(node).map_or(&[][..], Vec::as_slice);
                if let Some(&child) = children.get(*next) {
                    *next += 1;
                    match state.get(child) {
                        Some(0) => {
                            if let Some(s) = state.get_mut(child) {
                                *s = 1;
                            }
                            stack.push((child, 0));
                        }
                        Some(1) => {
                            let cycle: Vec<&str> = stack
                                .iter()
                                .skip_while(|(n, _)| *n != child)
                                .filter_map(|(n, _)| {
                                    defs.get(*n).map(|(_, f)| f.name.name.as_str())
                                })
                                .chain(defs.get(child).map(|(_, f)| f.name.name.as_str()))
                                .collect();
                            if let Some((fi, f)) = defs.get(node) {
                                self.file = *fi;
                                let span = f.name.span;
                                self.error(
                                    Diagnostic::error(
                                        "recursion",
                                        format!("recursion is not allowed: {}", cycle.join(" → ")),
                                        span,
                                    )
                                    .with_help(
                                        "the language is total: every evaluation must terminate",
                                    ),
                                );
                            }
                        }
                        _ => {}
                    }
                } else {
                    stack.pop();
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    let h = children
                        .iter()
                        .filter_map(|c| height.get(*c))
                        .max()
                        .map_or(1, |h| h + 1);
                    if let Some(x) = height.get_mut(node) {
                        *x = h;
                    }
                    order.push(node);
                }
            }
        }
        let mut sigs: HashMap<String, Sig> = HashMap::new();
        for node in order {
            let Some(&(fi, f)) = defs.get(node) else {
                continue;
            };
            self.file = fi;
            if height.get(node).copied().unwrap_or(0) > MAX_CALL_DEPTH {
                self.error(Diagnostic::error(
                    "limit",
                    format!("function `{}` starts a chain of calls longer than the limit of {MAX_CALL_DEPTH}", f.name.name),
                    f.name.span,
                ));
                continue;
            }
            let mut body = Body::default();
            let mut params = Vec::new();
            for (name, ty) in &f.params {
                let t = self.resolve_type(ty);
                self.check_binding_name(&body, name);
                body.bind(&name.name, t.clone(), name.span, false);
                params.push((name.name.clone(), t));
            }
            let expr = self.expr(&f.body, &mut body, &sigs, false);
            let index = self.fns.len();
            self.fn_index.insert(f.name.name.clone(), index);
            sigs.insert(
                f.name.name.clone(),
                Sig {
                    params: params.iter().map(|(_, t)| t.clone()).collect(),
                    ret: expr.ty.clone(),
                    reads: body.reads.clone(),
                },
            );
            self.fns.push(Some(Function {
                name: f.name.name.clone(),
                ret: expr.ty.clone(),
                params,
                body: expr,
                slots: body.slots,
                loc: self.loc(f.span),
            }));
        }
        self.sigs = Some(sigs);
    }

    // ------------------------------------------------------------------ rules

    fn check_rules(&mut self, files: &[ast::File]) -> Vec<(usize, Rule)> {
        let sigs = self.sigs.take().unwrap_or_default();
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut out = Vec::new();
        for (fi, file) in files.iter().enumerate() {
            self.file = fi;
            for item in &file.items {
                let ast::Item::Rule(r) = item else { continue };
                if seen.insert(r.name.name.clone(), ()).is_some() {
                    self.error(Diagnostic::error(
                        "duplicate-rule",
                        format!("rule `{}` is defined twice", r.name.name),
                        r.name.span,
                    ));
                    continue;
                }
                if let Some(rule) = self.check_rule(r, &sigs) {
                    out.push((fi, rule));
                }
            }
        }
        self.sigs = Some(sigs);
        out
    }

    fn check_rule(&mut self, r: &ast::RuleDef, sigs: &HashMap<String, Sig>) -> Option<Rule> {
        let mut body = Body::default();
        let mut level = None;
        let mut when: Option<Expr> = None;
        let mut effect: Option<(Effect, Span)> = None;
        let mut message: Option<Template> = None;
        let mut about = None;
        let mut lets = Vec::new();
        let mut witness: BTreeSet<usize> = BTreeSet::new();
        let mut failed = false;
        // `when` is checked before the effect clauses whatever their order, because the
        // effect may mention its witnesses; `let`s are checked in order before `when`.
        let clauses: Vec<&ast::Clause> = r.clauses.iter().collect();
        for c in &clauses {
            match &c.kind {
                ClauseKind::Level(l) => {
                    if level.is_some() {
                        self.error(Diagnostic::error(
                            "duplicate-clause",
                            "`level` is given twice",
                            c.span,
                        ));
                    }
                    level = Some(match l {
                        LevelName::Advisory => Level::Advisory,
                        LevelName::Soft => Level::Soft,
                        LevelName::Hard => Level::Hard,
                    });
                }
                ClauseKind::Let(name, value) => {
                    if when.is_some() {
                        self.error(
                            Diagnostic::error("let-order", "`let` after `when`", c.span)
                                .with_help("put `let` bindings before `when`"),
                        );
                    }
                    let e = self.expr(value, &mut body, sigs, false);
                    self.check_binding_name(&body, name);
                    let slot = body.bind(&name.name, e.ty.clone(), name.span, true);
                    lets.push((slot, e));
                }
                ClauseKind::When(cond) => {
                    if when.is_some() {
                        self.error(
                            Diagnostic::error("duplicate-clause", "`when` is given twice", c.span)
                                .with_help("join conditions with `and` or `or`"),
                        );
                        continue;
                    }
                    let errors_before = self.diags.len();
                    let e = self.expr(cond, &mut body, sigs, true);
                    let clean = self.diags.len() == errors_before;
                    if !e.ty.is_bool() {
                        self.error(Diagnostic::error(
                            "type",
                            format!("`when` needs a `bool`, found `{}`", e.ty),
                            cond.span,
                        ));
                        failed = true;
                    } else if clean && is_constant(&e) {
                        self.error(
                            Diagnostic::error("constant-condition", "this condition does not depend on any fact", cond.span)
                                .with_label("always the same")
                                .with_help("a rule's condition must read `change`, `plan`, `action`, `topology` or `config`"),
                        );
                    }
                    when = Some(e);
                }
                _ => {}
            }
        }
        // Witness variables are visible to the effect clauses.
        let witnesses = std::mem::take(&mut body.witnesses);
        for w in &witnesses {
            body.scope.push(w.clone());
        }
        for c in &clauses {
            body.touched.clear();
            match &c.kind {
                ClauseKind::Deny(msg) | ClauseKind::Warn(msg) => {
                    if effect.is_some() {
                        self.error(
                            Diagnostic::error("duplicate-clause", "a rule has one effect", c.span)
                                .with_help("split it into two rules"),
                        );
                        continue;
                    }
                    let eff = if matches!(c.kind, ClauseKind::Deny(_)) {
                        Effect::Deny
                    } else {
                        Effect::Warn
                    };
                    effect = Some((eff, c.span));
                    if let Some(t) = msg {
                        message = Some(self.template(t, &mut body, sigs));
                    }
                }
                ClauseKind::Review { from, count } => {
                    if effect.is_some() {
                        self.error(
                            Diagnostic::error("duplicate-clause", "a rule has one effect", c.span)
                                .with_help("split it into two rules"),
                        );
                        continue;
                    }
                    let from = from.as_ref().map(|f| {
                        let e = self.expr(f, &mut body, sigs, false);
                        if !e.ty.is_stringy() {
                            self.error(Diagnostic::error(
                                "type",
                                format!("`from` needs a group name (`str`), found `{}`", e.ty),
                                f.span,
                            ));
                        }
                        e
                    });
                    let count = count.as_ref().map(|n| {
                        let e = self.expr(n, &mut body, sigs, false);
                        if !e.ty.is_int() {
                            self.error(Diagnostic::error(
                                "type",
                                format!("`count` needs an `int`, found `{}`", e.ty),
                                n.span,
                            ));
                        } else if let ExprKind::Int(v) = e.kind
                            && !(1..=100).contains(&v)
                        {
                            self.error(
                                Diagnostic::error(
                                    "range",
                                    format!("a review count of `{v}` is out of range"),
                                    n.span,
                                )
                                .with_help("ask for between 1 and 100 approvals"),
                            );
                        }
                        e
                    });
                    effect = Some((Effect::Review { from, count }, c.span));
                }
                ClauseKind::Message(t) => {
                    if message.is_some() {
                        self.error(Diagnostic::error(
                            "duplicate-clause",
                            "the message is given twice",
                            c.span,
                        ));
                        continue;
                    }
                    message = Some(self.template(t, &mut body, sigs));
                }
                ClauseKind::About(e) => {
                    let x = self.expr(e, &mut body, sigs, false);
                    if !x.ty.is_stringy() {
                        self.error(Diagnostic::error(
                            "type",
                            format!(
                                "`about` needs a `str` (a path or an address), found `{}`",
                                x.ty
                            ),
                            e.span,
                        ));
                    }
                    about = Some(x);
                }
                _ => continue,
            }
            witness.extend(
                body.touched
                    .iter()
                    .filter(|s| witnesses.iter().any(|w| w.slot == **s)),
            );
        }
        for v in body.scope.iter().filter(|v| v.is_let && !v.used) {
            let d = Diagnostic::error("unused-let", format!("`{}` is never used", v.name), v.span)
                .with_help("remove the `let`, or use it in the condition or the message");
            self.diags.push(FileDiagnostic {
                file: self.file,
                diagnostic: d,
            });
        }
        let Some(when) = when else {
            self.error(
                Diagnostic::error(
                    "missing-clause",
                    format!("rule `{}` has no `when`", r.name.name),
                    r.name.span,
                )
                .with_help("say when the rule fires: `when <condition>`"),
            );
            return None;
        };
        let Some((effect, _)) = effect else {
            self.error(
                Diagnostic::error(
                    "missing-clause",
                    format!("rule `{}` has no effect", r.name.name),
                    r.name.span,
                )
                .with_help("add `deny`, `warn` or `require review`"),
            );
            return None;
        };
        if failed {
            return None;
        }
        Some(Rule {
            name: r.name.name.clone(),
            doc: r.docs.clone(),
            level: level.unwrap_or(Level::Hard),
            lets,
            when,
            effect,
            message,
            about,
            witness: witness.into_iter().collect(),
            reads: body.reads,
            slots: body.slots,
            slot_names: body.names,
            loc: self.loc(r.name.span),
        })
    }

    fn template(
        &mut self,
        t: &ast::Template,
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
    ) -> Template {
        let mut parts = Vec::new();
        for p in &t.parts {
            match p {
                ast::TemplatePart::Text(s) => parts.push(TemplatePart::Text(s.clone())),
                ast::TemplatePart::Hole(e) => {
                    let x = self.expr(e, body, sigs, false);
                    if matches!(x.ty, Type::Record(_)) {
                        self.error(
                            Diagnostic::error(
                                "type",
                                format!("a message cannot show a whole `{}`", x.ty),
                                e.span,
                            )
                            .with_help("name one of its fields"),
                        );
                    }
                    parts.push(TemplatePart::Hole(x));
                }
            }
        }
        Template { parts }
    }

    fn check_binding_name(&mut self, body: &Body, name: &ast::Ident) {
        if RESERVED.contains(&name.name.as_str()) {
            self.error(Diagnostic::error(
                "shadowing",
                format!("`{}` is a document name and cannot be rebound", name.name),
                name.span,
            ));
        } else if body
            .scope
            .iter()
            .chain(&body.witnesses)
            .any(|v| v.name == name.name)
        {
            self.error(
                Diagnostic::error(
                    "shadowing",
                    format!("`{}` is already bound", name.name),
                    name.span,
                )
                .with_help("choose another name"),
            );
        }
    }

    // ------------------------------------------------------------------ tests

    fn check_tests(&mut self, files: &[ast::File], rules: &[(usize, Rule)]) -> Vec<Test> {
        let mut out = Vec::new();
        for (fi, file) in files.iter().enumerate() {
            self.file = fi;
            let in_file: Vec<usize> = rules
                .iter()
                .enumerate()
                .filter(|(_, (f, _))| *f == fi)
                .map(|(i, _)| i)
                .collect();
            let declared: Vec<&str> = file
                .items
                .iter()
                .filter_map(|i| match i {
                    ast::Item::Rule(r) => Some(r.name.name.as_str()),
                    _ => None,
                })
                .collect();
            for item in &file.items {
                let ast::Item::Test(t) = item else { continue };
                let mut facts = serde_json::Map::new();
                let mut given_spans = Vec::new();
                let mut expects = Vec::new();
                for c in &t.clauses {
                    match &c.kind {
                        ast::TestClauseKind::Given(doc, lit) => {
                            if facts.contains_key(&doc.name) {
                                self.error(Diagnostic::error(
                                    "duplicate-given",
                                    format!("`{}` is given twice", doc.name),
                                    c.span,
                                ));
                                continue;
                            }
                            facts.insert(doc.name.clone(), literal_to_json(lit));
                            given_spans.push((doc.name.clone(), lit.span));
                        }
                        ast::TestClauseKind::Expect(e) => {
                            if let Some(x) = self.expectation(e, rules, &in_file, &declared, c.span)
                            {
                                expects.push((x, c.span));
                            }
                        }
                    }
                }
                let wrote_expect = t
                    .clauses
                    .iter()
                    .any(|c| matches!(c.kind, ast::TestClauseKind::Expect(_)));
                if !wrote_expect {
                    self.error(
                        Diagnostic::error("empty-test", format!("test `{}` expects nothing", t.name.value), t.name.span)
                            .with_help("add `expect <outcome>`, `expect fires <rule>` or `expect quiet <rule>`"),
                    );
                }
                out.push(Test {
                    name: t.name.value.clone(),
                    loc: self.loc(t.span),
                    rules: in_file.clone(),
                    facts: serde_json::Value::Object(facts),
                    given_spans,
                    expects,
                });
            }
        }
        out
    }

    fn expectation(
        &mut self,
        e: &ast::Expectation,
        rules: &[(usize, Rule)],
        in_file: &[usize],
        declared: &[&str],
        span: Span,
    ) -> Option<Expect> {
        let rule_index = |cx: &mut Checker, id: &ast::Ident| -> Option<usize> {
            let found = in_file
                .iter()
                .copied()
                .find(|i| rules.get(*i).is_some_and(|(_, r)| r.name == id.name));
            // A rule that is declared but failed to check has its own errors already.
            if found.is_none() && !declared.contains(&id.name.as_str()) {
                let names = in_file
                    .iter()
                    .filter_map(|i| rules.get(*i))
                    .map(|(_, r)| r.name.as_str());
                let mut d = Diagnostic::error(
                    "unknown-rule",
                    format!("no rule `{}` in this file", id.name),
                    id.span,
                );
                d = match closest(&id.name, names) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help("a test evaluates the rules of its own file"),
                };
                cx.error(d);
            }
            found
        };
        let count = |cx: &mut Checker, n: Option<i64>| -> Option<Option<u32>> {
            match n {
                None => Some(None),
                Some(v) => match u32::try_from(v) {
                    Ok(v) => Some(Some(v)),
                    Err(_) => {
                        cx.error(Diagnostic::error(
                            "range",
                            format!("`{v}` is not a count"),
                            span,
                        ));
                        None
                    }
                },
            }
        };
        Some(match e {
            ast::Expectation::Outcome(o) => Expect::Outcome(match o.as_str() {
                "allow" => Outcome::Allow,
                "warn" => Outcome::Warn,
                "review" => Outcome::Review,
                _ => Outcome::Deny,
            }),
            ast::Expectation::Review { from, count: n } => {
                Expect::Review(from.value.clone(), count(self, *n)?)
            }
            ast::Expectation::Fires { rule, times } => {
                let i = rule_index(self, rule)?;
                Expect::Fires(i, count(self, *times)?)
            }
            ast::Expectation::Quiet(rule) => Expect::Quiet(rule_index(self, rule)?),
            ast::Expectation::Message(m) => Expect::Message(m.value.clone()),
        })
    }
}

fn strip_list(t: &Type) -> &Type {
    match t {
        Type::List(inner) => inner,
        other => other,
    }
}

fn literal_to_json(lit: &ast::Literal) -> serde_json::Value {
    use ast::LiteralKind as L;
    match &lit.kind {
        L::Bool(b) => serde_json::Value::Bool(*b),
        L::Int(i) => serde_json::Value::from(*i),
        L::Str(s) => serde_json::Value::String(s.value.clone()),
        L::List(items) => serde_json::Value::Array(items.iter().map(literal_to_json).collect()),
        L::Record(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.name.clone(), literal_to_json(v)))
                .collect(),
        ),
    }
}

fn called_names(e: &ast::Expr, out: &mut Vec<String>) {
    match &e.kind {
        A::Call { func, args } => {
            out.push(func.name.clone());
            for a in args {
                called_names(&a.value, out);
            }
        }
        A::Field(b, _) | A::Unary(_, b) | A::Paren(b) => called_names(b, out),
        A::Binary(_, l, r) => {
            called_names(l, out);
            called_names(r, out);
        }
        A::List(items) => items.iter().for_each(|i| called_names(i, out)),
        A::Comprehension {
            map, over, filter, ..
        } => {
            called_names(map, out);
            called_names(over, out);
            if let Some(f) = filter {
                called_names(f, out);
            }
        }
        A::Quant { over, body, .. } => {
            called_names(over, out);
            called_names(body, out);
        }
        A::Bool(_) | A::Int(_) | A::Str(_) | A::Name(_) => {}
    }
}

/// Whether an expression reads no fact at all.
fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Str(_) => true,
        ExprKind::Doc(_) | ExprKind::Param(_) | ExprKind::Local(_) | ExprKind::Call(..) => false,
        ExprKind::List(items) => items.iter().all(is_constant),
        ExprKind::Field { base, .. } => is_constant(base),
        ExprKind::Not(a) | ExprKind::Neg(a) => is_constant(a),
        ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::Arith(_, a, b)
        | ExprKind::Concat(a, b)
        | ExprKind::In(a, b)
        | ExprKind::Coalesce(a, b) => is_constant(a) && is_constant(b),
        ExprKind::Glob(a, g) => {
            is_constant(a)
                && match g {
                    GlobRef::Const(_) => true,
                    GlobRef::Dynamic(p) => is_constant(p),
                }
        }
        ExprKind::Regex(a, _) => is_constant(a),
        ExprKind::Quant { over, .. } | ExprKind::Comprehension { over, .. } => is_constant(over),
        ExprKind::Builtin(_, args) => args.iter().all(is_constant),
    }
}

// ---------------------------------------------------------------------- expressions

impl Checker {
    fn expr(
        &mut self,
        e: &ast::Expr,
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
        witness: bool,
    ) -> Expr {
        let span = e.span;
        let mk = |kind: ExprKind, ty: Type| Expr { kind, ty, span };
        match &e.kind {
            A::Bool(b) => mk(ExprKind::Bool(*b), Type::Bool),
            A::Int(i) => mk(ExprKind::Int(*i), Type::Int),
            A::Str(s) => mk(ExprKind::Str(s.value.clone()), Type::Str),
            A::Paren(inner) => self.expr(inner, body, sigs, witness),
            A::Name(id) => self.name(id, body),
            A::Field(base, field) => self.field(base, field, body, sigs, span),
            A::List(items) => {
                let mut out = Vec::new();
                let mut elem = Type::Any;
                for item in items {
                    let x = self.expr(item, body, sigs, false);
                    match elem.join(&x.ty) {
                        Some(t) => elem = t,
                        None => {
                            self.error(Diagnostic::error(
                                "type",
                                format!("list elements differ in type: `{elem}` and `{}`", x.ty),
                                item.span,
                            ));
                            elem = Type::Error;
                        }
                    }
                    out.push(x);
                }
                mk(ExprKind::List(out), Type::List(Box::new(elem)))
            }
            A::Unary(UnOp::Not, inner) => {
                let x = self.expr(inner, body, sigs, false);
                self.want_bool(&x, inner.span, "`not`");
                mk(ExprKind::Not(Box::new(x)), Type::Bool)
            }
            A::Unary(UnOp::Neg, inner) => {
                let x = self.expr(inner, body, sigs, false);
                self.want_int(&x, inner.span, "`-`");
                mk(ExprKind::Neg(Box::new(x)), Type::Int)
            }
            A::Binary(op, l, r) => self.binary(*op, l, r, body, sigs, witness, span),
            A::Quant {
                kind,
                var,
                over,
                body: cond,
            } => {
                let o = self.expr(over, body, sigs, false);
                let elem = self.element_of(&o, over.span);
                self.check_binding_name(body, var);
                let slot = body.bind(&var.name, elem.clone(), var.span, false);
                let is_witness = witness && *kind == ast::Quantifier::Some;
                let b = self.expr(cond, body, sigs, is_witness);
                self.want_bool(&b, cond.span, "a quantifier's condition");
                // The variable leaves scope; a witness stays visible to the effect clauses.
                if let Some(pos) = body.scope.iter().rposition(|v| v.slot == slot) {
                    let v = body.scope.remove(pos);
                    if is_witness {
                        body.witnesses.push(v);
                    }
                }
                mk(
                    ExprKind::Quant {
                        all: *kind == ast::Quantifier::All,
                        slot,
                        over: Box::new(o),
                        body: Box::new(b),
                        witness: is_witness,
                    },
                    Type::Bool,
                )
            }
            A::Comprehension {
                map,
                var,
                over,
                filter,
            } => {
                let o = self.expr(over, body, sigs, false);
                let elem = self.element_of(&o, over.span);
                self.check_binding_name(body, var);
                let slot = body.bind(&var.name, elem, var.span, false);
                let f = filter.as_ref().map(|f| {
                    let x = self.expr(f, body, sigs, false);
                    self.want_bool(&x, f.span, "`where`");
                    Box::new(x)
                });
                let m = self.expr(map, body, sigs, false);
                if let Some(pos) = body.scope.iter().rposition(|v| v.slot == slot) {
                    body.scope.remove(pos);
                }
                let ty = Type::List(Box::new(m.ty.clone()));
                let map = if matches!(m.kind, ExprKind::Local(s) if s == slot) {
                    None
                } else {
                    Some(Box::new(m))
                };
                mk(
                    ExprKind::Comprehension {
                        slot,
                        over: Box::new(o),
                        map,
                        filter: f,
                    },
                    ty,
                )
            }
            A::Call { func, args } => self.call(func, args, body, sigs, span),
        }
    }

    fn want_bool(&mut self, x: &Expr, span: Span, what: &str) {
        if !x.ty.is_bool() {
            self.error(Diagnostic::error(
                "type",
                format!("{what} needs a `bool`, found `{}`", x.ty),
                span,
            ));
        }
    }

    fn want_int(&mut self, x: &Expr, span: Span, what: &str) {
        if !x.ty.is_int() {
            self.error(Diagnostic::error(
                "type",
                format!("{what} needs an `int`, found `{}`", x.ty),
                span,
            ));
        }
    }

    fn element_of(&mut self, coll: &Expr, span: Span) -> Type {
        match &coll.ty {
            Type::List(t) | Type::Set(t) => (**t).clone(),
            Type::Error | Type::Any => Type::Error,
            Type::Optional(_) => {
                self.error(optional_misuse(&coll.ty, span));
                Type::Error
            }
            other => {
                self.error(Diagnostic::error(
                    "type",
                    format!("expected a list or set, found `{other}`"),
                    span,
                ));
                Type::Error
            }
        }
    }

    fn name(&mut self, id: &ast::Ident, body: &mut Body) -> Expr {
        let span = id.span;
        if let Some((slot, ty)) = body.lookup(&id.name) {
            return Expr {
                kind: ExprKind::Local(slot),
                ty,
                span,
            };
        }
        if let Some(doc) = DocKind::from_name(&id.name) {
            if let Some(record) = doc.record() {
                body.reads.insert(doc);
                return Expr {
                    kind: ExprKind::Doc(doc),
                    ty: Type::Record(record),
                    span,
                };
            }
            self.error(
                Diagnostic::error("config", "`config` is read one parameter at a time", span)
                    .with_help("write `config.<parameter>`"),
            );
            return Expr {
                kind: ExprKind::Bool(false),
                ty: Type::Error,
                span,
            };
        }
        let names: Vec<String> = body
            .scope
            .iter()
            .map(|v| v.name.clone())
            .chain(["change", "plan", "action", "topology", "config"].map(String::from))
            .collect();
        let mut d = Diagnostic::error("unknown-name", format!("unknown name `{}`", id.name), span);
        if let Some(s) = closest(&id.name, names.iter().map(String::as_str)) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if body.witnesses.iter().any(|w| w.name == id.name) {
            d = d.with_help("only `some` quantifiers joined by `and` at the top of `when` bind names for the rest of the rule");
        }
        self.error(d);
        Expr {
            kind: ExprKind::Bool(false),
            ty: Type::Error,
            span,
        }
    }

    fn field(
        &mut self,
        base: &ast::Expr,
        field: &ast::Ident,
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
        span: Span,
    ) -> Expr {
        let err_expr = Expr {
            kind: ExprKind::Bool(false),
            ty: Type::Error,
            span,
        };
        // `config.name` is a parameter.
        if let A::Name(id) = &base.kind
            && id.name == "config"
            && body.lookup("config").is_none()
        {
            return match self.param_index.get(&field.name) {
                Some(&i) => Expr {
                    kind: ExprKind::Param(i),
                    ty: self.params.get(i).map_or(Type::Error, |p| p.ty.clone()),
                    span,
                },
                None => {
                    let mut d = Diagnostic::error(
                        "unknown-param",
                        format!("unknown parameter `config.{}`", field.name),
                        field.span,
                    );
                    d = match closest(&field.name, self.params.iter().map(|p| p.name.as_str())) {
                        Some(s) => d.with_help(format!("did you mean `config.{s}`?")),
                        None => {
                            d.with_help(format!("declare it: `param {}: str = \"…\"`", field.name))
                        }
                    };
                    self.error(d);
                    err_expr
                }
            };
        }
        let b = self.expr(base, body, sigs, false);
        let (record, optional): (&'static Record, bool) = match &b.ty {
            Type::Record(r) => (r, false),
            Type::Optional(inner) => match &**inner {
                Type::Record(r) => (r, true),
                _ => {
                    self.error(optional_misuse(&b.ty, base.span));
                    return err_expr;
                }
            },
            Type::Error => return err_expr,
            other => {
                self.error(
                    Diagnostic::error("type", format!("`{other}` has no fields"), base.span)
                        .with_label(format!("has type `{other}`")),
                );
                return err_expr;
            }
        };
        let Some((index, f)) = record.field(&field.name) else {
            let mut d = Diagnostic::error(
                "unknown-field",
                format!("unknown field `{}` on `{}`", field.name, record.name),
                field.span,
            );
            if let Some(s) = closest(&field.name, record.fields.iter().map(|f| f.name)) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                let names: Vec<&str> = record.fields.iter().map(|f| f.name).collect();
                d = d.with_help(format!("`{}` has {}", record.name, names.join(", ")));
            }
            self.error(d);
            return err_expr;
        };
        let mut ty = Type::from_shape(&f.shape);
        if optional && !matches!(ty, Type::Optional(_)) {
            ty = Type::Optional(Box::new(ty));
        }
        Expr {
            kind: ExprKind::Field {
                base: Box::new(b),
                index,
                name: f.name,
            },
            ty,
            span,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &mut self,
        op: BinOp,
        l: &ast::Expr,
        r: &ast::Expr,
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
        witness: bool,
        span: Span,
    ) -> Expr {
        let mk = |kind: ExprKind, ty: Type| Expr { kind, ty, span };
        match op {
            BinOp::And | BinOp::Or => {
                let w = witness && op == BinOp::And;
                let a = self.expr(l, body, sigs, w);
                let b = self.expr(r, body, sigs, w);
                self.want_bool(&a, l.span, &format!("`{}`", op.as_str()));
                self.want_bool(&b, r.span, &format!("`{}`", op.as_str()));
                let kind = if op == BinOp::And {
                    ExprKind::And(Box::new(a), Box::new(b))
                } else {
                    ExprKind::Or(Box::new(a), Box::new(b))
                };
                mk(kind, Type::Bool)
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.expr(l, body, sigs, false);
                let b = self.expr(r, body, sigs, false);
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                if matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
                    self.check_comparable(&a, &b, l.span, r.span);
                } else {
                    self.want_int(&a, l.span, &format!("`{}`", op.as_str()));
                    self.want_int(&b, r.span, &format!("`{}`", op.as_str()));
                }
                mk(ExprKind::Cmp(cmp, Box::new(a), Box::new(b)), Type::Bool)
            }
            BinOp::In | BinOp::NotIn => {
                let a = self.expr(l, body, sigs, false);
                let b = self.expr(r, body, sigs, false);
                let elem = self.element_of(&b, r.span);
                if matches!(a.ty, Type::Optional(_)) {
                    self.error(optional_misuse(&a.ty, l.span));
                } else if !a.ty.comparable(&elem) {
                    self.error(Diagnostic::error(
                        "type",
                        format!("`{}` cannot be in a collection of `{elem}`", a.ty),
                        span,
                    ));
                } else {
                    self.check_enum_literals(&a, &b);
                }
                let is_in = mk(ExprKind::In(Box::new(a), Box::new(b)), Type::Bool);
                if op == BinOp::In {
                    is_in
                } else {
                    mk(ExprKind::Not(Box::new(is_in)), Type::Bool)
                }
            }
            BinOp::Matches => {
                let a = self.expr(l, body, sigs, false);
                self.want_string(&a, l.span, "`matches`");
                let pattern = if let A::Str(s) = &r.kind {
                    match Glob::new(&s.value) {
                        Ok(g) => {
                            let next = self.globs.len();
                            let i = *self
                                .pattern_index
                                .entry(("glob", s.value.clone()))
                                .or_insert(next);
                            if i == next {
                                // Built here as the compiler builds it, so that every command
                                // refuses what `build` cannot compile.
                                if let Err(e) = blastwall_abi::dfa::glob_dfa(&g) {
                                    self.error(pattern_too_large(&e, 1, r.span));
                                }
                                self.globs.push(g);
                            }
                            GlobRef::Const(i)
                        }
                        Err(e) => {
                            self.error(Diagnostic::error("glob", e.to_string(), r.span));
                            GlobRef::Const(0)
                        }
                    }
                } else {
                    let p = self.expr(r, body, sigs, false);
                    let ok = p.ty.is_stringy() || p.ty.element().is_some_and(Type::is_stringy);
                    if !ok {
                        self.error(Diagnostic::error(
                            "type",
                            format!("`matches` needs a glob (`str`) or a list of globs (`[str]`), found `{}`", p.ty),
                            r.span,
                        ));
                    }
                    let literal_list = match &p.kind {
                        ExprKind::List(items) => {
                            items.iter().all(|i| matches!(i.kind, ExprKind::Str(_)))
                        }
                        _ => false,
                    };
                    if let ExprKind::List(items) = &p.kind {
                        let mut valid = literal_list;
                        for item in items {
                            if let ExprKind::Str(s) = &item.kind
                                && let Err(e) = Glob::new(s)
                            {
                                self.error(Diagnostic::error("glob", e.to_string(), item.span));
                                valid = false;
                            }
                        }
                        if valid {
                            let texts: Vec<&str> = items
                                .iter()
                                .filter_map(|i| match &i.kind {
                                    ExprKind::Str(s) => Some(s.as_str()),
                                    _ => None,
                                })
                                .collect();
                            if let Err(e) = blastwall_abi::dfa::glob_list_dfas_shared(&texts) {
                                self.error(pattern_too_large(&e, texts.len(), r.span));
                            }
                        }
                    }
                    if ok && !literal_list && !matches!(p.kind, ExprKind::Param(_)) {
                        self.error(Diagnostic::error(
                            "glob",
                            "a glob must be a string literal, a list of them, or a parameter (`config.name`): patterns are compiled when the policy is built",
                            r.span,
                        ));
                    }
                    if let ExprKind::Param(i) = p.kind
                        && let Some(param) = self.params.get_mut(i)
                    {
                        param.glob = true;
                    }
                    GlobRef::Dynamic(Box::new(p))
                };
                mk(ExprKind::Glob(Box::new(a), pattern), Type::Bool)
            }
            BinOp::Regex => {
                let a = self.expr(l, body, sigs, false);
                self.want_string(&a, l.span, "`=~`");
                let A::Str(s) = &r.kind else {
                    self.error(
                        Diagnostic::error(
                            "regex",
                            "a regular expression must be a string literal",
                            r.span,
                        )
                        .with_help("patterns are compiled when the policy is built"),
                    );
                    return mk(ExprKind::Bool(false), Type::Error);
                };
                let built = regex::RegexBuilder::new(&s.value)
                    .size_limit(MAX_REGEX_SIZE)
                    .build();
                match built {
                    Ok(_) if blastwall_abi::dfa::regex_dfa(&s.value).is_err() => {
                        let why = blastwall_abi::dfa::regex_dfa(&s.value)
                            .err()
                            .map(|e| e.to_string())
                            .unwrap_or_default();
                        let mut d = Diagnostic::error(
                            "regex",
                            "this regular expression cannot be compiled to an automaton",
                            r.span,
                        );
                        d = if s.value.contains("\\b") || s.value.contains("\\B") {
                            d.with_help("word boundaries must be ASCII, so that every host decides alike: write `(?-u:\\b)`")
                        } else {
                            d.with_help(why)
                        };
                        self.error(d);
                        mk(ExprKind::Bool(false), Type::Error)
                    }
                    Ok(_) => {
                        let next = self.regexes.len();
                        let i = *self
                            .pattern_index
                            .entry(("regex", s.value.clone()))
                            .or_insert(next);
                        if i == next {
                            self.regexes.push(s.value.clone());
                        }
                        mk(ExprKind::Regex(Box::new(a), i), Type::Bool)
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        let first = msg
                            .lines()
                            .last()
                            .unwrap_or("invalid")
                            .trim()
                            .trim_start_matches("error: ")
                            .to_string();
                        self.error(
                            Diagnostic::error("regex", format!("invalid regular expression: {}", first.to_lowercase()), r.span)
                                .with_help("regular expressions follow Rust `regex` syntax; a raw string `r\"…\"` saves escaping"),
                        );
                        mk(ExprKind::Bool(false), Type::Error)
                    }
                }
            }
            BinOp::Coalesce => {
                let a = self.expr(l, body, sigs, false);
                let b = self.expr(r, body, sigs, false);
                let inner = match &a.ty {
                    Type::Optional(t) => (**t).clone(),
                    Type::Error => Type::Error,
                    other => {
                        self.error(
                            Diagnostic::error(
                                "type",
                                format!("`??` needs an optional value, found `{other}`"),
                                l.span,
                            )
                            .with_help("this value is never absent; drop the `??`"),
                        );
                        Type::Error
                    }
                };
                if !b.ty.fits(&inner) {
                    self.error(Diagnostic::error(
                        "type",
                        format!(
                            "the default has type `{}`, but the value has type `{inner}`",
                            b.ty
                        ),
                        r.span,
                    ));
                }
                let ty = if matches!(inner, Type::Enum(_)) && !matches!(b.ty, Type::Enum(_)) {
                    Type::Str
                } else {
                    inner
                };
                mk(ExprKind::Coalesce(Box::new(a), Box::new(b)), ty)
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                let a = self.expr(l, body, sigs, false);
                let b = self.expr(r, body, sigs, false);
                if op == BinOp::Add
                    && a.ty.is_stringy()
                    && b.ty.is_stringy()
                    && !(a.ty.is_int() && b.ty.is_int())
                {
                    return mk(ExprKind::Concat(Box::new(a), Box::new(b)), Type::Str);
                }
                self.want_int(&a, l.span, &format!("`{}`", op.as_str()));
                self.want_int(&b, r.span, &format!("`{}`", op.as_str()));
                let aop = match op {
                    BinOp::Add => ArithOp::Add,
                    BinOp::Sub => ArithOp::Sub,
                    BinOp::Mul => ArithOp::Mul,
                    BinOp::Div => ArithOp::Div,
                    _ => ArithOp::Rem,
                };
                mk(ExprKind::Arith(aop, Box::new(a), Box::new(b)), Type::Int)
            }
        }
    }

    fn want_string(&mut self, x: &Expr, span: Span, what: &str) {
        if matches!(x.ty, Type::Optional(_)) {
            self.error(optional_misuse(&x.ty, span));
        } else if !x.ty.is_stringy() {
            self.error(Diagnostic::error(
                "type",
                format!("{what} needs a `str`, found `{}`", x.ty),
                span,
            ));
        }
    }

    fn check_comparable(&mut self, a: &Expr, b: &Expr, ls: Span, rs: Span) {
        if let Type::Optional(_) = a.ty {
            self.error(optional_misuse(&a.ty, ls));
            return;
        }
        if let Type::Optional(_) = b.ty {
            self.error(optional_misuse(&b.ty, rs));
            return;
        }
        if !a.ty.comparable(&b.ty) {
            self.error(Diagnostic::error(
                "type",
                format!("cannot compare `{}` with `{}`", a.ty, b.ty),
                ls.to(rs),
            ));
            return;
        }
        self.check_enum_literals(a, b);
        self.check_enum_literals(b, a);
    }

    /// `change.ai.assisted == "maybe"` can never be true: say so.
    fn check_enum_literals(&mut self, a: &Expr, b: &Expr) {
        let Type::Enum(e) = &a.ty else { return };
        let literals: Vec<(&str, Span)> = match &b.kind {
            ExprKind::Str(s) => vec![(s.as_str(), b.span)],
            ExprKind::List(items) => items
                .iter()
                .filter_map(|i| match &i.kind {
                    ExprKind::Str(s) => Some((s.as_str(), i.span)),
                    _ => None,
                })
                .collect(),
            _ => return,
        };
        for (value, span) in literals {
            if !e.values.contains(&value) {
                let mut d = Diagnostic::error(
                    "enum-value",
                    format!("`{value}` is not a value of `{}`", e.name),
                    span,
                );
                d = match closest(value, e.values.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("`{}` is one of {}", e.name, e.values.join(", "))),
                };
                self.error(d);
            }
        }
    }

    fn call(
        &mut self,
        func: &ast::Ident,
        args: &[ast::Arg],
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
        span: Span,
    ) -> Expr {
        let err_expr = Expr {
            kind: ExprKind::Bool(false),
            ty: Type::Error,
            span,
        };
        if let Some(b) = Builtin::from_name(&func.name) {
            return self.builtin(b, func, args, body, sigs, span);
        }
        if let Some(sig) = sigs.get(&func.name) {
            let Some(&index) = self.fn_index.get(&func.name) else {
                return err_expr;
            };
            if args.len() != sig.params.len() {
                self.error(Diagnostic::error(
                    "arity",
                    format!(
                        "`{}` takes {} argument{}, found {}",
                        func.name,
                        sig.params.len(),
                        if sig.params.len() == 1 { "" } else { "s" },
                        args.len()
                    ),
                    span,
                ));
                return err_expr;
            }
            let mut out = Vec::new();
            for (a, want) in args.iter().zip(&sig.params) {
                if let Some(n) = &a.name {
                    self.error(Diagnostic::error(
                        "named-arg",
                        format!("`{}` takes no named arguments", func.name),
                        n.span,
                    ));
                }
                let x = self.expr(&a.value, body, sigs, false);
                if !x.ty.fits(want) {
                    self.error(Diagnostic::error(
                        "type",
                        format!("expected `{want}`, found `{}`", x.ty),
                        a.value.span,
                    ));
                }
                out.push(x);
            }
            body.reads.extend(sig.reads.iter().copied());
            return Expr {
                kind: ExprKind::Call(index, out),
                ty: sig.ret.clone(),
                span,
            };
        }
        let names = Builtin::ALL
            .iter()
            .map(|(n, _)| *n)
            .chain(sigs.keys().map(String::as_str));
        if self.declared_fns.contains(&func.name) {
            // Declared but not checked (part of a cycle, or its body failed): the error is
            // reported at the function.
            return err_expr;
        }
        let mut d = Diagnostic::error(
            "unknown-fn",
            format!("unknown function `{}`", func.name),
            func.span,
        );
        if let Some(s) = closest(&func.name, names) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.error(d);
        err_expr
    }

    #[allow(clippy::too_many_lines)]
    fn builtin(
        &mut self,
        b: Builtin,
        func: &ast::Ident,
        args: &[ast::Arg],
        body: &mut Body,
        sigs: &HashMap<String, Sig>,
        span: Span,
    ) -> Expr {
        let graph = matches!(b, Builtin::Dependents | Builtin::Dependencies);
        // Positional arguments, then the one named argument the graph builtins take.
        let mut xs = Vec::new();
        let mut depth = None;
        for a in args {
            match &a.name {
                Some(n) if graph && n.name == "depth" && depth.is_none() => {
                    depth = Some(self.expr(&a.value, body, sigs, false));
                }
                Some(n) => {
                    self.error(Diagnostic::error(
                        "named-arg",
                        format!("`{}` has no argument named `{}`", func.name, n.name),
                        n.span,
                    ));
                }
                None => xs.push(self.expr(&a.value, body, sigs, false)),
            }
        }
        if graph && depth.is_none() && xs.len() == 3 {
            depth = xs.pop();
        }
        let want = match b {
            Builtin::Dependents | Builtin::Dependencies => 2,
            Builtin::Count
            | Builtin::Sum
            | Builtin::Min
            | Builtin::Max
            | Builtin::Len
            | Builtin::Lower
            | Builtin::Upper
            | Builtin::Trim
            | Builtin::Set
            | Builtin::Has => 1,
            _ => 2,
        };
        let err_expr = Expr {
            kind: ExprKind::Bool(false),
            ty: Type::Error,
            span,
        };
        if xs.len() != want {
            self.error(Diagnostic::error(
                "arity",
                format!(
                    "`{}` takes {want} argument{}, found {}",
                    func.name,
                    if want == 1 { "" } else { "s" },
                    xs.len()
                ),
                span,
            ));
            return err_expr;
        }
        let arg_span = |i: usize| args.get(i).map_or(span, |a| a.value.span);
        let t0 = xs.first().map_or(Type::Error, |x| x.ty.clone());
        let t1 = xs.get(1).map_or(Type::Error, |x| x.ty.clone());
        if b != Builtin::Has {
            for (i, t) in [&t0, &t1].into_iter().enumerate().take(want) {
                if matches!(t, Type::Optional(_)) {
                    self.error(optional_misuse(t, arg_span(i)));
                    return err_expr;
                }
            }
        }
        let bad = |cx: &mut Checker, i: usize, what: &str, found: &Type| {
            if !found.is_error() {
                cx.error(Diagnostic::error(
                    "type",
                    format!("`{}` needs {what}, found `{found}`", func.name),
                    arg_span(i),
                ));
            }
        };
        let ty = match b {
            Builtin::Count => {
                if t0.element().is_none() {
                    bad(self, 0, "a list or set", &t0);
                }
                Type::Int
            }
            Builtin::Sum | Builtin::Min | Builtin::Max => {
                if !t0.element().is_some_and(Type::is_int) {
                    bad(self, 0, "a list of `int`", &t0);
                }
                if b == Builtin::Sum {
                    Type::Int
                } else {
                    Type::Optional(Box::new(Type::Int))
                }
            }
            Builtin::Len => {
                if !t0.is_stringy() {
                    bad(self, 0, "a `str` (use `count` for lists)", &t0);
                }
                Type::Int
            }
            Builtin::Lower | Builtin::Upper | Builtin::Trim => {
                if !t0.is_stringy() {
                    bad(self, 0, "a `str`", &t0);
                }
                Type::Str
            }
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                if !t0.is_stringy() {
                    bad(self, 0, "a `str`", &t0);
                }
                if !t1.is_stringy() {
                    bad(self, 1, "a `str`", &t1);
                }
                Type::Bool
            }
            Builtin::Split => {
                if !t0.is_stringy() {
                    bad(self, 0, "a `str`", &t0);
                }
                if !t1.is_stringy() {
                    bad(self, 1, "a `str` separator", &t1);
                }
                Type::List(Box::new(Type::Str))
            }
            Builtin::Join => {
                if !t0.element().is_some_and(Type::is_stringy) {
                    bad(self, 0, "a list of `str`", &t0);
                }
                if !t1.is_stringy() {
                    bad(self, 1, "a `str` separator", &t1);
                }
                Type::Str
            }
            Builtin::Set => match t0.element() {
                Some(e) if is_orderable(e) => Type::Set(Box::new(e.clone())),
                _ => {
                    bad(self, 0, "a list of `str`, `int` or `bool`", &t0);
                    Type::Error
                }
            },
            Builtin::Union | Builtin::Intersection | Builtin::Difference => {
                let (Some(e0), Some(e1)) = (t0.element(), t1.element()) else {
                    bad(
                        self,
                        0,
                        "two lists or sets",
                        if t0.element().is_none() { &t0 } else { &t1 },
                    );
                    return err_expr;
                };
                match e0.join(e1) {
                    Some(e) if is_orderable(&e) => Type::Set(Box::new(e)),
                    _ => {
                        bad(self, 1, &format!("elements of type `{e0}`"), &t1);
                        Type::Error
                    }
                }
            }
            Builtin::Has => {
                if !matches!(t0, Type::Optional(_) | Type::Error) {
                    self.error(
                        Diagnostic::error(
                            "type",
                            format!("`has` needs an optional value, found `{t0}`"),
                            arg_span(0),
                        )
                        .with_help("this value is never absent"),
                    );
                }
                Type::Bool
            }
            Builtin::Dependents | Builtin::Dependencies => {
                if !matches!(&t0, Type::Record(r) if r.name == "Topology") && !t0.is_error() {
                    bad(self, 0, "the `topology` document", &t0);
                }
                if !t1.element().is_some_and(Type::is_stringy) {
                    bad(self, 1, "a list or set of node names", &t1);
                }
                match &depth {
                    Some(d) if !d.ty.is_int() => {
                        let found = d.ty.clone();
                        self.error(Diagnostic::error(
                            "type",
                            format!("`depth` needs an `int`, found `{found}`"),
                            d.span,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.error(
                            Diagnostic::error(
                                "arity",
                                format!("`{}` needs `depth: N`", func.name),
                                span,
                            )
                            .with_help("bound the walk: `depth: 3`"),
                        );
                        return err_expr;
                    }
                }
                Type::List(Box::new(Type::Record(&schema::REACHED)))
            }
        };
        if let Some(d) = depth {
            xs.push(d);
        }
        Expr {
            kind: ExprKind::Builtin(b, xs),
            ty,
            span,
        }
    }
}

fn is_orderable(t: &Type) -> bool {
    matches!(
        t,
        Type::Str | Type::Enum(_) | Type::Int | Type::Bool | Type::Any | Type::Error
    )
}

fn optional_misuse(ty: &Type, span: Span) -> Diagnostic {
    Diagnostic::error(
        "optional",
        format!("this value may be absent (`{ty}`)"),
        span,
    )
    .with_label("may be absent")
    .with_help("say what absence means: `x ?? default`, or test `has(x)`")
}

/// Documents the rule set reads, for reporting.
pub fn reads_of(policy: &Policy) -> BTreeMap<String, Vec<&'static str>> {
    policy
        .rules
        .iter()
        .map(|r| (r.name.clone(), r.reads.iter().map(|d| d.name()).collect()))
        .collect()
}
