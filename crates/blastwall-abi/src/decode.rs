//! The module's result → findings (`docs/abi.md`, "The result").
//!
//! A module is not trusted to be well formed: every address and length is checked against the
//! memory, and anything out of place is a [`DecodeError`], never a panic. A result must start
//! with [`RESULT_MAGIC`] and the ABI version, so that memory the module never wrote (zeros, a
//! result address of 0 or 8) is an error rather than a result with no findings — an allow.

use crate::decision::{Effect, Finding, Level};
use crate::layout::{ABI_VERSION, ABSENT, FINDING_LEN, Metadata, RESULT_MAGIC};

/// A result the module wrote that does not follow the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An address and length that reach outside the memory.
    #[error(
        "the result refers to {len} bytes at {addr:#x}, outside the module's memory of {size} bytes"
    )]
    OutOfBounds {
        /// The address.
        addr: u64,
        /// The length.
        len: u64,
        /// The size of the memory.
        size: usize,
    },
    /// The result does not start with the result magic: the module did not write a result
    /// where it said, and nothing it holds may be read as a decision.
    #[error(
        "the result does not start with the result magic `bwrs` (found {found:#010x}): the module wrote no result there"
    )]
    Magic {
        /// The first four bytes at the result's address, as a little-endian `u32`.
        found: u32,
    },
    /// The result was written for another ABI version.
    #[error("the result is of ABI version {found}, but this host reads version {ABI_VERSION}")]
    Version {
        /// The version the result gives.
        found: u32,
    },
    /// A status other than 0.
    #[error("the module returned the status {0}")]
    Status(u32),
    /// A finding that names no rule.
    #[error("finding {finding} names rule {rule}, but the policy has {rules} rules")]
    Rule {
        /// The finding's position.
        finding: u32,
        /// The rule index it gives.
        rule: u32,
        /// How many rules the metadata lists.
        rules: usize,
    },
    /// A finding whose flag is neither 0 (fired) nor 1 (error).
    #[error("finding {finding} has the flag {flag}")]
    Flag {
        /// The finding's position.
        finding: u32,
        /// The flag.
        flag: u32,
    },
    /// A string that is not UTF-8.
    #[error("finding {finding}: the {what} is not UTF-8")]
    Utf8 {
        /// The finding's position.
        finding: u32,
        /// Which string.
        what: &'static str,
    },
    /// A slot that must be present is absent.
    #[error("finding {finding}: the {what} is missing")]
    Missing {
        /// The finding's position.
        finding: u32,
        /// Which slot.
        what: &'static str,
    },
    /// A review count outside 1–100 or a negative number of omitted findings.
    #[error("finding {finding}: the {what} {value} is out of range")]
    Range {
        /// The finding's position.
        finding: u32,
        /// Which slot.
        what: &'static str,
        /// Its value.
        value: i64,
    },
}

/// The bytes `addr .. addr + len` of `memory`.
fn bytes(memory: &[u8], addr: u64, len: u64) -> Result<&[u8], DecodeError> {
    let out = || DecodeError::OutOfBounds {
        addr,
        len,
        size: memory.len(),
    };
    let start = usize::try_from(addr).map_err(|_| out())?;
    let end = addr
        .checked_add(len)
        .and_then(|e| usize::try_from(e).ok())
        .ok_or_else(out)?;
    memory.get(start..end).ok_or_else(out)
}

fn u32_at(memory: &[u8], addr: u64) -> Result<u32, DecodeError> {
    let b = bytes(memory, addr, 4)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Ok(u32::from_le_bytes(a))
}

fn u64_at(memory: &[u8], addr: u64) -> Result<u64, DecodeError> {
    let b = bytes(memory, addr, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

/// The string a `str` slot points at.
fn text<'m>(
    memory: &'m [u8],
    slot: u64,
    finding: u32,
    what: &'static str,
) -> Result<&'m str, DecodeError> {
    let b = bytes(memory, slot & 0xFFFF_FFFF, slot >> 32)?;
    std::str::from_utf8(b).map_err(|_| DecodeError::Utf8 { finding, what })
}

fn opt_text<'m>(
    memory: &'m [u8],
    slot: u64,
    finding: u32,
    what: &'static str,
) -> Result<Option<&'m str>, DecodeError> {
    if slot == ABSENT {
        Ok(None)
    } else {
        text(memory, slot, finding, what).map(Some)
    }
}

/// Make `s` hold `parts`, keeping its allocation when it is large enough.
fn assign(s: &mut String, parts: &[&str]) {
    s.clear();
    for p in parts {
        s.push_str(p);
    }
}

