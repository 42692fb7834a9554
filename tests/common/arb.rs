//! Random well-typed facts, driven by the schemas: every record and field the rules can read,
//! with values drawn from pools that make the shipped rules fire as well as stay quiet.
#![allow(dead_code)]

use blastwall_abi::schema::{self, Record, Shape};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Values a string field of this name takes: realistic enough to reach every branch.
fn pool(field: &str) -> &'static [&'static str] {
    match field {
        "path" | "previous_path" | "file" => &[
            "services/cart/src/lib.rs",
            "services/cart/tests/a.rs",
            "docs/guide.md",
            "README.md",
            ".github/workflows/ci.yml",
            "CODEOWNERS",
            ".github/CODEOWNERS",
            "db/migrations/001_init.sql",
            "infra/iam/role.tf",
            "rules/x.bw",
            "blastwall.toml",
            "src/main.rs",
            "./a//b/",
            "é/日本.rs",
        ],
        "env" | "namespace" | "workspace" => &["production", "prod", "staging", "dev", ""],
        "type" | "kind" => &[
            "aws_db_instance",
            "aws_s3_bucket",
            "aws_kms_key",
            "aws_instance",
            "aws_ebs_volume",
            "service",
            "library",
        ],
        "command" => &[
            "rm -rf /var/data",
            "kubectl delete namespace payments --context prod",
            "terraform destroy -auto-approve",
            "ls -la",
            "git push --force origin main",
            "echo 'unterminated",
            "",
        ],
        "classes" => &["delete", "force-push", "infra-destroy", "db-drop"],
        "tool" | "program" => &[
            "Bash",
            "Edit",
            "shell",
            "kubectl",
            "terraform",
            "mcp__db__drop",
        ],
        "by" | "author" | "initiator" | "user" | "email" => &[
            "alice",
            "@Alice",
            "bob",
            "carol@example.com",
            "dependabot[bot]",
            " ALICE ",
        ],
        "teams" | "owners" | "groups" | "owner" => &[
            "@org/payments",
            "org/security",
            "@org/data",
            "@alice",
            "@org/platform",
        ],
        "name" | "services" | "depends_on" => &["db", "api", "web", "lib", "cart", "auth"],
        "format_version" => &["1.2", "0.1", "9.9", ""],
        "source" => &["terraform", "kubernetes", "git"],
        "operation" => &["CREATE", "UPDATE", "DELETE", "CONNECT"],
        "labels" => &["ai-assisted", "hotfix", "src/**", "docs/**"],
        "address" | "previous_address" => &["aws_db_instance.main", "module.x.aws_s3_bucket.b"],
        "key" => &["Co-authored-by", "Assisted-by", "Signed-off-by"],
        "value" | "message" | "title" | "marker" | "reason" => &[
            "Claude <noreply@anthropic.com>",
            "fix: thing",
            "Generated with Cursor",
            "",
        ],
        _ => &["x", "y", "", "production"],
    }
}

fn string(field: &'static str) -> BoxedStrategy<Value> {
    proptest::sample::select(pool(field))
        .prop_map(Value::from)
        .boxed()
}

/// A count: non-negative, at the edges too (negative ones are refused, and tested as such in
/// `tests/cases/decide/facts-negative-count`).
fn count() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => 0i64..6,
        2 => 0i64..400,
        1 => Just(i64::MAX),
    ]
    .prop_map(Value::from)
    .boxed()
}

fn int() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => 0i64..6,
        2 => 0i64..400,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => -3i64..0,
    ]
    .prop_map(Value::from)
    .boxed()
}

fn shape(field: &'static str, s: &Shape, depth: u32) -> BoxedStrategy<Value> {
    match s {
        Shape::Bool => any::<bool>().prop_map(Value::from).boxed(),
        Shape::Int => int(),
        Shape::Count => count(),
        Shape::Str => string(field),
        Shape::Enum(e) => proptest::sample::select(e.values)
            .prop_map(Value::from)
            .boxed(),
        Shape::List(inner) => {
            let max = if depth > 2 { 2 } else { 5 };
            proptest::collection::vec(shape(field, inner, depth + 1), 0..max)
                .prop_map(Value::Array)
                .boxed()
        }
        Shape::Record(r) => record(r, depth + 1),
        Shape::Optional(inner) => prop_oneof![
            1 => Just(Value::Null),
            2 => shape(field, inner, depth),
        ]
        .boxed(),
    }
}

/// A record with every required field, and each other field present or omitted at random.
pub fn record(r: &'static Record, depth: u32) -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = r
        .fields
        .iter()
        .map(|f| {
            let name = f.name.to_string();
            let value = shape(f.name, &f.shape, depth);
            if f.default == schema::Default::Required {
                value.prop_map(move |v| Some((name.clone(), v))).boxed()
            } else {
                prop_oneof![
                    1 => Just(None),
                    3 => value.prop_map(move |v| Some((name.clone(), v))),
                ]
                .boxed()
            }
        })
        .collect();
    fields
        .prop_map(|members| {
            let mut m = Map::new();
            for (k, v) in members.into_iter().flatten() {
                m.insert(k, v);
            }
            Value::Object(m)
        })
        .boxed()
}

/// A facts object: each document present or not, sometimes overrides.
pub fn facts() -> BoxedStrategy<Value> {
    let doc = |r: &'static Record| prop_oneof![1 => Just(None), 3 => record(r, 0).prop_map(Some)];
    let overrides = prop_oneof![
        3 => Just(None),
        1 => Just(Some(json!([{"rule": "no_destructive_prod_plan", "by": "lead", "reason": "planned migration"}]))),
    ];
    (
        doc(&schema::CHANGE),
        doc(&schema::PLAN),
        doc(&schema::ACTION),
        doc(&schema::TOPOLOGY),
        overrides,
    )
        .prop_map(|(change, plan, action, topology, overrides)| {
            let mut m = Map::new();
            for (k, v) in [
                ("change", change),
                ("plan", plan),
                ("action", action),
                ("topology", topology),
                ("overrides", overrides),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}
