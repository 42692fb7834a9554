//! [`Engine`]: the configured wasmtime engine, the limits every evaluation runs within, and the
//! ways of turning bytes into a [`Module`]: compiling wasm (through the cache when there is
//! one), precompiling, and loading a precompiled artifact.

use std::hash::{Hash as _, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::artifact::{self, Hash, Parts};
use crate::cache::Cache;
use crate::check::{self, LoadedMetadata, MetadataText};
use crate::err::LoadError;
use crate::key::ArtifactKey;
use crate::module::Module;

/// The limits one evaluation runs within. Exceeding one ends the evaluation with an
/// [`EvalError`](crate::EvalError) naming the limit, never a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalLimits {
    /// How long one decision (`bw_input` and `bw_evaluate` together) may run, measured by
    /// wasmtime's epoch interruption: a clock thread per engine ticks every
    /// [`EvalLimits::TICK`], and a decision is stopped after `time` plus at most one tick. The
    /// default is one second: far beyond any sensible policy, short enough that a runaway loop
    /// ends. Costs a check at each loop head and call, a few percent.
    pub time: std::time::Duration,
    /// An optional budget of wasm instructions per decision (wasmtime fuel; one unit is roughly
    /// one instruction): deterministic where `time` is not, but metering costs about a quarter
    /// of the evaluation time. `None` (the default) meters nothing.
    pub fuel: Option<u64>,
    /// The most linear memory an instance may have, in bytes. The default is 256 MiB.
    pub memory_bytes: usize,
}

impl EvalLimits {
    /// The default time per decision.
    pub const DEFAULT_TIME: std::time::Duration = std::time::Duration::from_secs(1);
    /// The default memory cap per instance.
    pub const DEFAULT_MEMORY_BYTES: usize = 256 << 20;
    /// How often the engine's clock ticks.
    pub const TICK: std::time::Duration = std::time::Duration::from_millis(5);

    /// The epoch deadline, in ticks, for `time`.
    pub(crate) fn ticks(&self) -> u64 {
        let tick = EvalLimits::TICK.as_nanos().max(1);
        u64::try_from(self.time.as_nanos().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }
}

impl Default for EvalLimits {
    fn default() -> EvalLimits {
        EvalLimits {
            time: EvalLimits::DEFAULT_TIME,
            fuel: None,
            memory_bytes: EvalLimits::DEFAULT_MEMORY_BYTES,
        }
    }
}

/// How to build an [`Engine`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// The limits of every evaluation.
    pub limits: EvalLimits,
    /// Where to keep compiled modules between runs, keyed by the module's hash and the engine
    /// configuration; `None` compiles every load. The directory is created when missing. What
    /// it holds is loaded as native code (see [`Engine::load`]): with an
    /// [`artifact_key`](EngineConfig::artifact_key), each file is sealed with it and a file
    /// whose seal does not verify is ignored and rewritten, so a file someone planted there is
    /// never run; without one, only a checksum guards against accidents, and the directory
    /// must be writable only by the user running blastwall. Cached modules are memory-mapped
    /// from their files: delete files there freely, but never truncate or rewrite one in place
    /// while a process may be using it.
    pub cache_dir: Option<PathBuf>,
    /// The key that seals the precompiled artifacts and cached modules this engine writes,
    /// and without whose seal it loads none: [`Engine::precompile`],
    /// [`Engine::load_precompiled`] and [`Engine::load_precompiled_file`] refuse to work
    /// without one. Usually [`ArtifactKey::load_or_create`] of the cache directory: the
    /// user's own key, kept there with mode 0600.
    pub artifact_key: Option<ArtifactKey>,
}

