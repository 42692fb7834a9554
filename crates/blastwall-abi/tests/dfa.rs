//! The DFA tables against the matchers they stand for: `Glob::matches` and the `regex` crate.
//!
//! Every table a test builds also goes through [`check`]: it is encoded, read back by a decoder
//! written from `docs/abi.md` alone, walked, and its structural promises (dead state 0, one
//! absorbing matching state, minimality) are verified.

use std::error::Error;
use std::path::Path;

use blastwall_abi::dfa::{
    Dfa, DfaError, DfaKind, MAX_STATES, glob_dfa, glob_list_dfas, glob_param_dfa, normalize_path,
    regex_dfa,
};
use blastwall_abi::glob::Glob;
use proptest::prelude::*;
use proptest::sample::select;

type Result<T = (), E = Box<dyn Error>> = std::result::Result<T, E>;

// ------------------------------------------------------------------- a decoder from the doc

/// A table as read back from its encoding.
#[derive(Debug)]
struct Decoded {
    kind: u32,
    c: usize,
    s: usize,
    start: usize,
    /// Bytes per entry of `next` and `eoi`: 2 or 4 (0 for an invalid pattern).
    w: usize,
    classes: Vec<u8>,
    next: Vec<u32>,
    eoi: Vec<u32>,
    accept: Vec<u8>,
    text: Option<String>,
    filters: Vec<u64>,
}

fn u32_at(mem: &[u8], at: usize) -> Result<u32> {
    let bytes = mem.get(at..at + 4).ok_or("read past the end")?;
    Ok(u32::from_le_bytes(bytes.try_into()?))
}

/// The entry of `w` bytes at `at`.
fn entry_at(mem: &[u8], at: usize, w: usize) -> Result<u32> {
    if w == 2 {
        let bytes = mem.get(at..at + 2).ok_or("read past the end")?;
        Ok(u32::from(u16::from_le_bytes(bytes.try_into()?)))
    } else {
        u32_at(mem, at)
    }
}

