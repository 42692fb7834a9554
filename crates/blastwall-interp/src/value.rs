//! Run-time values and the loading of fact documents into them.

use blastwall_abi::facts_error::{json_kind as kind, similar};
use std::fmt::Write as _;
use std::rc::Rc;

use blastwall_abi::schema::{self, Default as FieldDefault, DocKind, Record, Shape};
use blastwall_check::Policy;
use blastwall_check::ty::Type;

use crate::err::FactsError;

/// A run-time value. Optional values are either [`Value::Absent`] or the value itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// An optional value that is not there.
    Absent,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (or enum value).
    Str(Rc<str>),
    /// A list or set (sets are sorted and free of duplicates).
    List(Rc<Vec<Value>>),
    /// A record's fields in schema order.
    Record(Rc<Vec<Value>>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    /// Render for a message: strings bare, lists joined with `, `.
    pub fn render(&self, out: &mut String) {
        match self {
            Value::Absent => out.push_str("(none)"),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Str(s) => out.push_str(s),
            Value::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.render(out);
                }
            }
            // Every schema record leads with its identifying field (a path, an address,
            // a name), so that field stands for the record.
            Value::Record(fields) => match fields.first() {
                Some(first) => first.render(out),
                None => out.push_str("{}"),
            },
        }
    }

    /// The rendered text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

pub use blastwall_abi::combine::OverrideFact;

/// The facts one decision is made on, loaded and validated against the schemas.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `change`, `plan`, `action`, `topology` when given.
    pub docs: [Option<Value>; 4],
    /// Parameter values, in the policy's parameter order (defaults filled in).
    pub config: Vec<Value>,
    /// Recorded overrides.
    pub overrides: Vec<OverrideFact>,
}

fn doc_slot(doc: DocKind) -> Option<usize> {
    match doc {
        DocKind::Change => Some(0),
        DocKind::Plan => Some(1),
        DocKind::Action => Some(2),
        DocKind::Topology => Some(3),
        DocKind::Config => None,
    }
}

impl Facts {
    /// The document, if given.
    pub fn doc(&self, doc: DocKind) -> Option<&Value> {
        doc_slot(doc)
            .and_then(|i| self.docs.get(i))
            .and_then(Option::as_ref)
    }

    /// Load facts from JSON: `{"change": {…}, "plan": {…}, "config": {…}, "overrides": […]}`.
    ///
    /// Every member is validated against its schema: unknown fields and wrong types are
    /// errors (a misspelt fact must never read as a default), omitted fields take the
    /// schema's default, and omitted required fields are errors.
    pub fn from_json(policy: &Policy, json: &serde_json::Value) -> Result<Facts, FactsError> {
        let serde_json::Value::Object(top) = json else {
            return Err(FactsError::at(
                "",
                format!("facts must be a JSON object, found {}", kind(json)),
            ));
        };
        let mut facts = Facts {
            config: policy
                .params
                .iter()
                .map(|p| from_json_typed(&p.default, &p.ty, &format!("config.{}", p.name)))
                .collect::<Result<_, _>>()?,
            ..Facts::default()
        };
        for (key, value) in top {
            if key == "config" {
                facts.load_config(policy, value)?;
                continue;
            }
            if key == "overrides" {
                facts.overrides = load_overrides(value)?;
                continue;
            }
            let Some(doc) = DocKind::from_name(key) else {
                let msg = blastwall_abi::facts_error::unknown_document(key);
                return Err(FactsError::at(key, msg));
            };
            let (Some(record), Some(slot)) = (doc.record(), doc_slot(doc)) else {
                continue;
            };
            let v = load_record(value, record, key)?;
            if let Some(d) = facts.docs.get_mut(slot) {
                *d = Some(v);
            }
        }
        Ok(facts)
    }

    fn load_config(
        &mut self,
        policy: &Policy,
        value: &serde_json::Value,
    ) -> Result<(), FactsError> {
        let serde_json::Value::Object(members) = value else {
            return Err(FactsError::at(
                "config",
                format!("expected an object, found {}", kind(value)),
            ));
        };
        for (name, v) in members {
            let Some((i, p)) = policy
                .params
                .iter()
                .enumerate()
                .find(|(_, p)| &p.name == name)
            else {
                let names: Vec<&str> = policy.params.iter().map(|p| p.name.as_str()).collect();
                return Err(FactsError::at(
                    &format!("config.{name}"),
                    if names.is_empty() {
                        format!("unknown parameter `{name}`: the policy declares none")
                    } else {
                        format!(
                            "unknown parameter `{name}`; the policy declares {}",
                            names.join(", ")
                        )
                    },
                ));
            };
            let loaded = from_json_typed(v, &p.ty, &format!("config.{name}"))?;
            if let Some(slot) = self.config.get_mut(i) {
                *slot = loaded;
            }
        }
        // A host compiles the patterns of every glob parameter given, after checking the
        // values, in parameter order, and refuses a list it cannot compile (a glob whose table
        // would pass the state limit: docs/abi.md, Patterns). The same refusal here keeps the
        // interpreter's answer the module's.
        for p in policy.params.iter().filter(|p| p.glob) {
            let Some(value) = members.get(&p.name) else {
                continue;
            };
            let patterns = blastwall_abi::dfa::param_patterns(value);
            blastwall_abi::dfa::glob_list_dfas_shared(&patterns)
                .map_err(|e| FactsError::at(&format!("config.{}", p.name), e.to_string()))?;
        }
        Ok(())
    }
}

