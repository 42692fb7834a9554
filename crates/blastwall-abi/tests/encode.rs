//! The encoder against `docs/abi.md`: bytes of small inputs, the interpreter's fact errors, the
//! graph index and the config record.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use blastwall_abi::combine::{CombineContext, OverrideFact};
use blastwall_abi::encode::Encoder;
use blastwall_abi::layout::{
    ABSENT, FieldMeta, Layout, Metadata, ParamMeta, ParamType, Reads, ShapeMeta,
};
use blastwall_abi::schema;
use serde_json::json;

const BASE: u32 = 0x1000;

fn reads(fields: &[(&'static str, &str)]) -> Reads {
    let mut reads = Reads::new();
    for (record, field) in fields {
        let r = schema::ALL_RECORDS
            .iter()
            .find(|r| r.name == *record)
            .unwrap();
        reads.insert((r.name, r.field(field).unwrap().0));
    }
    reads
}

fn meta(layout: Layout, params: Vec<ParamMeta>, graph: bool) -> Metadata {
    Metadata {
        abi: blastwall_abi::layout::ABI_VERSION,
        compiler: "0.1.0".into(),
        digest: String::new(),
        graph,
        rules: Vec::new(),
        params,
        layout,
    }
}

fn param(name: &str, ty: &str, default: serde_json::Value, glob: bool) -> ParamMeta {
    ParamMeta {
        name: name.into(),
        ty: ty.parse().unwrap(),
        default,
        doc: Vec::new(),
        glob,
    }
}

/// Reads an encoded input by absolute address.
struct Mem<'a> {
    bytes: &'a [u8],
    base: u32,
}

impl Mem<'_> {
    fn off(&self, addr: u64) -> usize {
        assert!(
            addr >= u64::from(self.base),
            "address {addr:#x} before the input"
        );
        (addr - u64::from(self.base)) as usize
    }
    fn u32(&self, addr: u64) -> u32 {
        let o = self.off(addr);
        u32::from_le_bytes(self.bytes[o..o + 4].try_into().unwrap())
    }
    fn u64(&self, addr: u64) -> u64 {
        let o = self.off(addr);
        u64::from_le_bytes(self.bytes[o..o + 8].try_into().unwrap())
    }
    /// Slot `k` of the record or list at `addr`, which must be 8-byte aligned.
    fn slot(&self, addr: u64, k: u64) -> u64 {
        assert_eq!(addr % 8, 0, "slots at {addr:#x} are not aligned");
        self.u64(addr + 8 * k)
    }
    fn str(&self, slot: u64) -> &str {
        if slot >> 32 == 0 {
            // An empty string may have any address.
            return "";
        }
        let o = self.off(slot & 0xFFFF_FFFF);
        std::str::from_utf8(&self.bytes[o..o + (slot >> 32) as usize]).unwrap()
    }
    fn header(&self, k: u64) -> u64 {
        u64::from(self.u32(u64::from(self.base) + 4 * k))
    }
    /// The elements of a list slot.
    fn list(&self, slot: u64) -> Vec<u64> {
        (0..slot >> 32)
            .map(|i| self.slot(slot & 0xFFFF_FFFF, i))
            .collect()
    }
    fn u32s(&self, addr: u64, n: u64) -> Vec<u32> {
        (0..n).map(|i| self.u32(addr + 4 * i)).collect()
    }
}

/// The change layout of the byte test, with an `int?` field added to `Change` so that the
/// boxing of optional integers is covered (the shipped schema has none).
fn change_layout() -> Layout {
    let mut layout = Layout::new(&reads(&[
        ("Change", "ai"),
        ("Change", "files"),
        ("Ai", "initiator"),
        ("File", "status"),
        ("File", "previous_path"),
        ("File", "added"),
    ]));
    let change = layout.records.get_mut("Change").unwrap();
    let next = change.iter().filter_map(|f| f.slot).max().unwrap() + 1;
    change.push(FieldMeta {
        name: "risk".into(),
        shape: ShapeMeta::Optional(Box::new(ShapeMeta::Int)),
        default: json!("absent"),
        slot: Some(next),
    });
    layout
}

