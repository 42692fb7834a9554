//! Parse arbitrary text as a CODEOWNERS file in both dialects: never a panic, every owner
//! named for a path is written in the file, and the owner facts are decided on alike by both
//! evaluators. The body is
//! `blastwall::fuzz::check_codeowners`, which `crates/blastwall/tests/fuzz_adapters_smoke.rs` also runs under
//! `cargo test`.
//!
//!     cargo +nightly fuzz run codeowners fuzz/seeds/codeowners

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_codeowners(data);
});