/// Reads the table at address `addr` out of `mem`, whose first byte has address `base`.
fn decode(mem: &[u8], base: u32, addr: u32) -> Result<Decoded> {
    assert_eq!(addr % 8, 0, "tables are 8-byte aligned");
    let at = (addr - base) as usize;
    let kind = u32_at(mem, at)?;
    let c = u32_at(mem, at + 4)? as usize;
    let s = u32_at(mem, at + 8)? as usize;
    let start = u32_at(mem, at + 12)? as usize;
    if kind == 0 {
        let ptr = u32_at(mem, at + 16)?;
        let len = u32_at(mem, at + 20)? as usize;
        let from = (ptr - base) as usize;
        let text = mem.get(from..from + len).ok_or("text out of bounds")?;
        return Ok(Decoded {
            kind,
            c,
            s,
            start,
            w: 0,
            classes: Vec::new(),
            next: Vec::new(),
            eoi: Vec::new(),
            accept: Vec::new(),
            text: Some(String::from_utf8(text.to_vec())?),
            filters: Vec::new(),
        });
    }
    let nf = u32_at(mem, at + 16)? as usize;
    let w = u32_at(mem, at + 20)? as usize;
    if w != 2 && w != 4 {
        return Err(format!("entry size {w}: neither 2 nor 4").into());
    }
    let filters = (0..nf)
        .map(|i| {
            let lo = u64::from(u32_at(mem, at + 24 + 8 * i)?);
            let hi = u64::from(u32_at(mem, at + 28 + 8 * i)?);
            Ok(lo | (hi << 32))
        })
        .collect::<Result<Vec<_>>>()?;
    let classes_at = at + 24 + 8 * nf;
    let classes = mem
        .get(classes_at..classes_at + 256)
        .ok_or("classes")?
        .to_vec();
    let next_at = classes_at + 256;
    let eoi_at = next_at + w * s * c;
    let accept_at = eoi_at + w * s;
    let next = (0..s * c)
        .map(|i| entry_at(mem, next_at + w * i, w))
        .collect::<Result<Vec<_>>>()?;
    let eoi = (0..s)
        .map(|i| entry_at(mem, eoi_at + w * i, w))
        .collect::<Result<Vec<_>>>()?;
    let accept = mem.get(accept_at..accept_at + s).ok_or("accept")?.to_vec();
    // `next` holds each successor as its row's byte offset, bit 0 set when it is matching;
    // read back as state numbers, checking both halves of every entry.
    let row = w * c;
    let next = next
        .into_iter()
        .map(|e| {
            let offset = (e & !1) as usize;
            let t = offset / row.max(1);
            let flag = u8::try_from(e & 1)?;
            if !offset.is_multiple_of(row.max(1)) || t >= s || accept.get(t) != Some(&flag) {
                return Err(format!("bad entry {e:#x} (c={c}, s={s})").into());
            }
            Ok(t as u32)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Decoded {
        kind,
        c,
        s,
        start,
        w,
        classes,
        next,
        eoi,
        accept,
        text: None,
        filters,
    })
}

/// The mask of `docs/abi.md`, "Patterns": for each pair of adjacent bytes `a b`, bit
/// `((a + 256 × b) × 0x9E3779B1 mod 2³²) >> 26`.
fn subject_mask(bytes: &[u8]) -> u64 {
    let mut mask = 0u64;
    for w in bytes.windows(2) {
        let &[a, b] = w else { continue };
        let pair = u32::from(a) + 256 * u32::from(b);
        mask |= 1 << (pair.wrapping_mul(0x9E37_79B1) >> 26);
    }
    mask
}

impl Decoded {
    fn get(&self, state: usize, class: usize) -> usize {
        self.next
            .get(state * self.c + class)
            .copied()
            .unwrap_or(u32::MAX) as usize
    }

    fn accepts(&self, state: usize) -> bool {
        self.accept.get(state) == Some(&1)
    }

    /// The walk of `docs/abi.md`, "Patterns", transcribed.
    fn is_match(&self, subject: &str) -> bool {
        let joined;
        let bytes = match self.kind {
            0 => return false,
            1 => {
                let mask = subject_mask(subject.as_bytes());
                if !self.filters.is_empty() && !self.filters.iter().any(|f| f & !mask == 0) {
                    return false;
                }
                let segments: Vec<&str> = subject
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .collect();
                if segments.is_empty() {
                    return false;
                }
                joined = segments.join("/");
                joined.as_bytes()
            }
            _ => subject.as_bytes(),
        };
        let mut state = self.start;
        for &b in bytes {
            let class = self.classes.get(usize::from(b)).copied().unwrap_or(u8::MAX);
            state = self.get(state, usize::from(class));
            if self.accepts(state) {
                return true;
            }
            if state == 0 {
                return false;
            }
        }
        state = self.eoi.get(state).copied().unwrap_or(u32::MAX) as usize;
        self.accepts(state)
    }

    /// The promises `blastwall_abi::dfa` makes beyond the walk.
    #[allow(
        clippy::indexing_slicing,
        reason = "states come from a table whose transitions were checked to stay inside it"
    )]
    fn check_shape(&self) -> std::result::Result<(), String> {
        let (s, c) = (self.s, self.c);
        if s == 0 || c == 0 || s > MAX_STATES || self.start >= s {
            return Err(format!("bad sizes: s={s} c={c} start={}", self.start));
        }
        if self.next.iter().chain(&self.eoi).any(|&t| t as usize >= s) {
            return Err("a transition leaves the table".into());
        }
        // Classes are numbered in the order of their first byte, and all are used.
        let mut seen = 0usize;
        for &class in &self.classes {
            match usize::from(class) {
                k if k < seen => {}
                k if k == seen => seen += 1,
                k => return Err(format!("class {k} appears before class {seen}")),
            }
        }
        if seen != c {
            return Err(format!("{seen} classes used, {c} declared"));
        }
        // State 0 is dead.
        if (0..c).any(|k| self.get(0, k) != 0) || self.eoi.first() != Some(&0) || self.accepts(0) {
            return Err("state 0 is not dead".into());
        }
        // At most one matching state, which absorbs everything.
        let matching: Vec<usize> = (0..s).filter(|&q| self.accepts(q)).collect();
        if matching.len() > 1 || self.accept.iter().any(|&a| a > 1) {
            return Err(format!("matching states {matching:?}"));
        }
        if let Some(&m) = matching.first()
            && ((0..c).any(|k| self.get(m, k) != m) || self.eoi.get(m) != Some(&(m as u32)))
        {
            return Err("the matching state is not absorbing".into());
        }
        if self
            .eoi
            .iter()
            .any(|&e| e != 0 && !self.accepts(e as usize))
        {
            return Err(
                "an eoi transition leads to a state other than 0 or the matching one".into(),
            );
        }
        // Every state but 0 is reachable from the start.
        let mut reached = vec![false; s];
        let mut stack = vec![self.start];
        while let Some(q) = stack.pop() {
            if std::mem::replace(&mut reached[q], true) {
                continue;
            }
            stack.extend((0..c).map(|k| self.get(q, k)));
            stack.push(self.eoi[q] as usize);
        }
        if let Some(q) = (1..s).find(|&q| !reached[q]) {
            return Err(format!("state {q} is unreachable"));
        }
        // No two classes have the same column.
        for a in 0..c {
            for b in a + 1..c {
                if (0..s).all(|q| self.get(q, a) == self.get(q, b)) {
                    return Err(format!("classes {a} and {b} are the same"));
                }
            }
        }
        // Minimal: Moore's refinement, starting from "the end of the input matches here",
        // separates every state. It takes up to one round per state, so large tables (the
        // long-pattern tests) skip it.
        if s > 1_000 {
            return Ok(());
        }
        let mut block: Vec<usize> = (0..s)
            .map(|q| usize::from(self.accepts(self.eoi[q] as usize)))
            .collect();
        loop {
            let mut ids = std::collections::HashMap::new();
            let refined: Vec<usize> = (0..s)
                .map(|q| {
                    let sig: Vec<usize> = std::iter::once(block[q])
                        .chain((0..c).map(|k| block[self.get(q, k)]))
                        .collect();
                    let n = ids.len();
                    *ids.entry(sig).or_insert(n)
                })
                .collect();
            let done = ids.len() == block.iter().collect::<std::collections::HashSet<_>>().len();
            block = refined;
            if done {
                break;
            }
        }
        let blocks = block.iter().collect::<std::collections::HashSet<_>>().len();
        if blocks != s {
            return Err(format!(
                "not minimal: {s} states, {blocks} classes of equivalence"
            ));
        }
        Ok(())
    }
}

