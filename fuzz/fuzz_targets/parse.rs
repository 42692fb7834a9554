//! Parse and format arbitrary bytes (as lossy UTF-8). Neither may panic, every diagnostic
//! must point into the input, and a successful format must read back as the same tree and
//! format to itself. The body is `blastwall_syntax::fuzz::check_one`, which
//! `crates/blastwall-syntax/tests/fuzz_smoke.rs` also runs under `cargo test`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall_syntax::fuzz::check_one(data);
});