/// The wasmtime engine configured for policy modules: epoch interruption on (and fuel when
/// [`EvalLimits::fuel`] asks for it), Cranelift optimising
/// for speed, and every wasm proposal off except those policy modules use (mutable globals,
/// sign extension, saturating conversions, multi-value, bulk memory).
///
/// Cheap to clone; share one per process.
///
/// ```no_run
/// use blastwall_runtime::{Engine, EngineConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::new(EngineConfig::default())?;
/// let module = engine.load(&std::fs::read("policy.wasm")?)?;
/// let decision = module.policy().evaluate_json(&serde_json::json!({"change": {}}))?;
/// println!("{}", decision.outcome.as_str());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    wasmtime: wasmtime::Engine,
    limits: EvalLimits,
    cache: Option<Cache>,
    /// What seals and checks artifacts.
    key: Option<ArtifactKey>,
    /// What an artifact must have been compiled with to run here.
    fingerprint: Hash,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.inner.limits)
            .field("cache", &self.inner.cache)
            .field("sealed", &self.inner.key.is_some())
            .finish_non_exhaustive()
    }
}

/// The wasm features the engine enables: [`check::features`], without the GC-types
/// pseudo-feature that wasmparser's MVP set carries and wasmtime without its `gc` feature
/// refuses (MVP `funcref` tables need no GC support).
fn wasmtime_features() -> wasmtime::WasmFeatures {
    use wasmtime::WasmFeatures as F;
    F::FLOATS
        | F::MUTABLE_GLOBAL
        | F::SIGN_EXTENSION
        | F::SATURATING_FLOAT_TO_INT
        | F::MULTI_VALUE
        | F::BULK_MEMORY
}

/// Feeds everything written to it into a SHA-256, so that wasmtime's compatibility `Hash`
/// becomes a digest that is stable across processes of the same build.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        // Never used: the digest is read with `finalize`.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The engine's clock: advances the epoch every tick until the engine is dropped.
fn start_clock(engine: std::sync::Weak<EngineInner>) -> Result<(), LoadError> {
    std::thread::Builder::new()
        .name("blastwall-clock".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EvalLimits::TICK);
                match engine.upgrade() {
                    Some(e) => e.wasmtime.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| LoadError::Engine(format!("cannot start the engine's clock: {e}")))
}

impl Engine {
    /// An engine with `config`'s limits and cache.
    pub fn new(config: EngineConfig) -> Result<Engine, LoadError> {
        let mut c = wasmtime::Config::new();
        c.consume_fuel(config.limits.fuel.is_some())
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            // Unwind tables for the system's unwinder, and the map from machine code back to
            // wasm offsets, serve debuggers and trap backtraces: the runtime uses neither
            // (a trap is reported by its kind). Without them the shipped rules' compiled code
            // is 198 KB instead of 215 KB, less to copy and map on every load. Windows needs
            // the unwind tables.
            .native_unwind_info(cfg!(windows))
            .generate_address_map(false)
            // Map a module's data (its pattern tables) into each instance copy-on-write
            // instead of copying it. Loaded from a file (`load_precompiled_file`, the cache),
            // the image is the file itself: instantiating copies nothing, a first decision is
            // 40 µs sooner. Loaded from bytes, the artifact is first copied into a sealed
            // memfd (`deserialize_bytes`), which then serves as that file.
            .memory_init_cow(true)
            .wasm_features(wasmtime::WasmFeatures::all(), false)
            .wasm_features(wasmtime_features(), true);
        let wasmtime = wasmtime::Engine::new(&c).map_err(|e| LoadError::Engine(e.to_string()))?;

        // wasmtime's compatibility hash covers its version, the target and CPU flags, the
        // compiler settings and the wasm features; the artifact format version is added so a
        // format change also invalidates cached files.
        let mut hasher = ShaHasher(Sha256::new());
        wasmtime.precompile_compatibility_hash().hash(&mut hasher);
        hasher.write(b"blastwall-runtime artifact");
        hasher.write(&artifact::FORMAT.to_le_bytes());
        let fingerprint: Hash = hasher.0.finalize().into();

        let cache = config.cache_dir.map(Cache::new);
        let inner = Arc::new(EngineInner {
            wasmtime,
            limits: config.limits,
            cache,
            key: config.artifact_key,
            fingerprint,
        });
        start_clock(Arc::downgrade(&inner))?;
        Ok(Engine { inner })
    }