/// Encodes `dfa` at an awkward place, reads it back and checks its shape; returns the decoded
/// table, whose walk the caller compares with the reference matcher.
fn roundtrip(dfa: &Dfa) -> std::result::Result<Decoded, String> {
    let base = 0x1_0004;
    let mut mem = vec![0xEE; 3];
    let addr = dfa.encode_into(&mut mem, base);
    let table = (addr - base) as usize;
    let padding = mem.get(3..table).unwrap_or_default();
    if !addr.is_multiple_of(8) || padding.iter().any(|&b| b != 0) || table > 3 + 7 {
        return Err(format!("bad padding: address {addr}"));
    }
    let text_len = dfa.error_text().map_or(0, str::len);
    if mem.len() - table != dfa.encoded_len() + text_len {
        return Err(format!(
            "encoded_len {} but {} bytes written",
            dfa.encoded_len(),
            mem.len() - table
        ));
    }
    let decoded = decode(&mem, base, addr).map_err(|e| e.to_string())?;
    if decoded.kind != dfa.kind() as u32
        || decoded.s != dfa.state_count() as usize
        || decoded.c != dfa.class_count() as usize
    {
        return Err(format!("header does not match: {decoded:?}"));
    }
    if decoded.kind != 0 {
        decoded.check_shape()?;
        // The Rust and JavaScript hosts write 2-byte entries whenever they fit: the last
        // row's offset `2 × c × (s − 1)` with its matching bit, and the states in `eoi`.
        let (c, s) = (decoded.c as u64, decoded.s as u64);
        let narrow = (2 * c * s.saturating_sub(1)).max(s) < 1 << 16;
        if decoded.w != if narrow { 2 } else { 4 } {
            return Err(format!("entry size {} for c={c}, s={s}", decoded.w));
        }
    }
    Ok(decoded)
}

