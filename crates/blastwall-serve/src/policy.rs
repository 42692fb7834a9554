//! The module serving now, how it is built, and how it is swapped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Options, PolicySource, Shared};

/// Everything that decides, built together and swapped together: the module with its
/// parameters and topology, and the adapters' options from the same configuration file.
pub(crate) struct Loaded {
    pub(crate) compiled: blastwall::Compiled,
    /// SHA-256 of the module's WebAssembly, hex: the decision log's `bundles.revision`.
    pub(crate) digest: String,
    /// Rules decided and logged but never enforced.
    pub(crate) shadow: Vec<String>,
    pub(crate) plan: blastwall_facts::PlanOptions,
    pub(crate) action: blastwall_facts::ActionOptions,
}

/// What a module is built from; cheap to clone onto the building thread.
#[derive(Clone)]
pub(crate) struct Builder {
    engine: blastwall::Engine,
    source: PolicySource,
    config: Option<PathBuf>,
    topology: Option<PathBuf>,
    shadow: Vec<String>,
    pub(crate) tls: bool,
}

impl Builder {
    pub(crate) fn new(opts: &Options) -> Result<Builder, String> {
        let engine = blastwall::Engine::new(blastwall::EngineConfig {
            limits: opts.limits,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        Ok(Builder {
            engine,
            source: opts.policy.clone(),
            config: opts.config.clone(),
            topology: opts.topology.clone(),
            shadow: opts.shadow.clone(),
            tls: opts.tls.is_some(),
        })
    }

    /// Builds the module and everything that goes with it; slow (the compiler runs).
    fn build(&self) -> Result<Loaded, String> {
        let wasm = match &self.source {
            PolicySource::Module(path) => {
                std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
            }
            PolicySource::Shipped => compile(blastwall::embedded_rules())?,
            PolicySource::Rules(paths) => {
                let files = blastwall_gather::policy_files(paths).map_err(|e| e.to_string())?;
                compile(
                    files
                        .into_iter()
                        .map(|(path, text)| blastwall::Source::new(path, text))
                        .collect(),
                )?
            }
        };
        let digest = hex(&Sha256::digest(&wasm));
        let module = self.engine.load(&wasm).map_err(|e| match &self.source {
            PolicySource::Module(path) => format!("`{}`: {e}", path.display()),
            _ => e.to_string(),
        })?;
        let names: Vec<&str> = module
            .metadata()
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        if let Some(unknown) = self.shadow.iter().find(|s| !names.contains(&s.as_str())) {
            return Err(format!(
                "shadow rule `{unknown}` is not a rule of the policy (its rules: {})",
                names.join(", ")
            ));
        }
        let config = match &self.config {
            Some(path) => blastwall_gather::load_config(Some(path), Path::new("."))
                .map_err(|e| e.to_string())?,
            None => blastwall_facts::CheckConfig::default(),
        };
        let mut compiled = blastwall::Compiled::new(module.policy());
        if !config.params.is_empty() {
            compiled = compiled
                .with_config(&config.params)
                .map_err(|e| format!("the configuration's parameters: {e}"))?;
        }
        if let Some(path) = &self.topology {
            let topology = blastwall_gather::load_topology(path).map_err(|e| e.to_string())?;
            compiled = compiled
                .with_topology(&topology)
                .map_err(|e| format!("`{}`: {e}", path.display()))?;
        }
        // A first decision makes the first instance, so that no request pays for it.
        let _ = compiled.evaluate_json(&Value::Object(Default::default()));
        Ok(Loaded {
            compiled,
            digest,
            shadow: self.shadow.clone(),
            plan: config.plan,
            action: config.action,
        })
    }

    /// The files whose change means a reload, with what they were when last looked at.
    fn watched(&self) -> Vec<(PathBuf, Option<(SystemTime, u64)>)> {
        let mut paths: Vec<PathBuf> = Vec::new();
        match &self.source {
            PolicySource::Shipped => {}
            PolicySource::Module(p) => paths.push(p.clone()),
            PolicySource::Rules(given) => {
                // The folders themselves too: a file added or removed changes their times.
                paths.extend(given.iter().cloned());
                if let Ok(files) = blastwall_gather::policy_paths(given) {
                    paths.extend(files);
                }
            }
        }
        paths.extend(self.config.iter().cloned());
        paths.extend(self.topology.iter().cloned());
        paths
            .into_iter()
            .map(|p| {
                let stamp = stamp(&p);
                (p, stamp)
            })
            .collect()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn compile(sources: Vec<blastwall::Source>) -> Result<Vec<u8>, String> {
    let policy = blastwall::Policy::compile(sources).map_err(|e| match e {
        blastwall::Error::Invalid { rendered, .. } => {
            format!("the rules do not compile:\n{rendered}")
        }
        other => other.to_string(),
    })?;
    policy.to_wasm().map_err(|e| e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Builds on a thread of its own with a large stack (checking a policy recurses over its
/// syntax), so that neither a request worker nor the caller's stack is at stake.
pub(crate) async fn build_off_thread(builder: Builder) -> Result<Loaded, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("blastwall-build".into())
        .stack_size(256 << 20)
        .spawn(move || {
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()))
                .unwrap_or_else(|_| Err("internal error: building the module panicked".into()));
            let _ = tx.send(built);
        })
        .map_err(|e| format!("cannot start a thread to build the module: {e}"))?;
    rx.await
        .unwrap_or_else(|_| Err("internal error: the building thread stopped".into()))
}

/// The module serving now: readers take an `Arc` of it and keep it for their request, so a
/// swap never waits for a request and a request never sees half of a swap.
pub(crate) struct Current {
    now: RwLock<Arc<Loaded>>,
    builder: Builder,
    /// Held while a reload builds, so that two reloads do not race to swap.
    reloading: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<String>>,
}

impl Current {
    pub(crate) fn new(loaded: Loaded, builder: Builder) -> Current {
        Current {
            now: RwLock::new(Arc::new(loaded)),
            builder,
            reloading: tokio::sync::Mutex::new(()),
            last_error: Mutex::new(None),
        }
    }

    pub(crate) fn get(&self) -> Arc<Loaded> {
        self.now
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, loaded: Loaded) {
        *self.now.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
    }

    /// Why the last reload failed, while the module before it still serves.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn tls_hint(&self) -> bool {
        self.builder.tls
    }
}

/// Builds the policy again and swaps it in, or keeps the old one and reports why not.
pub(crate) async fn reload(shared: &Shared) -> Result<String, String> {
    let current = &shared.policy;
    let _one_at_a_time = current.reloading.lock().await;
    match build_off_thread(current.builder.clone()).await {
        Ok(loaded) => {
            let digest = loaded.digest.clone();
            let before = current.get().digest.clone();
            current.set(loaded);
            *current
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
            shared.metrics.reloaded(true);
            shared.metrics.set_module(&digest);
            eprintln!(
                "blastwall serve: reloaded: module {} (was {})",
                crate::short(&digest),
                crate::short(&before)
            );
            Ok(digest)
        }
        Err(error) => {
            shared.metrics.reloaded(false);
            eprintln!(
                "blastwall serve: reload failed, module {} keeps serving: {error}",
                crate::short(&current.get().digest)
            );
            *current
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(error.clone());
            Err(error)
        }
    }
}

/// Polls the policy's files and reloads when one changes. Polling (once a second by default)
/// rather than file notifications: it works the same for an edited file, a file replaced by
/// rename, a Kubernetes ConfigMap's symlink swap and a network file system.
#[derive(Debug)]
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
}

impl Watcher {
    pub(crate) fn start(shared: Arc<Shared>, every: Duration) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        // What the files are now, before the caller can change one.
        let mut seen = shared.policy.builder.watched();
        tokio::spawn(async move {
            while !stopped.load(Ordering::Relaxed) {
                tokio::time::sleep(every).await;
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let now = shared.policy.builder.watched();
                if now != seen {
                    // Wait for a writer that is still writing to finish.
                    tokio::time::sleep(every.min(Duration::from_millis(200))).await;
                    seen = shared.policy.builder.watched();
                    let _ = reload(&shared).await;
                }
            }
        });
        Watcher { stop }
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
