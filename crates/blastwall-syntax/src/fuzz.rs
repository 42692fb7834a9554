//! The oracle shared by the fuzz target (`fuzz/fuzz_targets/parse.rs`) and its smoke test
//! (`tests/fuzz_smoke.rs`): one body, so the two cannot drift apart.

use crate::{Diagnostic, FormatError, format_source, parse};

/// Parse and format arbitrary bytes (as lossy UTF-8). Neither may panic, every diagnostic must
/// point into the input, and a successful format must read back as the same tree and format to
/// itself. A broken property panics: that is how a fuzzer learns of it.
#[expect(
    clippy::panic,
    reason = "a fuzz oracle reports a broken property by panicking"
)]
pub fn check_one(data: &[u8]) {
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
}

fn assert_span_inside(e: &Diagnostic, src: &str) {
    let (start, end) = (e.span.start as usize, e.span.end as usize);
    assert!(
        start <= end && end <= src.len(),
        "diagnostic `{}` has span {start}..{end} outside the input of {} bytes",
        e.message,
        src.len()
    );
}
