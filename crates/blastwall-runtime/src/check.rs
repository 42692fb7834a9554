//! What a module must be before we compile it (docs/abi.md, "The module"): valid under the few
//! wasm features policy modules use, importing nothing, exporting the ABI's entry points with
//! their exact types, and carrying readable metadata of our ABI version.
//!
//! The same interface check runs on a precompiled module's types, which wasmtime reports after
//! deserialising, so both ways of loading refuse the same modules with the same words.

use std::sync::{Arc, OnceLock};

use blastwall_abi::layout::{ABI_VERSION, METADATA_SECTION, Metadata};
use wasmparser::{ExternalKind, Parser, Payload, ValType, Validator, WasmFeatures};

use crate::abi::Encoder;
use crate::core_meta;
use crate::err::LoadError;

/// The wasm features a policy module may use: the MVP plus mutable globals, sign extension,
/// saturating conversions, multi-value and bulk memory. Everything else (SIMD, threads,
/// reference types, GC, exceptions, memory64, multi-memory, tail calls, ...) is refused before
/// compiling, and disabled in the engine too, so a module cannot reach engine code paths our
/// modules never need.
pub(crate) fn features() -> WasmFeatures {
    WasmFeatures::WASM1
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
}

/// A value type as far as the ABI cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val {
    I32,
    I64,
    F32,
    F64,
    Other,
}

impl Val {
    fn name(self) -> &'static str {
        match self {
            Val::I32 => "i32",
            Val::I64 => "i64",
            Val::F32 => "f32",
            Val::F64 => "f64",
            Val::Other => "a non-numeric type",
        }
    }
}

/// The type of an export as far as the ABI cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extern {
    /// A memory: whether it is 64-bit, whether it is shared.
    Memory { is64: bool, shared: bool },
    /// A function.
    Func { params: Vec<Val>, results: Vec<Val> },
    /// A table, a global or a tag.
    Other(&'static str),
}

impl Extern {
    fn describe(&self) -> String {
        match self {
            Extern::Memory { is64, shared } => match (is64, shared) {
                (false, false) => "a memory".into(),
                (true, _) => "a 64-bit memory".into(),
                (false, true) => "a shared memory".into(),
            },
            Extern::Func { params, results } => {
                let list = |v: &[Val]| v.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
                format!("a function ({}) -> ({})", list(params), list(results))
            }
            Extern::Other(what) => (*what).into(),
        }
    }
}

/// The exports the ABI requires, with their types.
const REQUIRED: [(&str, &str); 5] = [
    ("memory", "a memory"),
    ("bw_abi_version", "a function () -> (i32)"),
    ("bw_reserve", "a function (i32) -> (i32)"),
    ("bw_input", "a function (i32) -> (i32)"),
    ("bw_evaluate", "a function (i32) -> (i32)"),
];

fn wanted(name: &str) -> Extern {
    let i32_to_i32 = Extern::Func {
        params: vec![Val::I32],
        results: vec![Val::I32],
    };
    match name {
        "memory" => Extern::Memory {
            is64: false,
            shared: false,
        },
        "bw_abi_version" => Extern::Func {
            params: Vec::new(),
            results: vec![Val::I32],
        },
        _ => i32_to_i32,
    }
}

/// Checks that `imports` is empty and `exports` has every required entry with its type.
pub(crate) fn interface<'a>(
    mut imports: impl Iterator<Item = (&'a str, &'a str)>,
    exports: &[(String, Extern)],
) -> Result<(), LoadError> {
    if let Some((module, name)) = imports.next() {
        return Err(LoadError::Import {
            module: module.into(),
            name: name.into(),
        });
    }
    for (name, expected) in REQUIRED {
        let found = exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, ty)| ty)
            .ok_or(LoadError::MissingExport(name))?;
        if *found != wanted(name) {
            return Err(LoadError::ExportType {
                name,
                expected,
                found: found.describe(),
            });
        }
    }
    Ok(())
}

/// Reads the metadata JSON and checks its ABI version. The docs of rules and parameters are
/// checked but left out ([`Metadata::from_json_without_docs`]); [`Module::metadata`] parses
/// them from the text when asked.
///
/// [`Module::metadata`]: crate::Module::metadata
pub(crate) fn metadata(json: Vec<u8>) -> Result<LoadedMetadata, LoadError> {
    // Checking the whole text's UTF-8 at once and parsing a `str` is faster than having the
    // parser check every string it meets, and loading a module parses tens of kilobytes. Text
    // that is not UTF-8 is not JSON; the byte parser says where.
    let (parsed, text) = match String::from_utf8(json) {
        Ok(text) => (Metadata::from_json_without_docs(&text), text.into_bytes()),
        Err(e) => {
            let bytes = e.into_bytes();
            (serde_json::from_slice::<Metadata>(&bytes), bytes)
        }
    };
    loaded(parsed, text)
}

