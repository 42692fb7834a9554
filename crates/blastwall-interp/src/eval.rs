//! The evaluator: IR + facts → findings → `Decision`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use blastwall_abi::combine::{CombineContext, combine};
use blastwall_abi::decision::{Decision, Effect as OutEffect, Finding};
use blastwall_abi::glob::Glob;
use blastwall_abi::schema::DocKind;
use blastwall_check::ir::{
    ArithOp, Builtin, CmpOp, Effect, Expr, ExprKind, GlobRef, Loc, Policy, Rule, TemplatePart,
};
use blastwall_syntax::{LineIndex, Span};
use regex::Regex;

use crate::err::EvalError;
use crate::value::{Facts, Value};

/// At most this many findings per rule; the rest are counted in `omitted`.
pub const MAX_FINDINGS_PER_RULE: usize = 20;
/// The default step budget of one decision.
pub const DEFAULT_STEP_LIMIT: u64 = 50_000_000;
/// The default memory budget of one decision, in bytes: the most string and list data the
/// evaluation may build, all rules together. It is the compiled module's default memory limit,
/// so that a policy that builds too much fails in both evaluators instead of exhausting the
/// host's memory in one.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 << 20;
/// What one list element is charged against the memory budget, as the module stores it.
const ELEMENT_BYTES: usize = 16;

/// The reference interpreter for one checked policy.
#[derive(Debug)]
pub struct Interpreter {
    policy: Policy,
    regexes: Vec<Regex>,
    lines: Vec<LineIndex>,
    step_limit: u64,
    memory_limit: u64,
}

/// Why a rule did or did not fire, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleStatus {
    /// It fired: one entry per finding, each the witness bindings as (name, value).
    Fired(Vec<Vec<(String, String)>>),
    /// Its condition was false; the part that was false and why.
    NotFired {
        /// `path:line:col` of the false condition.
        at: String,
        /// The source text of the false condition.
        condition: String,
        /// A note, e.g. how many elements a quantifier examined.
        note: String,
        /// The values that made it false, as (source text, value): the operands of a
        /// comparison or test (`count(hit)` = `6`), and for a `some` that found nothing, each
        /// examined element (the first few) with the first part of the condition it failed.
        values: Vec<(String, String)>,
    },
    /// A document it reads was not given, so it does not apply.
    NotApplicable(Vec<&'static str>),
    /// Its evaluation failed.
    Error(String),
}

/// How many elements of a `some` that found nothing an explanation shows.
const EXPLAINED_ELEMENTS: usize = 5;

/// The most characters of one value an explanation shows.
const EXPLAINED_CHARS: usize = 120;

/// `text`, cut to [`EXPLAINED_CHARS`] characters with `…` when longer.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(EXPLAINED_CHARS) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// The explanation of one decision: a status per rule, in rule order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// (rule name, status).
    pub rules: Vec<(String, RuleStatus)>,
}

impl Trace {
    /// Render for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, status) in &self.rules {
            match status {
                RuleStatus::Fired(bindings) => {
                    out.push_str(&format!("fired    {name}\n"));
                    for b in bindings {
                        if b.is_empty() {
                            continue;
                        }
                        let parts: Vec<String> =
                            b.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
                        out.push_str(&format!("           with {}\n", parts.join(", ")));
                    }
                }
                RuleStatus::NotFired {
                    at,
                    condition,
                    note,
                    values,
                } => {
                    out.push_str(&format!(
                        "quiet    {name}\n           false: `{condition}` at {at}\n"
                    ));
                    if !note.is_empty() {
                        out.push_str(&format!("           {note}\n"));
                    }
                    for (expr, value) in values {
                        out.push_str(&format!("             `{expr}` = {value}\n"));
                    }
                }
                RuleStatus::NotApplicable(docs) => {
                    let docs: Vec<String> = docs.iter().map(|d| format!("`{d}`")).collect();
                    out.push_str(&format!(
                        "skipped  {name}\n           needs {}, not given\n",
                        docs.join(" and ")
                    ));
                }
                RuleStatus::Error(e) => out.push_str(&format!("error    {name}\n           {e}\n")),
            }
        }
        out
    }
}