    /// The limits of every evaluation on this engine.
    pub fn limits(&self) -> EvalLimits {
        self.inner.limits
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.wasmtime
    }

    /// Checks and compiles a policy module.
    ///
    /// Before compiling, the module must validate with only the features above, import
    /// nothing, export `memory`, `bw_abi_version`, `bw_reserve`, `bw_input` and `bw_evaluate`
    /// with the types of docs/abi.md, and carry a `blastwall` section of metadata for ABI
    /// version [`ABI_VERSION`](blastwall_abi::layout::ABI_VERSION); each failure is its own
    /// [`LoadError`].
    ///
    /// With a cache directory, the compiled code is looked up by the sha256 of `wasm` and this
    /// engine's fingerprint, and stored there after compiling. A cached file is used only when
    /// its seal verifies with this engine's artifact key (when it has one), its trailer names
    /// this engine and this wasm, and its checksum matches; anything else is ignored and
    /// rewritten.
    pub fn load(&self, wasm: &[u8]) -> Result<Module, LoadError> {
        let checked = check::module(wasm)?;
        let wasm_sha = artifact::sha256(wasm);
        let key = Cache::key(&self.inner.fingerprint, &wasm_sha);
        let cached = self.inner.cache.as_ref().and_then(|cache| cache.open(&key));
        if let Some(compiled) = cached.and_then(|file| self.load_cached(file, &wasm_sha)) {
            return Ok(Module::new(self.clone(), compiled, checked.metadata, true));
        }
        self.compile_and_store(wasm, checked.metadata, &wasm_sha, &key)
    }

    /// Compiles checked `wasm` and, with a cache, stores its artifact under `name`, recording
    /// `recorded` as the hash it is found by: the wasm's own for [`load`](Engine::load), the
    /// key's digest for [`load_keyed`](Engine::load_keyed), so that each finds only its own.
    /// The cache is an optimisation: when the module cannot be serialized or the file cannot
    /// be written, the next load compiles again.
    fn compile_and_store(
        &self,
        wasm: &[u8],
        metadata: LoadedMetadata,
        recorded: &Hash,
        name: &str,
    ) -> Result<Module, LoadError> {
        let compiled = wasmtime::Module::new(&self.inner.wasmtime, wasm)
            .map_err(|e| LoadError::Compile(e.to_string()))?;
        if let Some(cache) = &self.inner.cache
            && let Ok(code) = compiled.serialize()
            && let Ok(artifact) = self.artifact(recorded, &metadata, &code)
        {
            cache.write(name, &artifact);
        }
        Ok(Module::new(self.clone(), compiled, metadata, false))
    }

    /// Checks and compiles `wasm` as [`load`](Engine::load) does, and returns a precompiled
    /// artifact that [`load_precompiled`](Engine::load_precompiled) loads without compiling.
    ///
    /// The artifact holds native code for this wasmtime version, engine configuration and CPU;
    /// an engine that differs in any of these refuses it. It is sealed with this engine's
    /// [`ArtifactKey`] (an engine without one refuses to precompile, with
    /// [`LoadError::NoArtifactKey`]), and only engines with the same key load it.
    pub fn precompile(&self, wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
        self.sealing_key()?;
        let checked = check::module(wasm)?;
        let code = self
            .inner
            .wasmtime
            .precompile_module(wasm)
            .map_err(|e| LoadError::Compile(e.to_string()))?;
        self.artifact(&artifact::sha256(wasm), &checked.metadata, &code)
    }

