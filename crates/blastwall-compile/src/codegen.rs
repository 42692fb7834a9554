//! Typed IR → function bodies.
//!
//! Every value is an `i64` slot (docs/abi.md, Values). Conditions are computed as `i32`.
//! A rule or function that fails sets `G_FAILED` and `G_ERR` and branches to its outermost
//! block; callers test `G_FAILED` after every call that can fail.

use std::collections::HashMap;

use blastwall_abi::schema::{self, DocKind, Record};
use blastwall_check::ir::{
    ArithOp, Builtin, CmpOp, Effect, Expr, ExprKind, GlobRef, Policy, Rule, TemplatePart,
};
use blastwall_check::ty::Type;
use blastwall_syntax::Span;
use wasm_encoder::{BlockType, Instruction as I, ValType};

use crate::CompileError;
use crate::asm::{Asm, Label};
use crate::module::{G_CHANGE, G_CONFIG, G_ERR, G_FAILED, G_FINDINGS, G_HP, G_NFIND, Out};
use crate::prelude::*;

/// At most this many findings per rule (the interpreter's cap).
pub const MAX_FINDINGS: u32 = 20;

const I64: ValType = ValType::I64;
const I32: ValType = ValType::I32;
const ABSENT: i64 = -1;

/// The compiler's state across functions.
#[derive(Debug)]
pub struct Gen<'p> {
    pub policy: &'p Policy,
    pub layout: &'p blastwall_abi::layout::Layout,
    pub out: Out,
    pub fn_index: Vec<u32>,
    pub glob_addr: Vec<u32>,
    pub regex_addr: Vec<u32>,
    /// Parameter index → config slot of its compiled patterns.
    pub glob_slot: HashMap<usize, u32>,
    /// Whether any rule or function matches a glob, so that evaluations need the mask cache
    /// of `prelude::dfa`'s literal filter.
    pub matches_globs: bool,
    cmp_fns: HashMap<String, u32>,
    /// Shared subexpressions: key → index in the memo table.
    memo: HashMap<String, u32>,
    /// The functions whose bodies are compiled (the others share one of these).
    defined: Vec<usize>,
    /// Compiled function index → its call cache.
    call_caches: HashMap<u32, u32>,
    /// A list of literal patterns → the addresses of its tables, compiled once however many
    /// places match against the list.
    list_tables: HashMap<Vec<String>, Vec<u32>>,
}

/// Entries in one function's call cache (direct-mapped by the argument's address).
pub const CALL_CACHE_ENTRIES: u32 = 64;
/// Bytes of one call cache: per entry the argument's slot and the result.
pub const CALL_CACHE_BYTES: u32 = CALL_CACHE_ENTRIES * 16;

/// The state of one function body.
struct Cx {
    a: Asm,
    slots: Vec<u32>,
    file: usize,
    fail: Label,
}

type R<T> = Result<T, CompileError>;

fn internal(msg: impl Into<String>) -> CompileError {
    CompileError::Internal(msg.into())
}

fn boxed(t: &Type) -> bool {
    matches!(t, Type::Int | Type::Bool)
}

/// The more precise of two types that compare (`[]` is `[any]`).
fn common(a: &Type, b: &Type) -> Type {
    match (a, b) {
        (Type::Any | Type::Error, t) | (t, Type::Any | Type::Error) => t.clone(),
        (Type::List(x), Type::List(y)) | (Type::Set(x), Type::Set(y)) => {
            Type::List(Box::new(common(x, y)))
        }
        (Type::List(x), Type::Set(y)) | (Type::Set(x), Type::List(y)) => {
            Type::List(Box::new(common(x, y)))
        }
        _ => a.clone(),
    }
}

fn has_witness(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Quant { witness, .. } => *witness,
        ExprKind::And(a, b) => has_witness(a) || has_witness(b),
        _ => false,
    }
}

impl<'p> Gen<'p> {
    pub fn new(policy: &'p Policy, layout: &'p blastwall_abi::layout::Layout, out: Out) -> Self {
        Gen {
            policy,
            layout,
            out,
            fn_index: Vec::new(),
            glob_addr: Vec::new(),
            regex_addr: Vec::new(),
            glob_slot: HashMap::new(),
            matches_globs: false,
            cmp_fns: HashMap::new(),
            memo: HashMap::new(),
            defined: Vec::new(),
            call_caches: HashMap::new(),
            list_tables: HashMap::new(),
        }
    }

    fn text(&self, file: usize, span: Span) -> String {
        self.policy
            .sources
            .get(file)
            .map(|s| span.text(&s.text).to_string())
            .unwrap_or_default()
    }

    fn slot_of(&self, r: &'static Record, index: usize) -> R<u32> {
        if r.name == schema::REACHED.name {
            return Ok(u32::try_from(index).unwrap_or(u32::MAX));
        }
        let name = r
            .fields
            .get(index)
            .map(|f| f.name)
            .ok_or_else(|| internal(format!("field {index} of {}", r.name)))?;
        self.layout
            .slot(r.name, name)
            .ok_or_else(|| internal(format!("field `{}.{name}` read but not encoded", r.name)))
    }

    /// Declare every user function (callees first, as the IR orders them).
    /// Declare every function. Two functions written alike — same parameter and result types,
    /// same body, same source text — share one compiled function (and its call cache).
    pub fn declare_fns(&mut self) {
        let mut seen: HashMap<String, u32> = HashMap::new();
        for f in &self.policy.fns {
            let key = format!(
                "{:?}->{}:{}:{}",
                f.params
                    .iter()
                    .map(|(_, t)| t.to_string())
                    .collect::<Vec<_>>(),
                f.ret,
                crate::memo::key(&f.body),
                self.text(f.loc.file, f.body.span)
            );
            let i = match seen.get(&key) {
                Some(i) => *i,
                None => {
                    let params = vec![I64; f.params.len()];
                    let i = self.out.declare(&params, &[I64]);
                    self.out.name(i, format!("fn {}", f.name));
                    seen.insert(key, i);
                    self.defined.push(self.fn_index.len());
                    i
                }
            };
            self.fn_index.push(i);
        }
    }

    /// The call cache of function `i`, when calls to it are worth remembering: one `str` or
    /// record argument, a `bool` or `int` result, and a body that does real work.
    fn call_cache(&mut self, i: usize) -> Option<u32> {
        let f = self.policy.fns.get(i)?;
        let worth = matches!(f.params.as_slice(),
            [(_, t)] if t.is_stringy() || matches!(t, Type::Record(_)))
            && matches!(f.ret, Type::Bool | Type::Int)
            && crate::memo::cost(&f.body) >= 40;
        if !worth {
            return None;
        }
        let wasm = *self.fn_index.get(i)?;
        let next = u32::try_from(self.call_caches.len()).unwrap_or(u32::MAX);
        Some(*self.call_caches.entry(wasm).or_insert(next))
    }

    /// How many call caches the evaluation needs ([`CALL_CACHE_BYTES`] each).
    pub fn call_cache_count(&self) -> u32 {
        u32::try_from(self.call_caches.len()).unwrap_or(u32::MAX)
    }

    pub fn define_fns(&mut self) -> R<()> {
        for (k, f) in self.policy.fns.iter().enumerate() {
            if !self.defined.contains(&k) {
                continue;
            }
            let nparams = u32::try_from(f.params.len()).unwrap_or(0);
            let mut a = Asm::new(nparams);
            let mut slots: Vec<u32> = (0..nparams).collect();
            for _ in f.params.len()..f.slots {
                slots.push(a.i64_local());
            }
            let fail = a.block();
            let mut cx = Cx {
                a,
                slots,
                file: f.loc.file,
                fail,
            };
            self.expr(&mut cx, &f.body)?;
            cx.a.i(I::Return);
            cx.a.end();
            cx.a.i64c(0);
            let idx = *self.fn_index.get(k).ok_or_else(|| internal("fn index"))?;
            self.out.define(idx, cx.a.finish());
        }
        Ok(())
    }

