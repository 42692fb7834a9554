//! The wasmtime host for compiled policies (see docs/abi.md).