#[test]
fn records_lists_strings_defaults_and_absent_optionals() {
    let layout = change_layout();
    assert_eq!(layout.slot("Change", "author"), Some(0));
    assert_eq!(layout.slot("Change", "ai"), Some(1));
    assert_eq!(layout.slot("Change", "files"), Some(2));
    assert_eq!(layout.slot("Change", "risk"), Some(3));
    assert_eq!(layout.slot("Ai", "initiator"), Some(1));
    assert_eq!(layout.slot("File", "added"), Some(3));
    let enc = Encoder::new(&meta(layout, Vec::new(), false)).unwrap();
    let facts = json!({"change": {
        "author": "Al",
        "title": "not encoded but validated",
        "ai": {"initiator": "bob"},
        "files": [
            {"path": "a.rs", "added": 5, "previous_path": null, "binary": true},
            {"path": "b/c.rs", "status": "renamed", "previous_path": "old.rs"}
        ],
        "risk": -7
    }});
    let out = enc.encode_json(&facts, BASE, 0x40).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let change = m.header(0);
    assert_ne!(change, 0);
    assert_eq!(
        (
            m.header(1),
            m.header(2),
            m.header(3),
            m.header(4),
            m.header(5)
        ),
        (0, 0, 0, 0x40, 0)
    );
    assert_eq!(m.str(m.slot(change, 0)), "Al");
    let ai = m.slot(change, 1);
    assert_eq!(ai >> 32, 0);
    assert_eq!(m.str(m.slot(ai, 0)), "unknown", "the default of `assisted`");
    assert_eq!(m.str(m.slot(ai, 1)), "bob");
    let files = m.list(m.slot(change, 2));
    assert_eq!(files.len(), 2);
    let (f0, f1) = (files[0], files[1]);
    assert_eq!(m.str(m.slot(f0, 0)), "a.rs");
    assert_eq!(m.str(m.slot(f0, 1)), "modified");
    assert_eq!(m.slot(f0, 2), ABSENT);
    assert_eq!(m.slot(f0, 3), 5);
    assert_eq!(m.str(m.slot(f1, 1)), "renamed");
    assert_eq!(m.str(m.slot(f1, 2)), "old.rs");
    assert_eq!(m.slot(f1, 3), 0, "the default of `added`");
    let risk = m.slot(change, 3);
    assert_eq!(risk >> 32, 0);
    assert_eq!(m.slot(risk, 0) as i64, -7, "a present `int?` is boxed");

    // Omitted documents and optionals; an omitted `ai` record takes its defaults.
    let out = enc
        .encode_json(&json!({"change": {}, "plan": {}}), BASE, 0)
        .unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let change = m.header(0);
    assert_eq!(m.str(m.slot(change, 0)), "");
    assert_eq!(m.slot(m.slot(change, 1), 1), ABSENT);
    assert_eq!(m.slot(change, 2) >> 32, 0, "no files");
    assert_eq!(m.slot(change, 3), ABSENT);
    let plan = m.header(1);
    assert_ne!(plan, 0);
    assert_eq!(m.str(m.slot(plan, 0)), "terraform");
    assert_eq!(m.header(4), 0);

    // An empty object is a decision on no document at all.
    let out = enc.encode_json(&json!({}), BASE, 0).unwrap();
    assert_eq!(out.bytes, vec![0; 24]);
}

