//! The module's metadata and the input layout descriptor (`docs/abi.md` is the reference).
//!
//! The compiler decides which fields a policy reads and writes a [`Metadata`] into the module's
//! `blastwall` custom section; hosts read it back and encode facts by it. Nothing here depends
//! on the compiler: a host needs only this module and the metadata JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::decision::{Effect, Level};
use crate::schema::{self, DocKind, Record, Shape};

/// The ABI version this crate speaks; `bw_abi_version` returns it and the metadata repeats it.
pub const ABI_VERSION: u32 = 5;

/// The name of the custom section holding the metadata.
pub const METADATA_SECTION: &str = "blastwall";

/// Bytes in one value slot.
pub const SLOT: u32 = 8;

/// Bytes in the input header.
pub const HEADER_LEN: u32 = 24;

/// Slots in the graph index.
pub const GRAPH_SLOTS: u32 = 7;

/// The first four bytes of every result (`bwrs`, read as a little-endian `u32`): a result
/// that does not start with them, such as memory the module never wrote, is an error.
pub const RESULT_MAGIC: u32 = u32::from_le_bytes(*b"bwrs");

/// Bytes in the result's header: the magic, the ABI version, the status, the number of
/// findings and their address, a `u32` each.
pub const RESULT_LEN: u32 = 20;

/// Bytes in one finding record of the result.
pub const FINDING_LEN: u32 = 48;

/// The slot value of an absent optional.
pub const ABSENT: u64 = u64::MAX;

/// Everything a host needs to know about a compiled policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The ABI version the module speaks.
    pub abi: u32,
    /// The version of the compiler that wrote the module.
    pub compiler: String,
    /// SHA-256 of the policy sources (paths and texts), hex.
    pub digest: String,
    /// Whether the host must encode a graph index of the topology.
    pub graph: bool,
    /// The rules, in evaluation order; findings name them by index.
    pub rules: Vec<RuleMeta>,
    /// The parameters, in config-record order.
    pub params: Vec<ParamMeta>,
    /// How facts are encoded.
    pub layout: Layout,
}

impl Metadata {
    /// Parses metadata JSON, checking the doc lines of every rule and parameter but leaving
    /// them out: deciding never reads them, and they are most of the text and a third of the
    /// time to parse it, on the path to a module's first decision. Parsing the same text with
    /// `serde_json` gives the same metadata with the docs, and cannot fail where this succeeded.
    pub fn from_json_without_docs(text: &str) -> serde_json::Result<Metadata> {
        /// Resets the flag however parsing ends.
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                SKIP_DOCS.with(|s| s.set(false));
            }
        }
        SKIP_DOCS.with(|s| s.set(true));
        let _reset = Reset;
        serde_json::from_str(text)
    }
}

thread_local! {
    /// Set while [`Metadata::from_json_without_docs`] parses on this thread. serde's derived
    /// code cannot pass an option down to a field, and the metadata types are shared with
    /// every other reader, so the option travels beside it.
    static SKIP_DOCS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A `doc` field: a list of strings, kept unless [`SKIP_DOCS`] is set, when it is checked
/// without copying a string and left empty.
fn doc_lines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    /// Checks a list of strings and keeps nothing.
    struct Lines;
    impl<'de> serde::de::Visitor<'de> for Lines {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<Line>()?.is_some() {}
            Ok(())
        }
    }
    /// A string, checked and dropped.
    struct Line;
    impl<'de> Deserialize<'de> for Line {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Line, D::Error> {
            struct Str;
            impl serde::de::Visitor<'_> for Str {
                type Value = Line;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Line, E> {
                    Ok(Line)
                }
            }
            d.deserialize_str(Str)
        }
    }
    if SKIP_DOCS.with(std::cell::Cell::get) {
        d.deserialize_seq(Lines)?;
        Ok(Vec::new())
    } else {
        Vec::<String>::deserialize(d)
    }
}

