//! The core metadata of an artifact in binary: what deciding reads of a module's metadata,
//! written when the module is precompiled and read on every load. That is the rules' names,
//! levels, effects and sources (for decoding findings) and the layout (for encoding facts);
//! not the docs, the rules' message templates and the documents each rule reads, nor the
//! parameters, which a host needs only to encode a config and the runtime then reads from the
//! metadata JSON the artifact also holds. Leaving the parameters out (their names, types and
//! default values: about half of the shipped rules' strings) took a sixth off a load.
//!
//! Reading the same metadata as JSON was most of a load's instructions: a parser that meets
//! every key and scans every string for escapes. Here every string is a length and its bytes,
//! every list a count and its items, every enumeration a byte, in the order of the fields of
//! [`Metadata`]; the reader's work is its allocations. The format lives and changes with the
//! artifact format (`artifact::FORMAT`), and is read only from artifacts whose checksum
//! matched; the reader still checks every length, tag and string and fails with an error,
//! never a panic, on bytes it did not write.
//!
//! The bytes are the length of the strings (LEB128), the strings, one after another, then the
//! structure. In the structure, integers are LEB128 (unsigned) or zigzag LEB128 (signed); a
//! string is its length, its bytes the next ones of the strings (so that their UTF-8 is
//! checked once, for all of them); `Option` is a byte 0 or 1 and the value; JSON values a tag
//! byte (null, false, true, signed, unsigned, float, string, array, object) and their
//! contents.

use std::collections::BTreeMap;

use blastwall_abi::decision::{Effect, Level};
use blastwall_abi::layout::{EnumMeta, FieldMeta, Layout, Metadata, RuleMeta, ShapeMeta};
use serde_json::{Map, Number, Value};

/// How deeply shapes and JSON values may nest in the core metadata: far beyond what the
/// compiler writes (a shape nests a few levels, a default value two), and shallow enough for
/// the reader's recursion.
const MAX_DEPTH: usize = 64;

/// The bytes of what deciding reads of `meta`.
pub(crate) fn write(meta: &Metadata) -> Result<Vec<u8>, String> {
    let mut w = Writer::default();
    w.uint(u64::from(meta.abi));
    w.str(&meta.compiler);
    w.str(&meta.digest);
    w.bool(meta.graph);
    w.uint(meta.rules.len() as u64);
    for r in &meta.rules {
        w.str(&r.name);
        w.byte(match r.level {
            Level::Advisory => 0,
            Level::Soft => 1,
            Level::Hard => 2,
        });
        w.byte(match r.effect {
            Effect::Deny => 0,
            Effect::Review => 1,
            Effect::Warn => 2,
        });
        w.str(&r.source);
    }
    w.uint(meta.layout.documents.len() as u64);
    for (doc, record) in &meta.layout.documents {
        w.str(doc);
        w.str(record);
    }
    w.uint(meta.layout.records.len() as u64);
    for (name, fields) in &meta.layout.records {
        w.str(name);
        w.uint(fields.len() as u64);
        for f in fields {
            w.str(&f.name);
            w.shape(&f.shape, 0)?;
            w.value(&f.default, 0)?;
            match f.slot {
                None => w.byte(0),
                Some(s) => {
                    w.byte(1);
                    w.uint(u64::from(s));
                }
            }
        }
    }
    let mut out = Writer::default();
    out.uint(w.strings.len() as u64);
    out.data.extend_from_slice(w.strings.as_bytes());
    out.data.extend_from_slice(&w.data);
    Ok(out.data)
}