/// Reads a precompiled artifact's metadata: `core` ([`core_meta`]) is read and checked as
/// [`metadata`] checks a module's, and `json` is kept for the docs and the parameters. A
/// precompiled module's metadata was checked whole when it was compiled (and its parameters'
/// defaults found to fit their types: [`Engine::precompile`] refuses a module whose do not),
/// and the artifact's checksum covers both: `json` is kept as it is, and read only for the
/// docs ([`Module::metadata`]) and the parameters, when a config is first encoded.
///
/// [`Engine::precompile`]: crate::Engine::precompile
/// [`Module::metadata`]: crate::Module::metadata
pub(crate) fn artifact_metadata(
    core: &[u8],
    json: MetadataText,
) -> Result<LoadedMetadata, LoadError> {
    let mut metadata = core_meta::read(core)
        .map_err(|e| LoadError::BadMetadata(format!("the artifact's core metadata: {e}")))?;
    check_abi(u64::from(metadata.abi))?;
    let text = Arc::new(json);
    let source = Arc::clone(&text);
    let params = Box::new(move || {
        /// The parameters of the metadata JSON, the rest skipped.
        #[derive(serde::Deserialize)]
        struct Params {
            params: Vec<blastwall_abi::layout::ParamMeta>,
        }
        serde_json::from_slice::<Params>(source.get()?)
            .map(|p| p.params)
            .map_err(|e| format!("the artifact's metadata: {e}"))
    });
    let encoder =
        Encoder::with_lazy_params(std::mem::take(&mut metadata.layout), metadata.graph, params)
            .map_err(LoadError::Layout)?;
    Ok(LoadedMetadata {
        metadata,
        text,
        encoder,
    })
}

/// The core metadata of an artifact ([`core_meta`]): the metadata JSON `text` without docs.
pub(crate) fn core_metadata(text: &[u8]) -> Result<Vec<u8>, LoadError> {
    let text = std::str::from_utf8(text).map_err(|e| LoadError::BadMetadata(e.to_string()))?;
    let metadata = Metadata::from_json_without_docs(text)
        .map_err(|e| LoadError::BadMetadata(e.to_string()))?;
    core_meta::write(&metadata).map_err(LoadError::BadMetadata)
}

/// Checks that `abi` is this runtime's ABI version.
fn check_abi(abi: u64) -> Result<(), LoadError> {
    if abi == u64::from(ABI_VERSION) {
        Ok(())
    } else {
        Err(LoadError::AbiVersion {
            found: u32::try_from(abi).unwrap_or(u32::MAX),
            expected: ABI_VERSION,
        })
    }
}

/// Checks parsed metadata's ABI version and builds its encoder; `text` is the metadata JSON,
/// kept for the docs.
fn checked(mut metadata: Metadata, text: Vec<u8>) -> Result<LoadedMetadata, LoadError> {
    check_abi(u64::from(metadata.abi))?;
    // The layout is checked here, before anything is compiled or mapped: a module whose facts
    // cannot be encoded is refused first, and cheaply. The encoder takes the layout and
    // parameters; deciding reads the rest.
    let encoder = Encoder::from_parts(
        std::mem::take(&mut metadata.layout),
        std::mem::take(&mut metadata.params),
        metadata.graph,
    )
    .map_err(LoadError::Layout)?;
    Ok(LoadedMetadata {
        metadata,
        text: Arc::new(MetadataText::held(text)),
        encoder,
    })
}

/// [`checked`] for metadata parsed from `text`, which is read again for the ABI version of
/// metadata that did not parse.
fn loaded(
    parsed: serde_json::Result<Metadata>,
    text: Vec<u8>,
) -> Result<LoadedMetadata, LoadError> {
    match parsed {
        Ok(metadata) => checked(metadata, text),
        Err(error) => {
            // Metadata of another ABI version may have another shape: report its version
            // rather than the shape this runtime expected.
            let abi = serde_json::from_slice::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("abi").and_then(serde_json::Value::as_u64));
            if let Some(abi) = abi {
                check_abi(abi)?;
            }
            Err(LoadError::BadMetadata(error.to_string()))
        }
    }
}

/// A module's metadata as loaded: parsed without the docs, and the text they are parsed from
/// when asked.
#[derive(Debug)]
pub(crate) struct LoadedMetadata {
    /// The metadata, its docs left out, and its layout and parameters moved into `encoder`
    /// (empty here).
    pub(crate) metadata: Metadata,
    /// The metadata JSON as stored in the module (or the artifact), not yet checked to be
    /// UTF-8 when it came from an artifact; shared with the encoder, which reads the
    /// parameters from it when they came from an artifact.
    pub(crate) text: Arc<MetadataText>,
    /// The fact encoder for its layout.
    pub(crate) encoder: Encoder,
}

