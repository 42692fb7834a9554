//! Top-level tests and benches of the blastwall workspace live in `tests/` and `benches/`.