/// A rule as hosts see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// The rule's name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// What it yields when it fires.
    pub effect: Effect,
    /// Its doc comment lines (empty when read by [`Metadata::from_json_without_docs`]).
    #[serde(deserialize_with = "doc_lines")]
    pub doc: Vec<String>,
    /// `path:line:col` of the rule.
    pub source: String,
    /// The documents it reads; it applies only when all are given.
    pub reads: Vec<String>,
    /// Its message template as written (empty when it has none).
    pub message: String,
}

/// A parameter as hosts see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamMeta {
    /// The name (read as `config.name`).
    pub name: String,
    /// Its type: `bool`, `int`, `str`, or `[T]` of those.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Its default value.
    pub default: serde_json::Value,
    /// Its documentation (empty when read by [`Metadata::from_json_without_docs`]).
    #[serde(deserialize_with = "doc_lines")]
    pub doc: Vec<String>,
    /// Whether rules match paths against it as glob patterns (its compiled patterns follow the
    /// values in the config record).
    pub glob: bool,
}

/// The type of a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `str`
    Str,
    /// `[T]`, with `T` one of the above (parameters are never lists of lists)
    List(Box<ParamType>),
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamType::Bool => f.write_str("bool"),
            ParamType::Int => f.write_str("int"),
            ParamType::Str => f.write_str("str"),
            ParamType::List(t) => write!(f, "[{t}]"),
        }
    }
}

impl std::str::FromStr for ParamType {
    type Err = String;

    /// `bool`, `int`, `str`, or a list of one of those: parameters are never lists of lists
    /// (the checker refuses them), so neither is a type read from metadata, however deeply
    /// bracketed.
    fn from_str(s: &str) -> Result<ParamType, String> {
        let scalar = |t: &str| match t {
            "bool" => Some(ParamType::Bool),
            "int" => Some(ParamType::Int),
            "str" => Some(ParamType::Str),
            _ => None,
        };
        scalar(s)
            .or_else(|| {
                s.strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(scalar)
                    .map(|t| ParamType::List(Box::new(t)))
            })
            .ok_or_else(|| {
                let shown: String = s.chars().take(40).collect();
                let more = if shown.len() < s.len() { "…" } else { "" };
                format!("unknown parameter type `{shown}{more}`")
            })
    }
}

impl Serialize for ParamType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ParamType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ParamType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How fact documents are encoded: every record type with every field, and which are encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Document name → record type name.
    pub documents: BTreeMap<String, String>,
    /// Record type name → its fields in schema order.
    pub records: BTreeMap<String, Vec<FieldMeta>>,
}

/// One field of a record type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// The field name.
    pub name: String,
    /// Its shape.
    pub shape: ShapeMeta,
    /// `"required"`, `"absent"`, `"record"` (every field at its default) or the JSON value.
    pub default: serde_json::Value,
    /// Its slot in the encoded record, or `None` when it is not encoded.
    pub slot: Option<u32>,
}

/// A field's shape, as JSON: `"bool"`, `"int"`, `"count"`, `"str"`, `{"enum": [...]}`,
/// `{"list": shape}`, `{"record": "Name"}`, `{"optional": shape}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeMeta {
    /// `bool`
    Bool,
    /// `int`
    Int,
    /// `count`: an `int` that facts may not give negative.
    Count,
    /// `str`
    Str,
    /// One of these strings: `{"enum": {"name": "TriState", "values": [...]}}`.
    Enum(EnumMeta),
    /// A list.
    List(Box<ShapeMeta>),
    /// A record type, by name.
    Record(String),
    /// May be absent.
    Optional(Box<ShapeMeta>),
}