#[test]
fn the_context_comes_from_the_facts_whatever_is_encoded() {
    let enc = Encoder::new(&meta(Layout::new(&Reads::new()), Vec::new(), false)).unwrap();
    let facts = json!({
        "overrides": [{"rule": "r", "by": "ann", "reason": "hotfix"}],
        "change": {
            "author": "Alice",
            "ai": {"initiator": "@Bot"},
            "approvals": [
                {"by": "ALICE"},
                {"by": "bot"},
                {"by": "carol", "stale": true},
                {"by": "@Dave", "teams": ["@Org/X"]},
                {"by": "dave", "teams": ["org/y"]}
            ]
        }
    });
    let got = enc.encode_json(&facts, BASE, 0).unwrap().context;
    let want = CombineContext::new(
        "Alice",
        "@Bot",
        vec![
            ("ALICE".into(), false, vec![]),
            ("bot".into(), false, vec![]),
            ("carol".into(), true, vec![]),
            ("@Dave".into(), false, vec!["@Org/X".into()]),
            ("dave".into(), false, vec!["org/y".into()]),
        ],
        vec![OverrideFact {
            rule: "r".into(),
            by: "ann".into(),
            reason: "hotfix".into(),
        }],
    );
    assert_eq!(got, want);
    assert_eq!(
        got.approvers,
        vec![("dave".to_string(), vec!["org/x".into(), "org/y".into()])]
    );
    let none = enc.encode_json(&json!({"plan": {}}), BASE, 0).unwrap();
    assert_eq!(none.context, CombineContext::default());
}

/// Every fact-error case of the interpreter gives the same text here.
#[test]
fn fact_errors_match_the_interpreter_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases/decide");
    let enc = Encoder::new(&meta(Layout::new(&Reads::new()), Vec::new(), false)).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("facts-") {
            continue;
        }
        let policy = std::fs::read_to_string(path.join("policy.bw")).unwrap();
        assert!(
            !policy.contains("param "),
            "{name}: declare its parameters here"
        );
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.join("facts.json")).unwrap())
                .unwrap();
        let want = std::fs::read_to_string(path.join("error.txt")).unwrap();
        let got = enc.encode_json(&facts, BASE, 0).map(|_| ()).unwrap_err();
        assert_eq!(got.to_string(), want.trim_end(), "{name}");
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} cases");
}