/// A module's metadata JSON: held in memory, or left in the artifact file it was loaded from
/// and read from there the first time it is needed (the docs, or the parameters of an
/// artifact). Loading an artifact file checks the JSON's checksum but keeps nothing of it,
/// which saves copying tens of kilobytes that deciding never reads; the file does not change
/// while the module lives (`Engine::load_precompiled_file`'s contract).
#[derive(Debug)]
pub(crate) struct MetadataText {
    text: OnceLock<Result<Vec<u8>, String>>,
    /// The file, where the text starts in it and its length.
    file: Option<(std::fs::File, u64, usize)>,
}

impl MetadataText {
    /// Text held in memory.
    pub(crate) fn held(text: Vec<u8>) -> MetadataText {
        MetadataText {
            text: OnceLock::from(Ok(text)),
            file: None,
        }
    }

    /// The `len` bytes at `at` in `file`, read when first needed.
    pub(crate) fn in_file(file: std::fs::File, at: u64, len: usize) -> MetadataText {
        MetadataText {
            text: OnceLock::new(),
            file: Some((file, at, len)),
        }
    }

    /// The `len` bytes at `at` in `file`, read now.
    pub(crate) fn read_now(file: &std::fs::File, at: u64, len: usize) -> std::io::Result<Self> {
        let mut text = vec![0; len];
        read_at(file, &mut text, at)?;
        Ok(MetadataText::held(text))
    }

    /// The text, or why it cannot be read from its file.
    pub(crate) fn get(&self) -> Result<&[u8], String> {
        self.text
            .get_or_init(|| {
                let Some((file, at, len)) = &self.file else {
                    return Ok(Vec::new());
                };
                let mut text = vec![0; *len];
                read_at(file, &mut text, *at)
                    .map(|()| text)
                    .map_err(|e| format!("cannot read the metadata from the artifact file: {e}"))
            })
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// Fills `buf` from `file` at offset `at`, leaving the file's position alone where the platform
/// allows (the position is shared with the handle wasmtime keeps).
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read as _, Seek as _};
        let mut file = file;
        file.seek(std::io::SeekFrom::Start(at))?;
        file.read_exact(buf)
    }
}

/// What a checked wasm module carries that the runtime keeps.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The metadata.
    pub(crate) metadata: LoadedMetadata,
}

/// Validates `wasm` and checks the interface and metadata (docs/abi.md, "The module").
pub(crate) fn module(wasm: &[u8]) -> Result<Checked, LoadError> {
    Validator::new_with_features(features())
        .validate_all(wasm)
        .map_err(|e| LoadError::Invalid(e.to_string()))?;

    // The module is valid, so the reads below succeed; a failure still becomes an error
    // rather than a panic.
    let bad = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
    let mut types: Vec<Extern> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let mut memories: Vec<Extern> = Vec::new();
    let mut exports: Vec<(String, Extern)> = Vec::new();
    let mut imports: Vec<(String, String)> = Vec::new();
    let mut meta: Option<Vec<u8>> = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(bad)? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(bad)?;
                    types.push(Extern::Func {
                        params: ty.params().iter().map(|t| val(*t)).collect(),
                        results: ty.results().iter().map(|t| val(*t)).collect(),
                    });
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(bad)?;
                    // Imported functions or memories would shift the index spaces below, but
                    // any import is refused before the exports are looked at.
                    imports.push((import.module.into(), import.name.into()));
                }
            }
            Payload::FunctionSection(reader) => {
                for f in reader {
                    funcs.push(f.map_err(bad)?);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    let m = m.map_err(bad)?;
                    memories.push(Extern::Memory {
                        is64: m.memory64,
                        shared: m.shared,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(bad)?;
                    let ty = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => funcs
                            .get(e.index as usize)
                            .and_then(|t| types.get(*t as usize))
                            .cloned()
                            .unwrap_or(Extern::Other("an imported function")),
                        ExternalKind::Memory => memories
                            .get(e.index as usize)
                            .cloned()
                            .unwrap_or(Extern::Other("an imported memory")),
                        ExternalKind::Table => Extern::Other("a table"),
                        ExternalKind::Global => Extern::Other("a global"),
                        ExternalKind::Tag => Extern::Other("a tag"),
                    };
                    exports.push((e.name.into(), ty));
                }
            }
            Payload::CustomSection(reader) if reader.name() == METADATA_SECTION => {
                if meta.is_some() {
                    return Err(LoadError::DuplicateMetadata);
                }
                meta = Some(reader.data().to_vec());
            }
            _ => {}
        }
    }
    interface(
        imports.iter().map(|(m, n)| (m.as_str(), n.as_str())),
        &exports,
    )?;
    let metadata = metadata(meta.ok_or(LoadError::NoMetadata)?)?;
    Ok(Checked { metadata })
}

