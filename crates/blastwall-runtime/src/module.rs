//! [`Module`]: a checked, compiled policy module and its metadata.

use std::sync::Arc;

use blastwall_abi::layout::Metadata;

use crate::abi::Encoder;
use crate::engine::Engine;
use crate::err::LoadError;
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
    metadata: Metadata,
    encoder: Encoder,
    from_cache: bool,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.inner.metadata.digest)
            .field("rules", &self.inner.metadata.rules.len())
            .field("from_cache", &self.inner.from_cache)
            .finish_non_exhaustive()
    }
}

impl Module {
    pub(crate) fn new(
        engine: Engine,
        compiled: wasmtime::Module,
        metadata: Metadata,
        from_cache: bool,
    ) -> Result<Module, LoadError> {
        let encoder = Encoder::new(&metadata).map_err(LoadError::Layout)?;
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine,
                compiled,
                metadata,
                encoder,
                from_cache,
            }),
        })
    }

    /// The module's metadata: its rules, parameters and input layout.
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
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