/// The interpreter's texts for errors no case file covers.
#[test]
fn more_fact_errors() {
    let params = vec![
        param("owners", "[str]", json!(["@org/a"]), false),
        param("limit", "int", json!(10), false),
        param("strict", "bool", json!(false), false),
    ];
    let enc = Encoder::new(&meta(Layout::new(&Reads::new()), params, false)).unwrap();
    let cases = [
        (json!([]), "facts must be a JSON object, found a list"),
        (
            json!({"config": {"limt": 3}}),
            "`config.limt`: unknown parameter `limt`; the policy declares owners, limit, strict",
        ),
        (
            json!({"config": {"owners": "x"}}),
            "`config.owners`: expected `[str]`, found a string",
        ),
        (
            json!({"config": {"owners": ["a", 1]}}),
            "`config.owners[1]`: expected `str`, found a number",
        ),
        (
            json!({"config": {"limit": 9_223_372_036_854_775_808u64}}),
            "`config.limit`: expected a 64-bit integer, found `9223372036854775808`",
        ),
        (
            json!({"config": []}),
            "`config`: expected an object, found a list",
        ),
        (
            json!({"change": {"files": [{"path": "a", "added": 18_446_744_073_709_551_615u64}]}}),
            "`change.files[0].added`: expected a 64-bit integer, found `18446744073709551615`",
        ),
        (
            json!({"overrides": {}}),
            "`overrides`: expected a list, found an object",
        ),
        (
            json!({"overrides": [{"rule": "r", "by": "a", "reson": "x"}]}),
            "`overrides[0].reson`: unknown field `reson` in `Override`; did you mean `reason`?",
        ),
        (
            json!({"overrides": [{"rule": "r", "by": "a"}]}),
            "`overrides[0].reason`: required field is missing",
        ),
        (
            json!({"overrides": [{"rule": "r", "by": "a", "reason": " "}]}),
            "`overrides[0]`: an override must say who (`by`) and why (`reason`)",
        ),
        (
            json!({"overrides": ["r"]}),
            "`overrides[0]`: expected a `Override` object, found a string",
        ),
        (
            json!({"change": {"zzz": 1}}),
            "`change.zzz`: unknown field `zzz` in `Change`; `Change` has author, title, base, head, ai, files, commits, approvals, services, labels, owners",
        ),
        (
            json!({"change": {"ai": "yes"}}),
            "`change.ai`: expected a `Ai` object, found a string",
        ),
        (
            json!({"change": {"files": [{"path": "a", "status": 3}]}}),
            "`change.files[0].status`: expected one of added, modified, deleted, renamed, copied, type_changed, found a number",
        ),
        (
            json!({"change": {"ai": {"initiator": 3}}}),
            "`change.ai.initiator`: expected a string, found a number",
        ),
        (
            json!({"change": null}),
            "`change`: expected a `Change` object, found `null`",
        ),
        (
            json!({"plan": {"request": {}}}),
            "`plan.request.operation`: required field is missing",
        ),
        (
            json!({"topology": {"nodes": [{"name": "a", "tier": true}]}}),
            "`topology.nodes[0].tier`: expected an integer, found a boolean",
        ),
        (
            json!({"": 1}),
            "unknown document ``; did you mean `change`?",
        ),
        (json!({"xyz": 1}), "`xyz`: unknown document `xyz`"),
    ];
    for (facts, want) in cases {
        let got = enc.encode_json(&facts, BASE, 0).map(|_| ()).unwrap_err();
        assert_eq!(got.to_string(), want, "{facts}");
    }
    // The first error in the order of the members, then of the schema's fields.
    let facts = json!({"plan": {"resources": 1, "complete": "x"}, "change": {"title": 1}});
    let got = enc.encode_json(&facts, BASE, 0).map(|_| ()).unwrap_err();
    assert_eq!(
        got.to_string(),
        "`plan.complete`: expected a boolean, found a string"
    );
    // An unknown field is reported before any wrong value in the same record.
    let facts = json!({"change": {"title": 1, "tittle": "x"}});
    let got = enc.encode_json(&facts, BASE, 0).map(|_| ()).unwrap_err();
    assert_eq!(got.path, "change.tittle");
    let none = Encoder::new(&meta(Layout::new(&Reads::new()), Vec::new(), false)).unwrap();
    let got = none
        .encode_json(&json!({"config": {"x": 1}}), BASE, 0)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        got.to_string(),
        "`config.x`: unknown parameter `x`: the policy declares none"
    );
}

