//! Read arbitrary text as a Terraform plan (`terraform show -json`): the adapter refuses it
//! or makes a `plan` both evaluators decide on alike, the same twice, never panicking. The body is
//! `blastwall::fuzz::check_terraform`, which `crates/blastwall/tests/fuzz_adapters_smoke.rs` also runs under
//! `cargo test`.
//!
//!     cargo +nightly fuzz run terraform fuzz/seeds/terraform

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    blastwall::fuzz::check_terraform(data);
});
