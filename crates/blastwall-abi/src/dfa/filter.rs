//! Literal filters: a cheap test, made before a glob table is walked, that rules out most
//! subjects the table cannot match (docs/abi.md, Patterns).
//!
//! Every pair of adjacent bytes (a *bigram*) is hashed to one of 64 bits. A subject's mask has
//! the bit of each of its bigrams; a glob's mask has the bit of each bigram inside one of its
//! literal parts. A glob can match a path only when the path's mask holds all of the glob's
//! bits: a literal part matches characters of one path segment exactly, path segments are
//! never changed by normalisation (only empty and `.` segments are dropped), so the literal's
//! bytes lie next to each other in the path as given. A union of globs can match only when one
//! of its globs' masks is held; a union with a glob that has no bigram (`*`, `?.rs`, `a`) is
//! not filtered.
//!
//! The test only ever says *cannot match*; whether a subject matches is still the walk's to
//! say. Paths of one change mostly differ in their last segments, and the shipped path lists
//! name directories and extensions that most paths do not contain, so most walks are skipped.

use crate::glob::{Glob, Part, Segment};

/// The bit of the bigram `a b`: the top six bits of a multiplicative hash of `a + 256 × b`
/// (the pair read as a little-endian `u16`, as a walker loads it).
pub fn bigram_bit(a: u8, b: u8) -> u64 {
    let x = u32::from(u16::from_le_bytes([a, b])).wrapping_mul(0x9E37_79B1);
    1 << (x >> 26)
}

/// The mask of a subject: the bit of each pair of adjacent bytes.
pub fn subject_mask(bytes: &[u8]) -> u64 {
    bytes.windows(2).fold(0, |m, w| match w {
        [a, b] => m | bigram_bit(*a, *b),
        _ => m,
    })
}

/// The mask of a glob: the bit of each pair of adjacent bytes inside one of its literal parts
/// (in UTF-8). `0` when it has none, and then it cannot be filtered.
pub fn glob_mask(glob: &Glob) -> u64 {
    glob.segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Parts(parts) => Some(parts),
            Segment::AnyDepth => None,
        })
        .flatten()
        .filter_map(|p| match p {
            Part::Literal(s) => Some(subject_mask(s.as_bytes())),
            Part::Star | Part::Question | Part::Class { .. } => None,
        })
        .fold(0, |m, l| m | l)
}

/// The filters of a table of the union of `globs`: the least set of masks such that a path
/// the union matches holds one of them. Empty when some glob has no bigram (every path may
/// match it). Sorted ascending; a mask that holds another is left out, since a path that
/// holds it holds the other too.
pub fn union_filters(globs: &[Glob]) -> Vec<u64> {
    let mut masks: Vec<u64> = globs.iter().map(glob_mask).collect();
    if masks.contains(&0) {
        return Vec::new();
    }
    masks.sort_unstable();
    masks.dedup();
    masks
        .iter()
        .copied()
        .filter(|&m| !masks.iter().any(|&o| o != m && o & m == o))
        .collect()
}

/// Whether a subject of mask `subject` may match a table with `filters`: there are none, or
/// one has no bit the subject lacks.
pub fn passes(filters: &[u64], subject: u64) -> bool {
    filters.is_empty() || filters.iter().any(|f| f & !subject == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Option<Glob> {
        Glob::new(p).ok()
    }

    #[test]
    fn a_glob_without_bigrams_is_not_filtered() {
        for p in ["*", "**", "?", "a", "*.?", "[ab]c", "a/b/*"] {
            let g = glob(p);
            assert!(g.is_some(), "{p}");
            if let Some(g) = g {
                assert_eq!(glob_mask(&g), 0, "{p}");
                assert!(union_filters(&[g]).is_empty(), "{p}");
            }
        }
    }

    #[test]
    fn bigrams_span_literals_only() {
        let g = glob("**/ab*cd/ef");
        assert!(g.is_some());
        if let Some(g) = g {
            let want = bigram_bit(b'a', b'b') | bigram_bit(b'c', b'd') | bigram_bit(b'e', b'f');
            assert_eq!(glob_mask(&g), want);
        }
    }

    #[test]
    fn a_mask_that_holds_another_is_left_out() {
        let globs: Vec<Glob> = ["**/tests/**", "**/tests/unit/**", "*.md"]
            .iter()
            .filter_map(|p| glob(p))
            .collect();
        assert_eq!(globs.len(), 3);
        let filters = union_filters(&globs);
        let tests = globs.first().map(glob_mask).unwrap_or(0);
        let md = globs.get(2).map(glob_mask).unwrap_or(0);
        let mut want = vec![tests, md];
        want.sort_unstable();
        assert_eq!(filters, want);
    }

    #[test]
    fn the_filter_passes_every_path_its_globs_match_and_stops_others() {
        let globs: Vec<Glob> = ["**/migrations/**", "*.tf", "CODEOWNERS"]
            .iter()
            .filter_map(|p| glob(p))
            .collect();
        let filters = union_filters(&globs);
        assert_eq!(filters.len(), 3);
        for path in [
            "db/migrations/0001.sql",
            "./db//migrations/./x",
            "infra/main.tf",
            "a.tf/inside",
            ".github/CODEOWNERS",
        ] {
            assert!(globs.iter().any(|g| g.matches(path)), "{path}");
            assert!(passes(&filters, subject_mask(path.as_bytes())), "{path}");
        }
        for path in [
            "services/cart/src/file1.rs",
            "web/src/checkout/file2.rs",
            "",
            "x",
        ] {
            assert!(!passes(&filters, subject_mask(path.as_bytes())), "{path}");
        }
    }
}