#[test]
fn graph_index() {
    let layout = Layout::new(&reads(&[
        ("Node", "kind"),
        ("Node", "tier"),
        ("Node", "owner"),
    ]));
    let enc = Encoder::new(&meta(layout.clone(), Vec::new(), true)).unwrap();
    let topology = json!({"topology": {"nodes": [
        {"name": "web", "depends_on": ["api", "ghost"]},
        {"name": "api", "depends_on": ["db", "cache"]},
        {"name": "db"},
        {"name": "cache", "depends_on": ["db"]}
    ]}});
    let out = enc.encode_json(&topology, BASE, 0).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let g = m.header(5);
    assert_ne!(g, 0);
    let n = m.slot(g, 0);
    assert_eq!(n, 4);
    assert_eq!(m.u32s(m.slot(g, 1), n), vec![1, 3, 2, 0], "by name");
    let fwd_start = m.u32s(m.slot(g, 2), n + 1);
    assert_eq!(fwd_start, vec![0, 1, 3, 3, 4]);
    assert_eq!(
        m.u32s(m.slot(g, 3), 4),
        vec![1, 2, 3, 2],
        "`ghost` is ignored"
    );
    let rev_start = m.u32s(m.slot(g, 4), n + 1);
    assert_eq!(rev_start, vec![0, 0, 1, 3, 4]);
    assert_eq!(m.u32s(m.slot(g, 5), 4), vec![0, 1, 3, 1]);
    assert_eq!(m.str(m.slot(g, 6)), "");
    // Nodes encode name, kind, tier, owner.
    let nodes = m.list(m.slot(m.header(3), 0));
    assert_eq!(m.str(m.slot(nodes[2], 0)), "db");
    assert_eq!(m.str(m.slot(nodes[2], 1)), "service");
    assert_eq!(m.slot(nodes[2], 2), 3);

    let dup = json!({"topology": {"nodes": [
        {"name": "web"}, {"name": "api"}, {"name": "db"},
        {"name": "cache"}, {"name": "db"}, {"name": "api"}
    ]}});
    let out = enc.encode_json(&dup, BASE, 0).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let g = m.header(5);
    assert_eq!(m.slot(g, 0), 6);
    assert_eq!(m.str(m.slot(g, 6)), "two nodes are named `db`");

    // The interpreter's case file.
    let case = json!({"topology": {"nodes": [{"name": "db"}, {"name": "db"}, {"name": "api", "depends_on": ["db"]}]}});
    let out = enc.encode_json(&case, BASE, 0).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    assert_eq!(m.str(m.slot(m.header(5), 6)), "two nodes are named `db`");

    // Names alike in their first 16 bytes (the key sorting and lookup start from), a
    // duplicate whose first node is the one a dependency reaches, and many nodes, so that
    // lookups probe past other names.
    let mut nodes: Vec<serde_json::Value> = (0..40)
        .map(|i| json!({"name": format!("payments-service-{i}"), "depends_on": [format!("payments-service-{}", (i + 1) % 40)]}))
        .collect();
    nodes.push(json!({"name": "payments-service-7", "depends_on": ["payments-service-", "payments-service-39"]}));
    let out = enc
        .encode_json(&json!({"topology": {"nodes": nodes}}), BASE, 0)
        .unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let g = m.header(5);
    assert_eq!(m.slot(g, 0), 41);
    let fwd_start = m.u32s(m.slot(g, 2), 42);
    let fwd = m.u32s(m.slot(g, 3), u64::from(fwd_start[41]));
    for i in 0..40u32 {
        assert_eq!(
            fwd[fwd_start[i as usize] as usize..fwd_start[i as usize + 1] as usize],
            [(i + 1) % 40],
            "node {i}"
        );
    }
    // `payments-service-` is no node's name; `payments-service-39` is node 39.
    assert_eq!(fwd[fwd_start[40] as usize..], [39]);
    // Node 6 depends on `payments-service-7`: the first node of that name, 7, not 40.
    assert_eq!(fwd[fwd_start[6] as usize..fwd_start[7] as usize], [7]);
    assert_eq!(
        m.str(m.slot(g, 6)),
        "two nodes are named `payments-service-7`"
    );

    // No nodes, and no graph index when the policy does not walk the graph.
    let out = enc.encode_json(&json!({"topology": {}}), BASE, 0).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let g = m.header(5);
    assert_eq!(m.slot(g, 0), 0);
    assert_eq!(m.u32s(m.slot(g, 2), 1), vec![0]);
    let plain = Encoder::new(&meta(layout, Vec::new(), false)).unwrap();
    let out = plain.encode_json(&topology, BASE, 0).unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    assert_ne!(m.header(3), 0);
    assert_eq!(m.header(5), 0);
}