    /// One rule: `() -> i32`, 0 when it ran (its findings appended), 1 when it failed.
    pub fn rule(&mut self, index: u32, rule: &Rule) -> R<u32> {
        let mut a = Asm::new(0);
        let slots: Vec<u32> = (0..rule.slots).map(|_| a.i64_local()).collect();
        a.i32c(0).i(I::GlobalSet(G_FAILED));
        for d in &rule.reads {
            let g = doc_global(*d)?;
            a.i(I::GlobalGet(g)).i(I::I32Eqz);
            a.if_();
            a.i32c(0).i(I::Return);
            a.end();
        }
        let fail = a.block();
        let mut cx = Cx {
            a,
            slots,
            file: rule.loc.file,
            fail,
        };
        for (slot, e) in &rule.lets {
            self.expr(&mut cx, e)?;
            let l = cx.local(*slot)?;
            cx.a.set(l);
        }
        // Solutions: count distinct witnesses, keep a snapshot of the first 20.
        let total = cx.a.zero_i32();
        let keys = cx.a.zero_i32();
        let snaps = cx.a.zero_i32();
        let nslots = u32::try_from(rule.slots).unwrap_or(0);
        cx.a.u32c(MAX_FINDINGS * 4).call(P_ALLOC).set(snaps);
        let done = cx.a.block();
        let st = SolveState {
            rule,
            total,
            keys,
            snaps,
            nslots,
            done,
        };
        self.solve(&mut cx, &[&rule.when], &st)?;
        cx.a.end();
        // Findings for the snapshots, in order.
        let k = cx.a.zero_i32();
        let snap = cx.a.zero_i32();
        let b = cx.a.block();
        let l = cx.a.loop_();
        cx.a.get(k).get(total).i(I::I32GeU);
        cx.a.get(k).u32c(MAX_FINDINGS).i(I::I32GeU).i(I::I32Or);
        cx.a.br_if(b);
        cx.a.get(snaps)
            .get(k)
            .i32c(2)
            .i(I::I32Shl)
            .i(I::I32Add)
            .load32(0)
            .set(snap);
        for s in 0..nslots {
            let l = cx.local(s as usize)?;
            cx.a.get(snap).load64(s * 8).set(l);
        }
        self.finding(&mut cx, index, rule)?;
        cx.each_tail(k, l);
        // omitted, on the last finding
        cx.a.get(total).u32c(MAX_FINDINGS).i(I::I32GtU);
        cx.a.if_();
        cx.a.i(I::GlobalGet(G_FINDINGS));
        cx.a.i(I::GlobalGet(G_NFIND))
            .i32c(1)
            .i(I::I32Sub)
            .i32c(48)
            .i(I::I32Mul);
        cx.a.i(I::I32Add);
        cx.a.get(total)
            .u32c(MAX_FINDINGS)
            .i(I::I32Sub)
            .i(I::I64ExtendI32U);
        cx.a.store64(40);
        cx.a.end();
        cx.a.i32c(0).i(I::Return);
        cx.a.end();
        cx.a.i32c(1);
        let i = self.out.add_func(&[], &[I32], cx.a.finish());
        self.out.name(i, format!("rule {}", rule.name));
        Ok(i)
    }

    /// Enumerate the solutions of the conjunction `goals`, calling `solution` for each.
    fn solve(&mut self, cx: &mut Cx, goals: &[&Expr], st: &SolveState) -> R<()> {
        let Some((first, rest)) = goals.split_first() else {
            return self.solution(cx, st);
        };
        match &first.kind {
            ExprKind::And(a, b) if has_witness(first) => {
                let mut v: Vec<&Expr> = vec![a, b];
                v.extend_from_slice(rest);
                self.solve(cx, &v, st)
            }
            ExprKind::Quant {
                all: false,
                slot,
                over,
                body,
                witness: true,
            } => {
                self.expr(cx, over)?;
                let xs = cx.a.zero_i64();
                let i = cx.a.zero_i32();
                cx.a.set(xs);
                let var = cx.local(*slot)?;
                let (_, l) = cx.each_head(xs, i, var);
                let mut v: Vec<&Expr> = vec![body];
                v.extend_from_slice(rest);
                self.solve(cx, &v, st)?;
                cx.each_tail(i, l);
                Ok(())
            }
            _ => {
                self.cond(cx, first)?;
                cx.a.if_();
                self.solve(cx, rest, st)?;
                cx.a.end();
                Ok(())
            }
        }
    }

    fn solution(&mut self, cx: &mut Cx, st: &SolveState) -> R<()> {
        let rule = st.rule;
        let snapshot = |cx: &mut Cx| -> R<()> {
            let p = cx.a.zero_i32();
            cx.a.u32c(st.nslots.max(1) * 8).call(P_ALLOC).set(p);
            for s in 0..st.nslots {
                let l = cx.local(s as usize)?;
                cx.a.get(p).get(l).store64(s * 8);
            }
            cx.a.get(st.snaps)
                .get(st.total)
                .i32c(2)
                .i(I::I32Shl)
                .i(I::I32Add)
                .get(p)
                .store32(0);
            Ok(())
        };
        if rule.witness.is_empty() {
            snapshot(cx)?;
            cx.a.i32c(1).set(st.total);
            cx.a.br(st.done);
            return Ok(());
        }
        // Is this witness tuple new?
        let p = cx.a.zero_i32();
        let found = cx.a.zero_i32();
        cx.a.get(st.keys).set(p);
        cx.a.i32c(0).set(found);
        let b = cx.a.block();
        let l = cx.a.loop_();
        cx.a.get(p).i(I::I32Eqz);
        cx.a.br_if(b);
        cx.a.i32c(1).set(found);
        for (k, s) in rule.witness.iter().enumerate() {
            let ty = self.slot_type(rule, *s);
            let off = 8 + 8 * u32::try_from(k).unwrap_or(0);
            cx.a.get(p).load64(off);
            let l = cx.local(*s)?;
            cx.a.get(l);
            self.eq(cx, &ty)?;
            cx.a.get(found).i(I::I32And).set(found);
        }
        cx.a.get(found);
        cx.a.br_if(b);
        cx.a.get(p).load32(0).set(p);
        cx.a.br(l);
        cx.a.end();
        cx.a.end();
        cx.a.get(found).i(I::I32Eqz);
        cx.a.if_();
        let n = u32::try_from(rule.witness.len()).unwrap_or(0);
        let node = cx.a.zero_i32();
        cx.a.u32c(8 + 8 * n)
            .call(P_ALLOC)
            .tee(node)
            .get(st.keys)
            .store32(0);
        for (k, s) in rule.witness.iter().enumerate() {
            let l = cx.local(*s)?;
            cx.a.get(node)
                .get(l)
                .store64(8 + 8 * u32::try_from(k).unwrap_or(0));
        }
        cx.a.get(node).set(st.keys);
        cx.a.get(st.total).u32c(MAX_FINDINGS).i(I::I32LtU);
        cx.a.if_();
        snapshot(cx)?;
        cx.a.end();
        cx.a.get(st.total).i32c(1).i(I::I32Add).set(st.total);
        cx.a.end();
        Ok(())
    }

    /// The type of a rule's slot, found from the quantifier or comprehension that binds it.
    fn slot_type(&self, rule: &Rule, slot: usize) -> Type {
        fn find(e: &Expr, slot: usize) -> Option<Type> {
            match &e.kind {
                ExprKind::Quant {
                    slot: s,
                    over,
                    body,
                    ..
                } => {
                    if *s == slot {
                        return over.ty.element().cloned();
                    }
                    find(over, slot).or_else(|| find(body, slot))
                }
                ExprKind::And(a, b) | ExprKind::Or(a, b) => find(a, slot).or_else(|| find(b, slot)),
                ExprKind::Not(a) => find(a, slot),
                _ => None,
            }
        }
        if let Some((_, e)) = rule.lets.iter().find(|(s, _)| *s == slot) {
            return e.ty.clone();
        }
        find(&rule.when, slot).unwrap_or(Type::Any)
    }

