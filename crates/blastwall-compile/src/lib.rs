//! Compiles checked policies to WebAssembly (see docs/abi.md).