/// Asserts that `dfa`, its encoding and `reference` agree on every subject.
fn check(
    dfa: &Dfa,
    subjects: &[String],
    reference: impl Fn(&str) -> bool,
) -> std::result::Result<(), TestCaseError> {
    let decoded = roundtrip(dfa).map_err(TestCaseError::fail)?;
    for subject in subjects {
        let want = reference(subject);
        prop_assert_eq!(dfa.is_match(subject), want, "is_match({:?})", subject);
        prop_assert_eq!(
            decoded.is_match(subject),
            want,
            "decoded walk of {:?}",
            subject
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------ globs

fn glob_text() -> impl Strategy<Value = String> {
    let token = select(vec![
        "a", "b", "ab", "/", "*", "**", "?", "[ab]", "[!a]", "[a-é]", "[^/b]", "\\*", "\\a", "é",
        ".", "日",
    ]);
    (
        select(vec!["", "/", "//"]),
        prop::collection::vec(token, 1..6),
        select(vec!["", "/"]),
    )
        .prop_map(|(lead, body, trail)| format!("{lead}{}{trail}", body.concat()))
}

fn path_text() -> impl Strategy<Value = String> {
    let token = select(vec![
        "a", "b", "ab", "/", "//", ".", "./", "..", "é", "日本", "*", "[", "\n", "ba",
    ]);
    prop::collection::vec(token, 0..7).prop_map(|t| t.concat())
}

fn fixed_paths() -> Vec<String> {
    [
        "",
        "/",
        ".",
        "./",
        "./a",
        "a//b",
        "a/b/",
        "/a/b",
        "a/./b",
        "é",
        "日本",
        "a/é",
        "é/a",
        "ab/ab",
        "a/b/c",
        "b/a",
        "a",
        "b",
        "*",
        "a\nb",
        "a/é/日本",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn glob_tables_agree_with_glob_matches(
        pattern in glob_text(),
        paths in prop::collection::vec(path_text(), 40),
    ) {
        let Ok(glob) = Glob::new(&pattern) else {
            // Invalid globs have their own test; here only check they become kind 0.
            let dfa = glob_param_dfa(&pattern).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(dfa.kind(), DfaKind::Invalid);
            return Ok(());
        };
        let dfa = glob_dfa(&glob).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dfa.kind(), DfaKind::Glob);
        prop_assert_eq!(&glob_param_dfa(&pattern).map_err(|e| TestCaseError::fail(e.to_string()))?, &dfa);
        let mut subjects = fixed_paths();
        subjects.extend(paths);
        // Paths built from the pattern itself, so that some of them match.
        for fill in ["a", "é", "x/y"] {
            let concrete = pattern
                .replace("**", fill)
                .replace(['*', '?'], "b")
                .replace("[ab]", "a")
                .replace("[!a]", "日")
                .replace("[^/b]", "é")
                .replace("[a-é]", "c")
                .replace('\\', "");
            subjects.push(concrete.clone());
            subjects.push(format!("{concrete}/x"));
            subjects.push(format!("z/{concrete}"));
        }
        check(&dfa, &subjects, |p| glob.matches(p))?;
    }

    #[test]
    fn normalised_paths_are_what_globs_see(path in path_text()) {
        let n = normalize_path(&path);
        prop_assert!(!n.starts_with('/') && !n.ends_with('/') && !n.contains("//"));
        prop_assert!(n.split('/').all(|s| s != "."));
        prop_assert_eq!(normalize_path(&n), n.clone());
        // A glob cannot tell a path from its normal form.
        let glob = Glob::new("a").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(glob.matches(&path), glob.matches(&n));
    }
}

#[test]
fn glob_examples() -> Result {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "services/*/src/**",
            &["services/cart/src/lib.rs", "./services//cart/src/a/b"],
            &["services/cart/src", "x/services/cart/src/lib.rs"],
        ),
        (
            "docs/",
            &["a/docs/guide.md", "docs/x"],
            &["docs", "a/docs", "docsx/y"],
        ),
        ("?.md", &["é.md", "日.md", "x/a.md"], &["ab.md", ".md", "é"]),
        ("[!a]", &["é", "b/日", "b"], &["a", "ab", "éé"]),
        ("/a/**/b", &["a/b", "a/x/y/b", "a/b/c"], &["b", "x/a/b"]),
        ("**", &["a", "a/b", "é"], &["", "/", "."]),
        ("*", &["a", "é/x"], &["", "./"]),
        // A class never matches `/`, even through a range that spans it.
        ("/a[+-1]b", &["a.b", "a0b", "a+b/c"], &["a/b", "a/b/c"]),
        ("/a[!+-1]b", &["aéb", "a日b/c"], &["a/b", "a.b"]),
        // Negated classes keep out characters on both sides of the surrogates.
        (
            "[!\u{D7FF}\u{E000}]",
            &["\u{D7FE}", "\u{E001}", "x/a"],
            &["\u{D7FF}", "\u{E000}", "\u{E000}/\u{D7FF}"],
        ),
    ];
    for &(pattern, yes, no) in cases {
        let glob = Glob::new(pattern)?;
        let dfa = glob_dfa(&glob)?;
        roundtrip(&dfa)?;
        for path in yes {
            assert!(
                glob.matches(path),
                "reference: `{pattern}` should match `{path}`"
            );
            assert!(dfa.is_match(path), "`{pattern}` should match `{path}`");
        }
        for path in no {
            assert!(
                !glob.matches(path),
                "reference: `{pattern}` should not match `{path}`"
            );
            assert!(!dfa.is_match(path), "`{pattern}` should not match `{path}`");
        }
    }
    Ok(())
}

#[test]
fn long_globs() -> Result {
    let long = "a".repeat(4096);
    let dfa = glob_dfa(&Glob::new(&long)?)?;
    assert!(dfa.is_match(&format!("x/{long}/y")));
    assert!(!dfa.is_match(&long[1..]));
    roundtrip(&dfa)?;

    let stars = "*a".repeat(300);
    let glob = Glob::new(&stars)?;
    let dfa = glob_dfa(&glob)?;
    let path = "ba".repeat(300);
    assert!(dfa.is_match(&path) && glob.matches(&path));
    assert!(!dfa.is_match(&path[2..]) && !glob.matches(&path[2..]));

    // A `?` costs two states.
    let questions = "?".repeat(2000);
    let glob = Glob::new(&questions)?;
    let dfa = glob_dfa(&glob)?;
    assert!(dfa.state_count() < 4100, "{}", dfa.state_count());
    let path = "é".repeat(1000) + &"a".repeat(1000);
    assert!(dfa.is_match(&path) && glob.matches(&path));
    assert!(!dfa.is_match(&path[2..]) && !glob.matches(&path[2..]));
    roundtrip(&dfa)?;

    // A class costs up to eight states, since it reads UTF-8 exactly.
    let classes = "[!a]".repeat(1024);
    let dfa = glob_dfa(&Glob::new(&classes)?)?;
    assert!(dfa.state_count() < 8200, "{}", dfa.state_count());

    // A short valid glob can still need more states than a table may have: an `a` that is the
    // 17th character from the end of a name needs a state for each set of the last 17
    // characters that were an `a`.
    let pattern = format!("*a{}", "?".repeat(16));
    let got = glob_dfa(&Glob::new(&pattern)?);
    assert!(
        got.as_ref().is_err_and(|e| *e
            == DfaError::TooLarge {
                pattern: pattern.clone()
            }),
        "{:?}",
        got.map(|d| d.state_count())
    );
    assert_eq!(glob_param_dfa(&pattern), got);
    Ok(())
}

#[test]
fn invalid_param_globs() -> Result {
    for pattern in [
        "", "[", "a\\", "[z-a]", "//", "a[]", "[!]", "x\0y", "src/[ab",
    ] {
        let dfa = glob_param_dfa(pattern)?;
        let Err(why) = Glob::new(pattern) else {
            return Err(format!("`{pattern}` should be invalid").into());
        };
        let want = format!("invalid glob `{pattern}`: {why}");
        assert_eq!(dfa.kind(), DfaKind::Invalid);
        assert_eq!(dfa.error_text(), Some(want.as_str()));
        assert_eq!(dfa, Dfa::invalid(want.clone()));
        assert!(!dfa.is_match(pattern) && !dfa.is_match("a"));
        let decoded = roundtrip(&dfa)?;
        assert_eq!(decoded.text.as_deref(), Some(want.as_str()));
    }
    assert_eq!(
        glob_param_dfa("src/[ab")?.error_text(),
        Some("invalid glob `src/[ab`: unclosed `[` in glob `src/[ab`")
    );
    assert_eq!(glob_param_dfa("src/*")?.error_text(), None);
    Ok(())
}

// -------------------------------------------------------------------------- regexes

fn regex_text() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "a",
        "b",
        "ab",
        "é",
        "日",
        "[ab]",
        "[^a]",
        "(?:a|b)",
        "(a|é)",
        "^",
        "$",
        "\\d",
        ".",
        ".*",
        "a*",
        "b+",
        "é?",
        "[α-ω]",
        "\\w",
        "\\s",
        "(?-u:\\b)",
        "(?i)a",
        "(?m)$",
        "(?s).",
        "\\A",
        "\\z",
        "\\p{Greek}",
        "\\D",
        "[[:digit:]]",
        "a{2}",
        "(?:ab)*",
        "\\n",
    ]);
    (
        prop::collection::vec(piece.clone(), 1..5),
        prop::option::of(prop::collection::vec(piece, 1..3)),
    )
        .prop_map(|(a, b)| match b {
            None => a.concat(),
            Some(b) => format!("{}|{}", a.concat(), b.concat()),
        })
}