impl ShapeMeta {
    /// The descriptor of a schema shape.
    pub fn of(shape: &Shape) -> ShapeMeta {
        match shape {
            Shape::Bool => ShapeMeta::Bool,
            Shape::Int => ShapeMeta::Int,
            Shape::Count => ShapeMeta::Count,
            Shape::Str => ShapeMeta::Str,
            Shape::Enum(e) => ShapeMeta::Enum(EnumMeta {
                name: e.name.to_string(),
                values: e.values.iter().map(|v| v.to_string()).collect(),
            }),
            Shape::List(s) => ShapeMeta::List(Box::new(ShapeMeta::of(s))),
            Shape::Record(r) => ShapeMeta::Record(r.name.to_string()),
            Shape::Optional(s) => ShapeMeta::Optional(Box::new(ShapeMeta::of(s))),
        }
    }
}

/// An enumeration: its name (shown in errors) and its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumMeta {
    /// The type name, e.g. `TriState`.
    pub name: String,
    /// The allowed values, in documentation order.
    pub values: Vec<String>,
}

/// The fields a policy reads: (record type name, field index in the schema).
pub type Reads = BTreeSet<(&'static str, usize)>;

impl Layout {
    /// The layout for a policy that reads `reads`. Every record reachable from a document is
    /// described; a record's encoded fields are those read, plus its first field (which
    /// stands for the record in messages), in schema order.
    pub fn new(reads: &Reads) -> Layout {
        let mut records = BTreeMap::new();
        let mut documents = BTreeMap::new();
        for doc in DocKind::ALL {
            if let Some(r) = doc.record() {
                documents.insert(doc.name().to_string(), r.name.to_string());
                describe(r, reads, &mut records);
            }
        }
        Layout { documents, records }
    }

    /// The fields of record type `name`.
    pub fn record(&self, name: &str) -> Option<&[FieldMeta]> {
        self.records.get(name).map(Vec::as_slice)
    }

    /// The slot of field `field` of record type `record`, when encoded.
    pub fn slot(&self, record: &str, field: &str) -> Option<u32> {
        self.record(record)?
            .iter()
            .find(|f| f.name == field)
            .and_then(|f| f.slot)
    }

    /// How many slots an encoded record of type `name` has.
    pub fn slots(&self, name: &str) -> u32 {
        self.record(name).map_or(0, |fields| {
            u32::try_from(fields.iter().filter(|f| f.slot.is_some()).count()).unwrap_or(0)
        })
    }
}

fn describe(r: &'static Record, reads: &Reads, out: &mut BTreeMap<String, Vec<FieldMeta>>) {
    if out.contains_key(r.name) {
        return;
    }
    let mut next = 0u32;
    let mut fields = Vec::with_capacity(r.fields.len());
    for (i, f) in r.fields.iter().enumerate() {
        let encoded = i == 0 || reads.contains(&(r.name, i));
        let slot = encoded.then(|| {
            let s = next;
            next += 1;
            s
        });
        fields.push(FieldMeta {
            name: f.name.to_string(),
            shape: ShapeMeta::of(&f.shape),
            default: default_json(f.default),
            slot,
        });
    }
    out.insert(r.name.to_string(), fields);
    for f in r.fields {
        if let Some(inner) = record_of(&f.shape) {
            describe(inner, reads, out);
        }
    }
}

fn record_of(shape: &Shape) -> Option<&'static Record> {
    match shape {
        Shape::Record(r) => Some(r),
        Shape::List(s) | Shape::Optional(s) => record_of(s),
        _ => None,
    }
}

