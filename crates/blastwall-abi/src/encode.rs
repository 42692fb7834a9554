//! Facts JSON → the input a module reads (`docs/abi.md`, "The input").
//!
//! The [`Encoder`] knows every field's shape and default from the layout descriptor alone (not
//! from [`crate::schema`]), as a host in another language must, and validates as strictly as the
//! reference interpreter, with the same error texts and paths: a misspelt fact never reads as a
//! default, whether or not the policy reads it.
//!
//! Encoding is one walk over the JSON. A record, list or config record reserves its slots first
//! and fills them as its members are encoded; strings and nested values go after it. Paths for
//! error messages are built only when there is an error.

use crate::facts_error::{json_kind as kind, similar};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value as J};

use crate::combine::{CombineContext, OverrideFact};
use crate::dfa::{self, Dfa, DfaError};
use crate::facts_error::FactsError;
use crate::layout::{
    ABSENT, GRAPH_SLOTS, HEADER_LEN, Layout, Metadata, ParamMeta, ParamType, SLOT, ShapeMeta,
};

/// Errors travel boxed inside the encoder: a `Result` of a slot and a box comes back in two
/// registers, where one holding a whole `FactsError` goes through memory on every call.
type Failed = Box<FactsError>;

/// A layout descriptor this encoder cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A shape names a record type the layout does not describe.
    #[error("unknown record type `{name}` in the layout")]
    UnknownRecord {
        /// The name.
        name: String,
    },
    /// One of the four documents has no record type.
    #[error("the layout has no record type for the document `{name}`")]
    MissingDocument {
        /// The document.
        name: String,
    },
    /// Two encoded fields share a slot.
    #[error("fields of `{record}` share the slot {slot}")]
    Slot {
        /// The record type.
        record: String,
        /// The slot.
        slot: u32,
    },
    /// A slot at or past the record's number of fields.
    #[error("`{record}` has {fields} fields, so a slot must be below {fields}, not {slot}")]
    SlotRange {
        /// The record type.
        record: String,
        /// The slot.
        slot: u32,
        /// How many fields the record has.
        fields: usize,
    },
    /// A default that does not fit its field.
    #[error("the default of `{record}.{field}` is invalid: {reason}")]
    Default {
        /// The record type.
        record: String,
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A record type whose shapes nest deeper than [`MAX_NESTING`].
    #[error(
        "the record type `{record}` nests {depth} deep, more than the limit of {max}",
        max = MAX_NESTING
    )]
    TooDeep {
        /// The record type.
        record: String,
        /// How deeply its shapes nest.
        depth: usize,
    },
    /// A record type that contains itself, whose defaults would never end.
    #[error("the record type `{record}` contains itself")]
    Cycle {
        /// The record type.
        record: String,
    },
    /// A `glob` parameter whose type is not `str` or `[str]`.
    #[error("the parameter `{name}` is marked glob but its type is `{ty}`")]
    GlobParam {
        /// The parameter.
        name: String,
        /// Its type.
        ty: ParamType,
    },
    /// A default pattern of a `glob` parameter that cannot be compiled.
    #[error("the default of the parameter `{name}`: {source}")]
    Pattern {
        /// The parameter.
        name: String,
        /// Why.
        source: DfaError,
    },
}

/// An encoded input and what combining the module's findings needs.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The input, to be copied to the address it was encoded for.
    pub bytes: Vec<u8>,
    /// The approvals and overrides of the facts.
    pub context: CombineContext,
}

/// What a host keeps in reserved memory (from `bw_reserve`) across decisions, by address; 0
/// for what it does not keep. Every decision's header points at these unless its facts give
/// their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reserved {
    /// The config record ([`Encoder::encode_config`]); 0: the module's defaults.
    pub config: u32,
    /// The topology document ([`Encoder::encode_topology`]); 0: no topology.
    pub topology: u32,
    /// The topology's graph index; 0 when the module needs none.
    pub graph: u32,
}

/// A topology encoded once for reserved memory ([`Encoder::encode_topology`]).
#[derive(Debug, Clone)]
pub struct EncodedTopology {
    /// The encoding, to be copied to the address it was made for.
    pub bytes: Vec<u8>,
    /// The topology record's address.
    pub topology: u32,
    /// The graph index's address (0 when the module needs none).
    pub graph: u32,
}

/// Encodes facts for one compiled policy.
#[derive(Debug)]
pub struct Encoder {
    records: Vec<Rec>,
    enums: Vec<EnumInfo>,
    /// The record types of `change`, `plan`, `action`, `topology`.
    docs: [usize; 4],
    /// The `overrides` entry, validated like a record but never encoded.
    override_rec: usize,
    /// The parameters, given or read when first needed.
    params: ParamState,
    /// Whether a topology gets a graph index.
    graph: bool,
    /// The defaults combining needs.
    defaults: Defaults,
    /// The largest input encoded so far, to size the next one in one allocation.
    size_hint: AtomicUsize,
}

#[derive(Debug)]
struct Rec {
    name: String,
    fields: Vec<Field>,
    /// Slots of the encoded record.
    slots: usize,
}

#[derive(Debug)]
struct Field {
    name: String,
    shape: Shp,
    default: Dflt,
    /// The slot of the default when it is the same in every input (no string or list to
    /// write).
    fixed: Option<u64>,
    slot: Option<u32>,
}

#[derive(Debug)]
enum Shp {
    Bool,
    Int,
    Count,
    Str,
    Enum(usize),
    List(Box<Shp>),
    Record(usize),
    Optional(Box<Shp>),
}

#[derive(Debug)]
enum Dflt {
    Required,
    Absent,
    Record,
    Value(J),
}

#[derive(Debug)]
struct EnumInfo {
    /// The type name shown in errors (`TriState`).
    name: String,
    values: Vec<String>,
}

#[derive(Debug)]
struct Param {
    name: String,
    ty: ParamType,
    default: J,
    glob: bool,
    /// The default's compiled patterns, made the first time a config leaves this parameter
    /// out (the module carries its own for decisions with no config at all).
    default_patterns: std::sync::OnceLock<Result<Vec<Dfa>, String>>,
}

/// Reads a policy's parameters when they are first needed: see [`Encoder::with_lazy_params`].
pub type ParamSource = Box<dyn Fn() -> Result<Vec<ParamMeta>, String> + Send + Sync>;

/// The parameters, checked.
#[derive(Debug)]
struct Params {
    list: Vec<Param>,
    /// The error every decision reports when a parameter's default does not fit its type (the
    /// interpreter checks defaults on every load too).
    default_error: Option<FactsError>,
}

/// An encoder's parameters: given when it was made, or read from a [`ParamSource`] the first
/// time a config is encoded.
enum ParamState {
    Ready(Params),
    Lazy {
        source: ParamSource,
        read: std::sync::OnceLock<Result<Params, FactsError>>,
    },
}