fn subject_text() -> impl Strategy<Value = String> {
    let token = select(vec![
        "a", "b", "A", "é", "É", "日", "1", "٣", "\n", " ", "α", "Ω", "_", "ab", "bb",
    ]);
    prop::collection::vec(token, 0..8).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn regex_tables_agree_with_the_regex_crate(
        pattern in regex_text(),
        subjects in prop::collection::vec(subject_text(), 40),
    ) {
        let reference = match regex::Regex::new(&pattern) {
            Ok(r) => r,
            Err(_) => {
                let got = regex_dfa(&pattern);
                prop_assert!(matches!(got, Err(DfaError::Syntax { .. })), "{:?}", got);
                return Ok(());
            }
        };
        let dfa = regex_dfa(&pattern).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(dfa.kind(), DfaKind::Regex);
        let mut all: Vec<String> = ["", "a", "ab", "é", "1", "\n", "Ωa"].iter().map(|s| (*s).to_owned()).collect();
        all.extend(subjects);
        check(&dfa, &all, |s| reference.is_match(s))?;
    }
}

#[test]
fn regex_examples() -> Result {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("", &["", "x"], &[]),
        ("a", &["a", "xxa", "ab"], &["", "b", "A"]),
        ("^v\\d+\\.", &["v1.", "v٣٣.x"], &["xv1.", "v.", "v1"]),
        ("x$", &["ax", "x"], &["xa", "x\n"]),
        ("(?m)^b$", &["a\nb\nc", "b"], &["ab", "a\nbc"]),
        ("^$", &[""], &["\n", "a"]),
        ("[^\\x00-\\x{10FFFF}]", &[], &["", "a", "日"]),
        ("é|日本", &["xé", "日本語"], &["e", "日"]),
        ("\\bfoo(?-u:\\b)", &[], &[]),
    ];
    for &(pattern, yes, no) in cases {
        if pattern.starts_with("\\b") {
            let got = regex_dfa(pattern);
            assert!(
                matches!(got, Err(DfaError::Unsupported { .. })),
                "Unicode \\b is unsupported: {got:?}"
            );
            continue;
        }
        let reference = regex::Regex::new(pattern)?;
        let dfa = regex_dfa(pattern)?;
        let decoded = roundtrip(&dfa)?;
        for s in yes {
            assert!(
                reference.is_match(s),
                "reference: `{pattern}` should match {s:?}"
            );
            assert!(
                dfa.is_match(s) && decoded.is_match(s),
                "`{pattern}` should match {s:?}"
            );
        }
        for s in no {
            assert!(
                !reference.is_match(s),
                "reference: `{pattern}` should not match {s:?}"
            );
            assert!(
                !dfa.is_match(s) && !decoded.is_match(s),
                "`{pattern}` should not match {s:?}"
            );
        }
    }
    // A regex that can never match has only the dead state.
    let never = regex_dfa("[^\\x00-\\x{10FFFF}]")?;
    assert_eq!(never.state_count(), 1);
    Ok(())
}