#[test]
fn config_records() {
    let params = vec![
        param("paths", "[str]", json!(["a/**", "b/*.rs"]), true),
        param("limit", "int", json!(10), false),
        param("root", "str", json!("src/**"), true),
        param("strict", "bool", json!(true), false),
    ];
    let enc = Encoder::new(&meta(Layout::new(&Reads::new()), params, false)).unwrap();
    let base = 0x800;
    let given = json!({"limit": -3, "root": "x/[z"});
    let bytes = enc.encode_config(given.as_object().unwrap(), base).unwrap();
    let m = Mem {
        bytes: &bytes,
        base,
    };
    let rec = u64::from(base);
    let paths = m.list(m.slot(rec, 0));
    assert_eq!(
        paths.iter().map(|s| m.str(*s)).collect::<Vec<_>>(),
        ["a/**", "b/*.rs"]
    );
    assert_eq!(m.slot(rec, 1) as i64, -3);
    assert_eq!(m.str(m.slot(rec, 2)), "x/[z");
    assert_eq!(m.slot(rec, 3), 1);
    // The compiled patterns of `paths` (defaults: both globs in one table), then of `root`
    // (given, invalid).
    let compiled = m.list(m.slot(rec, 4));
    assert_eq!(compiled.len(), 1);
    for c in &compiled {
        assert_eq!(c >> 32, 0);
        assert_eq!(c % 8, 0);
        assert_eq!(m.u32(*c), 1, "a glob");
    }
    let root = m.list(m.slot(rec, 5));
    assert_eq!(root.len(), 1);
    assert_eq!(m.u32(root[0]), 0, "an invalid glob");
    let text = m.str(m.u64(root[0] + 16));
    assert!(text.starts_with("invalid glob `x/[z`: "), "{text}");

    // A `config` member of the facts puts the config record into the input.
    let out = enc
        .encode_json(&json!({"config": {"strict": false}}), BASE, 0x40)
        .unwrap();
    let m = Mem {
        bytes: &out.bytes,
        base: BASE,
    };
    let rec = m.header(4);
    assert!(rec > u64::from(BASE));
    assert_eq!(m.slot(rec, 1), 10);
    assert_eq!(m.slot(rec, 3), 0);
    assert_eq!(m.list(m.slot(rec, 5)).len(), 1);
    assert_eq!(m.u32(m.list(m.slot(rec, 5))[0]), 1);
    assert_eq!(
        enc.encode_json(&json!({}), BASE, 0x40).unwrap().bytes[16..20],
        0x40u32.to_le_bytes()
    );

    // Unaligned addresses are refused.
    assert!(enc.encode_json(&json!({}), BASE + 4, 0).is_err());
    assert!(enc.encode_config(&serde_json::Map::new(), 4).is_err());
}

