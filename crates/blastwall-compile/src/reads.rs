//! What a policy reads: the fields to encode, and whether it walks the graph.

use blastwall_abi::layout::Reads;
use blastwall_abi::schema::{self, Record, Shape};
use blastwall_check::ir::{Builtin, Effect, Expr, ExprKind, GlobRef, Policy, TemplatePart};
use blastwall_check::ty::Type;

/// The result of the analysis.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Fields read, by record type name and schema index.
    pub reads: Reads,
    /// Whether a graph builtin is used.
    pub graph: bool,
}

pub fn analyse(policy: &Policy) -> Analysis {
    let mut a = Analysis::default();
    for f in &policy.fns {
        a.expr(&f.body);
    }
    for r in &policy.rules {
        for (_, e) in &r.lets {
            a.expr(e);
        }
        a.expr(&r.when);
        if let Some(t) = &r.message {
            for p in &t.parts {
                if let TemplatePart::Hole(e) = p {
                    a.expr(e);
                }
            }
        }
        if let Some(e) = &r.about {
            a.expr(e);
        }
        if let Effect::Review { from, count } = &r.effect {
            for e in [from, count].into_iter().flatten() {
                a.expr(e);
            }
        }
    }
    if a.graph {
        let add = |a: &mut Analysis, r: &'static Record, name: &str| {
            if let Some((i, _)) = r.field(name) {
                a.reads.insert((r.name, i));
            }
        };
        add(&mut a, &schema::TOPOLOGY, "nodes");
        for f in ["name", "kind", "tier", "owner"] {
            add(&mut a, &schema::NODE, f);
        }
    }
    a
}

impl Analysis {
    /// Every field of every record in `ty`, recursively: values compared as a whole.
    fn full(&mut self, ty: &Type) {
        match ty {
            Type::Record(r) => self.full_record(r),
            Type::List(t) | Type::Set(t) | Type::Optional(t) => self.full(t),
            _ => {}
        }
    }

    fn full_record(&mut self, r: &'static Record) {
        if (0..r.fields.len()).all(|i| self.reads.contains(&(r.name, i))) {
            return;
        }
        for (i, f) in r.fields.iter().enumerate() {
            self.reads.insert((r.name, i));
            if let Some(inner) = record_in(&f.shape) {
                self.full_record(inner);
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Field { base, index, .. } => {
                let r = match &base.ty {
                    Type::Record(r) => Some(*r),
                    Type::Optional(t) => match &**t {
                        Type::Record(r) => Some(*r),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(r) = r {
                    self.reads.insert((r.name, *index));
                }
                self.expr(base);
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i)),
            ExprKind::Not(a) | ExprKind::Neg(a) => self.expr(a),
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Arith(_, a, b)
            | ExprKind::Concat(a, b)
            | ExprKind::Coalesce(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Cmp(_, a, b) => {
                self.full(&a.ty);
                self.full(&b.ty);
                self.expr(a);
                self.expr(b);
            }
            ExprKind::In(a, b) => {
                self.full(&a.ty);
                self.full(&b.ty);
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Glob(a, g) => {
                self.expr(a);
                if let GlobRef::Dynamic(p) = g {
                    self.expr(p);
                }
            }
            ExprKind::Regex(a, _) => self.expr(a),
            ExprKind::Quant {
                over,
                body,
                witness,
                ..
            } => {
                if *witness && let Some(t) = over.ty.element() {
                    // Findings are one per distinct witness: witnesses are compared whole.
                    let t = t.clone();
                    self.full(&t);
                }
                self.expr(over);
                self.expr(body);
            }
            ExprKind::Comprehension {
                over, map, filter, ..
            } => {
                self.expr(over);
                if let Some(m) = map {
                    self.expr(m);
                }
                if let Some(f) = filter {
                    self.expr(f);
                }
            }
            ExprKind::Builtin(b, args) => {
                if matches!(b, Builtin::Dependents | Builtin::Dependencies) {
                    self.graph = true;
                }
                if matches!(
                    b,
                    Builtin::Set | Builtin::Union | Builtin::Intersection | Builtin::Difference
                ) {
                    args.iter().for_each(|a| self.full(&a.ty));
                }
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Call(_, args) => args.iter().for_each(|a| self.expr(a)),
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Doc(_)
            | ExprKind::Param(_)
            | ExprKind::Local(_) => {}
        }
    }
}

fn record_in(shape: &Shape) -> Option<&'static Record> {
    match shape {
        Shape::Record(r) => Some(r),
        Shape::List(s) | Shape::Optional(s) => record_in(s),
        _ => None,
    }
}
