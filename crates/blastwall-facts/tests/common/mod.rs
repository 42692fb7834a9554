//! Test support: fixture loading and a checker that a document conforms to its declared schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use blastwall_abi::schema::{Default, Record, Shape};
use serde_json::Value;

/// The text of `tests/fixtures/<dir>/<name>`.
pub fn fixture(dir: &str, name: &str) -> String {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The file names in `tests/fixtures/<dir>`, sorted.
pub fn fixture_names(dir: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Panic unless `v` is a value of `record`: no undeclared fields, every required field present,
/// every value of its declared shape, every enum value allowed.
pub fn assert_conforms(v: &Value, record: &Record) {
    check_record(v, record, record.name);
}

fn check_record(v: &Value, record: &Record, path: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{path}: expected a `{}` record, got {v}", record.name));
    for key in obj.keys() {
        assert!(
            record.field(key).is_some(),
            "{path}: field `{key}` is not declared on `{}`",
            record.name
        );
    }
    for field in record.fields {
        match obj.get(field.name) {
            None => assert!(
                field.default != Default::Required,
                "{path}: required field `{}` is missing",
                field.name
            ),
            Some(value) => check_shape(value, &field.shape, &format!("{path}.{}", field.name)),
        }
    }
}

fn check_shape(v: &Value, shape: &Shape, path: &str) {
    match shape {
        Shape::Bool => assert!(v.is_boolean(), "{path}: expected bool, got {v}"),
        Shape::Int => assert!(v.is_i64(), "{path}: expected int, got {v}"),
        Shape::Count => assert!(
            v.as_i64().is_some_and(|n| n >= 0),
            "{path}: expected a non-negative int, got {v}"
        ),
        Shape::Str => assert!(v.is_string(), "{path}: expected str, got {v}"),
        Shape::Enum(e) => {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{path}: expected {}, got {v}", e.name));
            assert!(e.values.contains(&s), "{path}: `{s}` is not a {}", e.name);
        }
        Shape::List(inner) => {
            let items = v
                .as_array()
                .unwrap_or_else(|| panic!("{path}: expected a list, got {v}"));
            for (i, item) in items.iter().enumerate() {
                check_shape(item, inner, &format!("{path}[{i}]"));
            }
        }
        Shape::Record(r) => check_record(v, r, path),
        Shape::Optional(inner) => check_shape(v, inner, path),
    }
}