    /// Append one finding for the current bindings.
    fn finding(&mut self, cx: &mut Cx, index: u32, rule: &Rule) -> R<()> {
        let msg = cx.a.zero_i64();
        match &rule.message {
            Some(t) => {
                let mut holes = Vec::new();
                for p in &t.parts {
                    if let TemplatePart::Hole(e) = p {
                        self.expr(cx, e)?;
                        let l = cx.a.zero_i64();
                        cx.a.set(l);
                        holes.push((l, e.ty.clone()));
                    }
                }
                let start = cx.a.zero_i32();
                cx.a.i(I::GlobalGet(G_HP)).set(start);
                let mut h = holes.into_iter();
                for p in &t.parts {
                    match p {
                        TemplatePart::Text(s) => {
                            let v = self.out.str(s);
                            cx.a.i64c(v).call(P_PUT);
                        }
                        TemplatePart::Hole(_) => {
                            let (l, ty) = h.next().ok_or_else(|| internal("hole"))?;
                            self.render(cx, l, &ty)?;
                        }
                    }
                }
                cx.a.get(start).call(P_FINISH).set(msg);
            }
            None => {
                let text = rule
                    .doc
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("rule `{}` fired", rule.name));
                let v = self.out.str(&text);
                cx.a.i64c(v).set(msg);
            }
        }
        let about = cx.a.zero_i64();
        cx.a.i64c(ABSENT).set(about);
        if let Some(e) = &rule.about {
            self.text_of(cx, e)?;
            cx.a.set(about);
        }
        let from = cx.a.zero_i64();
        let count = cx.a.zero_i64();
        cx.a.i64c(ABSENT).set(from);
        if let Effect::Review { from: f, count: c } = &rule.effect {
            match f {
                Some(e) => {
                    self.text_of(cx, e)?;
                    cx.a.set(from);
                }
                None => {
                    let v = self.out.str("any");
                    cx.a.i64c(v).set(from);
                }
            }
            cx.a.i64c(1).set(count);
            if let Some(e) = c
                && matches!(e.ty, Type::Int)
            {
                self.expr(cx, e)?;
                let v = cx.a.zero_i64();
                cx.a.tee(v).i64c(1).i(I::I64LtS);
                cx.a.if_();
                cx.a.i64c(1).set(v);
                cx.a.end();
                cx.a.get(v).i64c(100).i(I::I64GtS);
                cx.a.if_();
                cx.a.i64c(100).set(v);
                cx.a.end();
                cx.a.get(v).set(count);
            }
        }
        let rec = cx.a.zero_i32();
        cx.a.i(I::GlobalGet(G_FINDINGS));
        cx.a.i(I::GlobalGet(G_NFIND))
            .i32c(48)
            .i(I::I32Mul)
            .i(I::I32Add)
            .set(rec);
        cx.a.get(rec).i64c(i64::from(index)).store64(0);
        cx.a.get(rec).get(msg).store64(8);
        cx.a.get(rec).get(about).store64(16);
        cx.a.get(rec).get(from).store64(24);
        cx.a.get(rec).get(count).store64(32);
        cx.a.get(rec).i64c(0).store64(40);
        cx.a.i(I::GlobalGet(G_NFIND))
            .i32c(1)
            .i(I::I32Add)
            .i(I::GlobalSet(G_NFIND));
        Ok(())
    }

    /// Push the text of `e` (a `str`).
    fn text_of(&mut self, cx: &mut Cx, e: &Expr) -> R<()> {
        self.expr(cx, e)?;
        if e.ty.is_stringy() {
            return Ok(());
        }
        let l = cx.a.zero_i64();
        cx.a.set(l);
        let start = cx.a.zero_i32();
        cx.a.i(I::GlobalGet(G_HP)).set(start);
        self.render(cx, l, &e.ty)?;
        cx.a.get(start).call(P_FINISH);
        Ok(())
    }

    /// Append the text of the value in local `l` (only appends: never allocates elsewhere).
    fn render(&mut self, cx: &mut Cx, l: u32, ty: &Type) -> R<()> {
        match ty {
            Type::Str | Type::Enum(_) => {
                cx.a.get(l).call(P_PUT);
            }
            Type::Int => {
                cx.a.get(l).call(P_PUT_INT);
            }
            Type::Bool => {
                let t = self.out.str("true");
                let f = self.out.str("false");
                cx.a.i64c(t)
                    .i64c(f)
                    .get(l)
                    .i(I::I32WrapI64)
                    .i(I::Select)
                    .call(P_PUT);
            }
            Type::Optional(inner) => {
                let none = self.out.str("(none)");
                cx.a.get(l).i64c(ABSENT).i(I::I64Eq);
                cx.a.if_();
                cx.a.i64c(none).call(P_PUT);
                cx.a.else_();
                let v = cx.a.zero_i64();
                if boxed(inner) {
                    cx.a.get(l).ptr().load64(0).set(v);
                } else {
                    cx.a.get(l).set(v);
                }
                self.render(cx, v, inner)?;
                cx.a.end();
            }
            Type::List(inner) | Type::Set(inner) => {
                let sep = self.out.str(", ");
                self.render_joined(cx, l, Sep::Const(sep), inner)?;
            }
            Type::Record(r) => {
                // The first field stands for the record; it is always encoded at slot 0.
                let first = r.fields.first().ok_or_else(|| internal("empty record"))?;
                let fty = Type::from_shape(&first.shape);
                let v = cx.a.zero_i64();
                cx.a.get(l).ptr().load64(0).set(v);
                self.render(cx, v, &fty)?;
            }
            Type::Any | Type::Error => {}
        }
        Ok(())
    }

    /// Append the text of each element of the list in local `xs`, separated by `sep`.
    fn render_joined(&mut self, cx: &mut Cx, xs: u32, sep: Sep, elem: &Type) -> R<()> {
        let i = cx.a.zero_i32();
        let v = cx.a.zero_i64();
        let (_, next) = cx.each_head(xs, i, v);
        cx.a.get(i);
        cx.a.if_();
        match sep {
            Sep::Const(s) => cx.a.i64c(s),
            Sep::Local(l) => cx.a.get(l),
        };
        cx.a.call(P_PUT);
        cx.a.end();
        self.render(cx, v, elem)?;
        cx.each_tail(i, next);
        Ok(())
    }

    /// Fail the current rule with `text`.
    fn fail(&mut self, cx: &mut Cx, text: &str) {
        let v = self.out.str(text);
        cx.a.i64c(v).i(I::GlobalSet(G_ERR));
        cx.a.i32c(1).i(I::GlobalSet(G_FAILED));
        cx.a.br(cx.fail);
    }

    fn check_failed(&mut self, cx: &mut Cx) {
        cx.a.i(I::GlobalGet(G_FAILED));
        cx.a.br_if(cx.fail);
    }

    fn overflow(&mut self, cx: &mut Cx, e: &Expr) {
        let text = format!("integer overflow in `{}`", self.text(cx.file, e.span));
        self.fail(cx, &text);
    }

    /// Convert the value on the stack from type `from` to `to` (boxing into an optional).
    fn coerce(&mut self, cx: &mut Cx, from: &Type, to: &Type) {
        if let Type::Optional(inner) = to
            && !matches!(from, Type::Optional(_))
            && boxed(inner)
        {
            cx.a.call(P_BOX);
        }
    }

    /// How many memo entries the evaluation needs (16 bytes each: a flag, a value).
    pub fn memo_entries(&self) -> u32 {
        u32::try_from(self.memo.len()).unwrap_or(u32::MAX)
    }

    /// Push the i64 value of `e`, from the memo table when it is a shared subexpression
    /// already computed in this evaluation.
    fn expr(&mut self, cx: &mut Cx, e: &Expr) -> R<()> {
        if !crate::memo::worth_keeping(e) {
            return self.expr_inner(cx, e);
        }
        let next = self.memo_entries();
        let idx = *self.memo.entry(crate::memo::key(e)).or_insert(next);
        let entry = cx.a.zero_i32();
        cx.a.i(I::GlobalGet(crate::module::G_MEMO))
            .u32c(idx * 16)
            .i(I::I32Add)
            .set(entry);
        cx.a.get(entry).load32(0);
        cx.a.if_of(BlockType::Result(I64));
        cx.a.get(entry).load64(8);
        cx.a.else_();
        self.expr_inner(cx, e)?;
        let v = cx.a.zero_i64();
        cx.a.set(v);
        cx.a.get(entry).get(v).store64(8);
        cx.a.get(entry).i32c(1).store32(0);
        cx.a.get(v);
        cx.a.end();
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn expr_inner(&mut self, cx: &mut Cx, e: &Expr) -> R<()> {
        match &e.kind {
            ExprKind::Bool(b) => {
                cx.a.i64c(i64::from(*b));
            }
            ExprKind::Int(i) => {
                cx.a.i64c(*i);
            }
            ExprKind::Str(s) => {
                let v = self.out.str(s);
                cx.a.i64c(v);
            }
            ExprKind::List(items) => {
                let elem = e.ty.element().cloned().unwrap_or(Type::Any);
                if items.is_empty() {
                    cx.a.i64c(0);
                } else {
                    let p = cx.a.zero_i32();
                    let n = u32::try_from(items.len()).unwrap_or(0);
                    cx.a.u32c(n * 8).call(P_ALLOC).set(p);
                    for (k, item) in items.iter().enumerate() {
                        let v = cx.a.zero_i64();
                        self.expr(cx, item)?;
                        self.coerce(cx, &item.ty, &elem);
                        cx.a.set(v);
                        cx.a.get(p)
                            .get(v)
                            .store64(8 * u32::try_from(k).unwrap_or(0));
                    }
                    cx.a.get(p).u32c(n).pack();
                }
            }
            ExprKind::Doc(d) => {
                let g = doc_global(*d)?;
                cx.a.i(I::GlobalGet(g)).i(I::I64ExtendI32U);
            }
            ExprKind::Param(i) => {
                let off = 8 * u32::try_from(*i).unwrap_or(0);
                cx.a.i(I::GlobalGet(G_CONFIG)).load64(off);
            }
            ExprKind::Local(s) => {
                let l = cx.local(*s)?;
                cx.a.get(l);
            }
            ExprKind::Field { base, index, .. } => {
                let (r, optional) = match &base.ty {
                    Type::Record(r) => (*r, false),
                    Type::Optional(t) => match &**t {
                        Type::Record(r) => (*r, true),
                        _ => return Err(internal("field of a non-record")),
                    },
                    _ => return Err(internal("field of a non-record")),
                };
                let slot = self.slot_of(r, *index)?;
                let fty = r
                    .fields
                    .get(*index)
                    .map(|f| Type::from_shape(&f.shape))
                    .ok_or_else(|| internal("field index"))?;
                self.expr(cx, base)?;
                if optional {
                    let b = cx.a.zero_i64();
                    cx.a.tee(b).i64c(ABSENT).i(I::I64Eq);
                    cx.a.if_of(BlockType::Result(I64));
                    cx.a.i64c(ABSENT);
                    cx.a.else_();
                    cx.a.get(b).ptr().load64(slot * 8);
                    self.coerce(cx, &fty, &e.ty);
                    cx.a.end();
                } else {
                    cx.a.ptr().load64(slot * 8);
                }
            }
            ExprKind::Neg(a) => {
                self.expr(cx, a)?;
                let v = cx.a.zero_i64();
                cx.a.tee(v).i64c(i64::MIN).i(I::I64Eq);
                cx.a.if_();
                self.overflow(cx, e);
                cx.a.end();
                cx.a.i64c(0).get(v).i(I::I64Sub);
            }
            ExprKind::Arith(op, a, b) => self.arith(cx, e, *op, a, b)?,
            ExprKind::Concat(a, b) => {
                self.expr(cx, a)?;
                self.expr(cx, b)?;
                cx.a.call(P_CONCAT);
            }
            ExprKind::Coalesce(a, b) => {
                self.expr(cx, a)?;
                let v = cx.a.zero_i64();
                cx.a.tee(v).i64c(ABSENT).i(I::I64Eq);
                cx.a.if_of(BlockType::Result(I64));
                self.expr(cx, b)?;
                self.coerce(cx, &b.ty, &e.ty);
                cx.a.else_();
                cx.a.get(v);
                if let Type::Optional(inner) = &a.ty
                    && !matches!(e.ty, Type::Optional(_))
                    && boxed(inner)
                {
                    cx.a.ptr().load64(0);
                }
                cx.a.end();
            }
            ExprKind::Comprehension {
                slot,
                over,
                map,
                filter,
            } => {
                let elem = e.ty.element().cloned().unwrap_or(Type::Any);
                self.expr(cx, over)?;
                let xs = cx.a.zero_i64();
                let out = cx.a.zero_i32();
                let i = cx.a.zero_i32();
                let k = cx.a.zero_i32();
                cx.a.tee(xs)
                    .len()
                    .i32c(3)
                    .i(I::I32Shl)
                    .call(P_ALLOC)
                    .set(out);
                let var = cx.local(*slot)?;
                let (_, l) = cx.each_head(xs, i, var);
                cx.a.get(i).i32c(1).i(I::I32Add).set(i);
                if let Some(f) = filter {
                    self.cond(cx, f)?;
                    cx.a.i(I::I32Eqz);
                    cx.a.br_if(l);
                }
                let v = cx.a.zero_i64();
                match map {
                    Some(m) => {
                        self.expr(cx, m)?;
                        self.coerce(cx, &m.ty, &elem);
                    }
                    None => {
                        cx.a.get(var);
                    }
                }
                cx.a.set(v);
                cx.a.get(out)
                    .get(k)
                    .i32c(3)
                    .i(I::I32Shl)
                    .i(I::I32Add)
                    .get(v)
                    .store64(0);
                cx.each_tail(k, l);
                cx.a.get(out).get(k).pack();
            }
            ExprKind::Call(i, args) => {
                let f = self
                    .policy
                    .fns
                    .get(*i)
                    .ok_or_else(|| internal("function index"))?;
                for (arg, (_, pty)) in args.iter().zip(&f.params) {
                    self.expr(cx, arg)?;
                    self.coerce(cx, &arg.ty, pty);
                }
                let idx = *self.fn_index.get(*i).ok_or_else(|| internal("fn index"))?;
                match self.call_cache(*i) {
                    None => {
                        cx.a.call(idx);
                        self.check_failed(cx);
                    }
                    Some(cache) => {
                        // Functions are pure, and a string's slot (its address and length)
                        // or a record's (its address) names it for the whole evaluation:
                        // records are never written after they are made, and nothing is freed
                        // before the next evaluation. So a call with the same argument slot
                        // has the same result. Failures are not kept.
                        let arg = cx.a.zero_i64();
                        let entry = cx.a.zero_i32();
                        let v = cx.a.zero_i64();
                        cx.a.set(arg);
                        cx.a.i(I::GlobalGet(crate::module::G_CALLS))
                            .u32c(cache * CALL_CACHE_BYTES)
                            .i(I::I32Add);
                        cx.a.get(arg)
                            .i(I::I32WrapI64)
                            .i32c(3)
                            .i(I::I32ShrU)
                            .u32c(CALL_CACHE_ENTRIES - 1)
                            .i(I::I32And)
                            .i32c(4)
                            .i(I::I32Shl)
                            .i(I::I32Add)
                            .set(entry);
                        cx.a.get(arg).i64c(0).i(I::I64Ne);
                        cx.a.get(entry).load64(0).get(arg).i(I::I64Eq).i(I::I32And);
                        cx.a.if_of(BlockType::Result(I64));
                        cx.a.get(entry).load64(8);
                        cx.a.else_();
                        cx.a.get(arg).call(idx);
                        self.check_failed(cx);
                        cx.a.set(v);
                        cx.a.get(entry).get(arg).store64(0);
                        cx.a.get(entry).get(v).store64(8);
                        cx.a.get(v);
                        cx.a.end();
                    }
                }
            }
            ExprKind::Builtin(b, args) => self.builtin(cx, e, *b, args)?,
            ExprKind::Not(_)
            | ExprKind::And(..)
            | ExprKind::Or(..)
            | ExprKind::Cmp(..)
            | ExprKind::In(..)
            | ExprKind::Glob(..)
            | ExprKind::Regex(..)
            | ExprKind::Quant { .. } => {
                self.cond_inner(cx, e)?;
                cx.a.i(I::I64ExtendI32U);
            }
        }
        Ok(())
    }

    /// Whether the subject on the stack (a `str` slot) matches `pattern`; leaves 0 or 1, and
    /// leaves by `cx.fail` when a parameter's pattern is invalid.
    fn glob_on_stack(&mut self, cx: &mut Cx, pattern: &GlobRef) -> R<()> {
        let s = cx.a.zero_i64();
        cx.a.set(s);
        match pattern {
            GlobRef::Const(i) => {
                let addr = *self.glob_addr.get(*i).ok_or_else(|| internal("glob"))?;
                cx.a.u32c(addr).get(s).call(P_DFA);
            }
            GlobRef::Dynamic(p) if matches!(p.kind, ExprKind::List(_)) => {
                // A list of literal patterns: compiled here, tried in order.
                let ExprKind::List(items) = &p.kind else {
                    return Err(internal("glob list"));
                };
                let patterns: Vec<String> = items
                    .iter()
                    .filter_map(|i| match &i.kind {
                        ExprKind::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                let addrs = match self.list_tables.get(&patterns) {
                    Some(addrs) => addrs.clone(),
                    None => {
                        let texts: Vec<&str> = patterns.iter().map(String::as_str).collect();
                        let dfas = blastwall_abi::dfa::glob_list_dfas_shared(&texts)
                            .map_err(|e| crate::pattern_error(&texts, &e))?;
                        let addrs: Vec<u32> = dfas
                            .iter()
                            .map(|d| d.encode_into(self.out.data_mut(), crate::module::DATA_BASE))
                            .collect();
                        self.list_tables.insert(patterns, addrs.clone());
                        addrs
                    }
                };
                let done = cx.a.block_of(BlockType::Result(I32));
                for addr in addrs {
                    cx.a.i32c(1);
                    cx.a.u32c(addr).get(s).call(P_DFA);
                    cx.a.br_if(done);
                    cx.a.i(I::Drop);
                }
                cx.a.i32c(0);
                cx.a.end();
            }
            GlobRef::Dynamic(p) => {
                let ExprKind::Param(pi) = p.kind else {
                    return Err(internal("a glob computed at run time"));
                };
                let slot = *self
                    .glob_slot
                    .get(&pi)
                    .ok_or_else(|| internal("glob parameter slot"))?;
                let list = cx.a.zero_i64();
                let i = cx.a.zero_i32();
                let r = cx.a.zero_i32();
                cx.a.i(I::GlobalGet(G_CONFIG)).load64(slot * 8).set(list);
                let bl = cx.a.block();
                let l = cx.a.loop_();
                cx.a.get(i).get(list).len().i(I::I32GeU);
                cx.a.br_if(bl);
                cx.a.get(list)
                    .ptr()
                    .get(i)
                    .i32c(3)
                    .i(I::I32Shl)
                    .i(I::I32Add)
                    .load32(0);
                cx.a.get(s).call(P_DFA).tee(r).i32c(2).i(I::I32Eq);
                cx.a.br_if(cx.fail);
                cx.a.get(r);
                cx.a.br_if(bl);
                cx.each_tail(i, l);
                cx.a.get(r);
            }
        }
        Ok(())
    }

    fn arith(&mut self, cx: &mut Cx, e: &Expr, op: ArithOp, a: &Expr, b: &Expr) -> R<()> {
        self.expr(cx, a)?;
        let x = cx.a.zero_i64();
        cx.a.set(x);
        self.expr(cx, b)?;
        let y = cx.a.zero_i64();
        cx.a.set(y);
        let r = cx.a.zero_i64();
        match op {
            ArithOp::Add | ArithOp::Sub => {
                cx.a.get(x).get(y);
                cx.a.i(if op == ArithOp::Add {
                    I::I64Add
                } else {
                    I::I64Sub
                });
                cx.a.set(r);
                // Overflow when the result's sign differs from what the operands allow.
                if op == ArithOp::Add {
                    cx.a.get(x)
                        .get(r)
                        .i(I::I64Xor)
                        .get(y)
                        .get(r)
                        .i(I::I64Xor)
                        .i(I::I64And);
                } else {
                    cx.a.get(x)
                        .get(y)
                        .i(I::I64Xor)
                        .get(x)
                        .get(r)
                        .i(I::I64Xor)
                        .i(I::I64And);
                }
                cx.a.i64c(0).i(I::I64LtS);
                cx.a.if_();
                self.overflow(cx, e);
                cx.a.end();
            }
            ArithOp::Mul => {
                cx.a.get(x).get(y).i(I::I64Mul).set(r);
                // x != 0 and (r / x != y or (x == -1 and y == MIN))
                cx.a.get(x).i64c(0).i(I::I64Ne);
                cx.a.if_();
                cx.a.get(x)
                    .i64c(-1)
                    .i(I::I64Eq)
                    .get(y)
                    .i64c(i64::MIN)
                    .i(I::I64Eq)
                    .i(I::I32And);
                cx.a.if_();
                self.overflow(cx, e);
                cx.a.end();
                cx.a.get(r).get(x).i(I::I64DivS).get(y).i(I::I64Ne);
                cx.a.if_();
                self.overflow(cx, e);
                cx.a.end();
                cx.a.end();
            }
            ArithOp::Div | ArithOp::Rem => {
                cx.a.get(y).i(I::I64Eqz);
                cx.a.if_();
                let text = format!("division by zero in `{}`", self.text(cx.file, e.span));
                self.fail(cx, &text);
                cx.a.end();
                cx.a.get(x)
                    .i64c(i64::MIN)
                    .i(I::I64Eq)
                    .get(y)
                    .i64c(-1)
                    .i(I::I64Eq)
                    .i(I::I32And);
                cx.a.if_();
                self.overflow(cx, e);
                cx.a.end();
                cx.a.get(x).get(y);
                cx.a.i(if op == ArithOp::Div {
                    I::I64DivS
                } else {
                    I::I64RemS
                });
                cx.a.set(r);
            }
        }
        cx.a.get(r);
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn builtin(&mut self, cx: &mut Cx, e: &Expr, b: Builtin, args: &[Expr]) -> R<()> {
        let arg = |i: usize| args.get(i).ok_or_else(|| internal("builtin argument"));
        match b {
            Builtin::Count => {
                self.expr(cx, arg(0)?)?;
                cx.a.len().i(I::I64ExtendI32U);
            }
            Builtin::Sum | Builtin::Min | Builtin::Max => {
                self.expr(cx, arg(0)?)?;
                let xs = cx.a.zero_i64();
                let i = cx.a.zero_i32();
                let acc = cx.a.zero_i64();
                let v = cx.a.zero_i64();
                let r = cx.a.zero_i64();
                cx.a.set(xs);
                if b == Builtin::Min {
                    cx.a.i64c(i64::MAX).set(acc);
                } else if b == Builtin::Max {
                    cx.a.i64c(i64::MIN).set(acc);
                }
                let (_, l) = cx.each_head(xs, i, v);
                match b {
                    Builtin::Sum => {
                        cx.a.get(acc).get(v).i(I::I64Add).set(r);
                        cx.a.get(acc)
                            .get(r)
                            .i(I::I64Xor)
                            .get(v)
                            .get(r)
                            .i(I::I64Xor)
                            .i(I::I64And);
                        cx.a.i64c(0).i(I::I64LtS);
                        cx.a.if_();
                        self.overflow(cx, e);
                        cx.a.end();
                        cx.a.get(r).set(acc);
                    }
                    Builtin::Min => {
                        cx.a.get(v)
                            .get(acc)
                            .get(v)
                            .get(acc)
                            .i(I::I64LtS)
                            .i(I::Select)
                            .set(acc);
                    }
                    _ => {
                        cx.a.get(v)
                            .get(acc)
                            .get(v)
                            .get(acc)
                            .i(I::I64GtS)
                            .i(I::Select)
                            .set(acc);
                    }
                }
                cx.each_tail(i, l);
                if b == Builtin::Sum {
                    cx.a.get(acc);
                } else {
                    cx.a.get(xs).len().i(I::I32Eqz);
                    cx.a.if_of(BlockType::Result(I64));
                    cx.a.i64c(ABSENT);
                    cx.a.else_();
                    cx.a.get(acc).call(P_BOX);
                    cx.a.end();
                }
            }
            Builtin::Len | Builtin::Lower | Builtin::Upper | Builtin::Trim => {
                self.expr(cx, arg(0)?)?;
                cx.a.call(match b {
                    Builtin::Len => P_LEN,
                    Builtin::Lower => P_LOWER,
                    Builtin::Upper => P_UPPER,
                    _ => P_TRIM,
                });
            }
            Builtin::Split => {
                self.expr(cx, arg(0)?)?;
                self.expr(cx, arg(1)?)?;
                cx.a.call(P_SPLIT);
            }
            Builtin::Join => {
                let list = arg(0)?;
                self.expr(cx, list)?;
                let xs = cx.a.zero_i64();
                cx.a.set(xs);
                self.expr(cx, arg(1)?)?;
                let sep = cx.a.zero_i64();
                cx.a.set(sep);
                let start = cx.a.zero_i32();
                let elem = list.ty.element().cloned().unwrap_or(Type::Any);
                cx.a.i(I::GlobalGet(G_HP)).set(start);
                self.render_joined(cx, xs, Sep::Local(sep), &elem)?;
                cx.a.get(start).call(P_FINISH);
            }
            Builtin::Set => {
                let xs = arg(0)?;
                self.expr(cx, xs)?;
                cx.a.i32c(cmp_slot(xs.ty.element()));
                cx.a.call(P_SORT);
            }
            Builtin::Union | Builtin::Intersection | Builtin::Difference => {
                let (x, y) = (arg(0)?, arg(1)?);
                self.expr(cx, x)?;
                self.expr(cx, y)?;
                let elem = common(
                    x.ty.element().unwrap_or(&Type::Any),
                    y.ty.element().unwrap_or(&Type::Any),
                );
                cx.a.i32c(cmp_slot(Some(&elem)));
                cx.a.i32c(match b {
                    Builtin::Union => 0,
                    Builtin::Intersection => 1,
                    _ => 2,
                });
                cx.a.call(P_SETOP);
            }
            Builtin::Has | Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => {
                self.cond_inner(cx, e)?;
                cx.a.i(I::I64ExtendI32U);
            }
            Builtin::Dependents | Builtin::Dependencies => {
                self.expr(cx, arg(1)?)?;
                self.expr(cx, arg(2)?)?;
                cx.a.i32c(i32::from(b == Builtin::Dependents));
                cx.a.call(P_WALK);
                self.check_failed(cx);
            }
        }
        Ok(())
    }

    /// Push an i32 truth value of the boolean `e`.
    fn cond(&mut self, cx: &mut Cx, e: &Expr) -> R<()> {
        if crate::memo::worth_keeping(e) {
            self.expr(cx, e)?;
            cx.a.i(I::I32WrapI64);
            return Ok(());
        }
        self.cond_inner(cx, e)
    }

    #[allow(clippy::too_many_lines)]
    fn cond_inner(&mut self, cx: &mut Cx, e: &Expr) -> R<()> {
        // Every glob match is compiled here.
        if matches!(e.kind, ExprKind::Glob(..)) {
            self.matches_globs = true;
        }
        match &e.kind {
            ExprKind::Bool(b) => {
                cx.a.i32c(i32::from(*b));
            }
            ExprKind::Not(a) => {
                self.cond(cx, a)?;
                cx.a.i(I::I32Eqz);
            }
            ExprKind::And(a, b) => {
                let (a, b) = cheap_first(a, b);
                self.cond(cx, a)?;
                cx.a.if_of(BlockType::Result(I32));
                self.cond(cx, b)?;
                cx.a.else_();
                cx.a.i32c(0);
                cx.a.end();
            }
            ExprKind::Or(a, b) => {
                let (a, b) = cheap_first(a, b);
                self.cond(cx, a)?;
                cx.a.if_of(BlockType::Result(I32));
                cx.a.i32c(1);
                cx.a.else_();
                self.cond(cx, b)?;
                cx.a.end();
            }
            ExprKind::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), a, b)
                if prefixed_lowered(a, b).is_some() =>
            {
                // `"p" + lower(x) == lower(y)` (either way round) compares without building
                // the concatenation or any lower-cased string. The operands are evaluated in
                // the order written, so a failing one is reported as before.
                let (p, x, y, swapped) =
                    prefixed_lowered(a, b).ok_or_else(|| internal("prefixed lower"))?;
                let (lx, ly) = (cx.a.i64_local(), cx.a.i64_local());
                if swapped {
                    self.expr(cx, y)?;
                    cx.a.set(ly);
                    self.expr(cx, x)?;
                    cx.a.set(lx);
                } else {
                    self.expr(cx, x)?;
                    cx.a.set(lx);
                    self.expr(cx, y)?;
                    cx.a.set(ly);
                }
                cx.a.get(lx).get(ly);
                self.expr(cx, p)?;
                cx.a.call(P_STR_EQ_ASCII_CI_PREFIXED);
                if *op == CmpOp::Ne {
                    cx.a.i(I::I32Eqz);
                }
            }
            ExprKind::Cmp(op @ (CmpOp::Eq | CmpOp::Ne), a, b)
                if lowered(a).is_some() && lowered(b).is_some() =>
            {
                // `lower(x) == lower(y)` compares without building the lower-cased strings.
                let (x, y) = (
                    lowered(a).ok_or_else(|| internal("lower"))?,
                    lowered(b).ok_or_else(|| internal("lower"))?,
                );
                self.expr(cx, x)?;
                self.expr(cx, y)?;
                cx.a.call(P_STR_EQ_ASCII_CI);
                if *op == CmpOp::Ne {
                    cx.a.i(I::I32Eqz);
                }
            }
            ExprKind::Cmp(op, a, b) => {
                let ty = common(&a.ty, &b.ty);
                self.expr(cx, a)?;
                self.expr(cx, b)?;
                match &ty {
                    Type::Int | Type::Bool => {
                        cx.a.i(match op {
                            CmpOp::Eq => I::I64Eq,
                            CmpOp::Ne => I::I64Ne,
                            CmpOp::Lt => I::I64LtS,
                            CmpOp::Le => I::I64LeS,
                            CmpOp::Gt => I::I64GtS,
                            CmpOp::Ge => I::I64GeS,
                        });
                    }
                    t if t.is_stringy() && matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        cx.a.call(P_STR_EQ);
                        if *op == CmpOp::Ne {
                            cx.a.i(I::I32Eqz);
                        }
                    }
                    _ if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                        let f = self.eq_fn(&ty)?;
                        cx.a.call(f);
                        if *op == CmpOp::Ne {
                            cx.a.i(I::I32Eqz);
                        }
                    }
                    _ => {
                        let f = self.cmp_fn(&ty)?;
                        cx.a.call(f).i32c(0);
                        cx.a.i(match op {
                            CmpOp::Eq => I::I32Eq,
                            CmpOp::Ne => I::I32Ne,
                            CmpOp::Lt => I::I32LtS,
                            CmpOp::Le => I::I32LeS,
                            CmpOp::Gt => I::I32GtS,
                            CmpOp::Ge => I::I32GeS,
                        });
                    }
                }
            }
            ExprKind::In(a, b) if lowered(a).is_some() && lowered_comprehension(b).is_some() => {
                // `lower(x) in [lower(m) for v in over where f]` compares element by element,
                // without building the list or any lower-cased string, and stops at the first
                // match: skipping the rest changes nothing, since neither `m` nor `f` can fail.
                let (x, (slot, over, m, filter)) = (
                    lowered(a).ok_or_else(|| internal("lower"))?,
                    lowered_comprehension(b).ok_or_else(|| internal("comprehension"))?,
                );
                self.expr(cx, x)?;
                let x = cx.a.zero_i64();
                cx.a.set(x);
                self.expr(cx, over)?;
                let xs = cx.a.zero_i64();
                cx.a.set(xs);
                let i = cx.a.zero_i32();
                let r = cx.a.zero_i32();
                let var = cx.local(slot)?;
                let (done, next) = cx.each_head(xs, i, var);
                cx.a.get(i).i32c(1).i(I::I32Add).set(i);
                if let Some(f) = filter {
                    self.cond(cx, f)?;
                    cx.a.i(I::I32Eqz);
                    cx.a.br_if(next);
                }
                cx.a.get(x);
                self.expr(cx, m)?;
                cx.a.call(P_STR_EQ_ASCII_CI).tee(r);
                cx.a.br_if(done);
                cx.a.br(next);
                cx.a.end();
                cx.a.end();
                cx.a.get(r);
            }
            ExprKind::In(a, b) => {
                let elem = b.ty.element().cloned().unwrap_or(Type::Any);
                let ty = common(&a.ty, &elem);
                self.expr(cx, a)?;
                let x = cx.a.zero_i64();
                cx.a.set(x);
                self.expr(cx, b)?;
                let xs = cx.a.zero_i64();
                let i = cx.a.zero_i32();
                let r = cx.a.zero_i32();
                cx.a.set(xs);
                let bl = cx.a.block();
                let l = cx.a.loop_();
                cx.a.get(i).get(xs).len().i(I::I32GeU);
                cx.a.br_if(bl);
                cx.a.get(x);
                cx.a.slot_at(xs, i);
                self.eq(cx, &ty)?;
                cx.a.tee(r);
                cx.a.br_if(bl);
                cx.each_tail(i, l);
                cx.a.get(r);
            }
            ExprKind::Glob(a, pattern) => match &a.kind {
                // `(x ?? "literal") matches P`, most often `(f.previous_path ?? "") matches L`:
                // when `x` is absent the answer is the literal's, which is the same all through
                // an evaluation, so it is kept in the memo table instead of matched again for
                // every witness.
                ExprKind::Coalesce(x, d) if matches!(d.kind, ExprKind::Str(_)) => {
                    self.expr(cx, x)?;
                    let v = cx.a.zero_i64();
                    cx.a.tee(v).i64c(ABSENT).i(I::I64Eq);
                    cx.a.if_of(BlockType::Result(I32));
                    let literal = Expr {
                        kind: ExprKind::Glob(d.clone(), pattern.clone()),
                        ty: e.ty.clone(),
                        span: e.span,
                    };
                    self.cond(cx, &literal)?;
                    cx.a.else_();
                    cx.a.get(v);
                    self.glob_on_stack(cx, pattern)?;
                    cx.a.end();
                }
                _ => {
                    self.expr(cx, a)?;
                    self.glob_on_stack(cx, pattern)?;
                }
            },
            ExprKind::Regex(a, i) => {
                let addr = *self.regex_addr.get(*i).ok_or_else(|| internal("regex"))?;
                cx.a.u32c(addr);
                self.expr(cx, a)?;
                cx.a.call(P_DFA);
            }
            ExprKind::Quant {
                all,
                slot,
                over,
                body,
                ..
            } => {
                self.expr(cx, over)?;
                let xs = cx.a.zero_i64();
                let i = cx.a.zero_i32();
                let r = cx.a.zero_i32();
                cx.a.set(xs);
                cx.a.i32c(i32::from(*all)).set(r);
                let var = cx.local(*slot)?;
                let (bl, l) = cx.each_head(xs, i, var);
                self.cond(cx, body)?;
                if *all {
                    cx.a.i(I::I32Eqz);
                }
                cx.a.if_();
                cx.a.i32c(i32::from(!*all)).set(r);
                cx.a.br(bl);
                cx.a.end();
                cx.each_tail(i, l);
                cx.a.get(r);
            }
            ExprKind::Builtin(Builtin::Has, args) => {
                let x = args.first().ok_or_else(|| internal("has"))?;
                self.expr(cx, x)?;
                cx.a.i64c(ABSENT).i(I::I64Ne);
            }
            ExprKind::Builtin(
                b @ (Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains),
                args,
            ) => {
                for a in args {
                    self.expr(cx, a)?;
                }
                cx.a.call(match b {
                    Builtin::StartsWith => P_STARTS,
                    Builtin::EndsWith => P_ENDS,
                    _ => P_CONTAINS,
                });
            }
            _ => {
                self.expr(cx, e)?;
                cx.a.i(I::I32WrapI64);
            }
        }
        Ok(())
    }

    /// With two values of type `ty` on the stack, push i32 1 when they are equal.
    fn eq(&mut self, cx: &mut Cx, ty: &Type) -> R<()> {
        match ty {
            Type::Int | Type::Bool | Type::Any | Type::Error => {
                cx.a.i(I::I64Eq);
            }
            t if t.is_stringy() => {
                cx.a.call(P_STR_EQ);
            }
            _ => {
                let f = self.eq_fn(ty)?;
                cx.a.call(f);
            }
        }
        Ok(())
    }

    /// A function `(a, b) -> 1 | 0`: equality of values of type `ty`. Identical slots are equal
    /// at once; otherwise lengths and strings are compared before anything element-wise.
    fn eq_fn(&mut self, ty: &Type) -> R<u32> {
        let key = format!("eq {ty}");
        if let Some(f) = self.cmp_fns.get(&key) {
            return Ok(*f);
        }
        let idx = self.out.declare(&[I64, I64], &[I32]);
        self.out.name(idx, key.clone());
        self.cmp_fns.insert(key, idx);
        let mut a = Asm::new(2);
        a.get(0).get(1).i(I::I64Eq);
        a.if_();
        a.i32c(1).i(I::Return);
        a.end();
        // Pushes (a', b') for a component and tests it, returning 0 when it differs.
        let component = |g: &mut Self, a: &mut Asm, t: &Type| -> R<()> {
            match t {
                Type::Int | Type::Bool | Type::Any | Type::Error => {
                    a.i(I::I64Eq);
                }
                t if t.is_stringy() => {
                    a.call(P_STR_EQ);
                }
                _ => {
                    let f = g.eq_fn(t)?;
                    a.call(f);
                }
            }
            a.i(I::I32Eqz);
            a.if_();
            a.i32c(0).i(I::Return);
            a.end();
            Ok(())
        };
        match ty {
            Type::Optional(inner) => {
                // Absent equals only absent (identical slots were handled above).
                a.get(0)
                    .i64c(ABSENT)
                    .i(I::I64Eq)
                    .get(1)
                    .i64c(ABSENT)
                    .i(I::I64Eq)
                    .i(I::I32Or);
                a.if_();
                a.i32c(0).i(I::Return);
                a.end();
                if boxed(inner) {
                    a.get(0).ptr().load64(0).get(1).ptr().load64(0);
                } else {
                    a.get(0).get(1);
                }
                component(self, &mut a, inner)?;
            }
            Type::List(inner) | Type::Set(inner) => {
                let i = a.i32_local();
                a.get(0).len().get(1).len().i(I::I32Ne);
                a.if_();
                a.i32c(0).i(I::Return);
                a.end();
                let bl = a.block();
                let l = a.loop_();
                a.get(i).get(0).len().i(I::I32GeU);
                a.br_if(bl);
                a.slot_at(0, i);
                a.slot_at(1, i);
                component(self, &mut a, inner)?;
                a.get(i).i32c(1).i(I::I32Add).set(i);
                a.br(l);
                a.end();
                a.end();
            }
            Type::Record(r) => {
                for (i, f) in r.fields.iter().enumerate() {
                    let slot = self.slot_of(r, i)?;
                    let fty = Type::from_shape(&f.shape);
                    a.get(0).ptr().load64(slot * 8);
                    a.get(1).ptr().load64(slot * 8);
                    component(self, &mut a, &fty)?;
                }
            }
            _ => {
                let f = self.cmp_fn(ty)?;
                a.get(0).get(1).call(f).i(I::I32Eqz).i(I::Return);
            }
        }
        a.i32c(1);
        self.out.define(idx, a.finish());
        Ok(idx)
    }

    /// A function `(a, b) -> -1 | 0 | 1` ordering values of type `ty` as the interpreter does.
    fn cmp_fn(&mut self, ty: &Type) -> R<u32> {
        match ty {
            Type::Int | Type::Bool | Type::Any | Type::Error => return Ok(P_I64_CMP),
            t if t.is_stringy() => return Ok(P_STR_CMP),
            _ => {}
        }
        let key = format!("{ty}");
        if let Some(f) = self.cmp_fns.get(&key) {
            return Ok(*f);
        }
        let idx = self.out.declare(&[I64, I64], &[I32]);
        self.out.name(idx, format!("cmp {key}"));
        self.cmp_fns.insert(key, idx);
        let mut a = Asm::new(2);
        match ty {
            Type::Optional(inner) => {
                // absent < present
                a.get(0)
                    .i64c(ABSENT)
                    .i(I::I64Eq)
                    .get(1)
                    .i64c(ABSENT)
                    .i(I::I64Eq)
                    .i(I::I32Sub);
                let c = a.i32_local();
                a.tee(c);
                a.if_();
                a.i32c(0).get(c).i(I::I32Sub).i(I::Return);
                a.end();
                a.get(0).i64c(ABSENT).i(I::I64Eq);
                a.if_();
                a.i32c(0).i(I::Return);
                a.end();
                let f = self.cmp_fn(inner)?;
                if boxed(inner) {
                    a.get(0).ptr().load64(0).get(1).ptr().load64(0);
                } else {
                    a.get(0).get(1);
                }
                a.call(f);
            }
            Type::List(inner) | Type::Set(inner) => {
                let f = self.cmp_fn(inner)?;
                let i = a.i32_local();
                let c = a.i32_local();
                let bl = a.block();
                let l = a.loop_();
                a.get(i)
                    .get(0)
                    .len()
                    .i(I::I32GeU)
                    .get(i)
                    .get(1)
                    .len()
                    .i(I::I32GeU)
                    .i(I::I32Or);
                a.br_if(bl);
                a.slot_at(0, i);
                a.slot_at(1, i);
                a.call(f).tee(c);
                a.if_();
                a.get(c).i(I::Return);
                a.end();
                a.get(i).i32c(1).i(I::I32Add).set(i);
                a.br(l);
                a.end();
                a.end();
                let (n, m) = (a.i32_local(), a.i32_local());
                a.get(0).len().set(n);
                a.get(1).len().set(m);
                a.get(n)
                    .get(m)
                    .i(I::I32GtU)
                    .get(n)
                    .get(m)
                    .i(I::I32LtU)
                    .i(I::I32Sub);
            }
            Type::Record(r) => {
                let c = a.i32_local();
                for (i, f) in r.fields.iter().enumerate() {
                    let slot = self.slot_of(r, i)?;
                    let fty = Type::from_shape(&f.shape);
                    let g = self.cmp_fn(&fty)?;
                    a.get(0).ptr().load64(slot * 8);
                    a.get(1).ptr().load64(slot * 8);
                    a.call(g).tee(c);
                    a.if_();
                    a.get(c).i(I::Return);
                    a.end();
                }
                a.i32c(0);
            }
            _ => {
                a.i32c(0);
            }
        }
        self.out.define(idx, a.finish());
        Ok(idx)
    }
}