fn default_json(d: schema::Default) -> serde_json::Value {
    use serde_json::Value as J;
    match d {
        schema::Default::Required => J::from("required"),
        schema::Default::Absent => J::from("absent"),
        schema::Default::Record => J::from("record"),
        schema::Default::Bool(b) => J::from(b),
        schema::Default::Int(i) => J::from(i),
        schema::Default::Str(s) => J::from(s),
        schema::Default::EmptyList => J::Array(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_types_are_scalars_or_lists_of_them() {
        for t in ["bool", "int", "str", "[bool]", "[int]", "[str]"] {
            let parsed: ParamType = t.parse().unwrap_or(ParamType::Bool);
            assert_eq!(parsed.to_string(), t);
        }
        for t in ["", "[]", "[[str]]", "float", "[str", "str]", " str"] {
            assert_eq!(
                t.parse::<ParamType>(),
                Err(format!("unknown parameter type `{t}`")),
                "{t}"
            );
        }
        // Deep brackets once recursed a frame per bracket, past the end of the stack.
        let deep = format!("{}int{}", "[".repeat(200_000), "]".repeat(200_000));
        assert_eq!(
            deep.parse::<ParamType>(),
            Err(format!("unknown parameter type `{}…`", "[".repeat(40)))
        );
    }

    #[test]
    fn unread_fields_have_no_slot_and_first_fields_always_do() {
        let mut reads = Reads::new();
        let (added, _) = schema::FILE
            .field("added")
            .map_or((0, ()), |(i, _)| (i, ()));
        reads.insert(("File", added));
        let layout = Layout::new(&reads);
        assert_eq!(layout.slot("File", "path"), Some(0));
        assert_eq!(layout.slot("File", "added"), Some(1));
        assert_eq!(layout.slot("File", "removed"), None);
        assert_eq!(layout.slots("File"), 2);
        assert_eq!(
            layout.documents.get("change").map(String::as_str),
            Some("Change")
        );
        assert!(layout.record("Node").is_some());
    }

    #[test]
    fn metadata_round_trips_through_json() {
        let layout = Layout::new(&Reads::new());
        let meta = Metadata {
            abi: ABI_VERSION,
            compiler: "0.1.0".into(),
            digest: "00".into(),
            graph: false,
            rules: Vec::new(),
            params: vec![ParamMeta {
                name: "paths".into(),
                ty: ParamType::List(Box::new(ParamType::Str)),
                default: serde_json::json!(["a/**"]),
                doc: Vec::new(),
                glob: true,
            }],
            layout,
        };
        let text = serde_json::to_string(&meta).unwrap_or_default();
        assert!(text.contains("\"type\":\"[str]\""), "{text}");
        let back: Result<Metadata, _> = serde_json::from_str(&text);
        assert_eq!(back.ok(), Some(meta));
    }

    #[test]
    fn docs_are_checked_but_left_out_when_asked() {
        let meta = Metadata {
            abi: ABI_VERSION,
            compiler: "0.1.0".into(),
            digest: "00".into(),
            graph: false,
            rules: vec![RuleMeta {
                name: "r".into(),
                level: Level::Hard,
                effect: Effect::Deny,
                doc: vec!["Line \"one\"\u{e9}.".into(), String::new()],
                source: "r.bw:1:1".into(),
                reads: vec!["change".into()],
                message: "m".into(),
            }],
            params: vec![ParamMeta {
                name: "paths".into(),
                ty: ParamType::List(Box::new(ParamType::Str)),
                default: serde_json::json!(["a/**"]),
                doc: vec!["Paths.".into()],
                glob: true,
            }],
            layout: Layout::new(&Reads::new()),
        };
        let text = serde_json::to_string(&meta).unwrap_or_default();
        let mut without = meta.clone();
        without.rules.iter_mut().for_each(|r| r.doc.clear());
        without.params.iter_mut().for_each(|p| p.doc.clear());
        assert_eq!(Metadata::from_json_without_docs(&text).ok(), Some(without));
        // The flag does not outlive the call: the next parse keeps the docs.
        assert_eq!(serde_json::from_str::<Metadata>(&text).ok(), Some(meta));

        for bad in [r#""doc":5"#, r#""doc":["a",1]"#, r#""doc":"a""#] {
            let broken = text.replacen(r#""doc":["Paths."]"#, bad, 1);
            assert_ne!(broken, text);
            assert!(Metadata::from_json_without_docs(&broken).is_err(), "{bad}");
            assert!(serde_json::from_str::<Metadata>(&broken).is_err(), "{bad}");
        }
    }
}
