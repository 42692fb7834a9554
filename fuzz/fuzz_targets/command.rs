//! Classify arbitrary text as an agent's command line: the shell adapter never panics,
//! classifies the same text the same way twice, and makes an `action` both evaluators decide on
//! alike. The body is
//! `blastwall::fuzz::check_command`, which `crates/blastwall/tests/fuzz_adapters_smoke.rs` also runs under
//! `cargo test`.
//!
//!     cargo +nightly fuzz run command fuzz/seeds/command

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_command(data);
});
