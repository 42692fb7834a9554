//! Shared subexpressions: an expression that reads only documents and parameters (no local
//! variable) has one value per evaluation, however often and wherever it is written. The
//! expensive ones are computed once per evaluation and kept in a memo table; a failure is not
//! kept, so each place that needs the value reports its own error.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use blastwall_check::ir::{Builtin, Expr, ExprKind, GlobRef};

/// A structural key for an expression: equal keys, equal values in one evaluation.
pub fn key(e: &Expr) -> String {
    let mut s = String::new();
    write(e, &mut s);
    s
}

fn write(e: &Expr, s: &mut String) {
    let _ = write!(s, "(");
    match &e.kind {
        ExprKind::Bool(b) => {
            let _ = write!(s, "b{b}");
        }
        ExprKind::Int(i) => {
            let _ = write!(s, "i{i}");
        }
        ExprKind::Str(x) => {
            let _ = write!(s, "s{}:{x}", x.len());
        }
        ExprKind::List(items) => {
            s.push('L');
            items.iter().for_each(|i| write(i, s));
        }
        ExprKind::Doc(d) => {
            let _ = write!(s, "D{}", d.name());
        }
        ExprKind::Param(i) => {
            let _ = write!(s, "P{i}");
        }
        ExprKind::Local(i) => {
            let _ = write!(s, "V{i}");
        }
        ExprKind::Field { base, index, .. } => {
            let _ = write!(s, "F{index}");
            write(base, s);
        }
        ExprKind::Not(a) => {
            s.push('!');
            write(a, s);
        }
        ExprKind::Neg(a) => {
            s.push('-');
            write(a, s);
        }
        ExprKind::And(a, b) => pair(s, "&", a, b),
        ExprKind::Or(a, b) => pair(s, "|", a, b),
        ExprKind::Cmp(op, a, b) => pair(s, &format!("C{op:?}"), a, b),
        ExprKind::Arith(op, a, b) => pair(s, &format!("A{op:?}"), a, b),
        ExprKind::Concat(a, b) => pair(s, "+", a, b),
        ExprKind::In(a, b) => pair(s, "in", a, b),
        ExprKind::Coalesce(a, b) => pair(s, "??", a, b),
        ExprKind::Glob(a, g) => {
            s.push_str("glob");
            write(a, s);
            match g {
                GlobRef::Const(i) => {
                    let _ = write!(s, "#{i}");
                }
                GlobRef::Dynamic(p) => write(p, s),
            }
        }
        ExprKind::Regex(a, i) => {
            let _ = write!(s, "re{i}");
            write(a, s);
        }
        ExprKind::Quant {
            all,
            slot,
            over,
            body,
            ..
        } => {
            let _ = write!(s, "Q{all}{slot}");
            write(over, s);
            write(body, s);
        }
        ExprKind::Comprehension {
            slot,
            over,
            map,
            filter,
        } => {
            let _ = write!(s, "M{slot}");
            write(over, s);
            match map {
                Some(m) => write(m, s),
                None => s.push('_'),
            }
            match filter {
                Some(f) => write(f, s),
                None => s.push('_'),
            }
        }
        ExprKind::Builtin(b, args) => {
            let _ = write!(s, "B{}", b.name());
            args.iter().for_each(|a| write(a, s));
        }
        ExprKind::Call(i, args) => {
            let _ = write!(s, "f{i}");
            args.iter().for_each(|a| write(a, s));
        }
    }
    let _ = write!(s, ":{})", e.ty);
}

fn pair(s: &mut String, tag: &str, a: &Expr, b: &Expr) {
    s.push_str(tag);
    write(a, s);
    write(b, s);
}