fn load_overrides(value: &serde_json::Value) -> Result<Vec<OverrideFact>, FactsError> {
    let serde_json::Value::Array(items) = value else {
        return Err(FactsError::at(
            "overrides",
            format!("expected a list, found {}", kind(value)),
        ));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("overrides[{i}]");
        let Value::Record(fields) = load_record(item, &schema::OVERRIDE, &path)? else {
            continue;
        };
        let text = |i: usize| match fields.get(i) {
            Some(Value::Str(s)) => s.to_string(),
            _ => String::new(),
        };
        let (rule, by, reason) = (text(0), text(1), text(2));
        if by.trim().is_empty() || reason.trim().is_empty() {
            return Err(FactsError::at(
                &path,
                "an override must say who (`by`) and why (`reason`)".to_string(),
            ));
        }
        out.push(OverrideFact { rule, by, reason });
    }
    Ok(out)
}

fn load_record(
    v: &serde_json::Value,
    record: &'static Record,
    path: &str,
) -> Result<Value, FactsError> {
    let serde_json::Value::Object(members) = v else {
        return Err(FactsError::at(
            path,
            format!("expected a `{}` object, found {}", record.name, kind(v)),
        ));
    };
    for key in members.keys() {
        if record.field(key).is_none() {
            let names: Vec<&str> = record.fields.iter().map(|f| f.name).collect();
            let close = names
                .iter()
                .find(|n| similar(key, n))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| format!("; `{}` has {}", record.name, names.join(", ")));
            return Err(FactsError::at(
                &join(path, key),
                format!("unknown field `{key}` in `{}`{close}", record.name),
            ));
        }
    }
    let mut fields = Vec::with_capacity(record.fields.len());
    for f in record.fields {
        let fpath = join(path, f.name);
        let value = match members.get(f.name) {
            Some(serde_json::Value::Null) if matches!(f.shape, Shape::Optional(_)) => Value::Absent,
            Some(x) => load_shape(x, &f.shape, &fpath)?,
            None => default_value(f.default, &f.shape, &fpath)?,
        };
        fields.push(value);
    }
    Ok(Value::Record(Rc::new(fields)))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn default_value(d: FieldDefault, shape: &Shape, path: &str) -> Result<Value, FactsError> {
    Ok(match d {
        FieldDefault::Required => {
            return Err(FactsError::at(
                path,
                "required field is missing".to_string(),
            ));
        }
        FieldDefault::Absent => Value::Absent,
        FieldDefault::Bool(b) => Value::Bool(b),
        FieldDefault::Int(i) => Value::Int(i),
        FieldDefault::Str(s) => Value::str(s),
        FieldDefault::EmptyList => Value::list(Vec::new()),
        FieldDefault::Record => match shape {
            Shape::Record(r) => {
                load_record(&serde_json::Value::Object(serde_json::Map::new()), r, path)?
            }
            _ => Value::Absent,
        },
    })
}

fn load_shape(v: &serde_json::Value, shape: &Shape, path: &str) -> Result<Value, FactsError> {
    use serde_json::Value as J;
    match (shape, v) {
        (Shape::Optional(inner), J::Null) => {
            let _ = inner;
            Ok(Value::Absent)
        }
        (Shape::Optional(inner), _) => load_shape(v, inner, path),
        (Shape::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Shape::Int, J::Number(n)) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| FactsError::at(path, format!("expected a 64-bit integer, found `{n}`"))),
        (Shape::Count, J::Number(n)) => match n.as_i64() {
            Some(i) if i >= 0 => Ok(Value::Int(i)),
            Some(_) => Err(FactsError::at(
                path,
                format!("expected a non-negative integer, found `{n}`"),
            )),
            None => Err(FactsError::at(
                path,
                format!("expected a 64-bit integer, found `{n}`"),
            )),
        },
        (Shape::Str, J::String(s)) => Ok(Value::str(s)),
        (Shape::Enum(e), J::String(s)) => {
            if e.values.contains(&s.as_str()) {
                Ok(Value::str(s))
            } else {
                Err(FactsError::at(
                    path,
                    format!(
                        "`{s}` is not a value of `{}`; expected one of {}",
                        e.name,
                        e.values.join(", ")
                    ),
                ))
            }
        }
        (Shape::List(inner), J::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(load_shape(item, inner, &format!("{path}[{i}]"))?);
            }
            Ok(Value::list(out))
        }
        (Shape::Record(r), J::Object(_)) => load_record(v, r, path),
        (shape, other) => Err(FactsError::at(
            path,
            format!("expected {}, found {}", describe_shape(shape), kind(other)),
        )),
    }
}

fn describe_shape(shape: &Shape) -> String {
    match shape {
        Shape::Bool => "a boolean".into(),
        Shape::Int => "an integer".into(),
        Shape::Count => "a non-negative integer".into(),
        Shape::Str => "a string".into(),
        Shape::Enum(e) => format!("one of {}", e.values.join(", ")),
        Shape::List(_) => "a list".into(),
        Shape::Record(r) => format!("a `{}` object", r.name),
        Shape::Optional(s) => describe_shape(s),
    }
}

/// Load a parameter value of a checked type (`bool`, `int`, `str` or lists of them).
pub fn from_json_typed(v: &serde_json::Value, ty: &Type, path: &str) -> Result<Value, FactsError> {
    use serde_json::Value as J;
    match (ty, v) {
        (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Int, J::Number(n)) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| FactsError::at(path, format!("expected a 64-bit integer, found `{n}`"))),
        (Type::Str, J::String(s)) => Ok(Value::str(s)),
        (Type::List(inner), J::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                out.push(from_json_typed(item, inner, &format!("{path}[{i}]"))?);
            }
            Ok(Value::list(out))
        }
        (ty, other) => Err(FactsError::at(
            path,
            format!("expected `{ty}`, found {}", kind(other)),
        )),
    }
}