/// A separator: a constant string's slot, or a local holding one.
#[derive(Debug, Clone, Copy)]
enum Sep {
    Const(i64),
    Local(u32),
}

struct SolveState<'r> {
    rule: &'r Rule,
    total: u32,
    keys: u32,
    snaps: u32,
    nslots: u32,
    done: Label,
}

impl Cx {
    /// Open a loop over the list in local `xs`, counting in local `i` (zero on entry): the
    /// element at `i` is in local `var` for the body. Returns the labels of the block around
    /// the loop (branch there to stop) and of the loop (branch there after advancing `i`).
    fn each_head(&mut self, xs: u32, i: u32, var: u32) -> (Label, Label) {
        let done = self.a.block();
        let next = self.a.loop_();
        self.a.get(i).get(xs).len().i(I::I32GeU);
        self.a.br_if(done);
        self.a
            .get(xs)
            .ptr()
            .get(i)
            .i32c(3)
            .i(I::I32Shl)
            .i(I::I32Add)
            .load64(0)
            .set(var);
        (done, next)
    }

    /// Close a loop opened by [`Cx::each_head`]: advance `i` and go round.
    fn each_tail(&mut self, i: u32, next: Label) {
        self.a.get(i).i32c(1).i(I::I32Add).set(i);
        self.a.br(next);
        self.a.end();
        self.a.end();
    }