#[test]
fn bad_layouts_are_refused() {
    let mut layout = Layout::new(&Reads::new());
    layout.records.get_mut("File").unwrap()[1].default = json!("nope");
    assert!(Encoder::new(&meta(layout, Vec::new(), false)).is_err());
    let mut layout = Layout::new(&Reads::new());
    layout.documents.remove("plan");
    assert!(Encoder::new(&meta(layout, Vec::new(), false)).is_err());
    let mut layout = Layout::new(&Reads::new());
    layout.records.get_mut("File").unwrap()[1].slot = Some(0);
    assert!(Encoder::new(&meta(layout, Vec::new(), false)).is_err());
    // A slot past the record's fields would make each record that large.
    for slot in [u32::MAX, 4_000_000] {
        let mut layout = Layout::new(&Reads::new());
        let fields = layout.records["File"].len();
        layout.records.get_mut("File").unwrap()[0].slot = Some(slot);
        let err = Encoder::new(&meta(layout, Vec::new(), false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("`File` has {fields} fields, so a slot must be below {fields}, not {slot}")
        );
    }
    let mut layout = Layout::new(&Reads::new());
    let last = layout.records["File"].len() - 1;
    layout.records.get_mut("File").unwrap()[last].slot = Some(last as u32);
    assert!(Encoder::new(&meta(layout, Vec::new(), false)).is_ok());
    let mut layout = Layout::new(&Reads::new());
    layout.records.get_mut("Person").unwrap().push(FieldMeta {
        name: "boss".into(),
        shape: ShapeMeta::Record("Person".into()),
        default: json!("record"),
        slot: None,
    });
    assert!(Encoder::new(&meta(layout, Vec::new(), false)).is_err());
    // A chain of record types as long as a metadata section can hold is refused for its
    // depth, without recursing once per link (this runs on a test thread's 2 MB stack).
    let chain = |links: usize| {
        let mut layout = Layout::new(&Reads::new());
        layout.records.get_mut("Node").unwrap().push(FieldMeta {
            name: "next".into(),
            shape: ShapeMeta::Record("R0".into()),
            default: json!("record"),
            slot: None,
        });
        for i in 0..links {
            let mut fields = vec![FieldMeta {
                name: "a".into(),
                shape: ShapeMeta::Int,
                default: json!(0),
                slot: None,
            }];
            if i + 1 < links {
                fields.push(FieldMeta {
                    name: "next".into(),
                    shape: ShapeMeta::Optional(Box::new(ShapeMeta::Record(format!("R{}", i + 1)))),
                    default: json!("absent"),
                    slot: None,
                });
            }
            layout.records.insert(format!("R{i}"), fields);
        }
        Encoder::new(&meta(layout, Vec::new(), false))
    };
    let err = chain(200_000).unwrap_err();
    assert!(
        err.to_string().ends_with("deep, more than the limit of 32"),
        "{err}"
    );
    // Each link but the last nests two deep (an optional around a record); the node, the
    // topology's list of nodes and the topology add three: fifteen links fit, sixteen do not,
    // and the deepest record type is named.
    assert!(chain(15).is_ok());
    assert_eq!(
        chain(16).unwrap_err().to_string(),
        "the record type `Topology` nests 34 deep, more than the limit of 32"
    );
    let glob_int = vec![param("n", "int", json!(1), true)];
    assert!(Encoder::new(&meta(Layout::new(&Reads::new()), glob_int, false)).is_err());
    let _ = ParamType::Int;
}

proptest::proptest! {
    /// The graph index orders nodes by their names' bytes, stably, and resolves each
    /// dependency to the first node of that name — for names that share long prefixes, differ
    /// only in their last bytes or by trailing NULs, and repeat.
    #[test]
    fn graph_index_orders_and_resolves_names_by_their_bytes(
        picks in proptest::collection::vec((0usize..6, 0usize..4, "[ab\u{0}é]{0,3}"), 1..24),
        deps in proptest::collection::vec(proptest::collection::vec(0usize..30, 0..4), 24),
    ) {
        let stems = ["", "a", "svc-", "payments-service-", "payments-service-api", "zz"];
        let tails = ["", "\u{0}", "1", "10"];
        let names: Vec<String> = picks
            .iter()
            .map(|(s, t, extra)| format!("{}{}{extra}", stems[*s], tails[*t]))
            .collect();
        let nodes: Vec<serde_json::Value> = names
            .iter()
            .zip(&deps)
            .map(|(name, d)| {
                let on: Vec<String> = d
                    .iter()
                    .map(|j| names.get(*j).cloned().unwrap_or_else(|| format!("ghost{j}")))
                    .collect();
                json!({"name": name, "depends_on": on})
            })
            .collect();
        let layout = Layout::new(&reads(&[("Node", "tier")]));
        let enc = Encoder::new(&meta(layout, Vec::new(), true)).unwrap();
        let out = enc.encode_json(&json!({"topology": {"nodes": nodes}}), BASE, 0).unwrap();
        let m = Mem { bytes: &out.bytes, base: BASE };
        let g = m.header(5);
        let n = names.len() as u64;

        let mut expected: Vec<u32> = (0..names.len() as u32).collect();
        expected.sort_by(|a, b| names[*a as usize].as_bytes().cmp(names[*b as usize].as_bytes()));
        proptest::prop_assert_eq!(m.u32s(m.slot(g, 1), n), expected);

        let first = |target: &str| names.iter().position(|x| x == target).map(|i| i as u32);
        let fwd: Vec<u32> = names
            .iter()
            .zip(&deps)
            .flat_map(|(_, d)| {
                d.iter()
                    .filter_map(|j| first(&names.get(*j).cloned().unwrap_or_else(|| format!("ghost{j}"))))
                    .collect::<Vec<_>>()
            })
            .collect();
        let fwd_start = m.u32s(m.slot(g, 2), n + 1);
        proptest::prop_assert_eq!(m.u32s(m.slot(g, 3), u64::from(fwd_start[names.len()])), fwd);
    }
}