#[test]
fn regex_errors() -> Result {
    let got = regex_dfa("(a");
    let Err(DfaError::Syntax { pattern, reason }) = &got else {
        return Err(format!("{got:?}").into());
    };
    assert_eq!(pattern, "(a");
    assert!(reason.contains("unclosed group"), "{reason}");
    assert!(got.is_err_and(|e| {
        e.to_string()
            .starts_with("invalid regular expression `(a`: ")
    }));

    let got = regex_dfa("\\bx");
    assert!(
        got.as_ref().is_err_and(|e| e
            .to_string()
            .starts_with("regular expression `\\bx` cannot be compiled to a DFA: ")),
        "{got:?}"
    );
    Ok(())
}

#[test]
fn size_limits() -> Result {
    // An `a` exactly n + 1 letters before the end takes 2^(n+1) states: one for each set of
    // the last n + 1 letters that were an `a`.
    let fits = regex_dfa("a[ab]{10}$")?;
    assert!(fits.state_count() as usize > 1 << 11);
    assert!(!fits.is_match("ba0123456789") && fits.is_match("xabbbbbbbbbb"));
    assert!(!fits.is_match("xabbbbbbbbbbb") && fits.is_match("bbaabbbbbbbbb"));
    roundtrip(&fits)?;

    let too_large = |pattern: &str| {
        let got = regex_dfa(pattern);
        assert_eq!(
            got,
            Err(DfaError::TooLarge {
                pattern: pattern.to_owned()
            })
        );
        got.err().map(|e| e.to_string())
    };
    // Too large for the table, though regex-automata builds it.
    too_large("a[ab]{14}$");
    // Too large to build at all.
    assert_eq!(
        too_large("a[ab]{24}$").as_deref(),
        Some("pattern `a[ab]{24}$` needs a DFA larger than the limit of 10000 states")
    );
    // Small once minimised, but only after a blow-up in the intermediate automaton (every
    // `a` of a run starts its own count): refused too.
    too_large("a[ab]{14}");
    // A huge NFA.
    too_large("\\w{2000}");
    Ok(())
}

// ---------------------------------------------------------------------- the layout

