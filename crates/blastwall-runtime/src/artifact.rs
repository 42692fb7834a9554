//! The precompiled artifact: wasmtime's serialized module followed by our metadata and a
//! trailer. The cache stores the same format, so both are checked by the same code before
//! wasmtime sees them.
//!
//! Layout, little-endian, with `n` the length of wasmtime's module, `c` that of the core
//! metadata, `m` that of the metadata and `t = n + c + m` the offset of the trailer:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | n | wasmtime's serialized module (an ELF file) |
//! | n | c | the core metadata: what deciding reads of the metadata, in binary (`core_meta`) |
//! | n + c | m | the metadata JSON, as in the module's `blastwall` section |
//! | t | 4 | artifact format version ([`FORMAT`]) |
//! | t + 4 | 4 | the module's ABI version |
//! | t + 8 | 32 | the engine fingerprint: sha256 of wasmtime's compatibility hash |
//! | t + 40 | 32 | sha256 of the original wasm bytes |
//! | t + 72 | 4 | `m` |
//! | t + 76 | 8 | `n` |
//! | t + 84 | 4 | `c` |
//! | t + 88 | 4 | CRC-32 (ISO-HDLC, as zlib and PNG) of everything before it (offset 0 to t + 88) |
//! | t + 92 | 32 | the seal: HMAC-SHA256 under the user's [`ArtifactKey`] of everything before it (offset 0 to t + 92); zeros in a cache kept without a key |
//! | t + 124 | 8 | magic `\0bwmod\r\n`; the artifact ends here |
//!
//! wasmtime's module comes first so that a file holding an artifact can be memory-mapped and
//! its code run where it lies, without a copy (`Engine::load_precompiled_file`); wasmtime
//! ignores the bytes after its module. Format 2 put an 84-byte header first, which made every
//! load copy the code into fresh pages — about 100 µs of a first decision.
//!
//! The core metadata is what loading reads: deciding never reads the docs, which are two
//! thirds of the shipped rules' metadata, nor the parameters, so the metadata is stored a
//! second time without them, in a binary form that is cheaper to read than JSON. The whole
//! metadata JSON is parsed only when a host asks for the docs, and read for the parameters
//! only when a config is first encoded. Format 3 stored the metadata once, and loading parsed
//! its JSON, scanning the docs to skip them; format 4 stored the core as JSON; format 5's
//! core also held the parameters.
//!
//! The magic starts with a NUL and ends with CR LF, so that text tools and line-ending
//! conversions mangle it visibly (as PNG's signature does). Format 2 artifacts began with it;
//! they are recognised and refused by their version.
//!
//! The seal is what makes an artifact trusted: only the holder of the key can make one that
//! verifies, so an artifact someone sent, planted or edited (its code overwritten and its
//! checksum recomputed, or any bit flipped) is refused. An engine with a key checks the seal
//! first, before it reads any other field of the trailer, and nothing of an artifact reaches
//! wasmtime before its seal verified. Format 6 had no seal, and rested on who could write the
//! file. The checksum is there to catch accidents (a torn write, a flipped bit, a file cut
//! short by a full disk) in a cache kept without a key, where it is the only check: anyone
//! who can write the artifact can write a matching checksum. A CRC-32 catches every burst
//! error up to 32 bits and all but one in 2³² of the others, at several gigabytes per second;
//! format 1 used a sha256, which cost a fifth of loading a module; the seal costs as much
//! again, the price of knowing who wrote the code.

use std::io::{Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use crate::err::LoadError;
use crate::key::{self, ArtifactKey, KEY_LEN};

/// The last bytes of every artifact (and the first of format 1 and 2 artifacts).
const MAGIC: [u8; 8] = *b"\0bwmod\r\n";

/// The first bytes of an ELF file, which wasmtime's serialized modules are.
const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// The artifact format version this runtime writes and reads.
pub(crate) const FORMAT: u32 = 7;

/// Bytes of the trailer.
const TRAILER: usize = 132;

/// Offset of the checksum in the trailer; it covers everything before it.
const CRC_AT: usize = 88;

/// Offset of the seal in the trailer; it covers everything before it.
const MAC_AT: usize = 92;

/// Bytes of the buffer a file's code is streamed through for its checksum: small enough for
/// the allocator to reuse heap pages rather than map fresh ones, large enough that the reads
/// are few.
const CHUNK: usize = 64 * 1024;

/// A SHA-256 digest.
pub(crate) type Hash = [u8; 32];

/// The parts of an artifact.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    pub(crate) abi: u32,
    pub(crate) engine: Hash,
    pub(crate) wasm_sha: Hash,
    /// The metadata without docs, in binary (`core_meta`).
    pub(crate) core: &'a [u8],
    pub(crate) metadata_json: &'a [u8],
    pub(crate) compiled: &'a [u8],
}

