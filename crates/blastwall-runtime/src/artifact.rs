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
//! | t + 92 | 8 | magic `\0bwmod\r\n`; the artifact ends here |
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
//! The checksum is there to catch accidents (a torn write, a flipped bit, a file cut short by
//! a full disk), not forgery: anyone who can write the artifact can write a matching checksum,
//! and the trust model rests on who can write the file (see `Engine::load_precompiled`). A
//! CRC-32 catches every burst error up to 32 bits and all but one in 2³² of the others, at
//! several gigabytes per second; format 1 used a sha256, which cost a fifth of loading a
//! module.

use std::io::{Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use crate::err::LoadError;

/// The last bytes of every artifact (and the first of format 1 and 2 artifacts).
const MAGIC: [u8; 8] = *b"\0bwmod\r\n";

/// The first bytes of an ELF file, which wasmtime's serialized modules are.
const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// The artifact format version this runtime writes and reads.
pub(crate) const FORMAT: u32 = 6;

/// Bytes of the trailer.
const TRAILER: usize = 100;

/// Offset of the checksum in the trailer; it covers everything before it.
const CRC_AT: usize = 88;

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

/// Writes an artifact.
pub(crate) fn write(parts: &Parts<'_>) -> Vec<u8> {
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
    out.extend_from_slice(&MAGIC);
    out
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
/// whose trailer was 4 bytes shorter (without the core metadata's length): its version 3
/// four bytes in, and its lengths adding up.
fn is_format_3(bytes: &[u8; TRAILER], len: u64) -> bool {
    let mut r = Reader {
        rest: bytes.get(4..).unwrap_or_default(),
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

/// Reads and checks a trailer: magic, format version, engine fingerprint, and that the lengths
/// add up to `len`. The ABI version is returned, not checked, so the caller reports it like a
/// module's; the checksum is the caller's to compare.
fn trailer(bytes: &[u8; TRAILER], len: u64, engine: &Hash) -> Result<Trailer, LoadError> {
    let mut r = Reader { rest: bytes };
    let format = r.u32("it ends inside the trailer")?;
    if format != FORMAT {
        return Err(LoadError::ArtifactVersion {
            found: if is_format_3(bytes, len) { 3 } else { format },
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

/// Reads and checks an artifact held in memory: its trailer, then its checksum.
pub(crate) fn read<'a>(bytes: &'a [u8], engine: &Hash) -> Result<Parts<'a>, LoadError> {
    let at = bytes.len().saturating_sub(TRAILER);
    let (body, tail) = bytes.split_at(at);
    if let Some(e) = refuse(bytes, tail, bytes.len() as u64) {
        return Err(e);
    }
    let tail: &[u8; TRAILER] = tail
        .try_into()
        .map_err(|_| LoadError::Truncated("it ends inside the trailer"))?;
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

/// Reads and checks the artifact in `file`: its trailer, then its checksum over the whole
/// file, which is streamed through a small buffer so that only the core metadata is kept.
pub(crate) fn read_file(mut file: &std::fs::File, engine: &Hash) -> Result<FileParts, LoadError> {
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
    let t = trailer(&tail, len, engine)?;

    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut crc = crc32fast::Hasher::new();
    let mut buffer = Vec::with_capacity(CHUNK);
    checksum_next(file, t.n, &mut buffer, &mut crc).map_err(io)?;
    let mut core = Vec::with_capacity(t.c);
    read_exactly(file, t.c, &mut core).map_err(io)?;
    crc.update(&core);
    // The metadata JSON is read for the checksum only: it is read again if a host asks for
    // the docs or encodes a config (`check::MetadataText`).
    checksum_next(file, t.m, &mut buffer, &mut crc).map_err(io)?;
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

/// Feeds the next `n` bytes of `file` into `crc`, through `buffer` a chunk at a time.
fn checksum_next(
    file: &std::fs::File,
    n: usize,
    buffer: &mut Vec<u8>,
    crc: &mut crc32fast::Hasher,
) -> std::io::Result<()> {
    let mut left = n;
    while left > 0 {
        let chunk = left.min(CHUNK);
        buffer.clear();
        read_exactly(file, chunk, buffer)?;
        crc.update(buffer);
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

    fn sample() -> Vec<u8> {
        write(&Parts {
            abi: 1,
            engine: [7; 32],
            wasm_sha: [9; 32],
            core: b"core",
            metadata_json: b"{}",
            compiled: b"\x7fELF code",
        })
    }

    /// `read_file` on a temporary file holding `bytes`.
    fn read_via_file(bytes: &[u8], engine: &Hash) -> Result<FileParts, LoadError> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        read_file(&file, engine)
    }

    #[test]
    fn round_trips_in_memory_and_from_a_file() {
        let bytes = sample();
        let parts = read(&bytes, &[7; 32]).unwrap();
        assert_eq!(parts.abi, 1);
        assert_eq!(parts.wasm_sha, [9; 32]);
        assert_eq!(parts.core, b"core");
        assert_eq!(parts.metadata_json, b"{}");
        assert_eq!(parts.compiled, b"\x7fELF code");
        assert!(
            bytes.starts_with(b"\x7fELF code"),
            "wasmtime's module comes first"
        );

        let file = read_via_file(&bytes, &[7; 32]).unwrap();
        assert_eq!(file.trailer.abi, 1);
        assert_eq!(file.trailer.wasm_sha, [9; 32]);
        assert_eq!(file.core, b"core");
        let (at, len) = file.metadata_json_at;
        assert_eq!((at, len), (13, 2));
        assert_eq!(bytes.get(at as usize..at as usize + len), Some(&b"{}"[..]));
    }

    #[test]
    fn refuses_every_truncation_flip_and_other_engines() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(read(&bytes[..n], &[7; 32]).is_err(), "prefix of {n} bytes");
            assert!(
                read_via_file(&bytes[..n], &[7; 32]).is_err(),
                "file of {n} bytes"
            );
        }
        // Cut short, an artifact loses its trailer but still starts like wasmtime's module.
        let cut = read(&bytes[..bytes.len() - 1], &[7; 32]).unwrap_err();
        assert!(matches!(cut, LoadError::Truncated(_)), "{cut:?}");
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(read(&flipped, &[7; 32]).is_err(), "flip at {i}");
            assert!(
                read_via_file(&flipped, &[7; 32]).is_err(),
                "flip at {i} in a file"
            );
        }
        let mut flipped = bytes.clone();
        flipped[2] ^= 1;
        assert!(matches!(read(&flipped, &[7; 32]), Err(LoadError::Corrupt)));
        assert!(matches!(
            read_via_file(&flipped, &[7; 32]),
            Err(LoadError::Corrupt)
        ));
        let mut longer = bytes.clone();
        longer.insert(3, 0);
        assert!(matches!(
            read(&longer, &[7; 32]),
            Err(LoadError::Truncated(_))
        ));

        assert!(matches!(
            read(&bytes, &[8; 32]),
            Err(LoadError::ArtifactEngine)
        ));
        assert!(matches!(
            read_via_file(&bytes, &[8; 32]),
            Err(LoadError::ArtifactEngine)
        ));
        assert!(matches!(
            read(b"\0asm\x01\0\0\0", &[7; 32]),
            Err(LoadError::NotAnArtifact)
        ));
        assert!(matches!(read(b"", &[7; 32]), Err(LoadError::NotAnArtifact)));
    }

    /// Format 3: the metadata once, and a 96-byte trailer without the core's length.
    fn format_3() -> Vec<u8> {
        let mut out = b"\x7fELF code{}".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&[7; 32]);
        out.extend_from_slice(&[9; 32]);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&9u64.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MAGIC);
        out
    }

    /// Asserts that `bytes`, in memory and in a file, are refused as an artifact of format
    /// `version`.
    fn refused_as_version(bytes: &[u8], version: u32) {
        for e in [
            read(bytes, &[7; 32]).unwrap_err(),
            read_via_file(bytes, &[7; 32]).unwrap_err(),
        ] {
            assert!(
                matches!(
                    e,
                    LoadError::ArtifactVersion { found, expected: FORMAT } if found == version
                ),
                "format {version}: {e:?}"
            );
        }
    }

    #[test]
    fn older_formats_are_refused_by_their_version() {
        // Formats 1 and 2 began with the magic and the version.
        let mut format_2 = b"\0bwmod\r\n\x02\0\0\0\x01\0\0\0".to_vec();
        format_2.resize(200, 0);
        refused_as_version(&format_2, 2);
        refused_as_version(&format_3(), 3);
        // Formats 4 and 5 had this trailer, with the core metadata as JSON, then with the
        // parameters.
        for version in [4u32, 5] {
            let mut older = sample();
            let at = older.len() - TRAILER;
            older[at..at + 4].copy_from_slice(&version.to_le_bytes());
            refused_as_version(&older, version);
        }
    }
}