fn assign_opt(s: &mut Option<String>, v: Option<&str>) {
    match (s.as_mut(), v) {
        (Some(s), Some(v)) => assign(s, &[v]),
        (None, Some(v)) => *s = Some(v.to_string()),
        (_, None) => *s = None,
    }
}

/// Read the findings of the result at `result` in `memory`, for the policy `meta` describes.
pub fn decode_findings(
    memory: &[u8],
    result: u32,
    meta: &Metadata,
) -> Result<Vec<Finding>, DecodeError> {
    let mut findings = Vec::new();
    decode_findings_into(memory, result, meta, &mut findings)?;
    Ok(findings)
}

/// [`decode_findings`] into `findings`, replacing what it held. The strings of the findings
/// already there are overwritten in place, so a host that decides many times with one vector
/// allocates only when a decision has more findings, or longer texts, than any before it. On
/// an error, what `findings` holds is unspecified.
pub fn decode_findings_into(
    memory: &[u8],
    result: u32,
    meta: &Metadata,
    findings: &mut Vec<Finding>,
) -> Result<(), DecodeError> {
    let result = u64::from(result);
    let magic = u32_at(memory, result)?;
    if magic != RESULT_MAGIC {
        return Err(DecodeError::Magic { found: magic });
    }
    let version = u32_at(memory, result + 4)?;
    if version != ABI_VERSION {
        return Err(DecodeError::Version { found: version });
    }
    let status = u32_at(memory, result + 8)?;
    if status != 0 {
        return Err(DecodeError::Status(status));
    }
    let count = u32_at(memory, result + 12)?;
    let at = u64::from(u32_at(memory, result + 16)?);
    let records = bytes(memory, at, u64::from(count) * u64::from(FINDING_LEN))?;
    findings.truncate(records.len() / FINDING_LEN as usize);
    for i in 0..count {
        let base = at + u64::from(i) * u64::from(FINDING_LEN);
        let slot = |k: u64| u64_at(memory, base + 8 * k);
        let head = slot(0)?;
        let (index, flag) = ((head & 0xFFFF_FFFF) as u32, (head >> 32) as u32);
        let rule = meta.rules.get(index as usize).ok_or(DecodeError::Rule {
            finding: i,
            rule: index,
            rules: meta.rules.len(),
        })?;
        let message = text(memory, slot(1)?, i, "message")?;
        // Everything is read and checked before the finding is written.
        let (effect, about, from, count, omitted) = match flag {
            0 => {
                let (from, count) = if rule.effect == Effect::Review {
                    let from =
                        opt_text(memory, slot(3)?, i, "group")?.ok_or(DecodeError::Missing {
                            finding: i,
                            what: "group",
                        })?;
                    let n = slot(4)? as i64;
                    let count = u32::try_from(n)
                        .ok()
                        .filter(|c| (1..=100).contains(c))
                        .ok_or(DecodeError::Range {
                            finding: i,
                            what: "review count",
                            value: n,
                        })?;
                    (Some(from), Some(count))
                } else {
                    (None, None)
                };
                let omitted = slot(5)? as i64;
                if omitted < 0 {
                    return Err(DecodeError::Range {
                        finding: i,
                        what: "number of omitted findings",
                        value: omitted,
                    });
                }
                let about = opt_text(memory, slot(2)?, i, "subject")?;
                let omitted = u32::try_from(omitted).unwrap_or(u32::MAX);
                (rule.effect, about, from, count, omitted)
            }
            1 => {
                let effect = if rule.level == Level::Advisory {
                    Effect::Warn
                } else {
                    Effect::Deny
                };
                (effect, None, None, None, 0)
            }
            flag => return Err(DecodeError::Flag { finding: i, flag }),
        };
        let error = flag == 1;
        if findings.len() <= i as usize {
            findings.push(Finding {
                rule: String::new(),
                level: rule.level,
                effect,
                message: String::new(),
                source: String::new(),
                about: None,
                from: None,
                count: None,
                overridden: None,
                error,
                omitted: 0,
            });
        }
        let Some(f) = findings.get_mut(i as usize) else {
            continue;
        };
        assign(&mut f.rule, &[&rule.name]);
        f.level = rule.level;
        f.effect = effect;
        if error {
            assign(
                &mut f.message,
                &["rule `", &rule.name, "` failed: ", message],
            );
        } else {
            assign(&mut f.message, &[message]);
        }
        assign(&mut f.source, &[&rule.source]);
        assign_opt(&mut f.about, about);
        assign_opt(&mut f.from, from);
        f.count = count;
        f.overridden = None;
        f.error = error;
        f.omitted = omitted;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::decision::Level;
    use crate::layout::{Layout, Reads, RuleMeta};

    fn meta() -> Metadata {
        let rule = |name: &str, level: Level, effect: Effect| RuleMeta {
            name: name.into(),
            level,
            effect,
            doc: Vec::new(),
            source: format!("p.bw:{name}"),
            reads: vec!["change".into()],
            message: String::new(),
        };
        Metadata {
            abi: 1,
            compiler: "0".into(),
            digest: "0".into(),
            graph: false,
            rules: vec![
                rule("deny_it", Level::Hard, Effect::Deny),
                rule("ask", Level::Soft, Effect::Review),
                rule("hint", Level::Advisory, Effect::Warn),
            ],
            params: Vec::new(),
            layout: Layout::new(&Reads::new()),
        }
    }

    /// A memory with the result at 8, findings at 64 and strings from 512.
    struct Mem {
        bytes: Vec<u8>,
        strings: usize,
    }

    impl Mem {
        fn new(findings: &[[u64; 6]]) -> Mem {
            let mut m = Mem {
                bytes: vec![0; 1024],
                strings: 512,
            };
            m.u32(8, RESULT_MAGIC);
            m.u32(12, ABI_VERSION);
            m.u32(16, 0);
            m.u32(20, findings.len() as u32);
            m.u32(24, 64);
            for (i, f) in findings.iter().enumerate() {
                for (k, s) in f.iter().enumerate() {
                    m.u64(64 + 48 * i + 8 * k, *s);
                }
            }
            m
        }
        fn u32(&mut self, at: usize, v: u32) {
            self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn u64(&mut self, at: usize, v: u64) {
            self.bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        fn str(&mut self, s: &[u8]) -> u64 {
            let at = self.strings;
            self.bytes[at..at + s.len()].copy_from_slice(s);
            self.strings += s.len();
            at as u64 | (s.len() as u64) << 32
        }
    }

    #[test]
    fn findings_take_rule_data_from_the_metadata() {
        let mut m = Mem::new(&[]);
        let (msg, about, group, boom) = (
            m.str(b"a.rs is bad"),
            m.str(b"a.rs"),
            m.str(b"@org/x"),
            m.str(b"division by zero in `a / b`"),
        );
        let mut m2 = Mem::new(&[
            [0, msg, about, ABSENT, 0, 0],
            [1, msg, ABSENT, group, 2, 3],
            [2 | 1 << 32, boom, ABSENT, ABSENT, 0, 0],
            [1 | 1 << 32, boom, about, group, 7, 9],
        ]);
        m2.bytes[512..].copy_from_slice(&m.bytes[512..]);
        let got = decode_findings(&m2.bytes, 8, &meta()).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].rule, "deny_it");
        assert_eq!(got[0].effect, Effect::Deny);
        assert_eq!(got[0].about.as_deref(), Some("a.rs"));
        assert_eq!(got[0].from, None);
        assert_eq!(got[0].count, None);
        assert_eq!(got[0].source, "p.bw:deny_it");
        assert_eq!(got[1].effect, Effect::Review);
        assert_eq!(got[1].from.as_deref(), Some("@org/x"));
        assert_eq!(got[1].count, Some(2));
        assert_eq!(got[1].omitted, 3);
        assert_eq!(got[1].level, Level::Soft);
        assert!(got[2].error);
        assert_eq!(got[2].effect, Effect::Warn);
        assert_eq!(
            got[2].message,
            "rule `hint` failed: division by zero in `a / b`"
        );
        assert!(got[3].error);
        assert_eq!(got[3].effect, Effect::Deny);
        assert_eq!((got[3].about.clone(), got[3].from.clone()), (None, None));
        assert_eq!((got[3].count, got[3].omitted), (None, 0));
    }

    #[test]
    fn decoding_into_findings_replaces_what_they_held() {
        let mut m = Mem::new(&[]);
        let (msg, about, group, boom) = (
            m.str(b"a.rs is bad"),
            m.str(b"a.rs"),
            m.str(b"@org/x"),
            m.str(b"division by zero"),
        );
        let all = [
            [1, msg, ABSENT, group, 2, 3],
            [0, msg, about, ABSENT, 0, 0],
            [2 | 1 << 32, boom, ABSENT, ABSENT, 0, 0],
        ];
        let mut prefilled = None;
        // Fewer, as many and more findings than the vector holds, each time into the vector
        // the decoding before left: fields set before are cleared or replaced.
        for n in [3, 1, 0, 2, 3, 1] {
            let mut m2 = Mem::new(&all[..n]);
            m2.bytes[512..].copy_from_slice(&m.bytes[512..]);
            let expected = decode_findings(&m2.bytes, 8, &meta()).unwrap();
            let held = prefilled.get_or_insert_with(|| {
                let mut f = expected.clone();
                for x in &mut f {
                    x.overridden = Some(crate::decision::Override {
                        by: "a".into(),
                        reason: "b".into(),
                    });
                    x.about = Some("left over".into());
                    x.from = Some("left over".into());
                    x.count = Some(7);
                }
                f
            });
            decode_findings_into(&m2.bytes, 8, &meta(), held).unwrap();
            assert_eq!(*held, expected, "{n} findings");
            assert_eq!(held.len(), n);
        }
    }

    #[test]
    fn tampered_results_are_errors() {
        let meta = meta();
        let ok_msg = 512u64; // empty string
        let cases: Vec<(Mem, u32)> = vec![
            // The result itself is beyond the memory.
            (Mem::new(&[]), 1022),
            (Mem::new(&[]), u32::MAX),
            // A message beyond the memory, or whose length overflows it.
            (Mem::new(&[[0, 1000 | 100 << 32, ABSENT, ABSENT, 0, 0]]), 8),
            (
                Mem::new(&[[0, 0xFFFF_FFFF | 0xFFFF_FFFF << 32, ABSENT, ABSENT, 0, 0]]),
                8,
            ),
            // An unknown rule, a bad flag, a review with no group or a bad count.
            (Mem::new(&[[3, ok_msg, ABSENT, ABSENT, 0, 0]]), 8),
            (Mem::new(&[[2 << 32, ok_msg, ABSENT, ABSENT, 0, 0]]), 8),
            (Mem::new(&[[1, ok_msg, ABSENT, ABSENT, 1, 0]]), 8),
            (Mem::new(&[[1, ok_msg, ABSENT, ok_msg, 0, 0]]), 8),
            (Mem::new(&[[1, ok_msg, ABSENT, ok_msg, 101, 0]]), 8),
            (Mem::new(&[[0, ok_msg, ABSENT, ABSENT, 0, u64::MAX]]), 8),
            // An about string out of bounds.
            (Mem::new(&[[0, ok_msg, 4096, ABSENT, 0, 0]]), 8),
        ];
        for (i, (m, at)) in cases.into_iter().enumerate() {
            assert!(decode_findings(&m.bytes, at, &meta).is_err(), "case {i}");
        }
        // Too many findings for the memory.
        let mut m = Mem::new(&[]);
        m.u32(20, u32::MAX);
        assert!(matches!(
            decode_findings(&m.bytes, 8, &meta),
            Err(DecodeError::OutOfBounds { .. })
        ));
        // A status other than 0.
        let mut m = Mem::new(&[]);
        m.u32(16, 2);
        assert_eq!(
            decode_findings(&m.bytes, 8, &meta),
            Err(DecodeError::Status(2))
        );
        // Invalid UTF-8.
        let mut m = Mem::new(&[]);
        let bad = m.str(&[0xff, 0xfe]);
        let mut m2 = Mem::new(&[[0, bad, ABSENT, ABSENT, 0, 0]]);
        m2.bytes[512..].copy_from_slice(&m.bytes[512..]);
        assert!(matches!(
            decode_findings(&m2.bytes, 8, &meta),
            Err(DecodeError::Utf8 { .. })
        ));
    }

    #[test]
    fn memory_the_module_never_wrote_is_no_result() {
        let meta = meta();
        // Zeros, wherever the result is said to be: at 0, at 8, or anywhere else.
        let zeros = vec![0u8; 1024];
        for at in [0, 8, 512] {
            assert_eq!(
                decode_findings(&zeros, at, &meta),
                Err(DecodeError::Magic { found: 0 })
            );
        }
        // A result without its magic, with the magic but another version, or whose first bytes
        // are anything but the magic, is refused even when the rest would read as no findings.
        let mut m = Mem::new(&[]);
        m.u32(8, 0);
        assert_eq!(
            decode_findings(&m.bytes, 8, &meta),
            Err(DecodeError::Magic { found: 0 })
        );
        for version in [0, 4, ABI_VERSION + 1] {
            let mut m = Mem::new(&[]);
            m.u32(12, version);
            assert_eq!(
                decode_findings(&m.bytes, 8, &meta),
                Err(DecodeError::Version { found: version })
            );
        }
        for byte in 0..4 {
            let mut m = Mem::new(&[]);
            m.bytes[8 + byte] ^= 0x20;
            assert!(
                matches!(
                    decode_findings(&m.bytes, 8, &meta),
                    Err(DecodeError::Magic { .. })
                ),
                "byte {byte}"
            );
        }
        let e = decode_findings(&zeros, 8, &meta).unwrap_err().to_string();
        assert!(e.contains("wrote no result"), "{e}");
    }

    #[test]
    fn an_empty_result_has_no_findings() {
        let m = Mem::new(&[]);
        assert_eq!(decode_findings(&m.bytes, 8, &meta()), Ok(Vec::new()));
    }
}