fn val(t: ValType) -> Val {
    match t {
        ValType::I32 => Val::I32,
        ValType::I64 => Val::I64,
        ValType::F32 => Val::F32,
        ValType::F64 => Val::F64,
        _ => Val::Other,
    }
}

/// The interface of a module wasmtime loaded, in the terms [`interface`] checks.
pub(crate) fn wasmtime_exports(module: &wasmtime::Module) -> Vec<(String, Extern)> {
    let val = |t: wasmtime::ValType| match t {
        wasmtime::ValType::I32 => Val::I32,
        wasmtime::ValType::I64 => Val::I64,
        wasmtime::ValType::F32 => Val::F32,
        wasmtime::ValType::F64 => Val::F64,
        _ => Val::Other,
    };
    module
        .exports()
        .map(|e| {
            let ty = match e.ty() {
                wasmtime::ExternType::Func(f) => Extern::Func {
                    params: f.params().map(val).collect(),
                    results: f.results().map(val).collect(),
                },
                wasmtime::ExternType::Memory(m) => Extern::Memory {
                    is64: m.is_64(),
                    shared: m.is_shared(),
                },
                wasmtime::ExternType::Table(_) => Extern::Other("a table"),
                wasmtime::ExternType::Global(_) => Extern::Other("a global"),
                wasmtime::ExternType::Tag(_) => Extern::Other("a tag"),
            };
            (e.name().to_string(), ty)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use blastwall_abi::layout::{Layout, Reads};
    use serde_json::json;

    use super::*;

    /// The core of metadata with no rules and one `bool` parameter, `strict`.
    fn core() -> Vec<u8> {
        let meta = Metadata {
            abi: ABI_VERSION,
            compiler: "test".into(),
            digest: "00".into(),
            graph: false,
            rules: Vec::new(),
            params: Vec::new(),
            layout: Layout::new(&Reads::new()),
        };
        core_meta::write(&meta).unwrap()
    }

    #[test]
    fn an_artifacts_parameters_are_read_when_a_config_needs_them() {
        let json = json!({"params": [{"name": "strict", "type": "bool", "default": false, "doc": [], "glob": false}]});
        let loaded = artifact_metadata(
            &core(),
            MetadataText::held(serde_json::to_vec(&json).unwrap()),
        )
        .unwrap();
        let config = json!({"strict": true});
        let bytes = loaded
            .encoder
            .encode_config(config.as_object().unwrap(), 8)
            .unwrap();
        assert_eq!(bytes.get(..8), Some(&1u64.to_le_bytes()[..]));
        let e = loaded
            .encoder
            .encode_config(json!({"lax": true}).as_object().unwrap(), 8)
            .unwrap_err();
        assert!(e.to_string().contains("the policy declares strict"), "{e}");
    }

    #[test]
    fn metadata_text_is_read_from_its_place_in_the_file_now_or_later() {
        use std::io::Write as _;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"code{\"params\": []}trailer").unwrap();
        let now = MetadataText::read_now(&file, 4, 14).unwrap();
        let later = MetadataText::in_file(file.try_clone().unwrap(), 4, 14);
        assert_eq!(now.get(), Ok(&b"{\"params\": []}"[..]));
        assert_eq!(later.get(), Ok(&b"{\"params\": []}"[..]));
        // Past the end of the file: an error, now or later, never a short text.
        assert!(MetadataText::read_now(&file, 20, 14).is_err());
        let e = MetadataText::in_file(file, 20, 14).get().unwrap_err();
        assert!(e.contains("cannot read the metadata"), "{e}");
    }

    #[test]
    fn unreadable_parameters_fail_every_config_not_the_load() {
        // Only a damaged artifact with a matching checksum gets here; its decisions without a
        // config need no parameters, and every config is refused with the reason.
        let loaded =
            artifact_metadata(&core(), MetadataText::held(b"{\"params\": [".to_vec())).unwrap();
        assert!(loaded.encoder.default_error().is_none());
        assert!(loaded.encoder.encode_json(&json!({}), 64, 0).is_ok());
        for _ in 0..2 {
            let e = loaded
                .encoder
                .encode_config(&serde_json::Map::new(), 8)
                .unwrap_err();
            assert!(e.to_string().contains("the policy's parameters"), "{e}");
        }
        let e = loaded
            .encoder
            .encode_json(&json!({"config": {}}), 64, 0)
            .unwrap_err();
        assert!(e.to_string().contains("the policy's parameters"), "{e}");
    }
}