impl Interpreter {
    /// Prepare a policy for evaluation (regular expressions are compiled here, once).
    pub fn new(policy: Policy) -> Result<Interpreter, EvalError> {
        let regexes = policy
            .regexes
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(blastwall_check::MAX_REGEX_SIZE)
                    .build()
                    .map_err(|e| EvalError::Internal(format!("regex `{p}` did not compile: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let lines = policy
            .sources
            .iter()
            .map(|s| LineIndex::new(&s.text))
            .collect();
        Ok(Interpreter {
            policy,
            regexes,
            lines,
            step_limit: DEFAULT_STEP_LIMIT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Set the step budget of one decision.
    pub fn with_step_limit(mut self, limit: u64) -> Interpreter {
        self.step_limit = limit;
        self
    }

    /// Set the memory budget of one decision: the bytes of strings and lists it may build.
    pub fn with_memory_limit(mut self, bytes: u64) -> Interpreter {
        self.memory_limit = bytes;
        self
    }

    /// Decide on `facts` with every rule.
    pub fn evaluate(&self, facts: &Facts) -> Decision {
        let all: Vec<usize> = (0..self.policy.rules.len()).collect();
        self.run(facts, &all, None)
    }

    /// Decide on `facts` with the given rules only (a test's own file).
    pub fn evaluate_rules(&self, facts: &Facts, rules: &[usize]) -> Decision {
        self.run(facts, rules, None)
    }

    /// Decide and explain.
    pub fn explain(&self, facts: &Facts) -> (Decision, Trace) {
        let all: Vec<usize> = (0..self.policy.rules.len()).collect();
        let mut trace = Trace { rules: Vec::new() };
        let d = self.run(facts, &all, Some(&mut trace));
        (d, trace)
    }

    /// `path:line:col` of a location.
    pub fn location(&self, loc: Loc) -> String {
        let Some(src) = self.policy.sources.get(loc.file) else {
            return String::from("?");
        };
        let (line, col) = self
            .lines
            .get(loc.file)
            .map_or((0, 0), |ix| ix.line_col(&src.text, loc.span.start as usize));
        format!("{}:{line}:{col}", src.path)
    }

    fn source_text(&self, file: usize, span: Span) -> String {
        self.policy
            .sources
            .get(file)
            .map(|s| span.text(&s.text).to_string())
            .unwrap_or_default()
    }

    fn run(&self, facts: &Facts, rules: &[usize], mut trace: Option<&mut Trace>) -> Decision {
        let mut findings: Vec<Finding> = Vec::new();
        let mut steps = 0u64;
        let mut bytes = 0u64;
        for &ri in rules {
            let Some(rule) = self.policy.rules.get(ri) else {
                continue;
            };
            let missing: Vec<&'static str> = rule
                .reads
                .iter()
                .filter(|d| facts.doc(**d).is_none())
                .map(|d| d.name())
                .collect();
            if !missing.is_empty() {
                if let Some(t) = trace.as_deref_mut() {
                    t.rules
                        .push((rule.name.clone(), RuleStatus::NotApplicable(missing)));
                }
                continue;
            }
            let mut ev = Eval {
                interp: self,
                facts,
                file: rule.loc.file,
                steps: &mut steps,
                limit: self.step_limit,
                bytes: &mut bytes,
                memory_limit: self.memory_limit,
                globs: HashMap::new(),
                explain: trace.is_some(),
            };
            match ev.rule(rule) {
                Ok((mut found, bindings, quiet)) => {
                    if let Some(t) = trace.as_deref_mut() {
                        let status = if found.is_empty() {
                            quiet.unwrap_or(RuleStatus::NotFired {
                                at: self.location(rule.loc),
                                condition: String::new(),
                                note: String::new(),
                                values: Vec::new(),
                            })
                        } else {
                            RuleStatus::Fired(bindings)
                        };
                        t.rules.push((rule.name.clone(), status));
                    }
                    findings.append(&mut found);
                }
                Err(e) => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.rules
                            .push((rule.name.clone(), RuleStatus::Error(e.to_string())));
                    }
                    if matches!(e, EvalError::Limit { .. } | EvalError::Memory { .. }) {
                        // A limit stops the whole evaluation, in whichever rule it is
                        // reached: the module's hosts answer their limits so too.
                        return Decision::limit_reached(&e.to_string());
                    }
                    findings.push(Finding::error(
                        &rule.name,
                        rule.level,
                        format!("rule `{}` failed: {e}", rule.name),
                        self.location(rule.loc),
                    ));
                }
            }
        }
        combine(findings, &combine_context(facts))
    }
}

/// What combining needs from the facts: the change's author, its AI initiator, its approvals
/// and the recorded overrides.
fn combine_context(facts: &Facts) -> CombineContext {
    use blastwall_abi::schema::{AI, APPROVAL, CHANGE, Record};
    let overrides = facts.overrides.clone();
    let Some(Value::Record(change)) = facts.doc(DocKind::Change) else {
        return CombineContext::new("", "", Vec::new(), overrides);
    };
    let field = |rec: &Rc<Vec<Value>>, record: &Record, name: &str| -> Option<Value> {
        record.field(name).and_then(|(i, _)| rec.get(i).cloned())
    };
    let text = |v: Option<Value>| match v {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let author = text(field(change, &CHANGE, "author"));
    let initiator = match field(change, &CHANGE, "ai") {
        Some(Value::Record(ai)) => text(field(&ai, &AI, "initiator")),
        _ => String::new(),
    };
    let mut approvals = Vec::new();
    if let Some(Value::List(list)) = field(change, &CHANGE, "approvals") {
        for a in list.iter() {
            let Value::Record(a) = a else { continue };
            let Some(Value::Str(by)) = field(a, &APPROVAL, "by") else {
                continue;
            };
            let stale = matches!(field(a, &APPROVAL, "stale"), Some(Value::Bool(true)));
            let teams = match field(a, &APPROVAL, "teams") {
                Some(Value::List(t)) => t
                    .iter()
                    .filter_map(|v| match v {
                        Value::Str(s) => Some(s.to_string()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            approvals.push((by.to_string(), stale, teams));
        }
    }
    CombineContext::new(&author, &initiator, approvals, overrides)
}

/// The state of evaluating one rule.
struct Eval<'a> {
    interp: &'a Interpreter,
    facts: &'a Facts,
    /// The file of the code being evaluated (for error texts).
    file: usize,
    steps: &'a mut u64,
    limit: u64,
    /// The bytes of strings and lists built so far in this decision.
    bytes: &'a mut u64,
    memory_limit: u64,
    globs: HashMap<String, Glob>,
    /// Whether to say why a rule that did not fire did not (only `explain` asks).
    explain: bool,
}

type R<T> = Result<T, EvalError>;

/// Findings, the witness bindings behind each, and (for a rule that did not fire) why.
type RuleResult = (Vec<Finding>, Vec<Vec<(String, String)>>, Option<RuleStatus>);

impl Eval<'_> {
    fn tick(&mut self) -> R<()> {
        *self.steps += 1;
        if *self.steps > self.limit {
            return Err(EvalError::Limit { limit: self.limit });
        }
        Ok(())
    }

    /// Count `n` more bytes built against the decision's memory budget, before building them.
    fn charge(&mut self, n: usize) -> R<()> {
        *self.bytes = self.bytes.saturating_add(n as u64);
        if *self.bytes > self.memory_limit {
            return Err(EvalError::Memory {
                limit: self.memory_limit,
            });
        }
        Ok(())
    }

    fn rule(&mut self, rule: &Rule) -> R<RuleResult> {
        let mut frame = vec![Value::Absent; rule.slots];
        for (slot, e) in &rule.lets {
            let v = self.eval(e, &mut frame)?;
            if let Some(s) = frame.get_mut(*slot) {
                *s = v;
            }
        }
        let mut keys: BTreeSet<Vec<Value>> = BTreeSet::new();
        let mut snapshots: Vec<Vec<Value>> = Vec::new();
        let witness = rule.witness.clone();
        let single = witness.is_empty();
        self.solve(&rule.when, &mut frame, &mut |_, f| {
            let key: Vec<Value> = witness
                .iter()
                .map(|s| f.get(*s).cloned().unwrap_or(Value::Absent))
                .collect();
            if keys.insert(key) {
                snapshots.push(f.clone());
            }
            Ok(!single)
        })?;
        if snapshots.is_empty() {
            // Explaining evaluates more than deciding does; a decision alone never pays for it.
            if !self.explain {
                return Ok((Vec::new(), Vec::new(), None));
            }
            let why = self.why_false(&rule.when, &mut frame)?;
            return Ok((Vec::new(), Vec::new(), Some(why)));
        }
        let total = snapshots.len();
        let mut findings = Vec::new();
        let mut bindings = Vec::new();
        for snap in snapshots.iter_mut().take(MAX_FINDINGS_PER_RULE) {
            findings.push(self.finding(rule, snap)?);
            bindings.push(
                rule.witness
                    .iter()
                    .map(|s| {
                        let name = rule.slot_names.get(*s).cloned().unwrap_or_default();
                        (name, snap.get(*s).map(Value::to_text).unwrap_or_default())
                    })
                    .collect(),
            );
        }
        if let Some(last) = findings.last_mut() {
            last.omitted =
                u32::try_from(total.saturating_sub(MAX_FINDINGS_PER_RULE)).unwrap_or(u32::MAX);
        }
        Ok((findings, bindings, None))
    }

    fn finding(&mut self, rule: &Rule, frame: &mut Vec<Value>) -> R<Finding> {
        let message = match &rule.message {
            Some(t) => {
                let mut s = String::new();
                for p in &t.parts {
                    let before = s.len();
                    match p {
                        TemplatePart::Text(x) => s.push_str(x),
                        TemplatePart::Hole(e) => self.eval(e, frame)?.render(&mut s),
                    }
                    self.charge(s.len().saturating_sub(before))?;
                }
                s
            }
            None => rule
                .doc
                .first()
                .cloned()
                .unwrap_or_else(|| format!("rule `{}` fired", rule.name)),
        };
        let about = match &rule.about {
            Some(e) => Some(self.eval(e, frame)?.to_text()),
            None => None,
        };
        let (effect, from, count) = match &rule.effect {
            Effect::Deny => (OutEffect::Deny, None, None),
            Effect::Warn => (OutEffect::Warn, None, None),
            Effect::Review { from, count } => {
                let from = match from {
                    Some(e) => self.eval(e, frame)?.to_text(),
                    None => "any".to_string(),
                };
                let count = match count {
                    Some(e) => match self.eval(e, frame)? {
                        Value::Int(n) => u32::try_from(n.clamp(1, 100)).unwrap_or(1),
                        _ => 1,
                    },
                    None => 1,
                };
                (OutEffect::Review, Some(from), Some(count))
            }
        };
        Ok(Finding {
            rule: rule.name.clone(),
            level: rule.level,
            effect,
            message,
            source: self.interp.location(rule.loc),
            about,
            from,
            count,
            overridden: None,
            error: false,
            omitted: 0,
        })
    }

    /// Enumerate the solutions of a condition: `k` is called once per way it holds, with the
    /// witness slots bound. `k` returns whether to go on.
    fn solve(
        &mut self,
        e: &Expr,
        frame: &mut Vec<Value>,
        k: &mut dyn FnMut(&mut Self, &mut Vec<Value>) -> R<bool>,
    ) -> R<bool> {
        match &e.kind {
            ExprKind::And(a, b) if has_witness(e) => {
                self.solve(a, frame, &mut |s, f| s.solve(b, f, k))
            }
            ExprKind::Quant {
                all: false,
                slot,
                over,
                body,
                witness: true,
            } => {
                let items = self.items(over, frame)?;
                for item in items.iter() {
                    self.tick()?;
                    self.charge(ELEMENT_BYTES)?;
                    if let Some(s) = frame.get_mut(*slot) {
                        *s = item.clone();
                    }
                    if !self.solve(body, frame, k)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => {
                if self.truth(e, frame)? {
                    k(self, frame)
                } else {
                    Ok(true)
                }
            }
        }
    }

    /// For a rule that did not fire: the first part of its condition that was false.
    fn why_false(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<RuleStatus> {
        if let ExprKind::And(a, b) = &e.kind {
            let mut held = false;
            self.solve(a, frame, &mut |_, _| {
                held = true;
                Ok(false)
            })?;
            return if held {
                self.why_false(b, frame)
            } else {
                self.why_false(a, frame)
            };
        }
        let mut values = Vec::new();
        let note = match &e.kind {
            ExprKind::Quant {
                all: false,
                over,
                slot,
                body,
                ..
            } => {
                let items = self.items(over, frame)?;
                let over_text = self.interp.source_text(self.file, over.span);
                // Each examined element, with the first part of the condition it failed.
                for (i, item) in items.iter().enumerate().take(EXPLAINED_ELEMENTS) {
                    if let Some(s) = frame.get_mut(*slot) {
                        *s = item.clone();
                    }
                    let failed = self.first_false(body, frame)?;
                    let mut why = format!(
                        "false: `{}`",
                        self.interp.source_text(self.file, failed.span)
                    );
                    let inner = self.operand_values(failed, frame);
                    if !inner.is_empty() {
                        let shown: Vec<String> =
                            inner.iter().map(|(x, v)| format!("`{x}` = {v}")).collect();
                        why.push_str(&format!(" ({})", shown.join(", ")));
                    }
                    values.push((
                        format!("{over_text}[{i}] ({})", shorten(&item.to_text())),
                        why,
                    ));
                }
                let more = items.len().saturating_sub(EXPLAINED_ELEMENTS);
                let mut note = format!(
                    "no element of `{over_text}` satisfied it ({} examined)",
                    items.len()
                );
                if more > 0 {
                    note.push_str(&format!("; the first {EXPLAINED_ELEMENTS} are shown"));
                }
                note
            }
            _ => {
                values = self.operand_values(e, frame);
                String::new()
            }
        };
        Ok(RuleStatus::NotFired {
            at: self.interp.location(Loc {
                file: self.file,
                span: e.span,
            }),
            condition: self.interp.source_text(self.file, e.span),
            note,
            values,
        })
    }

    /// The first conjunct of `e` (an `and` chain, left to right) that is false for the bound
    /// element; `e` itself when it is no conjunction, or when every part holds.
    fn first_false<'e>(&mut self, e: &'e Expr, frame: &mut Vec<Value>) -> R<&'e Expr> {
        if let ExprKind::And(a, b) = &e.kind {
            return if self.truth(a, frame)? {
                self.first_false(b, frame)
            } else {
                self.first_false(a, frame)
            };
        }
        Ok(e)
    }

    /// The values of the operands of `e` that are not written as constants: both sides of a
    /// comparison, of arithmetic, `in` and `??`, the subject of a pattern test, the arguments
    /// of a call, through `not` and `or`. An operand that cannot be evaluated here is left out:
    /// the explanation never fails a decision.
    fn operand_values(&mut self, e: &Expr, frame: &mut Vec<Value>) -> Vec<(String, String)> {
        let operands: Vec<&Expr> = match &e.kind {
            ExprKind::Cmp(_, a, b)
            | ExprKind::Arith(_, a, b)
            | ExprKind::In(a, b)
            | ExprKind::Coalesce(a, b)
            | ExprKind::Concat(a, b) => vec![a, b],
            ExprKind::Glob(a, _) | ExprKind::Regex(a, _) => vec![a],
            ExprKind::Builtin(_, args) | ExprKind::Call(_, args) => args.iter().collect(),
            ExprKind::Not(inner) => return self.operand_values(inner, frame),
            ExprKind::Or(a, b) => {
                let mut out = self.operand_values(a, frame);
                out.extend(self.operand_values(b, frame));
                return out;
            }
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for x in operands {
            if matches!(
                x.kind,
                ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::List(_)
            ) {
                continue;
            }
            if let Ok(v) = self.eval(x, frame) {
                let shown = match &v {
                    Value::List(items) => {
                        format!("[{}] ({} items)", shorten(&v.to_text()), items.len())
                    }
                    Value::Str(_) => format!("{:?}", shorten(&v.to_text())),
                    Value::Absent => "absent".to_string(),
                    _ => shorten(&v.to_text()),
                };
                out.push((self.interp.source_text(self.file, x.span), shown));
            }
        }
        out
    }

    fn truth(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<bool> {
        match self.eval(e, frame)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::Internal(format!(
                "expected a boolean, found {other:?}"
            ))),
        }
    }

    fn items(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<Rc<Vec<Value>>> {
        match self.eval(e, frame)? {
            Value::List(items) => Ok(items),
            other => Err(EvalError::Internal(format!(
                "expected a list, found {other:?}"
            ))),
        }
    }

    fn int(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<i64> {
        match self.eval(e, frame)? {
            Value::Int(i) => Ok(i),
            other => Err(EvalError::Internal(format!(
                "expected an integer, found {other:?}"
            ))),
        }
    }

    fn string(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<Rc<str>> {
        match self.eval(e, frame)? {
            Value::Str(s) => Ok(s),
            other => Err(EvalError::Internal(format!(
                "expected a string, found {other:?}"
            ))),
        }
    }

    fn overflow(&self, e: &Expr) -> EvalError {
        EvalError::Overflow {
            expr: self.interp.source_text(self.file, e.span),
            span: e.span,
        }
    }

    #[allow(clippy::too_many_lines)]
    fn eval(&mut self, e: &Expr, frame: &mut Vec<Value>) -> R<Value> {
        self.tick()?;
        Ok(match &e.kind {
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Str(s) => Value::str(s),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i, frame)?);
                }
                Value::list(out)
            }
            ExprKind::Doc(d) => {
                self.facts.doc(*d).cloned().ok_or_else(|| {
                    EvalError::Internal(format!("document `{}` not given", d.name()))
                })?
            }
            ExprKind::Param(i) => self
                .facts
                .config
                .get(*i)
                .cloned()
                .ok_or_else(|| EvalError::Internal(format!("parameter {i} missing")))?,
            ExprKind::Local(s) => frame.get(*s).cloned().unwrap_or(Value::Absent),
            ExprKind::Field { base, index, name } => match self.eval(base, frame)? {
                Value::Record(fields) => fields
                    .get(*index)
                    .cloned()
                    .ok_or_else(|| EvalError::Internal(format!("field `{name}` missing")))?,
                // Field access through an absent optional record stays absent.
                Value::Absent => Value::Absent,
                other => return Err(EvalError::Internal(format!("field `{name}` of {other:?}"))),
            },
            ExprKind::Not(a) => Value::Bool(!self.truth(a, frame)?),
            ExprKind::Neg(a) => {
                let v = self.int(a, frame)?;
                Value::Int(v.checked_neg().ok_or_else(|| self.overflow(e))?)
            }
            ExprKind::And(a, b) => Value::Bool(self.truth(a, frame)? && self.truth(b, frame)?),
            ExprKind::Or(a, b) => Value::Bool(self.truth(a, frame)? || self.truth(b, frame)?),
            ExprKind::Cmp(op, a, b) => {
                let x = self.eval(a, frame)?;
                let y = self.eval(b, frame)?;
                Value::Bool(match op {
                    CmpOp::Eq => x == y,
                    CmpOp::Ne => x != y,
                    CmpOp::Lt => x < y,
                    CmpOp::Le => x <= y,
                    CmpOp::Gt => x > y,
                    CmpOp::Ge => x >= y,
                })
            }
            ExprKind::Arith(op, a, b) => {
                let x = self.int(a, frame)?;
                let y = self.int(b, frame)?;
                if matches!(op, ArithOp::Div | ArithOp::Rem) && y == 0 {
                    return Err(EvalError::DivByZero {
                        expr: self.interp.source_text(self.file, e.span),
                        span: e.span,
                    });
                }
                let r = match op {
                    ArithOp::Add => x.checked_add(y),
                    ArithOp::Sub => x.checked_sub(y),
                    ArithOp::Mul => x.checked_mul(y),
                    ArithOp::Div => x.checked_div(y),
                    ArithOp::Rem => x.checked_rem(y),
                };
                Value::Int(r.ok_or_else(|| self.overflow(e))?)
            }
            ExprKind::Concat(a, b) => {
                let x = self.string(a, frame)?;
                let y = self.string(b, frame)?;
                self.charge(x.len().saturating_add(y.len()))?;
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(&x);
                s.push_str(&y);
                Value::str(&s)
            }
            ExprKind::In(a, b) => {
                let x = self.eval(a, frame)?;
                let items = self.items(b, frame)?;
                Value::Bool(items.contains(&x))
            }
            ExprKind::Glob(a, pattern) => {
                let subject = self.string(a, frame)?;
                match pattern {
                    GlobRef::Const(i) => Value::Bool(
                        self.interp
                            .policy
                            .globs
                            .get(*i)
                            .is_some_and(|g| g.matches(&subject)),
                    ),
                    GlobRef::Dynamic(p) => {
                        let patterns = match self.eval(p, frame)? {
                            Value::Str(s) => vec![s],
                            Value::List(items) => items
                                .iter()
                                .filter_map(|v| match v {
                                    Value::Str(s) => Some(s.clone()),
                                    _ => None,
                                })
                                .collect(),
                            other => {
                                return Err(EvalError::Internal(format!("glob pattern {other:?}")));
                            }
                        };
                        let mut hit = false;
                        for p in patterns {
                            if self.glob(&p)?.matches(&subject) {
                                hit = true;
                                break;
                            }
                        }
                        Value::Bool(hit)
                    }
                }
            }
            ExprKind::Regex(a, i) => {
                let subject = self.string(a, frame)?;
                let re = self
                    .interp
                    .regexes
                    .get(*i)
                    .ok_or_else(|| EvalError::Internal(format!("regex {i} missing")))?;
                Value::Bool(re.is_match(&subject))
            }
            ExprKind::Coalesce(a, b) => match self.eval(a, frame)? {
                Value::Absent => self.eval(b, frame)?,
                v => v,
            },
            ExprKind::Quant {
                all,
                slot,
                over,
                body,
                ..
            } => {
                let items = self.items(over, frame)?;
                let mut result = *all;
                for item in items.iter() {
                    if let Some(s) = frame.get_mut(*slot) {
                        *s = item.clone();
                    }
                    let t = self.truth(body, frame)?;
                    if t != *all {
                        result = !*all;
                        break;
                    }
                }
                Value::Bool(result)
            }
            ExprKind::Comprehension {
                slot,
                over,
                map,
                filter,
            } => {
                let items = self.items(over, frame)?;
                let mut out = Vec::new();
                for item in items.iter() {
                    self.tick()?;
                    if let Some(s) = frame.get_mut(*slot) {
                        *s = item.clone();
                    }
                    if let Some(f) = filter
                        && !self.truth(f, frame)?
                    {
                        continue;
                    }
                    out.push(match map {
                        Some(m) => self.eval(m, frame)?,
                        None => item.clone(),
                    });
                }
                Value::list(out)
            }
            ExprKind::Call(i, args) => {
                let f = self
                    .interp
                    .policy
                    .fns
                    .get(*i)
                    .ok_or_else(|| EvalError::Internal(format!("function {i} missing")))?;
                let mut callee = vec![Value::Absent; f.slots];
                for (slot, a) in callee.iter_mut().zip(args) {
                    *slot = self.eval(a, frame)?;
                }
                let saved = self.file;
                self.file = f.loc.file;
                let r = self.eval(&f.body, &mut callee);
                self.file = saved;
                r?
            }
            ExprKind::Builtin(b, args) => self.builtin(*b, args, frame, e)?,
        })
    }

    fn glob(&mut self, pattern: &str) -> R<Glob> {
        if let Some(g) = self.globs.get(pattern) {
            return Ok(g.clone());
        }
        let g = Glob::new(pattern).map_err(|e| EvalError::Glob {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        self.globs.insert(pattern.to_string(), g.clone());
        Ok(g)
    }

    #[allow(clippy::too_many_lines)]
    fn builtin(&mut self, b: Builtin, args: &[Expr], frame: &mut Vec<Value>, e: &Expr) -> R<Value> {
        let arg = |i: usize| {
            args.get(i)
                .ok_or_else(|| EvalError::Internal(format!("`{}` argument {i} missing", b.name())))
        };
        Ok(match b {
            Builtin::Count => {
                let n = self.items(arg(0)?, frame)?.len();
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            Builtin::Sum => {
                let items = self.items(arg(0)?, frame)?;
                let mut total: i64 = 0;
                for v in items.iter() {
                    if let Value::Int(i) = v {
                        total = total.checked_add(*i).ok_or_else(|| self.overflow(e))?;
                    }
                }
                Value::Int(total)
            }
            Builtin::Min | Builtin::Max => {
                let items = self.items(arg(0)?, frame)?;
                let ints = items.iter().filter_map(|v| match v {
                    Value::Int(i) => Some(*i),
                    _ => None,
                });
                let r = if b == Builtin::Min {
                    ints.min()
                } else {
                    ints.max()
                };
                r.map_or(Value::Absent, Value::Int)
            }
            Builtin::Len => {
                let s = self.string(arg(0)?, frame)?;
                Value::Int(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
            }
            // ASCII only, like `identity`: every host (the module, JavaScript) must agree, and
            // Unicode case mapping differs between their libraries.
            Builtin::Lower | Builtin::Upper | Builtin::Trim => {
                let s = self.string(arg(0)?, frame)?;
                self.charge(s.len())?;
                match b {
                    Builtin::Lower => Value::str(&s.to_ascii_lowercase()),
                    Builtin::Upper => Value::str(&s.to_ascii_uppercase()),
                    _ => Value::str(s.trim_matches(|c: char| c.is_ascii_whitespace())),
                }
            }
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                let s = self.string(arg(0)?, frame)?;
                let p = self.string(arg(1)?, frame)?;
                Value::Bool(match b {
                    Builtin::StartsWith => s.starts_with(&*p),
                    Builtin::EndsWith => s.ends_with(&*p),
                    _ => s.contains(&*p),
                })
            }
            Builtin::Split => {
                let s = self.string(arg(0)?, frame)?;
                let sep = self.string(arg(1)?, frame)?;
                // At most one piece per byte, each a string and a list element.
                self.charge(s.len().saturating_mul(ELEMENT_BYTES + 1))?;
                if sep.is_empty() {
                    Value::list(
                        s.chars()
                            .map(|c| Value::str(c.encode_utf8(&mut [0; 4])))
                            .collect(),
                    )
                } else {
                    Value::list(s.split(&*sep).map(Value::str).collect())
                }
            }
            Builtin::Join => {
                let items = self.items(arg(0)?, frame)?;
                let sep = self.string(arg(1)?, frame)?;
                let parts: Vec<String> = items.iter().map(Value::to_text).collect();
                let total = parts
                    .iter()
                    .map(String::len)
                    .fold(sep.len().saturating_mul(parts.len()), usize::saturating_add);
                self.charge(total)?;
                Value::str(&parts.join(&sep))
            }
            Builtin::Set => {
                let items = self.items(arg(0)?, frame)?;
                let set: BTreeSet<Value> = items.iter().cloned().collect();
                Value::list(set.into_iter().collect())
            }
            Builtin::Union | Builtin::Intersection | Builtin::Difference => {
                let a: BTreeSet<Value> = self.items(arg(0)?, frame)?.iter().cloned().collect();
                let c: BTreeSet<Value> = self.items(arg(1)?, frame)?.iter().cloned().collect();
                let out: Vec<Value> = match b {
                    Builtin::Union => a.union(&c).cloned().collect(),
                    Builtin::Intersection => a.intersection(&c).cloned().collect(),
                    _ => a.difference(&c).cloned().collect(),
                };
                Value::list(out)
            }
            Builtin::Has => Value::Bool(self.eval(arg(0)?, frame)? != Value::Absent),
            Builtin::Dependents | Builtin::Dependencies => {
                let topo = self.eval(arg(0)?, frame)?;
                let names = self.items(arg(1)?, frame)?;
                let depth = self.int(arg(2)?, frame)?;
                self.walk(&topo, &names, depth, b == Builtin::Dependents)?
            }
        })
    }

    /// Breadth-first walk of the topology from `start`, up to `depth` edges.
    fn walk(&mut self, topo: &Value, start: &[Value], depth: i64, dependents: bool) -> R<Value> {
        use blastwall_abi::schema::{NODE, TOPOLOGY};
        let Value::Record(t) = topo else {
            return Err(EvalError::Internal("topology is not a record".into()));
        };
        let nodes = match TOPOLOGY.field("nodes").and_then(|(i, _)| t.get(i)) {
            Some(Value::List(n)) => n.clone(),
            _ => return Err(EvalError::Internal("topology has no nodes".into())),
        };
        let field = |n: &Value, name: &str| -> Value {
            match n {
                Value::Record(f) => NODE
                    .field(name)
                    .and_then(|(i, _)| f.get(i).cloned())
                    .unwrap_or(Value::Absent),
                _ => Value::Absent,
            }
        };
        let mut index: HashMap<Rc<str>, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            self.tick()?;
            if let Value::Str(name) = field(n, "name")
                && index.insert(name.clone(), i).is_some()
            {
                return Err(EvalError::Topology(format!("two nodes are named `{name}`")));
            }
        }
        // Edges: node → what it depends on; dependents walk the reverse.
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Value::List(deps) = field(n, "depends_on") {
                for d in deps.iter() {
                    self.tick()?;
                    let Value::Str(d) = d else { continue };
                    let Some(&j) = index.get(d) else { continue };
                    let (from, to) = if dependents { (j, i) } else { (i, j) };
                    if let Some(list) = adj.get_mut(from) {
                        list.push(to);
                    }
                }
            }
        }
        let mut dist: Vec<Option<i64>> = vec![None; nodes.len()];
        let mut queue = VecDeque::new();
        for s in start {
            if let Value::Str(name) = s
                && let Some(&i) = index.get(name)
                && let Some(d) = dist.get_mut(i)
                && d.is_none()
            {
                *d = Some(0);
                queue.push_back(i);
            }
        }
        while let Some(i) = queue.pop_front() {
            let d = dist.get(i).copied().flatten().unwrap_or(0);
            if d >= depth {
                continue;
            }
            for &j in adj.get(i).map_or(&[][..], Vec::as_slice) {
                self.tick()?;
                if let Some(slot) = dist.get_mut(j)
                    && slot.is_none()
                {
                    *slot = Some(d + 1);
                    queue.push_back(j);
                }
            }
        }
        let mut reached: Vec<(i64, Rc<str>, usize)> = dist
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match (d, field(nodes.get(i)?, "name")) {
                (Some(d), Value::Str(name)) if *d > 0 => Some((*d, name, i)),
                _ => None,
            })
            .collect();
        reached.sort();
        Ok(Value::list(
            reached
                .into_iter()
                .map(|(d, name, i)| {
                    let n = nodes.get(i).cloned().unwrap_or(Value::Absent);
                    Value::Record(Rc::new(vec![
                        Value::Str(name),
                        field(&n, "kind"),
                        field(&n, "tier"),
                        field(&n, "owner"),
                        Value::Int(d),
                    ]))
                })
                .collect(),
        ))
    }
}

/// Whether a condition contains a witness quantifier in witness position.
fn has_witness(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Quant { witness, .. } => *witness,
        ExprKind::And(a, b) => has_witness(a) || has_witness(b),
        _ => false,
    }
}