#[test]
fn layout_byte_by_byte() -> Result {
    // `/a` is `^a(/.*)?$`: the start reads `a`; after it the end matches and a `/` makes
    // everything match.
    let dfa = glob_dfa(&Glob::new("/a")?)?;
    let mut out = vec![0xAA; 3];
    let addr = dfa.encode_into(&mut out, 12);
    assert_eq!(addr, 16);
    assert_eq!(out.get(..4), Some(&[0xAA, 0xAA, 0xAA, 0][..]));
    let t = out.get(4..).ok_or("no table")?;
    let words = |from: usize, n: usize| -> Vec<u32> {
        (0..n)
            .map(|i| u32_at(t, from + 4 * i).unwrap_or(u32::MAX))
            .collect()
    };
    // kind 1, 3 classes (other, `/`, `a`), 4 states (dead, start, after `a`, matching),
    // start 1.
    assert_eq!(words(0, 4), [1, 3, 4, 1]);
    // No filters: `a` has no pair of adjacent bytes. 2-byte entries.
    assert_eq!(words(16, 2), [0, 2]);
    let classes: Vec<u8> = (0..=255u8)
        .map(|b| match b {
            b'/' => 1,
            b'a' => 2,
            _ => 0,
        })
        .collect();
    assert_eq!(t.get(24..280), Some(classes.as_slice()));
    #[rustfmt::skip]
    assert_eq!(halves_of(t, 280, 12), [
        0, 0, 0, // dead
        0, 0, 2 * 6, // start: `a` goes on (rows are 3 classes × 2 bytes)
        0, (3 * 6) | 1, 0, // after `a`: `/` matches (bit 0: the matching state)
        19, 19, 19, // matching
    ]);
    assert_eq!(halves_of(t, 280 + 24, 4), [0, 0, 3, 3]);
    assert_eq!(t.get(280 + 24 + 8..), Some(&[0, 0, 0, 1][..]));
    assert_eq!(t.len(), dfa.encoded_len());
    assert_eq!(dfa.encoded_len(), 24 + 256 + 2 * 4 * 3 + 2 * 4 + 4);

    // `*.md` and `**/tests/**` have one filter each, the bits of their literals' pairs; the
    // union has both, in ascending order, and the class map follows them.
    let bits = |pairs: &[&[u8; 2]]| {
        pairs
            .iter()
            .map(|p| subject_mask(&p[..]))
            .fold(0, |a, b| a | b)
    };
    let md = bits(&[b".m", b"md"]);
    let tests = bits(&[b"te", b"es", b"st", b"ts"]);
    let dfa = glob_dfa(&Glob::new("*.md")?)?;
    let mut out = Vec::new();
    dfa.encode_into(&mut out, 0);
    assert_eq!(words_of(&out, 16, 4), [1, 2, md as u32, (md >> 32) as u32]);
    assert_eq!(decode(&out, 0, 0)?.filters, [md]);
    assert_eq!(out.len(), dfa.encoded_len());
    let (s, c) = (dfa.state_count() as usize, dfa.class_count() as usize);
    assert_eq!(out.len(), 24 + 8 + 256 + s * (2 * c + 3));
    let decoded = decode(&out, 0, 0)?;
    assert!(decoded.is_match("docs/a.md") && !decoded.is_match("docs/a.rs"));
    let union = glob_list_dfas(&["**/tests/**", "*.md"])?;
    assert_eq!(union.len(), 1);
    let mut out = Vec::new();
    union.first().ok_or("no table")?.encode_into(&mut out, 0);
    assert_eq!(decode(&out, 0, 0)?.filters, [md.min(tests), md.max(tests)]);

    // Unanchored `a`: everything after an `a` matches.
    let dfa = regex_dfa("a")?;
    let mut out = Vec::new();
    assert_eq!(dfa.encode_into(&mut out, 8), 8);
    assert_eq!(words_of(&out, 0, 4), [2, 2, 3, 1]);
    assert_eq!(words_of(&out, 16, 2), [0, 2]);
    assert_eq!(halves_of(&out, 280, 6), [0, 0, 4, (2 * 4) | 1, 9, 9]);
    assert_eq!(halves_of(&out, 280 + 12, 3), [0, 0, 2]);
    assert_eq!(out.get(280 + 18..), Some(&[0, 0, 1][..]));

    // A table whose rows do not fit 2-byte offsets has 4-byte entries: a literal of 920
    // bytes over 46 letters is 921 states of 47 classes.
    let long = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ".repeat(20);
    let dfa = regex_dfa(&long)?;
    let (s, c) = (dfa.state_count() as usize, dfa.class_count() as usize);
    assert!(2 * c * (s - 1) >= 1 << 16, "c={c}, s={s}");
    assert_eq!(dfa.entry_size(), 4);
    let mut out = Vec::new();
    dfa.encode_into(&mut out, 0);
    assert_eq!(words_of(&out, 16, 2), [0, 4]);
    assert_eq!(out.len(), 24 + 256 + s * (4 * c + 5));
    assert_eq!(out.len(), dfa.encoded_len());
    let decoded = roundtrip(&dfa)?;
    let near = format!("{}x", long.get(..long.len() - 1).ok_or("short")?);
    for (subject, want) in [
        (format!("x{long}y"), true),
        (near, false),
        (String::new(), false),
    ] {
        assert_eq!(decoded.is_match(&subject), want);
        assert_eq!(dfa.is_match(&subject), want);
    }

    // An invalid pattern: the header, a `str` slot, then the text.
    let dfa = Dfa::invalid("oops".to_owned());
    let mut out = vec![1];
    let addr = dfa.encode_into(&mut out, 0x100);
    assert_eq!(addr, 0x108);
    assert_eq!(out.len(), 8 + 24 + 4);
    assert_eq!(dfa.encoded_len(), 24);
    assert_eq!(words_of(&out, 8, 6), [0, 0, 0, 0, 0x108 + 24, 4]);
    assert_eq!(out.get(32..), Some(&b"oops"[..]));

    // Several tables in one buffer, each found at the address returned.
    let dfas = [
        glob_dfa(&Glob::new("*.md")?)?,
        regex_dfa("b+")?,
        Dfa::invalid("x".to_owned()),
        glob_dfa(&Glob::new("docs/")?)?,
    ];
    let base = 0x2000;
    let mut mem = Vec::new();
    let addrs: Vec<u32> = dfas.iter().map(|d| d.encode_into(&mut mem, base)).collect();
    for (dfa, addr) in dfas.iter().zip(addrs) {
        let decoded = decode(&mem, base, addr)?;
        for s in ["a.md", "x/docs/y", "abb", "docs", ""] {
            assert_eq!(decoded.is_match(s), dfa.is_match(s), "{s}");
        }
    }
    Ok(())
}