    /// The artifact of a checked module. A module whose parameter defaults do not fit their
    /// types has none: every decision of it is that error, and an artifact's parameters are
    /// read only when a config is encoded (`check::artifact_metadata`), so its decisions
    /// without a config would not report it.
    fn artifact(
        &self,
        wasm_sha: &Hash,
        metadata: &LoadedMetadata,
        code: &[u8],
    ) -> Result<Vec<u8>, LoadError> {
        let text = metadata.text.get().map_err(LoadError::BadMetadata)?;
        if let Some(e) = metadata.encoder.default_error() {
            return Err(LoadError::BadMetadata(format!(
                "{e}; a module whose parameter defaults do not fit cannot be precompiled"
            )));
        }
        Ok(artifact::write(
            &Parts {
                abi: blastwall_abi::layout::ABI_VERSION,
                engine: self.inner.fingerprint,
                wasm_sha: *wasm_sha,
                core: &check::core_metadata(text)?,
                metadata_json: text,
                compiled: code,
            },
            self.inner.key.as_ref(),
        ))
    }

    /// The key artifacts are sealed and checked with, which precompiled artifacts need.
    fn sealing_key(&self) -> Result<&ArtifactKey, LoadError> {
        self.inner.key.as_ref().ok_or(LoadError::NoArtifactKey)
    }