/// The local slots `e` reads that it does not bind itself.
pub fn free(e: &Expr, out: &mut BTreeSet<usize>) {
    match &e.kind {
        ExprKind::Local(i) => {
            out.insert(*i);
        }
        ExprKind::Quant {
            slot, over, body, ..
        } => {
            free(over, out);
            let mut inner = BTreeSet::new();
            free(body, &mut inner);
            inner.remove(slot);
            out.extend(inner);
        }
        ExprKind::Comprehension {
            slot,
            over,
            map,
            filter,
        } => {
            free(over, out);
            let mut inner = BTreeSet::new();
            for x in [map, filter].into_iter().flatten() {
                free(x, &mut inner);
            }
            inner.remove(slot);
            out.extend(inner);
        }
        ExprKind::List(items) | ExprKind::Builtin(_, items) | ExprKind::Call(_, items) => {
            items.iter().for_each(|i| free(i, out));
        }
        ExprKind::Field { base: a, .. }
        | ExprKind::Not(a)
        | ExprKind::Neg(a)
        | ExprKind::Regex(a, _) => free(a, out),
        ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::Arith(_, a, b)
        | ExprKind::Concat(a, b)
        | ExprKind::In(a, b)
        | ExprKind::Coalesce(a, b) => {
            free(a, out);
            free(b, out);
        }
        ExprKind::Glob(a, g) => {
            free(a, out);
            if let GlobRef::Dynamic(p) = g {
                free(p, out);
            }
        }
        ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Doc(_)
        | ExprKind::Param(_) => {}
    }
}

/// Whether `e` is worth keeping: it does real work (a walk, a loop, a call, a pattern) and
/// reads no local variable.
pub fn worth_keeping(e: &Expr) -> bool {
    let costly = match &e.kind {
        ExprKind::Call(..)
        | ExprKind::Quant { .. }
        | ExprKind::Comprehension { .. }
        | ExprKind::Glob(..)
        | ExprKind::Regex(..) => true,
        ExprKind::Builtin(b, _) => !matches!(b, Builtin::Has | Builtin::Count),
        _ => false,
    };
    if !costly {
        return false;
    }
    let mut vars = BTreeSet::new();
    free(e, &mut vars);
    vars.is_empty()
}

/// Whether evaluating `e` can never fail (no arithmetic, no call, no parameter pattern, no
/// graph walk): such operands of `and` / `or` may be evaluated in either order.
pub fn infallible(e: &Expr) -> bool {
    let here = match &e.kind {
        ExprKind::Arith(..) | ExprKind::Neg(_) | ExprKind::Call(..) => false,
        ExprKind::Glob(_, GlobRef::Dynamic(p)) => !matches!(p.kind, ExprKind::Param(_)),
        ExprKind::Builtin(b, _) => !matches!(
            b,
            Builtin::Sum | Builtin::Dependents | Builtin::Dependencies
        ),
        _ => true,
    };
    here && children(e).iter().all(|c| infallible(c))
}

/// A rough static cost of evaluating `e`, to test cheap conditions first.
pub fn cost(e: &Expr) -> u32 {
    let here = match &e.kind {
        ExprKind::Glob(..) | ExprKind::Regex(..) => 40,
        ExprKind::Quant { .. } | ExprKind::Comprehension { .. } => 100,
        ExprKind::Call(..) => 50,
        ExprKind::Builtin(..) | ExprKind::Concat(..) | ExprKind::In(..) => 10,
        ExprKind::Cmp(..) => 2,
        _ => 1,
    };
    children(e)
        .iter()
        .fold(here, |acc, c| acc.saturating_add(cost(c)))
}

fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::List(items) | ExprKind::Builtin(_, items) | ExprKind::Call(_, items) => {
            items.iter().collect()
        }
        ExprKind::Field { base: a, .. }
        | ExprKind::Not(a)
        | ExprKind::Neg(a)
        | ExprKind::Regex(a, _) => vec![a],
        ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Cmp(_, a, b)
        | ExprKind::Arith(_, a, b)
        | ExprKind::Concat(a, b)
        | ExprKind::In(a, b)
        | ExprKind::Coalesce(a, b) => vec![a, b],
        ExprKind::Glob(a, g) => match g {
            GlobRef::Dynamic(p) => vec![a, p],
            GlobRef::Const(_) => vec![a],
        },
        ExprKind::Quant { over, body, .. } => vec![over, body],
        ExprKind::Comprehension {
            over, map, filter, ..
        } => {
            let mut v: Vec<&Expr> = vec![over];
            v.extend(map.as_deref());
            v.extend(filter.as_deref());
            v
        }
        ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Doc(_)
        | ExprKind::Param(_)
        | ExprKind::Local(_) => Vec::new(),
    }
}
