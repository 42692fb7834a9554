//! Parse and format arbitrary bytes (as lossy UTF-8). Neither may panic, every diagnostic
//! must point into the input, and a successful format must read back as the same tree and
//! format to itself.
//!
//! Keep this body the same as `fuzz_one` in `crates/blastwall-syntax/tests/fuzz_smoke.rs`.

#![no_main]

use blastwall_syntax::{Diagnostic, FormatError, format_source, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    let parsed = parse(&src);
    for e in &parsed.errors {
        assert_span_inside(e, &src);
    }
    match format_source(&src) {
        Ok(out) => {
            assert!(parsed.errors.is_empty(), "formatted a source with errors");
            assert_eq!(parse(&out).file, parsed.file, "formatting changed the tree");
            assert_eq!(
                format_source(&out).as_deref(),
                Ok(out.as_str()),
                "not idempotent"
            );
        }
        Err(FormatError::Parse(errors)) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert_span_inside(e, &src);
            }
        }
        Err(e @ FormatError::Unsound { .. }) => panic!("{e}\n--- input\n{src}"),
    }
});

fn assert_span_inside(e: &Diagnostic, src: &str) {
    let (start, end) = (e.span.start as usize, e.span.end as usize);
    assert!(
        start <= end && end <= src.len(),
        "diagnostic `{}` has span {start}..{end} outside the input of {} bytes",
        e.message,
        src.len()
    );
}