    /// Loads an artifact made by [`precompile`](Engine::precompile).
    ///
    /// **An artifact is native code**, run as it is: so only an artifact sealed with this
    /// engine's [`ArtifactKey`] is loaded — one that the holder of the key (this user, with
    /// the key kept in their cache directory) precompiled. The seal, an HMAC-SHA256 of the
    /// whole artifact, is checked first — once the closing magic shows the bytes are an
    /// artifact, before any other field is read and before wasmtime sees a byte: an artifact someone else made, or this user's changed in any byte (its
    /// code overwritten and its checksum recomputed included), is refused with
    /// [`LoadError::Unsealed`]. Then come the format and ABI versions, the engine
    /// fingerprint, a checksum of the contents, wasmtime's own compatibility check and our
    /// interface check, which catch stale or foreign files. An engine without a key refuses
    /// with [`LoadError::NoArtifactKey`]. The key guards what is loaded, not the key itself:
    /// whoever can read it can seal code this user will run, which is why
    /// [`ArtifactKey::load_or_create`] refuses a key file others may read or write.
    ///
    /// The module keeps its own copy of the code and data: on Linux, an in-memory file sealed
    /// against writing, which wasmtime maps as it maps an artifact file; elsewhere, memory
    /// wasmtime copies them into. `artifact` may be dropped or reused at once.
    ///
    /// ```no_run
    /// # use blastwall_runtime::{Engine, EngineConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use blastwall_runtime::ArtifactKey;
    /// let engine = Engine::new(EngineConfig {
    ///     artifact_key: Some(ArtifactKey::load_or_create(".blastwall/cache".as_ref())?),
    ///     ..EngineConfig::default()
    /// })?;
    /// let artifact = engine.precompile(&std::fs::read("policy.wasm")?)?;
    /// std::fs::write("policy.bwc", &artifact)?;
    /// // Later, in a process that trusts policy.bwc:
    /// let module = engine.load_precompiled(&std::fs::read("policy.bwc")?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn load_precompiled(&self, artifact: &[u8]) -> Result<Module, LoadError> {
        let key = self.sealing_key()?;
        let parts = artifact::read(artifact, &self.inner.fingerprint, Some(key))?;
        let text = MetadataText::held(parts.metadata_json.to_vec());
        let metadata = check_metadata(parts.abi, parts.core, text)?;
        let compiled = deserialize_bytes(&self.inner.wasmtime, parts.compiled)?;
        self.finish(compiled, metadata, false)
    }

    /// Loads the artifact in the file at `path`, as [`load_precompiled`] loads one held in
    /// memory, but without reading its code into memory: the file is memory-mapped and the
    /// code runs where it lies, and the module's data (its pattern tables) is mapped
    /// copy-on-write from the file into each instance. That saves copying the code and the
    /// data (about 70 µs of the 235 µs to a first decision from bytes). The seal, then the
    /// trailer, the checksum over the whole file and the metadata are checked before wasmtime
    /// sees the file, as in [`load_precompiled`].
    ///
    /// The module keeps the file open twice while it lives: once for wasmtime, which maps the
    /// data into each instance from it, and once to read the metadata JSON (the docs and the
    /// parameters) when a host first asks for [`Module::metadata`] or encodes a config. When
    /// no second descriptor can be had (the process is at its limit of open files), the JSON
    /// is read at once instead.
    ///
    /// [`load_precompiled`]: Engine::load_precompiled
    ///
    /// # Safety
    ///
    /// **The file must not change while the module or any policy or instance made from it
    /// lives.** The mapping
    /// shows the file's current contents, so writing to the file in place (as `cp` over it
    /// does) changes code that is running, with undefined results. Replace the file by writing
    /// a new one and renaming it over the old (as `blastwall build` does); a module keeps the
    /// old file's contents then.
    ///
    /// The seal is checked on the file's contents when it is opened; a change after that,
    /// which the seal cannot see, is what this contract rules out.
    ///
    /// ```no_run
    /// # use blastwall_runtime::{ArtifactKey, Engine, EngineConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::new(EngineConfig {
    ///     artifact_key: Some(ArtifactKey::load_or_create(".blastwall/cache".as_ref())?),
    ///     ..EngineConfig::default()
    /// })?;
    /// // SAFETY: policy.bwc is replaced only by renaming a new file over it.
    /// let module = unsafe { engine.load_precompiled_file("policy.bwc".as_ref())? };
    /// # Ok(())
    /// # }
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn load_precompiled_file(&self, path: &Path) -> Result<Module, LoadError> {
        self.sealing_key()?;
        // Only a regular file can be mapped; a FIFO would also block `open` until a writer
        // came.
        let read = |e: std::io::Error| LoadError::Read(format!("`{}`: {e}", path.display()));
        if !std::fs::metadata(path).map_err(read)?.is_file() {
            return Err(LoadError::Read(format!(
                "`{}` is not a regular file",
                path.display()
            )));
        }
        let file = std::fs::File::open(path).map_err(read)?;
        // SAFETY: the caller vouches that the file does not change while the module lives
        // (this function's contract); `load_artifact_file` checks its seal before wasmtime
        // sees it, and this engine has a key (checked above).
        unsafe { self.load_artifact_file(file, &path.display().to_string(), None, false) }
    }

    /// Loads the module a caller names by `key` — a digest of whatever the module is built
    /// from, such as the policy sources and the compiler's version — from this engine's cache
    /// directory, without compiling anything, when this engine stored it there before.
    /// Otherwise it calls `build` for the module's wasm, loads that as [`load`](Engine::load)
    /// does, and stores the compiled artifact under `key` for the next process.
    ///
    /// This is what a short-lived process that decides once (an agent's hook) needs: going
    /// from sources to wasm costs milliseconds that a cache keyed by the wasm's own hash cannot
    /// save, since the wasm must exist to be hashed. The key must change whenever the wasm
    /// `build` would return does; an artifact found under a key is trusted to be that wasm's.
    /// The cached file is checked as [`load_precompiled_file`](Engine::load_precompiled_file)
    /// checks a file (its seal, when this engine has an artifact key; see
    /// [`EngineConfig::cache_dir`]), and must record the same key, so a file of another key
    /// renamed into its place is refused; one that fails any check is rebuilt and rewritten.
    /// Without a cache directory, every call builds and compiles.
    pub fn load_keyed<E: From<LoadError>>(
        &self,
        key: &[u8],
        build: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Module, E> {
        let key_sha: Hash = Sha256::new()
            .chain_update(b"blastwall-runtime keyed module\0")
            .chain_update(key)
            .finalize()
            .into();
        let name = Cache::key(&self.inner.fingerprint, &key_sha);
        if let Some(file) = self.inner.cache.as_ref().and_then(|c| c.open(&name)) {
            // SAFETY: the cache writes a file whole under a temporary name and renames it into
            // place, never writing to one in place, so the mapped file does not change; its
            // origin is the cache's trust model (see `deserialize`).
            #[allow(unsafe_code)]
            let loaded = unsafe { self.load_artifact_file(file, &name, Some(&key_sha), true) };
            if let Ok(module) = loaded {
                return Ok(module);
            }
        }
        let wasm = build()?;
        let checked = check::module(&wasm)?;
        Ok(self.compile_and_store(&wasm, checked.metadata, &key_sha, &name)?)
    }

    /// Loads the artifact in `file`, mapped where it lies, once its seal verified (when this
    /// engine has a key); with `expect`, only when its trailer records that hash.
    ///
    /// # Safety
    ///
    /// As [`load_precompiled_file`](Engine::load_precompiled_file): the file does not change
    /// while the module lives; and when this engine has no key, its origin is the cache's
    /// trust model (see `deserialize`).
    #[allow(unsafe_code)]
    unsafe fn load_artifact_file(
        &self,
        file: std::fs::File,
        shown: &str,
        expect: Option<&Hash>,
        from_cache: bool,
    ) -> Result<Module, LoadError> {
        let read = |e: std::io::Error| LoadError::Read(format!("`{shown}`: {e}"));
        let parts = artifact::read_file(&file, &self.inner.fingerprint, self.inner.key.as_ref())?;
        if expect.is_some_and(|sha| parts.trailer.wasm_sha != *sha) {
            return Err(LoadError::Read(format!(
                "`{shown}` holds the artifact of another module"
            )));
        }
        // The metadata JSON stays in the file until a host asks for the docs or a config.
        let (at, len) = parts.metadata_json_at;
        let text = match file.try_clone() {
            Ok(handle) => MetadataText::in_file(handle, at, len),
            Err(_) => MetadataText::read_now(&file, at, len).map_err(read)?,
        };
        let metadata = check_metadata(parts.trailer.abi, &parts.core, text)?;
        // SAFETY: this function's contract.
        let compiled = unsafe { deserialize_file(&self.inner.wasmtime, file)? };
        self.finish(compiled, metadata, from_cache)
    }

    /// The interface check every loaded artifact gets before it becomes a [`Module`].
    fn finish(
        &self,
        compiled: wasmtime::Module,
        metadata: LoadedMetadata,
        from_cache: bool,
    ) -> Result<Module, LoadError> {
        check::interface(
            compiled.imports().map(|i| (i.module(), i.name())),
            &check::wasmtime_exports(&compiled),
        )?;
        Ok(Module::new(self.clone(), compiled, metadata, from_cache))
    }

    /// The cached artifact in `file`, when it is this wasm's, compiled by this engine, whole.
    #[allow(unsafe_code)]
    fn load_cached(&self, file: std::fs::File, wasm_sha: &Hash) -> Option<wasmtime::Module> {
        let parts =
            artifact::read_file(&file, &self.inner.fingerprint, self.inner.key.as_ref()).ok()?;
        if parts.trailer.wasm_sha != *wasm_sha {
            return None;
        }
        // SAFETY: the cache writes a file whole under a temporary name and renames it into
        // place, and never writes to a file in place, so the mapped file does not change; its
        // origin is the cache's trust model (see `deserialize`).
        unsafe { deserialize_file(&self.inner.wasmtime, file) }.ok()
    }
}

