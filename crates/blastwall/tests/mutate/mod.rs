//! A small deterministic JSON mutator for the fuzz targets' smoke tests: every mutant of a
//! value with one thing changed.

use serde_json::{Value, json};

/// A value of every JSON kind, with the edges of numbers a schema check must tell apart; each
/// smoke test adds the values its own input gives meaning to.
pub fn every_kind() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(1.5),
        json!(""),
        json!([]),
        json!({}),
    ]
}

/// Every mutant of `v` with one change: a node replaced by each of `replacements` it differs
/// from, an object's member removed or an unknown one (`zz_unknown`) added, a list emptied or
/// its first element repeated.
#[allow(dead_code, reason = "not every smoke test takes them all")]
pub fn mutants(v: &Value, replacements: &[Value]) -> Vec<Value> {
    sample(v, replacements, usize::MAX)
}

/// At most `max` of the [`mutants`] of `v`, evenly spread over them (every k-th), so that a
/// large document is mutated in every part without making all of its mutants.
pub fn sample(v: &Value, replacements: &[Value], max: usize) -> Vec<Value> {
    let mut paths = Vec::new();
    collect(v, &mut Vec::new(), &mut paths);
    // Each mutant as where and what, made only when kept.
    let mut edits: Vec<(usize, Edit)> = Vec::new();
    for (pi, path) in paths.iter().enumerate() {
        let node = get(v, path);
        for (ri, r) in replacements.iter().enumerate() {
            if r != node {
                edits.push((pi, Edit::Replace(ri)));
            }
        }
        match node {
            Value::Object(members) => {
                edits.push((pi, Edit::AddUnknown));
                for k in members.keys() {
                    edits.push((pi, Edit::Remove(k.clone())));
                }
            }
            Value::Array(items) if !items.is_empty() => {
                edits.push((pi, Edit::Empty));
                edits.push((pi, Edit::RepeatFirst));
            }
            _ => {}
        }
    }
    let step = edits.len().div_ceil(max.max(1)).max(1);
    edits
        .iter()
        .step_by(step)
        .map(|(pi, edit)| {
            let mut m = v.clone();
            let n = at(&mut m, &paths[*pi]);
            match edit {
                Edit::Replace(ri) => *n = replacements[*ri].clone(),
                Edit::AddUnknown => n["zz_unknown"] = json!(1),
                Edit::Remove(k) => {
                    if let Value::Object(m) = n {
                        m.shift_remove(k);
                    }
                }
                Edit::Empty => *n = json!([]),
                Edit::RepeatFirst => {
                    if let Value::Array(items) = n {
                        items.push(items[0].clone());
                    }
                }
            }
            m
        })
        .collect()
}

/// One change to a node.
enum Edit {
    Replace(usize),
    AddUnknown,
    Remove(String),
    Empty,
    RepeatFirst,
}

fn get<'v>(v: &'v Value, path: &[Step]) -> &'v Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &v[k.as_str()],
        Step::Index(i) => &v[*i],
    })
}

/// A step from a value to one inside it.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every node of `v`, `v` itself first.
fn collect(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Object(members) => {
            for (k, x) in members {
                here.push(Step::Key(k.clone()));
                collect(x, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                here.push(Step::Index(i));
                collect(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at<'v>(v: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}