    fn local(&self, slot: usize) -> R<u32> {
        self.slots
            .get(slot)
            .copied()
            .ok_or_else(|| internal(format!("slot {slot}")))
    }
}

/// `x` when `e` is `lower(x)`.
fn lowered(e: &Expr) -> Option<&Expr> {
    match &e.kind {
        ExprKind::Builtin(Builtin::Lower, args) => args.first(),
        _ => None,
    }
}

/// `(p, x, y, swapped)` when `a == b` compares `p + lower(x)` with `lower(y)`, `p` a string
/// literal with no ASCII upper-case letter (so that lower-casing the concatenation leaves it
/// as it is); `swapped` when `lower(y)` is written first.
fn prefixed_lowered<'e>(a: &'e Expr, b: &'e Expr) -> Option<(&'e Expr, &'e Expr, &'e Expr, bool)> {
    let split = |e: &'e Expr| match &e.kind {
        ExprKind::Concat(p, l) => match &p.kind {
            ExprKind::Str(s) if !s.bytes().any(|c| c.is_ascii_uppercase()) => {
                Some((&**p, lowered(l)?))
            }
            _ => None,
        },
        _ => None,
    };
    match (split(a), split(b)) {
        (Some((p, x)), _) => Some((p, x, lowered(b)?, false)),
        (None, Some((p, x))) => Some((p, x, lowered(a)?, true)),
        (None, None) => None,
    }
}