/// Parses an artifact's metadata and checks it agrees with the ABI version of its trailer.
fn check_metadata(
    abi: u32,
    core: &[u8],
    metadata_json: MetadataText,
) -> Result<LoadedMetadata, LoadError> {
    let loaded = check::artifact_metadata(core, metadata_json)?;
    if abi != loaded.metadata.abi {
        return Err(LoadError::BadMetadata(format!(
            "the artifact says ABI version {abi} but its metadata says {}",
            loaded.metadata.abi
        )));
    }
    Ok(loaded)
}

/// The two places native code is loaded without compiling it: from bytes, and from a file.
///
/// SAFETY: `Module::deserialize` is unsafe because wasmtime cannot tell compiled code it wrote
/// from crafted bytes, and runs whatever the artifact holds; crafted or corrupt bytes can also
/// make it panic or crash. Its own checks (an ELF file of this wasmtime version with
/// compatible settings) catch stale or foreign files, not forged ones. The trust model: bytes
/// reach here only after [`artifact::read`] or [`artifact::read_file`] checked them, and
/// (a) from [`Engine::load_precompiled`] and [`Engine::load_precompiled_file`], which need an
/// [`ArtifactKey`], only when the artifact's seal — an HMAC-SHA256 of every byte of it under
/// the user's secret key — verified, so only artifacts the key's holder wrote reach wasmtime,
/// unchanged; (b) from the cache directory, with the same seal when the engine has a key,
/// and otherwise with the engine fingerprint, wasm sha256 and CRC-32 of the contents matched,
/// which refuses torn or bit-flipped files but not forged ones: a cache without a key must be
/// writable only by the user running blastwall, as documented on
/// [`EngineConfig::cache_dir`].
#[allow(unsafe_code)]
fn deserialize(engine: &wasmtime::Engine, code: &[u8]) -> Result<wasmtime::Module, LoadError> {
    // SAFETY: see the function's documentation: `code` is an artifact whose seal verified, or
    // a cached one that passed the checksum and fingerprint checks.
    unsafe { wasmtime::Module::deserialize(engine, code) }
        .map_err(|e| LoadError::Deserialize(e.to_string()))
}

