//! [`ArtifactKey`]: the secret that seals precompiled artifacts, so that only artifacts this
//! user's own blastwall wrote are ever loaded as native code, and HMAC-SHA256 with it.
//!
//! An artifact is native code: whoever can make the runtime load one runs code as its user. A
//! checksum stored beside the code proves nothing about who wrote it, since anyone can
//! recompute it. A keyed MAC does: without the key, no one can make a MAC that verifies, so a
//! file someone sent, planted in the cache or edited in place is refused before wasmtime reads
//! a byte of it. The key is a per-user secret, made at random on first use and kept in the
//! cache directory with mode 0600, the way `ssh` keeps a private key.
//!
//! HMAC is written here over the `sha2` crate the runtime already uses (RFC 2104; checked
//! against the test vectors of RFC 4231), rather than taken from another crate: it is twenty
//! lines, and the runtime keeps its dependencies few.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::err::LoadError;

/// Bytes of a key, and of a MAC.
pub(crate) const KEY_LEN: usize = 32;

/// Distinguishes the temporary key files of threads of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// SHA-256's block size, which HMAC pads its key to.
const BLOCK: usize = 64;

/// The secret key that seals precompiled artifacts and cached modules (see
/// [`EngineConfig::artifact_key`](crate::EngineConfig::artifact_key)).
///
/// An engine with a key writes an HMAC-SHA256 of each artifact it makes into the artifact, and
/// loads only artifacts whose MAC verifies with it. Keep the key as secret as anything else
/// that lets someone run code as you: it is what makes an artifact this user's own.
///
/// Its `Debug` output does not show the key.
#[derive(Clone)]
pub struct ArtifactKey {
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArtifactKey(..)")
    }
}

impl PartialEq for ArtifactKey {
    fn eq(&self, other: &ArtifactKey) -> bool {
        same(&self.bytes, &other.bytes)
    }
}

impl Eq for ArtifactKey {}

impl ArtifactKey {
    /// The name of the key's file in its directory.
    pub const FILE_NAME: &'static str = "artifact-key";

    /// A key of these bytes, for a host that keeps its secret elsewhere (a secret store, a
    /// key derived for one deployment). Use 32 random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ArtifactKey {
        ArtifactKey { bytes }
    }

    /// A fresh random key, for a process that precompiles and loads its own artifacts and
    /// keeps none of them: artifacts sealed with it load only in this process.
    pub fn generate() -> Result<ArtifactKey, LoadError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| {
            LoadError::ArtifactKey(format!("cannot draw random bytes for a new key: {e}"))
        })?;
        Ok(ArtifactKey { bytes })
    }

    /// The key in the file [`FILE_NAME`](ArtifactKey::FILE_NAME) of `dir`, made at random
    /// and written there on first use (the directory is created, mode 0700, when missing).
    ///
    /// On Unix the key is refused, with an [`LoadError::ArtifactKey`] that says why, when
    /// others could learn or replace it: when the directory may be written by its group or
    /// by others, when the key file may be read or written by anyone but its owner (it is
    /// made with mode 0600), when either belongs to another user, or when the key file is a
    /// symbolic link or not 32 bytes long. Processes that make the key at the same moment
    /// agree on one: the first to link its file into place wins, and the others read it.
    pub fn load_or_create(dir: &Path) -> Result<ArtifactKey, LoadError> {
        let at = |what: &Path, e: std::io::Error| {
            LoadError::ArtifactKey(format!("`{}`: {e}", what.display()))
        };
        create_private_dir(dir).map_err(|e| at(dir, e))?;
        check_dir(dir)?;
        let path = dir.join(ArtifactKey::FILE_NAME);
        match read_key(&path) {
            Ok(key) => return Ok(key),
            Err(Missing::No) => {}
            Err(Missing::Refused(e)) => return Err(e),
        }
        let key = ArtifactKey::generate()?;
        // Written whole under a temporary name, then linked into place: a link never replaces
        // a file, so a key another process linked first is kept, and no reader ever sees a
        // key file half written.
        let temp = dir.join(format!(
            ".{}.{}.{}.tmp",
            ArtifactKey::FILE_NAME,
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_file(&temp);
        let written = (|| {
            let mut file = private_file(&temp)?;
            file.write_all(&key.bytes)?;
            file.sync_all()?;
            drop(file);
            fs::hard_link(&temp, &path)
        })();
        let _ = fs::remove_file(&temp);
        match written {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_key(&path) {
                Ok(key) => Ok(key),
                Err(Missing::No) => Err(at(&path, e)),
                Err(Missing::Refused(e)) => Err(e),
            },
            Err(e) => Err(at(&path, e)),
        }
    }

    /// A MAC under this key, to be fed the bytes it covers.
    pub(crate) fn mac(&self) -> Mac {
        Mac::new(&self.bytes)
    }
}

/// Why no key was read from a file.
enum Missing {
    /// There is no file: make one.
    No,
    /// There is one, and it is refused.
    Refused(LoadError),
}

/// Creates `dir` and its missing parents, the last with mode 0700 on Unix.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the file at `path`, which must not exist, readable and writable by its owner only.
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The user this process runs as, where it can be learnt without `unsafe`: on Linux, the owner
/// of `/proc/self` is the process's effective user.
#[cfg(unix)]
fn current_user() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    if cfg!(target_os = "linux") {
        fs::metadata("/proc/self").ok().map(|m| m.uid())
    } else {
        None
    }
}