impl std::fmt::Debug for ParamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamState::Ready(p) => f.debug_tuple("Ready").field(p).finish(),
            ParamState::Lazy { read, .. } => f.debug_struct("Lazy").field("read", read).finish(),
        }
    }
}

/// Defaults of the fields combining reads, from the layout.
#[derive(Debug, Default)]
struct Defaults {
    author: String,
    stale: bool,
    teams: Vec<String>,
    nodes: Vec<J>,
    depends_on: Vec<String>,
}

/// Where a value sits in the facts, rendered only for an error.
#[derive(Debug, Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Param(&'a str),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(p, k) => {
                let mut s = p.render();
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
                s
            }
            Path::Index(p, i) => {
                let mut s = p.render();
                let _ = write!(s, "[{i}]");
                s
            }
            Path::Param(name) => format!("config.{name}"),
        }
    }

    fn error(&self, message: String) -> Box<FactsError> {
        Box::new(FactsError {
            path: self.render(),
            message,
        })
    }
}

/// The output buffer; `buf[0]` is at address `base`.
struct Out {
    buf: Vec<u8>,
    base: u32,
}

impl Out {
    /// The address of the next byte. Addresses wrap here; [`Out::finish`] refuses an input that
    /// does not fit below 4 GiB, so a wrapped address never reaches a module.
    fn addr(&self) -> u32 {
        self.base.wrapping_add(self.buf.len() as u32)
    }

    fn align(&mut self) {
        let pad = (SLOT - self.addr() % SLOT) % SLOT;
        self.buf.resize(self.buf.len() + pad as usize, 0);
    }

    /// Reserve `n` zeroed slots; returns their offset in the buffer and their address.
    fn reserve(&mut self, n: usize) -> (usize, u32) {
        self.align();
        let off = self.buf.len();
        let addr = self.addr();
        self.buf.resize(off + n * SLOT as usize, 0);
        (off, addr)
    }

