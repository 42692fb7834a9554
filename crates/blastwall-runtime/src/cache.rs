//! The directory of compiled modules: one file per (engine fingerprint, wasm sha256), in the
//! artifact format, written to a temporary name and renamed into place so that a reader never
//! sees half a file. With an engine that has an artifact key the files are sealed with it, and
//! one whose seal does not verify is never loaded (`artifact::read_file`); this module only
//! stores and opens them.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::artifact::Hash;

/// A cache directory.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
}

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// The file name for a module: the hex sha256 of the engine fingerprint and the wasm's
    /// sha256, so a file is never found by an engine that could not run it.
    pub(crate) fn key(fingerprint: &Hash, wasm_sha: &Hash) -> String {
        let digest = Sha256::new()
            .chain_update(fingerprint)
            .chain_update(wasm_sha)
            .finalize();
        let mut name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        name.push_str(".bwc");
        name
    }

    /// The cached artifact named `key`, opened, when there is one and the directory can be
    /// trusted.
    pub(crate) fn open(&self, key: &str) -> Option<fs::File> {
        if !trusted(&self.dir) {
            return None;
        }
        fs::File::open(self.dir.join(key)).ok()
    }

    /// Stores `artifact` as `key`. Failures are ignored: the cache only saves compile time.
    pub(crate) fn write(&self, key: &str, artifact: &[u8]) {
        let _ = self.try_write(key, artifact);
    }

    fn try_write(&self, key: &str, artifact: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = self
            .dir
            .join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let result = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(artifact)?;
            // No fsync: a file torn by a crash fails its checksum and is rewritten.
            drop(file);
            fs::rename(&temp, self.dir.join(key))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

/// Whether files in `dir` may be loaded: on Unix, not when anyone may write the directory
/// (such as `/tmp` itself), since another user could plant a file there.
fn trusted(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        match fs::metadata(dir) {
            Ok(meta) => meta.permissions().mode() & 0o002 == 0,
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        true
    }
}