fn words_of(mem: &[u8], from: usize, n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| u32_at(mem, from + 4 * i).unwrap_or(u32::MAX))
        .collect()
}

/// The `n` 2-byte entries from `from`, as `words_of` reads 4-byte ones.
fn halves_of(mem: &[u8], from: usize, n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| entry_at(mem, from + 2 * i, 2).unwrap_or(u32::MAX))
        .collect()
}

// ------------------------------------------------------------------ the shipped rules

/// The string elements of every `[str]` parameter default in `rules/*.bw`.
fn shipped_patterns() -> Result<Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut files: Vec<_> = std::fs::read_dir(dir)?.collect::<std::result::Result<_, _>>()?;
    files.sort_by_key(std::fs::DirEntry::path);
    let mut patterns = Vec::new();
    for file in files {
        if file.path().extension().is_none_or(|e| e != "bw") {
            continue;
        }
        let text = std::fs::read_to_string(file.path())?;
        let mut in_list = false;
        for line in text.lines() {
            if line.starts_with("param ") && line.contains(": [str] = [") {
                in_list = true;
            }
            if in_list {
                patterns.extend(line.split('"').skip(1).step_by(2).map(str::to_owned));
                if line.trim_end().ends_with(']') {
                    in_list = false;
                }
            }
        }
    }
    patterns.sort();
    patterns.dedup();
    Ok(patterns)
}

#[test]
fn shipped_globs_compile_and_agree() -> Result {
    let patterns = shipped_patterns()?;
    assert!(
        patterns.len() > 100,
        "found only {} patterns",
        patterns.len()
    );
    assert!(patterns.iter().any(|p| p == "**/db/migrate/**"));
    let mut report = String::from("pattern\tstates\tclasses\tbytes\n");
    let (mut states, mut bytes) = (0, 0);
    for pattern in &patterns {
        let glob = Glob::new(pattern)?;
        let dfa = glob_param_dfa(pattern)?;
        assert_eq!(dfa.kind(), DfaKind::Glob, "{pattern}");
        let mut subjects = fixed_paths();
        for p in [
            pattern.replace("**", "x/y").replace('*', "z"),
            pattern.replace("**/", "").replace('*', ""),
            pattern.replace("/**", ""),
        ] {
            subjects.extend([
                p.clone(),
                format!("{p}/f"),
                format!("a/{p}"),
                format!("{p}x"),
                p.to_uppercase(),
            ]);
            subjects.push(p.chars().skip(1).collect());
        }
        check(&dfa, &subjects, |p| glob.matches(p)).map_err(|e| format!("{pattern}: {e}"))?;
        report.push_str(&format!(
            "{pattern}\t{}\t{}\t{}\n",
            dfa.state_count(),
            dfa.class_count(),
            dfa.encoded_len()
        ));
        states += dfa.state_count();
        bytes += dfa.encoded_len();
    }
    report.push_str(&format!(
        "total ({})\t{states}\t\t{bytes}\n",
        patterns.len()
    ));
    eprintln!("{report}");
    Ok(())
}