/// What the trailer says, checked except for the checksum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trailer {
    pub(crate) abi: u32,
    pub(crate) wasm_sha: Hash,
    /// Length of the core metadata.
    c: usize,
    /// Length of the metadata JSON.
    m: usize,
    /// Length of wasmtime's module.
    n: usize,
    crc: u32,
}

pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Writes an artifact, sealed with `key` when there is one (with zeros otherwise, which no key
/// verifies).
pub(crate) fn write(parts: &Parts<'_>, key: Option<&ArtifactKey>) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        parts.compiled.len() + parts.core.len() + parts.metadata_json.len() + TRAILER,
    );
    out.extend_from_slice(parts.compiled);
    out.extend_from_slice(parts.core);
    out.extend_from_slice(parts.metadata_json);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&parts.abi.to_le_bytes());
    out.extend_from_slice(&parts.engine);
    out.extend_from_slice(&parts.wasm_sha);
    // Lengths beyond u32/u64 cannot occur for data held in memory; saturating keeps the
    // function total, and the reader would then refuse the artifact as truncated.
    let m = u32::try_from(parts.metadata_json.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&m.to_le_bytes());
    let n = u64::try_from(parts.compiled.len()).unwrap_or(u64::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    let c = u32::try_from(parts.core.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&c.to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    let seal = key.map_or([0; KEY_LEN], |key| {
        let mut mac = key.mac();
        mac.update(&out);
        mac.finalize()
    });
    out.extend_from_slice(&seal);
    out.extend_from_slice(&MAGIC);
    out
}

/// The seal recorded in the last [`TRAILER`] bytes of an artifact.
fn recorded_seal(tail: &[u8; TRAILER]) -> [u8; KEY_LEN] {
    let mut seal = [0u8; KEY_LEN];
    if let Some(at) = tail.get(MAC_AT..MAC_AT + KEY_LEN) {
        seal.copy_from_slice(at);
    }
    seal
}

/// Refuses an artifact whose recorded seal is not `computed`.
fn check_seal(tail: &[u8; TRAILER], computed: &[u8; KEY_LEN]) -> Result<(), LoadError> {
    if key::same(&recorded_seal(tail), computed) {
        Ok(())
    } else {
        Err(LoadError::Unsealed)
    }
}

/// A cursor that turns every overrun into [`LoadError::Truncated`].
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], LoadError> {
        if self.rest.len() < n {
            return Err(LoadError::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], LoadError> {
        let bytes = self.take(N, what)?;
        bytes.try_into().map_err(|_| LoadError::Truncated(what))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, LoadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, LoadError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
}

/// Why a file of `len` bytes that starts with `head` and ends with `tail` (its last
/// [`TRAILER`] bytes, or all of it when shorter) is not an artifact, if it is not.
fn refuse(head: &[u8], tail: &[u8], len: u64) -> Option<LoadError> {
    if len >= TRAILER as u64 && tail.ends_with(&MAGIC) {
        return None;
    }
    // An artifact of format 1 or 2: the magic, then its version.
    if let Some(version) = head.strip_prefix(&MAGIC).and_then(|r| r.get(..4)) {
        let found = u32::from_le_bytes(version.try_into().unwrap_or([0; 4]));
        return Some(LoadError::ArtifactVersion {
            found,
            expected: FORMAT,
        });
    }
    Some(if head.starts_with(&ELF_MAGIC) {
        LoadError::Truncated("it does not end with the artifact trailer")
    } else {
        LoadError::NotAnArtifact
    })
}

/// Whether the last [`TRAILER`] bytes of an artifact of `len` bytes end a format 3 artifact,
/// whose trailer was 96 bytes (without the core metadata's length and the seal): its version
/// 3 at the start of those, and its lengths adding up.
fn is_format_3(bytes: &[u8; TRAILER], len: u64) -> bool {
    let mut r = Reader {
        rest: bytes.get(TRAILER - 96..).unwrap_or_default(),
    };
    let mut fields = || -> Result<(u32, u32, u64), LoadError> {
        let format = r.u32("")?;
        r.take(68, "")?;
        Ok((format, r.u32("")?, r.u64("")?))
    };
    fields().is_ok_and(|(format, m, n)| {
        format == 3 && u64::from(m).checked_add(n).and_then(|s| s.checked_add(96)) == Some(len)
    })
}

/// Whether the last [`TRAILER`] bytes of an artifact of `len` bytes end a format 6 artifact,
/// whose trailer was 32 bytes shorter (without the seal): its version 6 at the start of its
/// trailer, and its lengths adding up.
fn is_format_6(bytes: &[u8; TRAILER], len: u64) -> bool {
    let mut r = Reader {
        rest: bytes.get(TRAILER - 100..).unwrap_or_default(),
    };
    let mut fields = || -> Result<(u32, u32, u64, u32), LoadError> {
        let format = r.u32("")?;
        r.take(68, "")?;
        Ok((format, r.u32("")?, r.u64("")?, r.u32("")?))
    };
    fields().is_ok_and(|(format, m, n, c)| {
        format == 6
            && u64::from(m)
                .checked_add(n)
                .and_then(|s| s.checked_add(u64::from(c)))
                .and_then(|s| s.checked_add(100))
                == Some(len)
    })
}

/// Reads and checks a trailer: magic, format version, engine fingerprint, and that the lengths
/// add up to `len`. The ABI version is returned, not checked, so the caller reports it like a
/// module's; the checksum is the caller's to compare.
fn trailer(bytes: &[u8; TRAILER], len: u64, engine: &Hash) -> Result<Trailer, LoadError> {
    let mut r = Reader { rest: bytes };
    let format = r.u32("it ends inside the trailer")?;
    if format != FORMAT {
        return Err(LoadError::ArtifactVersion {
            found: if is_format_6(bytes, len) {
                6
            } else if is_format_3(bytes, len) {
                3
            } else {
                format
            },
            expected: FORMAT,
        });
    }
    let abi = r.u32("it ends inside the trailer")?;
    let fingerprint: Hash = r.array("it ends inside the trailer")?;
    let wasm_sha: Hash = r.array("it ends inside the trailer")?;
    let m = r.u32("it ends inside the trailer")?;
    let n = r.u64("it ends inside the trailer")?;
    let c = r.u32("it ends inside the trailer")?;
    let crc = r.u32("it ends inside the trailer")?;
    if fingerprint != *engine {
        return Err(LoadError::ArtifactEngine);
    }
    if u64::from(m)
        .checked_add(u64::from(c))
        .and_then(|s| s.checked_add(n))
        .and_then(|s| s.checked_add(TRAILER as u64))
        != Some(len)
    {
        return Err(LoadError::Truncated(
            "its parts do not add up to its length (cut short, or bytes added)",
        ));
    }
    let too_large = || LoadError::Truncated("it is too large for this machine");
    Ok(Trailer {
        abi,
        wasm_sha,
        c: usize::try_from(c).map_err(|_| too_large())?,
        m: usize::try_from(m).map_err(|_| too_large())?,
        n: usize::try_from(n).map_err(|_| too_large())?,
        crc,
    })
}

/// Reads and checks an artifact held in memory: with a key, its seal first; then its trailer
/// and its checksum.
pub(crate) fn read<'a>(
    bytes: &'a [u8],
    engine: &Hash,
    key: Option<&ArtifactKey>,
) -> Result<Parts<'a>, LoadError> {
    let at = bytes.len().saturating_sub(TRAILER);
    let (body, tail) = bytes.split_at(at);
    if let Some(e) = refuse(bytes, tail, bytes.len() as u64) {
        return Err(e);
    }
    let tail: &[u8; TRAILER] = tail
        .try_into()
        .map_err(|_| LoadError::Truncated("it ends inside the trailer"))?;
    if let Some(key) = key {
        let mut mac = key.mac();
        mac.update(body);
        mac.update(tail.get(..MAC_AT).unwrap_or_default());
        check_seal(tail, &mac.finalize())?;
    }
    let t = trailer(tail, bytes.len() as u64, engine)?;
    // `trailer` checked that n + c + m is the length of `body`.
    let (compiled, metadata) = body.split_at(t.n.min(body.len()));
    let (core, metadata_json) = metadata.split_at(t.c.min(metadata.len()));
    let mut crc = crc32fast::Hasher::new();
    crc.update(body);
    crc.update(tail.get(..CRC_AT).unwrap_or_default());
    if crc.finalize() != t.crc {
        return Err(LoadError::Corrupt);
    }
    Ok(Parts {
        abi: t.abi,
        engine: *engine,
        wasm_sha: t.wasm_sha,
        core,
        metadata_json,
        compiled,
    })
}

