//! Load a small compiled policy whose metadata JSON is replaced by arbitrary bytes, and decide
//! on a few facts when it loads: every tampered module is refused or decides (or fails) with a
//! clear error, never a panic and never an abort on a huge allocation. The body is
//! `blastwall::fuzz::check_metadata`, which `crates/blastwall/tests/fuzz_metadata_smoke.rs`
//! also runs under `cargo test`.
//!
//! The seed is the policy's own metadata; the dictionary holds its keys and shapes:
//!
//!     cargo +nightly fuzz run metadata fuzz/seeds/metadata -- -dict=fuzz/metadata.dict

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_metadata(data);
});