    fn put(&mut self, off: usize, v: u64) {
        if let Some(d) = self.buf.get_mut(off..off + 8) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    fn put32(&mut self, off: usize, v: u32) {
        if let Some(d) = self.buf.get_mut(off..off + 4) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    fn str(&mut self, s: &str) -> u64 {
        let addr = self.addr();
        self.buf.extend_from_slice(s.as_bytes());
        u64::from(addr) | ((s.len() as u64) << 32)
    }

    fn u32s(&mut self, xs: &[u32]) -> u64 {
        self.align();
        let addr = self.addr();
        self.buf.reserve(xs.len() * 4);
        for x in xs {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
        u64::from(addr)
    }

    fn finish(self) -> Result<Vec<u8>, Failed> {
        if u64::from(self.base) + self.buf.len() as u64 > 1 << 32 {
            return Err(Box::new(FactsError::at(
                "",
                format!(
                    "the encoded facts take {} bytes, more than fit in a module's memory",
                    self.buf.len()
                ),
            )));
        }
        Ok(self.buf)
    }
}

/// How deeply a layout's shapes may nest (lists, optionals and records, a record of scalars
/// counting one): the schema nests five deep, and a host encodes a record's fields, their
/// defaults and its facts by recursion, one frame per level.
pub const MAX_NESTING: usize = 32;

/// Field slots kept on the stack for records up to this many fields.
const INLINE_FIELDS: usize = 12;

fn not_aligned(base: u32) -> FactsError {
    FactsError::at(
        "",
        format!("the input address {base:#x} is not 8-byte aligned"),
    )
}

/// The document names of the header, in header order.
const DOCUMENTS: [&str; 4] = ["change", "plan", "action", "topology"];

impl Encoder {
    /// Prepare to encode facts for the policy `meta` describes.
    pub fn new(meta: &Metadata) -> Result<Encoder, LayoutError> {
        Encoder::from_parts(meta.layout.clone(), meta.params.clone(), meta.graph)
    }

    /// [`Encoder::new`] from the parts of a policy's metadata it keeps, taken instead of
    /// copied: a host that parsed the metadata to decide with it (as the runtime does when it
    /// loads a module) saves copying every name and default value, most of the set-up's time.
    pub fn from_parts(
        layout: Layout,
        params: Vec<ParamMeta>,
        graph: bool,
    ) -> Result<Encoder, LayoutError> {
        let mut enc = Encoder::records_only(layout, graph)?;
        enc.params = ParamState::Ready(enc.check_params(params)?);
        Ok(enc)
    }

    /// [`Encoder::from_parts`] for a host that has the parameters only at some cost and
    /// seldom needs them: `params` is called the first time a config is encoded (by
    /// [`Encoder::encode_config`], or a `config` member of the facts), and its parameters are
    /// checked then. Deciding with the defaults compiled into the module never needs them.
    ///
    /// So the parameters' defaults are not checked against their types when the encoder is
    /// made, and a decision without a config does not report a default that does not fit
    /// ([`Encoder::default_error`]); encoding a config does. Use it only for metadata whose
    /// parameters were checked when it was written (the runtime's precompiled artifacts, whose
    /// checksum covers them and which are not made from modules with such a default).
    pub fn with_lazy_params(
        layout: Layout,
        graph: bool,
        params: ParamSource,
    ) -> Result<Encoder, LayoutError> {
        let mut enc = Encoder::records_only(layout, graph)?;
        enc.params = ParamState::Lazy {
            source: params,
            read: std::sync::OnceLock::new(),
        };
        Ok(enc)
    }

    /// The error every decision reports because a parameter's default does not fit its type,
    /// if there is one; `None` for parameters not read yet ([`Encoder::with_lazy_params`]).
    pub fn default_error(&self) -> Option<&FactsError> {
        match &self.params {
            ParamState::Ready(p) => p.default_error.as_ref(),
            ParamState::Lazy { read, .. } => read.get()?.as_ref().ok()?.default_error.as_ref(),
        }
    }

    /// The parameters, read and checked first if they are lazy; the error of reading or
    /// checking them, which every config then reports, if they cannot be.
    fn params(&self) -> Result<&Params, &FactsError> {
        match &self.params {
            ParamState::Ready(p) => Ok(p),
            ParamState::Lazy { source, read } => read
                .get_or_init(|| {
                    let unreadable = |e: String| {
                        FactsError::at("config", format!("the policy's parameters: {e}"))
                    };
                    let params = source().map_err(unreadable)?;
                    self.check_params(params)
                        .map_err(|e| unreadable(e.to_string()))
                })
                .as_ref(),
        }
    }

    /// The encoder for `layout`, with no parameters yet.
    fn records_only(layout: Layout, graph: bool) -> Result<Encoder, LayoutError> {
        let names: Vec<String> = layout.records.keys().cloned().collect();
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut enums: Vec<EnumInfo> = Vec::new();
        let mut records = Vec::with_capacity(names.len() + 1);
        for (name, fields) in layout.records {
            let mut out = Vec::with_capacity(fields.len());
            let mut used: Vec<u32> = Vec::new();
            let count = fields.len();
            for f in fields {
                if let Some(s) = f.slot {
                    // A slot past the fields would make every record of the type that large
                    // (a tampered `u32::MAX` asks for 32 GB per record).
                    if s as usize >= count {
                        return Err(LayoutError::SlotRange {
                            record: name,
                            slot: s,
                            fields: count,
                        });
                    }
                    if used.contains(&s) {
                        return Err(LayoutError::Slot {
                            record: name,
                            slot: s,
                        });
                    }
                    used.push(s);
                }
                let shape = convert(f.shape, &index, &mut enums)?;
                let default = match f.default {
                    J::String(s) if s == "required" => Dflt::Required,
                    J::String(s) if s == "absent" => Dflt::Absent,
                    J::String(s) if s == "record" => Dflt::Record,
                    v => Dflt::Value(v),
                };
                let fixed = match (&default, &shape) {
                    (Dflt::Absent, _) => Some(ABSENT),
                    (Dflt::Value(J::Bool(b)), Shp::Bool) => Some(u64::from(*b)),
                    (Dflt::Value(J::Number(n)), Shp::Int) => n.as_i64().map(|i| i as u64),
                    // An empty string or list may have any address; 0 will do.
                    (Dflt::Value(J::String(s)), Shp::Str) if s.is_empty() => Some(0),
                    (Dflt::Value(J::Array(a)), Shp::List(_)) if a.is_empty() => Some(0),
                    _ => None,
                };
                out.push(Field {
                    name: f.name,
                    shape,
                    default,
                    fixed,
                    slot: f.slot,
                });
            }
            let slots = used.iter().max().map_or(0, |m| *m as usize + 1);
            records.push(Rec {
                name,
                fields: out,
                slots,
            });
        }
        // `overrides` entries are not a document, so the layout does not carry them; their
        // shape is fixed by `docs/abi.md`.
        let override_rec = records.len();
        records.push(Rec {
            name: "Override".into(),
            fields: ["rule", "by", "reason"]
                .into_iter()
                .map(|n| Field {
                    name: n.into(),
                    shape: Shp::Str,
                    default: Dflt::Required,
                    fixed: None,
                    slot: None,
                })
                .collect(),
            slots: 0,
        });
        let mut docs = [0usize; 4];
        for (d, name) in docs.iter_mut().zip(DOCUMENTS) {
            *d = layout
                .documents
                .get(name)
                .and_then(|r| index.get(r.as_str()))
                .copied()
                .ok_or_else(|| LayoutError::MissingDocument { name: name.into() })?;
        }
        let mut enc = Encoder {
            records,
            enums,
            docs,
            override_rec,
            params: ParamState::Ready(Params {
                list: Vec::new(),
                default_error: None,
            }),
            graph,
            defaults: Defaults::default(),
            size_hint: AtomicUsize::new(1024),
        };
        enc.check_records()?;
        enc.defaults = enc.combine_defaults();
        Ok(enc)
    }

    /// Checks `params` against the records and their defaults against their types.
    fn check_params(&self, params: Vec<ParamMeta>) -> Result<Params, LayoutError> {
        let mut out = Params {
            list: Vec::with_capacity(params.len()),
            default_error: None,
        };
        for p in params {
            if p.glob && patterns(&p.name, &p.ty, &J::Null).is_err() {
                return Err(LayoutError::GlobParam {
                    name: p.name,
                    ty: p.ty,
                });
            }
            let mut scratch = Out {
                buf: Vec::new(),
                base: 0,
            };
            let checked =
                self.param_value(&mut scratch, &p.ty, &p.default, Path::Param(&p.name), false);
            if let Err(e) = checked {
                out.default_error.get_or_insert(*e);
            } else if p.glob {
                // The default's patterns must compile; they are compiled again, lazily, only
                // for a config that leaves the parameter out.
                patterns(&p.name, &p.ty, &p.default)?;
            }
            out.list.push(Param {
                name: p.name,
                ty: p.ty,
                default: p.default,
                glob: p.glob,
                default_patterns: std::sync::OnceLock::new(),
            });
        }
        Ok(out)
    }

    /// Refuse record types that contain themselves or nest too deeply, and defaults that do
    /// not fit their fields.
    fn check_records(&self) -> Result<(), LayoutError> {
        let depths = self.record_depths()?;
        if let Some((r, &depth)) = depths
            .iter()
            .enumerate()
            .max_by_key(|(_, d)| **d)
            .filter(|(_, d)| **d > MAX_NESTING)
        {
            return Err(LayoutError::TooDeep {
                record: self.record_name(r),
                depth,
            });
        }
        let mut scratch = Out {
            buf: Vec::new(),
            base: 0,
        };
        for rec in &self.records {
            for f in &rec.fields {
                let bad = |reason: String| LayoutError::Default {
                    record: rec.name.clone(),
                    field: f.name.clone(),
                    reason,
                };
                match (&f.default, &f.shape) {
                    (Dflt::Required, _) => {}
                    (Dflt::Absent, Shp::Optional(_)) => {}
                    (Dflt::Absent, _) => return Err(bad("the field is not optional".into())),
                    (Dflt::Record, shape) if record_in_direct(shape).is_some() => {
                        let empty = J::Object(Map::new());
                        self.value(&mut scratch, shape, &empty, Path::Root, false)
                            .map_err(|e| bad(e.to_string()))?;
                    }
                    (Dflt::Record, _) => return Err(bad("the field is not a record".into())),
                    (Dflt::Value(v), shape) => {
                        self.value(&mut scratch, shape, v, Path::Root, false)
                            .map_err(|e| bad(e.to_string()))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The name of record type `r`, for an error.
    fn record_name(&self, r: usize) -> String {
        self.records
            .get(r)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// How deeply shapes nest inside each record type: 1 for a record of scalars, one more
    /// for every list, optional and record around a field. A depth-first search over the
    /// record types that keeps its own stack, so that no layout, however long its chains of
    /// record types, can exhaust the thread's; a record type met again while it is on the
    /// stack contains itself.
    fn record_depths(&self) -> Result<Vec<usize>, LayoutError> {
        /// 0 for a scalar; a record counts its own depth.
        fn shape_depth(shape: &Shp, depths: &[usize]) -> usize {
            match shape {
                Shp::Record(r) => depths.get(*r).copied().unwrap_or(0),
                Shp::List(s) | Shp::Optional(s) => 1 + shape_depth(s, depths),
                _ => 0,
            }
        }
        let n = self.records.len();
        // 0: not yet known.
        let mut depths = vec![0usize; n];
        let mut on_stack = vec![false; n];
        for root in 0..n {
            if depths.get(root).is_some_and(|d| *d != 0) {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            if let Some(s) = on_stack.get_mut(root) {
                *s = true;
            }
            while let Some((r, next)) = stack.last_mut() {
                let r = *r;
                let fields = self.records.get(r).map_or(&[][..], |r| r.fields.as_slice());
                if let Some(f) = fields.get(*next) {
                    *next += 1;
                    let Some(inner) = record_in(&f.shape) else {
                        continue;
                    };
                    if on_stack.get(inner).copied().unwrap_or(false) {
                        return Err(LayoutError::Cycle {
                            record: self.record_name(inner),
                        });
                    }
                    if depths.get(inner).is_some_and(|d| *d == 0) {
                        if let Some(s) = on_stack.get_mut(inner) {
                            *s = true;
                        }
                        stack.push((inner, 0));
                    }
                } else {
                    let deepest = fields
                        .iter()
                        .map(|f| shape_depth(&f.shape, &depths))
                        .max()
                        .unwrap_or(0);
                    if let Some(d) = depths.get_mut(r) {
                        *d = deepest + 1;
                    }
                    if let Some(s) = on_stack.get_mut(r) {
                        *s = false;
                    }
                    stack.pop();
                }
            }
        }
        Ok(depths)
    }

    fn combine_defaults(&self) -> Defaults {
        let default = |rec: usize, field: &str| -> Option<&J> {
            let f = self
                .records
                .get(rec)?
                .fields
                .iter()
                .find(|f| f.name == field)?;
            match &f.default {
                Dflt::Value(v) => Some(v),
                _ => None,
            }
        };
        let strings = |v: Option<&J>| -> Vec<String> {
            v.and_then(J::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let [change, _, _, topology] = self.docs;
        let field_record = |rec: usize, field: &str| -> Option<usize> {
            let f = self
                .records
                .get(rec)?
                .fields
                .iter()
                .find(|f| f.name == field)?;
            record_in(&f.shape)
        };
        let approval = field_record(change, "approvals").unwrap_or(usize::MAX);
        let node = field_record(topology, "nodes").unwrap_or(usize::MAX);
        Defaults {
            author: default(change, "author")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_string(),
            stale: default(approval, "stale")
                .and_then(J::as_bool)
                .unwrap_or(false),
            teams: strings(default(approval, "teams")),
            nodes: default(topology, "nodes")
                .and_then(J::as_array)
                .cloned()
                .unwrap_or_default(),
            depends_on: strings(default(node, "depends_on")),
        }
    }

    /// Encode `facts` (`{"change": …, "plan": …, "config": …, "overrides": […]}`) as the input
    /// at address `base`, which must be 8-byte aligned. The header's config address is
    /// `config_addr` (a config record encoded once with [`Encoder::encode_config`], or 0 for
    /// the module's defaults) unless the facts have a `config` member, whose record is then
    /// encoded into this input.
    pub fn encode_json(
        &self,
        facts: &J,
        base: u32,
        config_addr: u32,
    ) -> Result<Encoded, FactsError> {
        let reserved = Reserved {
            config: config_addr,
            ..Reserved::default()
        };
        self.encode(facts, base, reserved).map_err(|e| *e)
    }

    /// [`Encoder::encode_json`] for a host that keeps documents in reserved memory: the
    /// header points at `reserved`'s config record and topology unless the facts have a
    /// `config` or a `topology` member, which is then encoded into this input.
    pub fn encode_json_reserved(
        &self,
        facts: &J,
        base: u32,
        reserved: Reserved,
    ) -> Result<Encoded, FactsError> {
        self.encode(facts, base, reserved).map_err(|e| *e)
    }

    fn encode(&self, facts: &J, base: u32, reserved: Reserved) -> Result<Encoded, Failed> {
        let J::Object(top) = facts else {
            return Err(Box::new(FactsError::at(
                "",
                format!("facts must be a JSON object, found {}", kind(facts)),
            )));
        };
        // Parameters read lazily are checked when a config needs them (`config`).
        if let ParamState::Ready(Params {
            default_error: Some(e),
            ..
        }) = &self.params
        {
            return Err(Box::new(e.clone()));
        }
        if !base.is_multiple_of(SLOT) {
            return Err(Box::new(not_aligned(base)));
        }
        let mut out = Out {
            buf: Vec::with_capacity(self.size_hint.load(Ordering::Relaxed)),
            base,
        };
        out.buf.resize(HEADER_LEN as usize, 0);
        out.put32(12, reserved.topology);
        out.put32(16, reserved.config);
        out.put32(20, reserved.graph);
        let mut overrides = Vec::new();
        let mut change = None;
        for (key, value) in top {
            let path = Path::Key(&Path::Root, key);
            match key.as_str() {
                "config" => {
                    let J::Object(members) = value else {
                        return Err(
                            path.error(format!("expected an object, found {}", kind(value)))
                        );
                    };
                    let addr = self.config(&mut out, members)?;
                    out.put32(16, addr);
                }
                "overrides" => overrides = self.overrides(&mut out, value)?,
                _ => {
                    let Some(doc) = DOCUMENTS.iter().position(|d| d == key) else {
                        return Err(unknown_document(key));
                    };
                    if doc == 3 {
                        let (addr, graph) = self.topology(&mut out, value, path)?;
                        out.put32(12, addr);
                        out.put32(20, graph);
                        continue;
                    }
                    let rec = self.docs.get(doc).copied().unwrap_or(usize::MAX);
                    let addr = self.record(&mut out, rec, value, path, true)?;
                    // A record address fits in 32 bits; the high half of its slot is 0.
                    out.put32(doc * 4, addr as u32);
                    if doc == 0 {
                        change = value.as_object();
                    }
                }
            }
        }
        let context = self.context(change, overrides);
        let bytes = out.finish()?;
        self.size_hint.fetch_max(bytes.len(), Ordering::Relaxed);
        Ok(Encoded { bytes, context })
    }

    /// Encode the config record for `config` (parameter name → value; defaults for the rest)
    /// at address `base`, which must be 8-byte aligned: a host encodes it once into memory
    /// from `bw_reserve` and passes its address to every [`Encoder::encode_json`].
    pub fn encode_config(&self, config: &Map<String, J>, base: u32) -> Result<Vec<u8>, FactsError> {
        // `config` refuses parameters whose defaults do not fit, as `encode` does.
        if !base.is_multiple_of(SLOT) {
            return Err(not_aligned(base));
        }
        let mut out = Out {
            buf: Vec::new(),
            base,
        };
        self.config(&mut out, config).map_err(|e| *e)?;
        out.finish().map_err(|e| *e)
    }

    /// Encode `topology` (the `topology` document, with its graph index when the module walks
    /// the graph) at address `base`, which must be 8-byte aligned: a host that decides many
    /// times against one topology encodes it once into memory from `bw_reserve` and passes its
    /// addresses to every [`Encoder::encode_json_reserved`]. The length does not depend on
    /// `base`.
    pub fn encode_topology(&self, topology: &J, base: u32) -> Result<EncodedTopology, FactsError> {
        if !base.is_multiple_of(SLOT) {
            return Err(not_aligned(base));
        }
        let mut out = Out {
            buf: Vec::new(),
            base,
        };
        let path = Path::Key(&Path::Root, "topology");
        let (topology, graph) = self.topology(&mut out, topology, path).map_err(|e| *e)?;
        Ok(EncodedTopology {
            bytes: out.finish().map_err(|e| *e)?,
            topology,
            graph,
        })
    }

    /// The topology record and, when the module walks the graph, its graph index; returns
    /// their addresses (the index's 0 when there is none).
    fn topology(&self, out: &mut Out, value: &J, path: Path<'_>) -> Result<(u32, u32), Failed> {
        let rec = self.docs.get(3).copied().unwrap_or(usize::MAX);
        // A record address fits in 32 bits; the high half of its slot is 0.
        let addr = self.record(out, rec, value, path, true)? as u32;
        let graph = if self.graph {
            self.graph_index(out, value)
        } else {
            0
        };
        Ok((addr, graph))
    }

    /// The config record: one slot per parameter, then one list of compiled patterns per
    /// `glob` parameter. Returns its address.
    fn config(&self, out: &mut Out, members: &Map<String, J>) -> Result<u32, Failed> {
        let checked = self.params().map_err(|e| Box::new(e.clone()))?;
        if let Some(e) = &checked.default_error {
            return Err(Box::new(e.clone()));
        }
        let params = &checked.list;
        let globs = params.iter().filter(|p| p.glob).count();
        let (off, addr) = out.reserve(params.len() + globs);
        let mut given: Vec<Option<&J>> = vec![None; params.len()];
        for (name, v) in members {
            let Some(i) = params.iter().position(|p| p.name == *name) else {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                return Err(Box::new(FactsError::at(
                    &format!("config.{name}"),
                    if names.is_empty() {
                        format!("unknown parameter `{name}`: the policy declares none")
                    } else {
                        format!(
                            "unknown parameter `{name}`; the policy declares {}",
                            names.join(", ")
                        )
                    },
                )));
            };
            let Some(p) = params.get(i) else {
                continue;
            };
            let slot = self.param_value(out, &p.ty, v, Path::Param(name), true)?;
            out.put(off + i * 8, slot);
            if let Some(g) = given.get_mut(i) {
                *g = Some(v);
            }
        }
        for (i, (p, g)) in params.iter().zip(&given).enumerate() {
            if g.is_none() {
                let slot = self.param_value(out, &p.ty, &p.default, Path::Param(&p.name), true)?;
                out.put(off + i * 8, slot);
            }
        }
        let glob_params = params.iter().zip(&given).filter(|(p, _)| p.glob);
        for (k, (p, g)) in glob_params.enumerate() {
            let slot_off = off + (params.len() + k) * 8;
            let list = match g {
                Some(v) => {
                    let pats = patterns(&p.name, &p.ty, v).unwrap_or_default();
                    let compiled = dfa::glob_list_dfas_shared(&pats).map_err(|e| {
                        FactsError::at(&format!("config.{}", p.name), e.to_string())
                    })?;
                    pattern_list(out, &compiled)
                }
                None => {
                    let compiled = p.default_patterns.get_or_init(|| {
                        let pats = patterns(&p.name, &p.ty, &p.default).unwrap_or_default();
                        dfa::glob_list_dfas(&pats).map_err(|e| e.to_string())
                    });
                    match compiled {
                        Ok(c) => pattern_list(out, c),
                        Err(e) => {
                            return Err(Box::new(FactsError::at(
                                &format!("config.{}", p.name),
                                e.clone(),
                            )));
                        }
                    }
                }
            };
            out.put(slot_off, list);
        }
        Ok(addr)
    }

    /// Validate (and with `enc`, encode) a parameter value; returns its slot.
    fn param_value(
        &self,
        out: &mut Out,
        ty: &ParamType,
        v: &J,
        path: Path<'_>,
        enc: bool,
    ) -> Result<u64, Failed> {
        match (ty, v) {
            (ParamType::Bool, J::Bool(b)) => Ok(u64::from(*b)),
            (ParamType::Int, J::Number(n)) => int(n, path),
            (ParamType::Str, J::String(s)) => Ok(if enc { out.str(s) } else { 0 }),
            (ParamType::List(inner), J::Array(items)) => {
                let (off, addr) = if enc {
                    out.reserve(items.len())
                } else {
                    (0, 0)
                };
                for (i, item) in items.iter().enumerate() {
                    let slot = self.param_value(out, inner, item, Path::Index(&path, i), enc)?;
                    if enc {
                        out.put(off + i * 8, slot);
                    }
                }
                Ok(u64::from(addr) | ((items.len() as u64) << 32))
            }
            (ty, other) => Err(path.error(format!("expected `{ty}`, found {}", kind(other)))),
        }
    }

    fn overrides(&self, out: &mut Out, v: &J) -> Result<Vec<OverrideFact>, Failed> {
        let root = Path::Key(&Path::Root, "overrides");
        let J::Array(items) = v else {
            return Err(root.error(format!("expected a list, found {}", kind(v))));
        };
        let mut found = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = Path::Index(&root, i);
            self.record(out, self.override_rec, item, path, false)?;
            let text = |k: &str| item.get(k).and_then(J::as_str).unwrap_or("").to_string();
            let (rule, by, reason) = (text("rule"), text("by"), text("reason"));
            // Unicode trimming, as the interpreter has always checked overrides.
            if by.trim().is_empty() || reason.trim().is_empty() {
                return Err(
                    path.error("an override must say who (`by`) and why (`reason`)".to_string())
                );
            }
            found.push(OverrideFact { rule, by, reason });
        }
        Ok(found)
    }

    /// Validate (and with `enc`, encode) a record; returns its slot (its address).
    fn record(
        &self,
        out: &mut Out,
        rec: usize,
        v: &J,
        path: Path<'_>,
        enc: bool,
    ) -> Result<u64, Failed> {
        let Some(r) = self.records.get(rec) else {
            return Ok(0);
        };
        let J::Object(members) = v else {
            return Err(path.error(format!("expected a `{}` object, found {}", r.name, kind(v))));
        };
        let mut inline: [Option<&J>; INLINE_FIELDS] = [None; INLINE_FIELDS];
        let mut spilled: Vec<Option<&J>>;
        let given: &mut [Option<&J>] = match inline.get_mut(..r.fields.len()) {
            Some(g) => g,
            None => {
                spilled = vec![None; r.fields.len()];
                &mut spilled
            }
        };
        // Members usually come in schema order, so the field after the last one found is tried
        // first.
        let mut next = 0;
        for (key, value) in members {
            let i = match r.fields.get(next) {
                Some(f) if same(&f.name, key) => next,
                _ => match r.fields.iter().position(|f| same(&f.name, key)) {
                    Some(i) => i,
                    None => return Err(unknown_field(r, key, path)),
                },
            };
            if let Some(g) = given.get_mut(i) {
                *g = Some(value);
            }
            next = i + 1;
        }
        let (off, addr) = if enc { out.reserve(r.slots) } else { (0, 0) };
        for (f, g) in r.fields.iter().zip(given.iter()) {
            let fpath = Path::Key(&path, &f.name);
            let fenc = enc && f.slot.is_some();
            let slot = match g {
                Some(J::Null) if matches!(f.shape, Shp::Optional(_)) => ABSENT,
                Some(x) => self.value(out, &f.shape, x, fpath, fenc)?,
                None => match (&f.default, f.fixed) {
                    (Dflt::Required, _) => return Err(missing(fpath)),
                    // Defaults were validated when the encoder was made: one that is not
                    // encoded needs no work, and a constant one no walk.
                    _ if !fenc => continue,
                    (_, Some(fixed)) => fixed,
                    (Dflt::Absent, None) => ABSENT,
                    (Dflt::Record, None) => {
                        let empty = J::Object(Map::new());
                        self.value(out, &f.shape, &empty, fpath, fenc)?
                    }
                    (Dflt::Value(d), None) => self.value(out, &f.shape, d, fpath, fenc)?,
                },
            };
            if let (true, Some(s)) = (fenc, f.slot) {
                out.put(off + s as usize * 8, slot);
            }
        }
        Ok(u64::from(addr))
    }

    /// Validate (and with `enc`, encode) a value of a shape; returns its slot.
    fn value(
        &self,
        out: &mut Out,
        shape: &Shp,
        v: &J,
        path: Path<'_>,
        enc: bool,
    ) -> Result<u64, Failed> {
        match (shape, v) {
            (Shp::Optional(_), J::Null) => Ok(ABSENT),
            (Shp::Optional(inner), _) => {
                let slot = self.value(out, inner, v, path, enc)?;
                if enc && matches!(**inner, Shp::Int | Shp::Count | Shp::Bool) {
                    // A present `int?` or `bool?` is boxed: every 64-bit value is a valid
                    // `int`, so none is left to mean absent.
                    let (off, addr) = out.reserve(1);
                    out.put(off, slot);
                    Ok(u64::from(addr))
                } else {
                    Ok(slot)
                }
            }
            (Shp::Bool, J::Bool(b)) => Ok(u64::from(*b)),
            (Shp::Int, J::Number(n)) => int(n, path),
            (Shp::Count, J::Number(n)) => count(n, path),
            (Shp::Str, J::String(s)) => Ok(if enc { out.str(s) } else { 0 }),
            (Shp::Enum(e), J::String(s)) => {
                let Some(info) = self.enums.get(*e) else {
                    return Ok(0);
                };
                if !info.values.iter().any(|x| same(x, s)) {
                    let values = info.values.join(", ");
                    let name = &info.name;
                    return Err(path.error(format!(
                        "`{s}` is not a value of `{name}`; expected one of {values}"
                    )));
                }
                Ok(if enc { out.str(s) } else { 0 })
            }
            (Shp::List(inner), J::Array(items)) => {
                if !enc {
                    for (i, item) in items.iter().enumerate() {
                        self.value(out, inner, item, Path::Index(&path, i), false)?;
                    }
                    return Ok(0);
                }
                let (off, addr) = out.reserve(items.len());
                for (i, item) in items.iter().enumerate() {
                    let slot = self.value(out, inner, item, Path::Index(&path, i), true)?;
                    out.put(off + i * 8, slot);
                }
                Ok(u64::from(addr) | ((items.len() as u64) << 32))
            }
            (Shp::Record(r), J::Object(_)) => self.record(out, *r, v, path, enc),
            (shape, other) => Err(mismatch(path, self.describe(shape), other)),
        }
    }

    fn describe(&self, shape: &Shp) -> String {
        match shape {
            Shp::Bool => "a boolean".into(),
            Shp::Int => "an integer".into(),
            Shp::Count => "a non-negative integer".into(),
            Shp::Str => "a string".into(),
            Shp::Enum(e) => format!(
                "one of {}",
                self.enums
                    .get(*e)
                    .map(|e| e.values.join(", "))
                    .unwrap_or_default()
            ),
            Shp::List(_) => "a list".into(),
            Shp::Record(r) => format!(
                "a `{}` object",
                self.records.get(*r).map_or("", |r| r.name.as_str())
            ),
            Shp::Optional(s) => self.describe(s),
        }
    }

    /// The combining context of already validated facts.
    fn context(
        &self,
        change: Option<&Map<String, J>>,
        overrides: Vec<OverrideFact>,
    ) -> CombineContext {
        let Some(change) = change else {
            return CombineContext::new("", "", Vec::new(), overrides);
        };
        let author = entry(change, "author")
            .and_then(J::as_str)
            .unwrap_or(&self.defaults.author);
        let initiator = entry(change, "ai")
            .and_then(|ai| member(ai, "initiator"))
            .and_then(J::as_str)
            .unwrap_or("");
        let approvals = entry(change, "approvals")
            .and_then(J::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|a| {
                let by = member(a, "by")?.as_str()?.to_string();
                let stale = member(a, "stale")
                    .and_then(J::as_bool)
                    .unwrap_or(self.defaults.stale);
                let teams = match member(a, "teams").and_then(J::as_array) {
                    Some(t) => t
                        .iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect(),
                    None => self.defaults.teams.clone(),
                };
                Some((by, stale, teams))
            });
        CombineContext::new(author, initiator, approvals, overrides)
    }

    /// The graph index of a validated topology (`docs/abi.md`, "Topology"); returns its
    /// address.
    fn graph_index(&self, out: &mut Out, topology: &J) -> u32 {
        let nodes = member(topology, "nodes")
            .and_then(J::as_array)
            .map_or(self.defaults.nodes.as_slice(), Vec::as_slice);
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| member(n, "name").and_then(J::as_str).unwrap_or(""))
            .collect();
        let name = |i: u32| names.get(i as usize).copied().unwrap_or("");
        let n = nodes.len() as u32;
        // Nodes by name, each with its name's first bytes as a number, so that most
        // comparisons while sorting and searching are one integer comparison rather than a
        // `memcmp` call (they were most of encoding a typical change's 50-node topology).
        let mut keyed: Vec<(u128, u32)> = (0..n).map(|i| (name_key(name(i)), i)).collect();
        // Stable: nodes of one name stay in node order.
        keyed.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| name(a.1).as_bytes().cmp(name(b.1).as_bytes()))
        });
        let sorted: Vec<u32> = keyed.iter().map(|&(_, i)| i).collect();
        // The first node, in node order, whose name an earlier node has: the smallest index
        // among the second and later nodes of each name.
        let duplicate = sorted
            .windows(2)
            .filter_map(|w| match w {
                [a, b] if name(*a) == name(*b) => Some(*b),
                _ => None,
            })
            .min();
        // Dependencies are resolved through a hash table of the keys (open addressing, at most
        // half full), each entry the position in `keyed` of the key's first node plus one: a
        // hash and a comparison or two per name, where a binary search over the 50 nodes of a
        // typical topology made six comparisons of 16-byte keys and was a tenth of encoding.
        let bits = (nodes.len() * 2)
            .max(2)
            .next_power_of_two()
            .trailing_zeros();
        let mask = (1usize << bits) - 1;
        let slot_of = |key: u128| {
            let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
            (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
        };
        let mut table = vec![0u32; mask + 1];
        for (p, &(key, _)) in keyed.iter().enumerate() {
            if p > 0 && keyed.get(p - 1).is_some_and(|&(k, _)| k == key) {
                continue;
            }
            let mut h = slot_of(key);
            while let Some(e) = table.get_mut(h) {
                if *e == 0 {
                    *e = p as u32 + 1;
                    break;
                }
                h = (h + 1) & mask;
            }
        }
        let find = |target: &str| -> Option<u32> {
            let key = name_key(target);
            let mut h = slot_of(key);
            loop {
                let p = (*table.get(h)?).checked_sub(1)? as usize;
                let (first, i) = *keyed.get(p)?;
                if first == key {
                    // Names of at most 16 bytes and of one length are equal when their keys
                    // are: no comparison of the names.
                    if target.len() <= 16 && name(i).len() == target.len() {
                        return Some(i);
                    }
                    // Nodes of this key, by name and then in node order: the first of the name
                    // is the node wanted.
                    return keyed
                        .get(p..)?
                        .iter()
                        .take_while(|&&(k, _)| k == key)
                        .map(|&(_, i)| i)
                        .find(|&i| name(i).as_bytes() >= target.as_bytes())
                        .filter(|&i| name(i) == target);
                }
                h = (h + 1) & mask;
            }
        };
        let mut fwd_start = Vec::with_capacity(nodes.len() + 1);
        let mut fwd: Vec<u32> = Vec::new();
        let mut rev_count = vec![0u32; nodes.len() + 1];
        fwd_start.push(0);
        let link = |t: &str, fwd: &mut Vec<u32>, rev_count: &mut Vec<u32>| {
            // A name that is no node's is ignored.
            if let Some(j) = find(t) {
                fwd.push(j);
                if let Some(c) = rev_count.get_mut(j as usize + 1) {
                    *c += 1;
                }
            }
        };
        for node in nodes {
            match member(node, "depends_on").and_then(J::as_array) {
                Some(deps) => {
                    for t in deps.iter().filter_map(J::as_str) {
                        link(t, &mut fwd, &mut rev_count);
                    }
                }
                None => {
                    for t in &self.defaults.depends_on {
                        link(t, &mut fwd, &mut rev_count);
                    }
                }
            }
            fwd_start.push(fwd.len() as u32);
        }
        // Reverse edges by counting: `rev_start` is the prefix sum of in-degrees, and walking
        // the nodes in order fills each node's dependents in increasing order.
        let mut rev_start = rev_count;
        for i in 1..rev_start.len() {
            let prev = rev_start.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = rev_start.get_mut(i) {
                *c += prev;
            }
        }
        let mut next = rev_start.clone();
        let mut rev = vec![0u32; fwd.len()];
        for (i, w) in fwd_start.windows(2).enumerate() {
            let [from, to] = w else { continue };
            for &j in fwd.get(*from as usize..*to as usize).unwrap_or(&[]) {
                if let Some(pos) = next.get_mut(j as usize)
                    && let Some(slot) = rev.get_mut(*pos as usize)
                {
                    *slot = i as u32;
                    *pos += 1;
                }
            }
        }
        let (off, addr) = out.reserve(GRAPH_SLOTS as usize);
        let slots = [
            u64::from(n),
            out.u32s(&sorted),
            out.u32s(&fwd_start),
            out.u32s(&fwd),
            out.u32s(&rev_start),
            out.u32s(&rev),
            match duplicate {
                Some(d) => out.str(&format!("two nodes are named `{}`", name(d))),
                None => out.str(""),
            },
        ];
        for (k, s) in slots.into_iter().enumerate() {
            out.put(off + k * 8, s);
        }
        addr
    }
}

#[inline]
fn int(n: &serde_json::Number, path: Path<'_>) -> Result<u64, Failed> {
    n.as_i64()
        // The slot holds the two's complement.
        .map(|i| i as u64)
        .ok_or_else(|| not_i64(path, n))
}

/// [`int`], refusing a negative one (docs/abi.md, "Errors").
fn count(n: &serde_json::Number, path: Path<'_>) -> Result<u64, Failed> {
    match n.as_i64() {
        Some(i) if i >= 0 => Ok(i as u64),
        Some(_) => Err(negative(path, n)),
        None => Err(not_i64(path, n)),
    }
}

#[cold]
fn negative(path: Path<'_>, n: &serde_json::Number) -> Failed {
    path.error(format!("expected a non-negative integer, found `{n}`"))
}

#[cold]
fn not_i64(path: Path<'_>, n: &serde_json::Number) -> Failed {
    path.error(format!("expected a 64-bit integer, found `{n}`"))
}

/// String equality without a call to `memcmp`: field names and enum values are short, and
/// comparing them is most of what validation does. Whatever the length, the bytes are compared
/// a word at a time: a short string as two words that overlap (its first and its last 4 or 2
/// bytes), a long one 8 bytes at a time and then its last 8.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // The `width` bytes at `at` of both, as numbers (`width` is 2, 4 or 8 and fits).
    fn word(x: &[u8], at: usize, width: usize) -> u64 {
        let mut w = [0u8; 8];
        if let (Some(d), Some(s)) = (w.get_mut(..width), x.get(at..at + width)) {
            d.copy_from_slice(s);
        }
        u64::from_le_bytes(w)
    }
    let eq = |at: usize, width: usize| word(a, at, width) == word(b, at, width);
    match n {
        0 => true,
        1 => a.first() == b.first(),
        2..4 => eq(0, 2) && eq(n - 2, 2),
        4..8 => eq(0, 4) && eq(n - 4, 4),
        _ => {
            let mut i = 0;
            while i + 8 <= n {
                if !eq(i, 8) {
                    return false;
                }
                i += 8;
            }
            i == n || eq(n - 8, 8)
        }
    }
}

#[cold]
fn missing(path: Path<'_>) -> Failed {
    path.error("required field is missing".to_string())
}

#[cold]
fn mismatch(path: Path<'_>, expected: String, found: &J) -> Failed {
    path.error(format!("expected {expected}, found {}", kind(found)))
}

#[cold]
fn unknown_document(key: &str) -> Failed {
    let msg = crate::facts_error::unknown_document(key);
    Box::new(FactsError::at(key, msg))
}

#[cold]
fn unknown_field(r: &Rec, key: &str, path: Path<'_>) -> Failed {
    let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
    let close = names
        .iter()
        .find(|n| similar(key, n))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| format!("; `{}` has {}", r.name, names.join(", ")));
    Path::Key(&path, key).error(format!("unknown field `{key}` in `{}`{close}", r.name))
}

/// The patterns of a `glob` parameter's value: one for a `str`, each element of a `[str]`.
/// Errs when the type is neither.
fn patterns<'v>(name: &str, ty: &ParamType, v: &'v J) -> Result<Vec<&'v str>, LayoutError> {
    match ty {
        ParamType::Str => Ok(v.as_str().into_iter().collect()),
        ParamType::List(inner) if **inner == ParamType::Str => Ok(v
            .as_array()
            .map(|a| a.iter().filter_map(J::as_str).collect())
            .unwrap_or_default()),
        _ => Err(LayoutError::GlobParam {
            name: name.to_string(),
            ty: ty.clone(),
        }),
    }
}

/// Append compiled patterns and the list of their addresses; returns the list's slot.
fn pattern_list(out: &mut Out, compiled: &[Dfa]) -> u64 {
    let addrs: Vec<u32> = compiled
        .iter()
        .map(|d| d.encode_into(&mut out.buf, out.base))
        .collect();
    let (off, addr) = out.reserve(addrs.len());
    for (i, a) in addrs.into_iter().enumerate() {
        out.put(off + i * 8, u64::from(a));
    }
    u64::from(addr) | ((compiled.len() as u64) << 32)
}

fn convert(
    shape: ShapeMeta,
    index: &BTreeMap<&str, usize>,
    enums: &mut Vec<EnumInfo>,
) -> Result<Shp, LayoutError> {
    Ok(match shape {
        ShapeMeta::Bool => Shp::Bool,
        ShapeMeta::Int => Shp::Int,
        ShapeMeta::Count => Shp::Count,
        ShapeMeta::Str => Shp::Str,
        ShapeMeta::Enum(meta) => match enums
            .iter()
            .position(|e| e.values == meta.values && e.name == meta.name)
        {
            Some(i) => Shp::Enum(i),
            None => {
                enums.push(EnumInfo {
                    name: meta.name,
                    values: meta.values,
                });
                Shp::Enum(enums.len() - 1)
            }
        },
        ShapeMeta::List(s) => Shp::List(Box::new(convert(*s, index, enums)?)),
        ShapeMeta::Record(name) => Shp::Record(
            index
                .get(name.as_str())
                .copied()
                .ok_or(LayoutError::UnknownRecord { name })?,
        ),
        ShapeMeta::Optional(s) => Shp::Optional(Box::new(convert(*s, index, enums)?)),
    })
}

/// `v`'s member `key`, when `v` is an object; see [`entry`].
fn member<'v>(v: &'v J, key: &str) -> Option<&'v J> {
    v.as_object().and_then(|m| entry(m, key))
}

/// `m`'s member `key`: found by comparing keys in the small objects facts are made of, where
/// hashing the key (serde_json's maps keep their order, with a SipHash index) costs more than
/// a few comparisons, and by the index in larger ones.
fn entry<'v>(m: &'v Map<String, J>, key: &str) -> Option<&'v J> {
    if m.len() <= 8 {
        m.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        m.get(key)
    }
}