/// An artifact file's trailer and core metadata, read and checked (checksum included) without
/// keeping its code or its metadata JSON in memory.
#[derive(Debug)]
pub(crate) struct FileParts {
    pub(crate) trailer: Trailer,
    /// What deciding reads of the metadata, in binary (`core_meta`).
    pub(crate) core: Vec<u8>,
    /// Where the metadata JSON is in the file, and its length.
    pub(crate) metadata_json_at: (u64, usize),
}

/// Reads and checks the artifact in `file`: with a key, its seal over the whole file first;
/// then its trailer, and its checksum over the whole file. The file is streamed through a
/// small buffer so that only the core metadata is kept.
pub(crate) fn read_file(
    mut file: &std::fs::File,
    engine: &Hash,
    key: Option<&ArtifactKey>,
) -> Result<FileParts, LoadError> {
    let io = |e: std::io::Error| LoadError::Read(e.to_string());
    let len = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 12];
    let head_len = usize::try_from(len.min(12)).unwrap_or(12);
    let head = head.get_mut(..head_len).unwrap_or_default();
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.read_exact(head).map_err(io)?;
    let mut tail = [0u8; TRAILER];
    let tail_len = usize::try_from(len.min(TRAILER as u64)).unwrap_or(TRAILER);
    file.seek(SeekFrom::Start(len - tail_len as u64))
        .map_err(io)?;
    file.read_exact(tail.get_mut(..tail_len).unwrap_or_default())
        .map_err(io)?;
    if let Some(e) = refuse(head, tail.get(..tail_len).unwrap_or_default(), len) {
        return Err(e);
    }
    let mut buffer = Vec::with_capacity(CHUNK);
    if let Some(key) = key {
        // `refuse` checked that the file holds a whole trailer.
        let body = usize::try_from(len - TRAILER as u64)
            .map_err(|_| LoadError::Truncated("it is too large for this machine"))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut mac = key.mac();
        stream_next(file, body, &mut buffer, |chunk| mac.update(chunk)).map_err(io)?;
        mac.update(tail.get(..MAC_AT).unwrap_or_default());
        check_seal(&tail, &mac.finalize())?;
    }
    let t = trailer(&tail, len, engine)?;

    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut crc = crc32fast::Hasher::new();
    stream_next(file, t.n, &mut buffer, |chunk| crc.update(chunk)).map_err(io)?;
    let mut core = Vec::with_capacity(t.c);
    read_exactly(file, t.c, &mut core).map_err(io)?;
    crc.update(&core);
    // The metadata JSON is read for the checksum only: it is read again if a host asks for
    // the docs or encodes a config (`check::MetadataText`).
    stream_next(file, t.m, &mut buffer, |chunk| crc.update(chunk)).map_err(io)?;
    crc.update(tail.get(..CRC_AT).unwrap_or_default());
    if crc.finalize() != t.crc {
        return Err(LoadError::Corrupt);
    }
    let at = (t.n + t.c) as u64;
    Ok(FileParts {
        metadata_json_at: (at, t.m),
        trailer: t,
        core,
    })
}