/// `(slot, over, m, filter)` when `e` is `[lower(m) for slot in over where filter]` and
/// neither `m` nor `filter` can fail.
fn lowered_comprehension(e: &Expr) -> Option<(usize, &Expr, &Expr, Option<&Expr>)> {
    let ExprKind::Comprehension {
        slot,
        over,
        map: Some(map),
        filter,
    } = &e.kind
    else {
        return None;
    };
    let m = lowered(map)?;
    let filter = filter.as_deref();
    (crate::memo::infallible(map) && filter.is_none_or(crate::memo::infallible))
        .then_some((*slot, &**over, m, filter))
}

/// The operands of `and` / `or` in the order to test them: the cheaper first when neither
/// can fail (so the order cannot change which error a rule reports), else as written.
fn cheap_first<'e>(a: &'e Expr, b: &'e Expr) -> (&'e Expr, &'e Expr) {
    if crate::memo::cost(b) < crate::memo::cost(a)
        && crate::memo::infallible(a)
        && crate::memo::infallible(b)
    {
        (b, a)
    } else {
        (a, b)
    }
}

fn cmp_slot(elem: Option<&Type>) -> i32 {
    match elem {
        Some(t) if t.is_stringy() && !matches!(t, Type::Any | Type::Error) => CMP_STR,
        _ => CMP_I64,
    }
}

fn doc_global(d: DocKind) -> R<u32> {
    Ok(match d {
        DocKind::Change => G_CHANGE,
        DocKind::Plan => G_CHANGE + 1,
        DocKind::Action => G_CHANGE + 2,
        DocKind::Topology => G_CHANGE + 3,
        DocKind::Config => return Err(internal("config is not a document global")),
    })
}
