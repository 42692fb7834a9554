//! Decide on arbitrary bytes read as JSON facts with the shipped rules, in the reference
//! interpreter and in the compiled module: both must decide alike or refuse alike, and
//! neither may panic. The body is `blastwall::fuzz::check_facts`, which
//! `crates/blastwall/tests/fuzz_facts_smoke.rs` also runs under `cargo test`.
//!
//! Seeds are in `fuzz/seeds/facts/` and field names in `fuzz/facts.dict`:
//!
//!     cargo +nightly fuzz run facts fuzz/seeds/facts -- -dict=fuzz/facts.dict

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_facts(data);
});