/// The first 16 bytes of `name` as a big-endian number, zero-padded. Two keys compare as the
/// names' bytes do, except that names alike in their first 16 bytes (or differing only by
/// trailing NULs) tie, and the names themselves then decide.
///
/// A shorter name is read as words that overlap (its first and its last 8, or 4, bytes) and
/// shifted into place, not copied into a zeroed buffer: reading such a buffer back as one number
/// waits for the copy's small stores on every call.
fn name_key(name: &str) -> u128 {
    let b = name.as_bytes();
    let n = b.len();
    if let Some(head) = b.first_chunk::<16>() {
        return u128::from_be_bytes(*head);
    }
    let be64 = |at: usize| {
        b.get(at..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map_or(0, |w| u64::from_be_bytes(*w))
    };
    let be32 = |at: usize| {
        b.get(at..)
            .and_then(<[u8]>::first_chunk::<4>)
            .map_or(0, |w| u32::from_be_bytes(*w))
    };
    // The bytes past the first word come from the last word, whose earlier bytes (already in
    // the first) are shifted out.
    let (hi, lo) = match n {
        9..16 => (be64(0), be64(n - 8) << (8 * (16 - n))),
        8 => (be64(0), 0),
        5..8 => {
            let tail = be32(n - 4) << (8 * (8 - n));
            ((u64::from(be32(0)) << 32) | u64::from(tail), 0)
        }
        4 => (u64::from(be32(0)) << 32, 0),
        _ => {
            let mut w = 0u64;
            for (i, &c) in b.iter().enumerate() {
                w |= u64::from(c) << (56 - 8 * i);
            }
            (w, 0)
        }
    };
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The record type a shape holds, through lists and optionals.
fn record_in(shape: &Shp) -> Option<usize> {
    match shape {
        Shp::Record(r) => Some(*r),
        Shp::List(s) | Shp::Optional(s) => record_in(s),
        _ => None,
    }
}

/// The record type of a record or optional-record shape (one a `"record"` default fits).
fn record_in_direct(shape: &Shp) -> Option<usize> {
    match shape {
        Shp::Record(r) => Some(*r),
        Shp::Optional(s) => record_in_direct(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{name_key, same};

    #[test]
    fn name_keys_order_names_as_their_first_sixteen_bytes_do() {
        let names = [
            "",
            "a",
            "a\0",
            "ab",
            "b",
            "svc-1",
            "svc-10",
            "svc-2",
            "svc-9",
            "Svc-1",
            "0123456789abcde",
            "0123456789abcdef",
            "0123456789abcdef0",
            "0123456789abcdeg",
            "é",
            "zzzzzzzzzzzzzzzzzzzz",
        ];
        let head = |s: &str| {
            let mut b = [0u8; 16];
            for (d, c) in b.iter_mut().zip(s.bytes()) {
                *d = c;
            }
            b
        };
        for a in names {
            for b in names {
                assert_eq!(
                    name_key(a).cmp(&name_key(b)),
                    head(a).cmp(&head(b)),
                    "{a:?} {b:?}"
                );
            }
        }
        assert_eq!(name_key("a"), u128::from(b'a') << 120);
        // Exactly the zero-padded first 16 bytes, at every length.
        for n in 0..40 {
            let name: String = (0..n)
                .map(|i| char::from(b'A' + (i * 7 % 58) as u8))
                .collect();
            assert_eq!(
                name_key(&name),
                u128::from_be_bytes(head(&name)),
                "{name:?}"
            );
        }
    }

    #[test]
    fn same_is_byte_equality_at_every_length() {
        // Every length up to 40 (each of the word paths and their edges), with the strings
        // differing at each position in turn, or not at all.
        for n in 0..40 {
            let a: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(same(&a, &a.clone()), "{a:?}");
            for at in 0..n {
                let mut b = a.clone().into_bytes();
                if let Some(c) = b.get_mut(at) {
                    *c = b'#';
                }
                let b = String::from_utf8(b).unwrap_or_default();
                assert!(!same(&a, &b), "{a:?} {b:?}");
            }
            let longer = format!("{a}z");
            assert!(!same(&a, &longer) && !same(&longer, &a), "{a:?}");
        }
        assert!(same("é", "é") && !same("é", "è"));
    }
}