/// [`deserialize`], from a sealed copy of `code` in an in-memory file where the platform has
/// them (Linux's `memfd_create`), which wasmtime then maps as it maps an artifact file.
///
/// wasmtime copies bytes it deserialises into fresh anonymous pages, and at the first
/// instantiation writes the module's data (its pattern tables) into an in-memory file of its
/// own, to map copy-on-write into instances. From a file, it maps both from the file: one copy
/// instead of two, and the first decision from bytes in memory is about 50 µs sooner (a fifth).
/// The copy is sealed against writing, growing and shrinking before wasmtime sees it, so the
/// file cannot change while the module lives ([`deserialize_file`]'s condition) — nothing,
/// not even this process, can write to it any more. Where no such file can be made (another
/// platform, a sandbox that forbids the call, no memory for it), wasmtime copies the bytes.
fn deserialize_bytes(
    engine: &wasmtime::Engine,
    code: &[u8],
) -> Result<wasmtime::Module, LoadError> {
    #[cfg(target_os = "linux")]
    if let Some(file) = sealed_copy(code) {
        // SAFETY: the file holds the same bytes `deserialize` would have been given (so
        // its conditions hold as for them), and its seals keep it from changing while the
        // module lives.
        #[allow(unsafe_code)]
        return unsafe { deserialize_file(engine, file) };
    }
    deserialize(engine, code)
}

/// A copy of `bytes` in an in-memory file that can no longer be written, grown or shrunk;
/// `None` when one cannot be made.
#[cfg(target_os = "linux")]
fn sealed_copy(bytes: &[u8]) -> Option<std::fs::File> {
    use std::io::Write;

    use memfd::{FileSeal, MemfdOptions};

    let memfd = MemfdOptions::new()
        .allow_sealing(true)
        .create("blastwall-module")
        .ok()?;
    memfd.as_file().write_all(bytes).ok()?;
    memfd
        .add_seals(&[
            FileSeal::SealShrink,
            FileSeal::SealGrow,
            FileSeal::SealWrite,
            FileSeal::SealSeal,
        ])
        .ok()?;
    Some(memfd.into_file())
}

/// [`deserialize`] from a file that wasmtime memory-maps; it reads wasmtime's module at the
/// start of the file and ignores our metadata and trailer after it.
///
/// # Safety
///
/// As [`deserialize`], and the file must not change while the module lives.
#[allow(unsafe_code)]
unsafe fn deserialize_file(
    engine: &wasmtime::Engine,
    file: std::fs::File,
) -> Result<wasmtime::Module, LoadError> {
    // SAFETY: the caller's contract.
    unsafe { wasmtime::Module::deserialize_open_file(engine, file) }
        .map_err(|e| LoadError::Deserialize(e.to_string()))
}