/// Feeds the next `n` bytes of `file` to `feed`, through `buffer` a chunk at a time.
fn stream_next(
    file: &std::fs::File,
    n: usize,
    buffer: &mut Vec<u8>,
    mut feed: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut left = n;
    while left > 0 {
        let chunk = left.min(CHUNK);
        buffer.clear();
        read_exactly(file, chunk, buffer)?;
        feed(buffer);
        left -= chunk;
    }
    Ok(())
}

/// Appends the next `n` bytes of `file` to `out`, which has room for them: read into the
/// spare capacity, so that no buffer is zeroed first only to be overwritten.
fn read_exactly(file: &std::fs::File, n: usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    let start = out.len();
    file.take(n as u64).read_to_end(out)?;
    if out.len() - start == n {
        Ok(())
    } else {
        Err(std::io::ErrorKind::UnexpectedEof.into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn key() -> ArtifactKey {
        ArtifactKey::from_bytes([3; 32])
    }

    fn sample_with(key: Option<&ArtifactKey>) -> Vec<u8> {
        write(
            &Parts {
                abi: 1,
                engine: [7; 32],
                wasm_sha: [9; 32],
                core: b"core",
                metadata_json: b"{}",
                compiled: b"\x7fELF code",
            },
            key,
        )
    }

    fn sample() -> Vec<u8> {
        sample_with(Some(&key()))
    }

    /// `read_file` on a temporary file holding `bytes`.
    fn read_via_file(
        bytes: &[u8],
        engine: &Hash,
        key: Option<&ArtifactKey>,
    ) -> Result<FileParts, LoadError> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        read_file(&file, engine, key)
    }

    #[test]
    fn round_trips_in_memory_and_from_a_file() {
        let bytes = sample();
        for key in [Some(&key()), None] {
            let parts = read(&bytes, &[7; 32], key).unwrap();
            assert_eq!(parts.abi, 1);
            assert_eq!(parts.wasm_sha, [9; 32]);
            assert_eq!(parts.core, b"core");
            assert_eq!(parts.metadata_json, b"{}");
            assert_eq!(parts.compiled, b"\x7fELF code");

            let file = read_via_file(&bytes, &[7; 32], key).unwrap();
            assert_eq!(file.trailer.abi, 1);
            assert_eq!(file.trailer.wasm_sha, [9; 32]);
            assert_eq!(file.core, b"core");
            let (at, len) = file.metadata_json_at;
            assert_eq!((at, len), (13, 2));
            assert_eq!(bytes.get(at as usize..at as usize + len), Some(&b"{}"[..]));
        }
        assert!(
            bytes.starts_with(b"\x7fELF code"),
            "wasmtime's module comes first"
        );
        assert_eq!(bytes.len(), 15 + TRAILER);
    }

    /// Refused in memory and from a file, with the same error.
    fn refused(bytes: &[u8], engine: &Hash, key: Option<&ArtifactKey>) -> LoadError {
        let in_memory = read(bytes, engine, key).unwrap_err();
        let from_file = read_via_file(bytes, engine, key).unwrap_err();
        assert_eq!(in_memory.to_string(), from_file.to_string());
        in_memory
    }

    #[test]
    fn refuses_every_truncation_flip_and_other_engines() {
        let bytes = sample();
        for key in [Some(&key()), None] {
            for n in 0..bytes.len() {
                refused(&bytes[..n], &[7; 32], key);
            }
            // Cut short, an artifact loses its trailer but still starts like wasmtime's module.
            let cut = refused(&bytes[..bytes.len() - 1], &[7; 32], key);
            assert!(matches!(cut, LoadError::Truncated(_)), "{cut:?}");
            // Without a key the seal is not read, and a flip in it changes nothing.
            let seal = bytes.len() - TRAILER + MAC_AT..bytes.len() - TRAILER + MAC_AT + KEY_LEN;
            for i in (0..bytes.len()).filter(|i| key.is_some() || !seal.contains(i)) {
                let mut flipped = bytes.clone();
                flipped[i] ^= 0x10;
                refused(&flipped, &[7; 32], key);
            }
            let mut longer = bytes.clone();
            longer.insert(3, 0);
            refused(&longer, &[7; 32], key);
            assert!(matches!(
                refused(b"\0asm\x01\0\0\0", &[7; 32], key),
                LoadError::NotAnArtifact
            ));
            assert!(matches!(
                refused(b"", &[7; 32], key),
                LoadError::NotAnArtifact
            ));
        }
        // Without a key the checksum finds a flipped bit; the engine's fingerprint is checked.
        let mut flipped = bytes.clone();
        flipped[2] ^= 1;
        assert!(matches!(
            refused(&flipped, &[7; 32], None),
            LoadError::Corrupt
        ));
        assert!(matches!(
            refused(&bytes, &[8; 32], Some(&key())),
            LoadError::ArtifactEngine
        ));
    }

    #[test]
    fn with_a_key_every_change_fails_the_seal_first() {
        let bytes = sample();
        // Every byte but the magic, whose absence makes the bytes no artifact at all.
        for i in 0..bytes.len() - MAGIC.len() {
            for bit in [0x01, 0x80] {
                let mut flipped = bytes.clone();
                flipped[i] ^= bit;
                let e = refused(&flipped, &[7; 32], Some(&key()));
                assert!(matches!(e, LoadError::Unsealed), "flip at {i}: {e:?}");
            }
        }
        // The code overwritten and the checksum recomputed: the checksum passes, the seal
        // does not.
        let mut forged = bytes.clone();
        forged[4..8].copy_from_slice(b"\xcc\xcc\xcc\xcc");
        let t = forged.len() - TRAILER;
        let crc = crc32fast::hash(&forged[..t + CRC_AT]);
        forged[t + CRC_AT..t + CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        assert!(
            read(&forged, &[7; 32], None).is_ok(),
            "the checksum is fine"
        );
        assert!(matches!(
            refused(&forged, &[7; 32], Some(&key())),
            LoadError::Unsealed
        ));
        // Sealed with another key, or not sealed (a cache kept without one).
        let other = ArtifactKey::from_bytes([4; 32]);
        assert!(matches!(
            refused(&bytes, &[7; 32], Some(&other)),
            LoadError::Unsealed
        ));
        assert!(matches!(
            refused(&sample_with(None), &[7; 32], Some(&key())),
            LoadError::Unsealed
        ));
    }

    /// Code long enough that an older, shorter trailer and the code are longer than this
    /// trailer.
    fn long_code() -> Vec<u8> {
        let mut code = b"\x7fELF code".to_vec();
        code.resize(64, 0x90);
        code
    }

    /// Format 3: the metadata once, and a 96-byte trailer without the core's length.
    fn format_3() -> Vec<u8> {
        let mut out = long_code();
        out.extend_from_slice(b"{}");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&[7; 32]);
        out.extend_from_slice(&[9; 32]);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&64u64.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MAGIC);
        out
    }

    /// Format 6: this trailer without the seal, 100 bytes.
    fn format_6() -> Vec<u8> {
        let mut out = write(
            &Parts {
                abi: 1,
                engine: [7; 32],
                wasm_sha: [9; 32],
                core: b"core",
                metadata_json: b"{}",
                compiled: &long_code(),
            },
            None,
        );
        let t = out.len() - TRAILER;
        out.drain(t + MAC_AT..t + MAC_AT + KEY_LEN);
        out[t..t + 4].copy_from_slice(&6u32.to_le_bytes());
        out
    }

    /// Asserts that `bytes`, in memory and in a file, are refused as an artifact of format
    /// `version` by an engine without a key.
    fn refused_as_version(bytes: &[u8], version: u32) {
        let e = refused(bytes, &[7; 32], None);
        assert!(
            matches!(
                e,
                LoadError::ArtifactVersion { found, expected: FORMAT } if found == version
            ),
            "format {version}: {e:?}"
        );
    }

    #[test]
    fn older_formats_are_refused_by_their_version() {
        // Formats 1 and 2 began with the magic and the version.
        let mut format_2 = b"\0bwmod\r\n\x02\0\0\0\x01\0\0\0".to_vec();
        format_2.resize(200, 0);
        refused_as_version(&format_2, 2);
        refused_as_version(&format_3(), 3);
        refused_as_version(&format_6(), 6);
        // A format this runtime does not know, in this trailer.
        let mut other = sample_with(None);
        let at = other.len() - TRAILER;
        other[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
        refused_as_version(&other, 9);
        // Sealed, the version is read once the seal verified.
        let mut sealed = sample_with(None);
        sealed[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
        let parts_end = sealed.len() - (TRAILER - MAC_AT);
        let mut mac = key().mac();
        mac.update(&sealed[..parts_end]);
        sealed[parts_end..parts_end + KEY_LEN].copy_from_slice(&mac.finalize());
        let e = refused(&sealed, &[7; 32], Some(&key()));
        assert!(
            matches!(e, LoadError::ArtifactVersion { found: 9, .. }),
            "{e:?}"
        );
        // Without the seal that makes them this user's, older formats fail the seal.
        assert!(matches!(
            refused(&format_6(), &[7; 32], Some(&key())),
            LoadError::Unsealed
        ));
    }
}
