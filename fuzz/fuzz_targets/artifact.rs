//! Load the sealed precompiled artifact of the shipped rules, edited as the input says
//! (overwrite, insert, cut, flip bits, or the input itself as the whole file): anything but the
//! artifact as sealed is refused before wasmtime runs any of it, and the sealed one loads. The body is
//! `blastwall::fuzz::check_artifact`, which `crates/blastwall/tests/fuzz_adapters_smoke.rs` also runs under
//! `cargo test`.
//!
//!     cargo +nightly fuzz run artifact

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_artifact(data);
});
