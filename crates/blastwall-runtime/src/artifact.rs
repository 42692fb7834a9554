//! The precompiled artifact: our header around wasmtime's serialized module. The cache stores
//! the same format, so both are checked by the same code before wasmtime sees them.
//!
//! Layout, little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `\0bwmod\r\n` |
//! | 8 | 4 | artifact format version ([`FORMAT`]) |
//! | 12 | 4 | the module's ABI version |
//! | 16 | 32 | the engine fingerprint: sha256 of wasmtime's compatibility hash |
//! | 48 | 32 | sha256 of the original wasm bytes |
//! | 80 | 4 | CRC-32 (ISO-HDLC, as zlib and PNG) of everything after the header (offset 84 to the end) |
//! | 84 | 4 | length `m` of the metadata JSON |
//! | 88 | m | the metadata JSON, as in the module's `blastwall` section |
//! | 88 + m | 8 | length `n` of wasmtime's serialized module |
//! | 96 + m | n | wasmtime's serialized module; the artifact ends here |
//!
//! The magic starts with a NUL and ends with CR LF, so that text tools and line-ending
//! conversions mangle it visibly (as PNG's signature does).
//!
//! The checksum is there to catch accidents (a torn write, a flipped bit, a file cut short by
//! a full disk), not forgery: anyone who can write the artifact can write a matching checksum,
//! and the trust model rests on who can write the file (see `Engine::load_precompiled`). A
//! CRC-32 catches every burst error up to 32 bits and all but one in 2³² of the others, at
//! several gigabytes per second; format 1 used a sha256, which cost a fifth of loading a
//! module.

use sha2::{Digest, Sha256};

use crate::err::LoadError;

/// The first bytes of every artifact.
const MAGIC: [u8; 8] = *b"\0bwmod\r\n";

/// The artifact format version this runtime writes and reads.
pub(crate) const FORMAT: u32 = 2;

const HEADER: usize = 84;

/// A SHA-256 digest.
pub(crate) type Hash = [u8; 32];

/// The parts of an artifact.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    pub(crate) abi: u32,
    pub(crate) engine: Hash,
    pub(crate) wasm_sha: Hash,
    pub(crate) metadata_json: &'a [u8],
    pub(crate) compiled: &'a [u8],
}

pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Writes an artifact.
pub(crate) fn write(parts: &Parts<'_>) -> Vec<u8> {
    let mut body = Vec::with_capacity(12 + parts.metadata_json.len() + parts.compiled.len());
    // Lengths beyond u32/u64 cannot occur for data held in memory; saturating keeps the
    // function total, and the reader would then refuse the artifact as truncated.
    let m = u32::try_from(parts.metadata_json.len()).unwrap_or(u32::MAX);
    body.extend_from_slice(&m.to_le_bytes());
    body.extend_from_slice(parts.metadata_json);
    let n = u64::try_from(parts.compiled.len()).unwrap_or(u64::MAX);
    body.extend_from_slice(&n.to_le_bytes());
    body.extend_from_slice(parts.compiled);

    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&parts.abi.to_le_bytes());
    out.extend_from_slice(&parts.engine);
    out.extend_from_slice(&parts.wasm_sha);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
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

/// Reads and checks an artifact: magic, format version, engine fingerprint and checksum. The
/// ABI version is returned, not checked, so the caller reports it like a module's.
pub(crate) fn read<'a>(bytes: &'a [u8], engine: &Hash) -> Result<Parts<'a>, LoadError> {
    let mut r = Reader { rest: bytes };
    let magic: [u8; 8] = r.array("it is shorter than the magic bytes").map_err(|_| {
        if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            LoadError::Truncated("it ends inside the magic bytes")
        } else {
            LoadError::NotAnArtifact
        }
    })?;
    if magic != MAGIC {
        return Err(LoadError::NotAnArtifact);
    }
    let format = r.u32("it ends inside the header")?;
    if format != FORMAT {
        return Err(LoadError::ArtifactVersion {
            found: format,
            expected: FORMAT,
        });
    }
    let abi = r.u32("it ends inside the header")?;
    let fingerprint: Hash = r.array("it ends inside the header")?;
    let wasm_sha: Hash = r.array("it ends inside the header")?;
    let checksum = r.u32("it ends inside the header")?;
    if fingerprint != *engine {
        return Err(LoadError::ArtifactEngine);
    }
    // The structure is read before the checksum is compared, so that a cut-off file is
    // reported as truncated rather than as corrupt.
    let body = r.rest;
    let m = r.u32("it ends before the metadata")?;
    let metadata_json = r.take(m as usize, "it ends inside the metadata")?;
    let n = r.u64("it ends before the compiled code")?;
    let n = usize::try_from(n).map_err(|_| LoadError::Truncated("its code length is too large"))?;
    let compiled = r.take(n, "it ends inside the compiled code")?;
    if !r.rest.is_empty() {
        return Err(LoadError::Truncated("it has bytes after the compiled code"));
    }
    if crc32fast::hash(body) != checksum {
        return Err(LoadError::Corrupt);
    }
    Ok(Parts {
        abi,
        engine: fingerprint,
        wasm_sha,
        metadata_json,
        compiled,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        write(&Parts {
            abi: 1,
            engine: [7; 32],
            wasm_sha: [9; 32],
            metadata_json: b"{}",
            compiled: b"code",
        })
    }

    #[test]
    fn round_trips() {
        let bytes = sample();
        let parts = read(&bytes, &[7; 32]).unwrap();
        assert_eq!(parts.abi, 1);
        assert_eq!(parts.wasm_sha, [9; 32]);
        assert_eq!(parts.metadata_json, b"{}");
        assert_eq!(parts.compiled, b"code");
    }

    #[test]
    fn refuses_every_truncation_and_other_engines() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(read(&bytes[..n], &[7; 32]).is_err(), "prefix of {n} bytes");
        }
        assert!(matches!(
            read(&bytes, &[8; 32]),
            Err(LoadError::ArtifactEngine)
        ));
        assert!(matches!(
            read(b"\0asm\x01\0\0\0", &[7; 32]),
            Err(LoadError::NotAnArtifact)
        ));
        let mut flipped = bytes.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(read(&flipped, &[7; 32]), Err(LoadError::Corrupt)));
    }
}
