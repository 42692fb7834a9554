//! [`Module`]: a checked, compiled policy module and its metadata.

use std::sync::{Arc, OnceLock};

use blastwall_abi::layout::Metadata;

use crate::abi::Encoder;
use crate::check::{LoadedMetadata, MetadataText};
use crate::engine::Engine;
use crate::policy::Policy;

/// A compiled policy module with its metadata, ready to instantiate. Cheap to clone and to
/// share between threads.
///
/// ```no_run
/// # use blastwall_runtime::{Engine, EngineConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::new(EngineConfig::default())?;
/// let module = engine.load(&std::fs::read("policy.wasm")?)?;
/// for rule in &module.metadata().rules {
///     println!("{} ({})", rule.name, rule.source);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    engine: Engine,
    compiled: wasmtime::Module,
    /// The metadata without the docs, its layout and parameters moved into `encoder`: the
    /// rules, which decoding reads.
    core: Metadata,
    /// The metadata JSON, for the docs.
    text: Arc<MetadataText>,
    /// The metadata with the docs, parsed from `text` when first asked for.
    full: OnceLock<Metadata>,
    encoder: Encoder,
    from_cache: bool,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.inner.core.digest)
            .field("rules", &self.inner.core.rules.len())
            .field("from_cache", &self.inner.from_cache)
            .finish_non_exhaustive()
    }
}

impl Module {
    pub(crate) fn new(
        engine: Engine,
        compiled: wasmtime::Module,
        metadata: LoadedMetadata,
        from_cache: bool,
    ) -> Module {
        let LoadedMetadata {
            metadata,
            text,
            encoder,
        } = metadata;
        Module {
            inner: Arc::new(ModuleInner {
                engine,
                compiled,
                core: metadata,
                text,
                full: OnceLock::new(),
                encoder,
                from_cache,
            }),
        }
    }

    /// The module's metadata: its rules, parameters and input layout, with their docs.
    ///
    /// Loading a module leaves the docs out, since deciding never reads them; the first call
    /// parses them (tens of microseconds for the shipped rules).
    pub fn metadata(&self) -> &Metadata {
        self.inner.full.get_or_init(|| {
            // The text was parsed with its docs checked when the module was loaded (from
            // wasm) or precompiled (an artifact, whose checksum covers it), so this cannot
            // fail unless an artifact file changed while the module lives, which its loader
            // promised it would not; if it somehow did, the rules without their docs are still
            // the module's.
            self.inner
                .text
                .get()
                .ok()
                .and_then(|text| serde_json::from_slice(text).ok())
                .unwrap_or_else(|| self.inner.core.clone())
        })
    }

    /// The metadata without the docs, layout or parameters: what decoding needs.
    pub(crate) fn core_metadata(&self) -> &Metadata {
        &self.inner.core
    }

    /// Whether [`Engine::load`] took the compiled code from the cache directory instead of
    /// compiling.
    pub fn loaded_from_cache(&self) -> bool {
        self.inner.from_cache
    }

    /// The engine the module was loaded by.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The policy with the parameter defaults compiled into the module; see
    /// [`Policy::with_config`] to set parameters.
    pub fn policy(&self) -> Policy {
        Policy::new(self.clone())
    }

    pub(crate) fn compiled(&self) -> &wasmtime::Module {
        &self.inner.compiled
    }

    pub(crate) fn encoder(&self) -> &Encoder {
        &self.inner.encoder
    }
}
