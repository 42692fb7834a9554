//! The `parse` fuzz target (`fuzz/fuzz_targets/parse.rs`) run a few hundred times under
//! `cargo test`, on inputs made by a small deterministic generator: mutations of the example
//! policies (byte flips, truncation at every position, duplicated slices, runs of `(` and
//! `not `), a 1 MB single line, NUL bytes, invalid UTF-8 and an empty file.
//!
//! `fuzz_one` is the body of the fuzz target; keep the two the same.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blastwall_syntax::parse;

const EXAMPLE: &str = r#"/// AI-assisted changes to production code need an experienced reviewer.
rule ai_change_needs_senior_review {
  level hard
  when change.ai.assisted == "yes"      // tri-state: yes | no | unknown
   and some f in change.files: f.path matches "services/*/src/**"
  require review from config.senior_team count 1
  message "AI-assisted change to {f.path} needs a review from {config.senior_team}"
}
rule no_production_replace {
  level hard
  when some r in plan.resources: r.env == "production" and r.action in ["delete", "replace"]
  deny "plan would {r.action} production resource {r.address}"
}
rule wide_blast_radius {
  let hit = dependents(topology, change.services, depth: 3)
  when count(hit) > config.max_dependents or some s in hit: s.tier == 1
  require review count 2
}
param max_dependents: int = 10
fn is_prod(r: Resource) = (r.env ?? "unknown") in ["production", "prod"]
test "an AI change with no approvals needs review" {
  given change { ai: { assisted: "yes" }, files: [{ path: "services/cart/src/lib.rs" }] }
  expect review from "team:senior"
  expect fires ai_change_needs_senior_review times 1
}
"#;

/// The fuzz target's body, shared with `fuzz/fuzz_targets/parse.rs`.
fn fuzz_one(data: &[u8]) {
    blastwall_syntax::fuzz::check_one(data);
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn inputs() -> Vec<Vec<u8>> {
    let base = EXAMPLE.as_bytes();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<Vec<u8>> = vec![base.to_vec(), Vec::new(), b"\n".to_vec()];

    // Truncation at every position.
    for i in 0..base.len() {
        out.push(base[..i].to_vec());
    }
    // Byte flips: one to four random bits in random places.
    for _ in 0..150 {
        let mut bytes = base.to_vec();
        for _ in 0..=rng.below(4) {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        out.push(bytes);
    }
    // Random bytes from the policy's own alphabet written over it.
    for _ in 0..50 {
        let mut bytes = base.to_vec();
        for _ in 0..=rng.below(6) {
            let i = rng.below(bytes.len());
            bytes[i] = base[rng.below(base.len())];
        }
        out.push(bytes);
    }
    // A slice duplicated in place.
    for _ in 0..60 {
        let a = rng.below(base.len());
        let b = (a + rng.below(80)).min(base.len());
        let at = rng.below(base.len());
        let mut bytes = base[..at].to_vec();
        bytes.extend_from_slice(&base[a..b]);
        bytes.extend_from_slice(&base[at..]);
        out.push(bytes);
    }
    // Runs that push nesting limits, inserted at random places and in a `when`.
    let when = EXAMPLE.find("when count").unwrap() + "when ".len();
    for run in [
        "(".repeat(200),
        "not ".repeat(100),
        "[".repeat(70),
        "-".repeat(100),
    ] {
        for at in [0, when, rng.below(base.len()), rng.below(base.len())] {
            let mut bytes = base[..at].to_vec();
            bytes.extend_from_slice(run.as_bytes());
            bytes.extend_from_slice(&base[at..]);
            out.push(bytes);
        }
    }
    // NUL bytes, alone and in the policy.
    out.push(vec![0; 64]);
    for _ in 0..10 {
        let mut bytes = base.to_vec();
        bytes.insert(rng.below(bytes.len()), 0);
        out.push(bytes);
    }
    // Invalid UTF-8, made lossy by the target: stray continuation bytes, a cut-off sequence,
    // overlong forms, and a multi-byte character cut at every byte.
    out.push(vec![0x80, 0xbf, 0xfe, 0xff]);
    for bad in [
        &[0xc3][..],
        &[0xe2, 0x82],
        &[0xc0, 0xaf],
        &[0xed, 0xa0, 0x80],
        &[0xf8],
    ] {
        let at = rng.below(base.len());
        let mut bytes = base[..at].to_vec();
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(&base[at..]);
        out.push(bytes);
    }
    let with_unicode = format!("{EXAMPLE}rule é {{ when \"日本\" == x }}\n");
    for i in EXAMPLE.len()..with_unicode.len() {
        out.push(with_unicode.as_bytes()[..i].to_vec());
    }
    // A 1 MB single line of garbage, a 1 MB list literal that formats to one element per
    // line, and a condition too deep to accept (smaller: it only needs to pass the limit).
    const MB: usize = 1 << 20;
    out.push("x".repeat(MB).into_bytes());
    let mut list = String::from("param p: [int] = [");
    while list.len() < MB {
        list.push_str("12345, ");
    }
    list.push(']');
    out.push(list.into_bytes());
    let mut when = String::from("rule r { when a");
    while when.len() < 64 * 1024 {
        when.push_str(" and a");
    }
    when.push_str(" }");
    out.push(when.into_bytes());
    out
}

#[test]
fn smoke() {
    let inputs = inputs();
    assert!(inputs.len() >= 300, "only {} inputs", inputs.len());
    for data in &inputs {
        fuzz_one(data);
    }
}

#[test]
fn error_spans_fall_on_char_boundaries() {
    let src = "rule x {\n  when a == \u{1}ééééé\n}\n";
    for e in parse(src).errors {
        let (start, end) = (e.span.start as usize, e.span.end as usize);
        assert!(
            src.is_char_boundary(start) && src.is_char_boundary(end),
            "`{}` at {start}..{end}",
            e.message
        );
    }
}