/// The metadata in `bytes`, as [`write`] wrote it: without docs, parameters, message
/// templates, or the documents rules read.
pub(crate) fn read(bytes: &[u8]) -> Result<Metadata, String> {
    let mut r = Reader {
        rest: bytes,
        strings: "",
    };
    let n = r.count()?;
    let (strings, rest) = bytes
        .get(bytes.len() - r.rest.len()..)
        .and_then(|b| b.split_at_checked(n))
        .ok_or("the strings cut short")?;
    r.strings =
        std::str::from_utf8(strings).map_err(|e| format!("strings that are not UTF-8: {e}"))?;
    r.rest = rest;
    let abi = r.u32()?;
    let compiler = r.string()?;
    let digest = r.string()?;
    let graph = r.bool()?;
    let rules = r.list(|r| {
        Ok(RuleMeta {
            name: r.string()?,
            level: match r.byte()? {
                0 => Level::Advisory,
                1 => Level::Soft,
                2 => Level::Hard,
                b => return Err(format!("unknown rule level {b}")),
            },
            effect: match r.byte()? {
                0 => Effect::Deny,
                1 => Effect::Review,
                2 => Effect::Warn,
                b => return Err(format!("unknown rule effect {b}")),
            },
            doc: Vec::new(),
            source: r.string()?,
            reads: Vec::new(),
            message: String::new(),
        })
    })?;
    let mut documents = BTreeMap::new();
    for _ in 0..r.count()? {
        documents.insert(r.string()?, r.string()?);
    }
    let mut records = BTreeMap::new();
    for _ in 0..r.count()? {
        let name = r.string()?;
        let fields = r.list(|r| {
            Ok(FieldMeta {
                name: r.string()?,
                shape: r.shape(0)?,
                default: r.value(0)?,
                slot: match r.byte()? {
                    0 => None,
                    1 => Some(r.u32()?),
                    b => return Err(format!("unknown slot tag {b}")),
                },
            })
        })?;
        records.insert(name, fields);
    }
    if !r.rest.is_empty() || !r.strings.is_empty() {
        return Err(format!(
            "{} bytes after the metadata",
            r.rest.len() + r.strings.len()
        ));
    }
    Ok(Metadata {
        abi,
        compiler,
        digest,
        graph,
        rules,
        params: Vec::new(),
        layout: Layout { documents, records },
    })
}