/// Refuses a directory that others may write: they could replace the key, or plant files.
fn check_dir(dir: &Path) -> Result<(), LoadError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let meta = fs::metadata(dir)
            .map_err(|e| LoadError::ArtifactKey(format!("`{}`: {e}", dir.display())))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(LoadError::ArtifactKey(format!(
                "`{}` may be written by others (mode {mode:03o}): the artifact key must be kept in a directory only its user can write (chmod 700)",
                dir.display()
            )));
        }
        if current_user().is_some_and(|me| me != meta.uid()) {
            return Err(LoadError::ArtifactKey(format!(
                "`{}` belongs to another user: the artifact key must be kept in a directory of the user running blastwall",
                dir.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The key in the file at `path`, when it is there and private.
fn read_key(path: &Path) -> Result<ArtifactKey, Missing> {
    let refused = |why: String| {
        Missing::Refused(LoadError::ArtifactKey(format!(
            "`{}` {why}",
            path.display()
        )))
    };
    // A symbolic link could point anywhere, someone else's file included.
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refused(
                "is a symbolic link; the artifact key must be a file".into(),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Missing::No),
        Err(e) => return Err(refused(format!("cannot be read: {e}"))),
    }
    let file = fs::File::open(path).map_err(|e| refused(format!("cannot be read: {e}")))?;
    // Checked on the file opened, so that it cannot be swapped between the check and the read.
    let meta = file
        .metadata()
        .map_err(|e| refused(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(refused("is not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refused(format!(
                "may be read or written by others (mode {mode:03o}): an artifact key must be its user's alone (chmod 600, or delete it to make a new one)"
            )));
        }
        if current_user().is_some_and(|me| me != meta.uid()) {
            return Err(refused(
                "belongs to another user: an artifact key must be its user's own".into(),
            ));
        }
    }
    if meta.len() != KEY_LEN as u64 {
        return Err(refused(format!(
            "is {} bytes long, but an artifact key is {KEY_LEN} (delete it to make a new one)",
            meta.len()
        )));
    }
    let mut bytes = [0u8; KEY_LEN];
    (&file)
        .read_exact(&mut bytes)
        .map_err(|e| refused(format!("cannot be read: {e}")))?;
    Ok(ArtifactKey { bytes })
}

/// Whether two MACs (or keys) are equal, in a time that does not depend on where they differ.
pub(crate) fn same(a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104), fed in pieces.
pub(crate) struct Mac {
    inner: Sha256,
    /// The key padded to a block, XORed with the outer pad.
    outer: [u8; BLOCK],
}

impl Mac {
    /// A MAC under `key`; a key longer than a block is hashed first, as RFC 2104 says.
    fn new(key: &[u8]) -> Mac {
        let mut padded = [0u8; BLOCK];
        if key.len() > BLOCK {
            let digest = Sha256::digest(key);
            for (p, k) in padded.iter_mut().zip(digest.iter()) {
                *p = *k;
            }
        } else {
            for (p, k) in padded.iter_mut().zip(key) {
                *p = *k;
            }
        }
        let mut inner = Sha256::new();
        inner.update(padded.map(|b| b ^ 0x36));
        Mac {
            inner,
            outer: padded.map(|b| b ^ 0x5c),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
    }

    pub(crate) fn finalize(self) -> [u8; KEY_LEN] {
        let inner = self.inner.finalize();
        Sha256::new()
            .chain_update(self.outer)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn hmac(key: &[u8], data: &[u8]) -> String {
        let mut mac = Mac::new(key);
        // In two pieces, as artifacts are fed.
        let (a, b) = data.split_at(data.len() / 2);
        mac.update(a);
        mac.update(b);
        hex(&mac.finalize())
    }

    /// RFC 4231, test cases 1, 2, 4 and 6: a short key, a key shorter than the digest, a
    /// key of 25 bytes, and one longer than a block, which is hashed first.
    #[test]
    fn matches_the_rfc_4231_test_vectors() {
        assert_eq!(
            hmac(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key: Vec<u8> = (1..=25).collect();
        assert_eq!(
            hmac(&key, &[0xcd; 50]),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        );
        assert_eq!(
            hmac(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("cache");
        let first = ArtifactKey::load_or_create(&keys).unwrap();
        let again = ArtifactKey::load_or_create(&keys).unwrap();
        assert_eq!(first, again, "the file's key is read back");
        let other = ArtifactKey::load_or_create(&dir.path().join("elsewhere")).unwrap();
        assert_ne!(first, other, "a new key is random");
        assert_eq!(format!("{first:?}"), "ArtifactKey(..)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&keys.join(ArtifactKey::FILE_NAME)), 0o600);
            assert_eq!(mode(&keys), 0o700);
        }
        let names: Vec<_> = fs::read_dir(&keys).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_could_read_or_replace_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let chmod = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m));
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("cache");
        ArtifactKey::load_or_create(&keys).unwrap();
        let file = keys.join(ArtifactKey::FILE_NAME);

        for mode in [0o644, 0o604, 0o640, 0o620, 0o602] {
            chmod(&file, mode).unwrap();
            let e = ArtifactKey::load_or_create(&keys).unwrap_err().to_string();
            assert!(
                e.contains("may be read or written by others"),
                "{mode:o}: {e}"
            );
            assert!(e.contains(&format!("mode {mode:03o}")), "{e}");
        }
        chmod(&file, 0o600).unwrap();
        ArtifactKey::load_or_create(&keys).unwrap();

        for mode in [0o777, 0o770, 0o702] {
            chmod(&keys, mode).unwrap();
            let e = ArtifactKey::load_or_create(&keys).unwrap_err().to_string();
            assert!(e.contains("may be written by others"), "{mode:o}: {e}");
        }
        chmod(&keys, 0o755).unwrap();
        ArtifactKey::load_or_create(&keys).unwrap();

        // Cut short, or a link to another file: refused, never replaced silently.
        fs::write(keys.join("short"), b"abc").unwrap();
        chmod(&keys.join("short"), 0o600).unwrap();
        fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(keys.join("short"), &file).unwrap();
        let e = ArtifactKey::load_or_create(&keys).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        fs::remove_file(&file).unwrap();
        fs::rename(keys.join("short"), &file).unwrap();
        let e = ArtifactKey::load_or_create(&keys).unwrap_err().to_string();
        assert!(e.contains("is 3 bytes long"), "{e}");
    }

    #[test]
    fn processes_racing_to_make_the_key_agree_on_one() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("cache");
        let made: Vec<ArtifactKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ArtifactKey::load_or_create(&keys)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        assert!(made.iter().all(|k| *k == made[0]), "one key for all");
    }
}
