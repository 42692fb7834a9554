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
pub fn mutants(v: &Value, replacements: &[Value]) -> Vec<Value> {
    let mut paths = Vec::new();
    collect(v, &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    let mut with = |path: &[Step], change: &dyn Fn(&mut Value)| {
        let mut m = v.clone();
        change(at(&mut m, path));
        out.push(m);
    };
    for path in &paths {
        let mut node = v.clone();
        let node = at(&mut node, path).clone();
        for r in replacements.iter().filter(|r| **r != node) {
            with(path, &|n| *n = r.clone());
        }
        match &node {
            Value::Object(members) => {
                with(path, &|n| n["zz_unknown"] = json!(1));
                for k in members.keys() {
                    with(path, &|n| {
                        if let Value::Object(m) = n {
                            m.shift_remove(k);
                        }
                    });
                }
            }
            Value::Array(items) if !items.is_empty() => {
                with(path, &|n| *n = json!([]));
                with(path, &|n| {
                    if let Value::Array(items) = n {
                        items.push(items[0].clone());
                    }
                });
            }
            _ => {}
        }
    }
    out
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