#[derive(Default)]
struct Writer {
    data: Vec<u8>,
    strings: String,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.data.push(b);
    }

    fn bool(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    fn uint(&mut self, mut v: u64) {
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.byte(low);
                return;
            }
            self.byte(low | 0x80);
        }
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.strings.push_str(s);
    }

    fn strs(&mut self, xs: &[String]) {
        self.uint(xs.len() as u64);
        for x in xs {
            self.str(x);
        }
    }

    fn shape(&mut self, shape: &ShapeMeta, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("a shape nests too deeply".into());
        }
        match shape {
            ShapeMeta::Bool => self.byte(0),
            ShapeMeta::Int => self.byte(1),
            ShapeMeta::Str => self.byte(2),
            ShapeMeta::Count => self.byte(7),
            ShapeMeta::Enum(e) => {
                self.byte(3);
                self.str(&e.name);
                self.strs(&e.values);
            }
            ShapeMeta::List(s) => {
                self.byte(4);
                self.shape(s, depth + 1)?;
            }
            ShapeMeta::Record(name) => {
                self.byte(5);
                self.str(name);
            }
            ShapeMeta::Optional(s) => {
                self.byte(6);
                self.shape(s, depth + 1)?;
            }
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("a value nests too deeply".into());
        }
        match v {
            Value::Null => self.byte(0),
            Value::Bool(false) => self.byte(1),
            Value::Bool(true) => self.byte(2),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    self.byte(3);
                    // Zigzag: small magnitudes of either sign take few bytes.
                    self.uint(((i << 1) ^ (i >> 63)) as u64);
                } else if let Some(u) = n.as_u64() {
                    self.byte(4);
                    self.uint(u);
                } else {
                    self.byte(5);
                    let f = n.as_f64().ok_or("a number that is not a float")?;
                    self.data.extend_from_slice(&f.to_le_bytes());
                }
            }
            Value::String(s) => {
                self.byte(6);
                self.str(s);
            }
            Value::Array(items) => {
                self.byte(7);
                self.uint(items.len() as u64);
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            Value::Object(members) => {
                self.byte(8);
                self.uint(members.len() as u64);
                for (k, item) in members {
                    self.str(k);
                    self.value(item, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

struct Reader<'a> {
    /// The structure not yet read.
    rest: &'a [u8],
    /// The strings not yet read.
    strings: &'a str,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let (&b, rest) = self
            .rest
            .split_first()
            .ok_or("the metadata ends too soon")?;
        self.rest = rest;
        Ok(b)
    }

    fn bool(&mut self) -> Result<bool, String> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("{b} is not a boolean")),
        }
    }

    fn uint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|x| x >> shift == u64::from(b & 0x7f))
                .ok_or("an integer too large")?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("an integer too long".into())
    }

    fn u32(&mut self) -> Result<u32, String> {
        u32::try_from(self.uint()?).map_err(|_| "an integer too large".to_string())
    }

    /// A count of items that take at least a byte each: never more than the bytes left, so
    /// that no count makes the reader reserve more than the metadata's size.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.uint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.rest.len())
            .ok_or_else(|| format!("a count of {n} with {} bytes left", self.rest.len()))
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = usize::try_from(self.uint()?).map_err(|_| "a string too long")?;
        // `get` refuses a length that ends inside a character.
        let s = self.strings.get(..n).ok_or("a string cut short")?;
        self.strings = self.strings.get(n..).unwrap_or_default();
        Ok(s)
    }

    fn string(&mut self) -> Result<String, String> {
        self.str().map(str::to_owned)
    }

    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let n = self.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn shape(&mut self, depth: usize) -> Result<ShapeMeta, String> {
        if depth > MAX_DEPTH {
            return Err("a shape nests too deeply".into());
        }
        Ok(match self.byte()? {
            0 => ShapeMeta::Bool,
            1 => ShapeMeta::Int,
            2 => ShapeMeta::Str,
            3 => ShapeMeta::Enum(EnumMeta {
                name: self.string()?,
                values: self.list(Reader::string)?,
            }),
            4 => ShapeMeta::List(Box::new(self.shape(depth + 1)?)),
            5 => ShapeMeta::Record(self.string()?),
            6 => ShapeMeta::Optional(Box::new(self.shape(depth + 1)?)),
            7 => ShapeMeta::Count,
            b => return Err(format!("unknown shape tag {b}")),
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("a value nests too deeply".into());
        }
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => {
                let z = self.uint()?;
                Value::from(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            4 => Value::from(self.uint()?),
            5 => {
                let bytes = self
                    .rest
                    .split_first_chunk::<8>()
                    .map(|(b, rest)| {
                        self.rest = rest;
                        *b
                    })
                    .ok_or("a float cut short")?;
                Value::Number(
                    Number::from_f64(f64::from_le_bytes(bytes))
                        .ok_or("a float that is not finite")?,
                )
            }
            6 => Value::String(self.string()?),
            7 => Value::Array(self.list(|r| r.value(depth + 1))?),
            8 => {
                let n = self.count()?;
                let mut members = Map::with_capacity(n);
                for _ in 0..n {
                    let key = self.string()?;
                    members.insert(key, self.value(depth + 1)?);
                }
                Value::Object(members)
            }
            b => return Err(format!("unknown value tag {b}")),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use blastwall_abi::layout::{ParamMeta, ParamType};
    use serde_json::json;

    use super::*;

    /// Metadata with every kind of shape and value the format has.
    fn sample() -> Metadata {
        let field = |name: &str, shape: ShapeMeta, default: Value, slot: Option<u32>| FieldMeta {
            name: name.into(),
            shape,
            default,
            slot,
        };
        let mut records = BTreeMap::new();
        records.insert(
            "Change".to_string(),
            vec![
                field("a", ShapeMeta::Bool, json!(true), Some(0)),
                field("b", ShapeMeta::Int, json!(-5), None),
                field("c", ShapeMeta::Str, json!("é\u{0}x"), Some(u32::MAX)),
                field(
                    "d",
                    ShapeMeta::Enum(EnumMeta {
                        name: "TriState".into(),
                        values: vec!["yes".into(), "no".into()],
                    }),
                    json!("yes"),
                    Some(1),
                ),
                field(
                    "e",
                    ShapeMeta::Optional(Box::new(ShapeMeta::List(Box::new(ShapeMeta::Record(
                        "Change".into(),
                    ))))),
                    json!("absent"),
                    None,
                ),
                field(
                    "f",
                    ShapeMeta::Int,
                    json!([null, false, u64::MAX, i64::MIN, 1.5, {"k": [1, "v"], "j": {}}]),
                    None,
                ),
            ],
        );
        let mut documents = BTreeMap::new();
        documents.insert("change".to_string(), "Change".to_string());
        Metadata {
            abi: 3,
            compiler: "0.1.0".into(),
            digest: "ab".repeat(32),
            graph: true,
            rules: vec![RuleMeta {
                name: "r".into(),
                level: Level::Soft,
                effect: Effect::Review,
                doc: Vec::new(),
                source: "r.bw:1:1".into(),
                reads: vec!["change".into(), "topology".into()],
                message: "{x} and {y}".into(),
            }],
            params: vec![ParamMeta {
                name: "paths".into(),
                ty: ParamType::List(Box::new(ParamType::Str)),
                default: json!(["src/**", "*.md"]),
                doc: Vec::new(),
                glob: true,
            }],
            layout: Layout { documents, records },
        }
    }

    /// `meta` as the core keeps it.
    fn core(mut meta: Metadata) -> Metadata {
        meta.params.clear();
        for r in &mut meta.rules {
            r.doc.clear();
            r.reads.clear();
            r.message.clear();
        }
        meta
    }

    #[test]
    fn round_trips_what_deciding_reads() {
        let meta = sample();
        let bytes = write(&meta).unwrap();
        let read_back = read(&bytes).unwrap();
        assert_eq!(read_back, core(meta.clone()));
        // Everything of it: only the parameters, messages, reads and docs are left out.
        assert_eq!(read_back.layout, meta.layout);
        assert_eq!(read_back.rules[0].source, "r.bw:1:1");
        let mut with_docs = meta.clone();
        with_docs.rules[0].doc = vec!["Explains.".into()];
        assert_eq!(read(&write(&with_docs).unwrap()).unwrap(), core(meta));
    }

    #[test]
    fn every_cut_and_flip_is_an_error_or_other_metadata_never_a_panic() {
        let bytes = write(&sample()).unwrap();
        for n in 0..bytes.len() {
            assert!(read(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                let _ = read(&flipped);
            }
        }
    }

    #[test]
    fn random_edits_never_panic() {
        // A fixed xorshift sequence: overwrites, insertions and deletions of a few bytes at a
        // time, each result read once (an error or some metadata, never a panic or a hang).
        let bytes = write(&sample()).unwrap();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound.max(1) as u64) as usize
        };
        let (mut refused, mut read_anyway) = (0, 0);
        for _ in 0..5000 {
            let mut edited = bytes.clone();
            for _ in 0..1 + next(4) {
                let at = next(edited.len());
                match next(3) {
                    0 => edited[at] = next(256) as u8,
                    1 => edited.insert(at, next(256) as u8),
                    _ => {
                        edited.remove(at);
                    }
                }
            }
            match read(&edited) {
                Ok(_) => read_anyway += 1,
                Err(_) => refused += 1,
            }
        }
        // Most edits break the format; some land in a string's bytes and still read.
        assert!(refused > 4000, "{refused} refused");
        assert!(read_anyway > 0, "no edit was read");
    }

    #[test]
    fn counts_larger_than_the_bytes_left_are_refused_before_reserving() {
        // No strings; abi 3, two empty strings, graph false, then 2^62 rules.
        let mut w = Writer::default();
        w.uint(0);
        w.uint(3);
        w.str("");
        w.str("");
        w.bool(false);
        w.uint(1 << 62);
        let e = read(&w.data).unwrap_err();
        assert!(e.contains("a count of"), "{e}");
    }

    #[test]
    fn deep_values_are_refused() {
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let mut meta = sample();
        if let Some(f) = meta.layout.records.get_mut("Change") {
            f[0].default = deep;
        }
        assert!(write(&meta).is_err());
        // Written by hand: the reader stops at the same depth.
        let mut w = Writer::default();
        for _ in 0..100 {
            w.byte(7);
            w.uint(1);
        }
        w.byte(0);
        let mut r = Reader {
            rest: &w.data,
            strings: "",
        };
        assert!(r.value(0).unwrap_err().contains("too deeply"));
    }
}
