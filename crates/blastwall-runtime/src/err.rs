//! The runtime's errors: [`LoadError`] when a module or artifact is refused, [`EvalError`] when a
//! decision could not be made.

use crate::abi::{DecodeError, FactsError, LayoutError};

/// A module or precompiled artifact that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The wasmtime engine could not be configured.
    #[error("cannot set up the wasmtime engine: {0}")]
    Engine(String),
    /// The bytes are not a valid WebAssembly module of the kind blastwall accepts.
    #[error("not a valid policy module: {0}")]
    Invalid(String),
    /// The module imports something; policy modules import nothing.
    #[error("the module imports `{module}::{name}`, but a policy module must import nothing")]
    Import {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// A required export is missing.
    #[error("the module does not export `{0}`")]
    MissingExport(&'static str),
    /// A required export has the wrong kind or type.
    #[error("the module exports `{name}` as {found}, but the ABI wants {expected}")]
    ExportType {
        /// The export's name.
        name: &'static str,
        /// What it should be, e.g. `a function (i32) -> i32`.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// The `blastwall` custom section is missing.
    #[error("the module has no `blastwall` metadata section; was it compiled by blastwall?")]
    NoMetadata,
    /// The module has more than one `blastwall` custom section.
    #[error("the module has more than one `blastwall` metadata section")]
    DuplicateMetadata,
    /// The `blastwall` custom section is not metadata.
    #[error("the `blastwall` metadata section is not valid metadata: {0}")]
    BadMetadata(String),
    /// The module speaks another ABI version.
    #[error(
        "the module speaks blastwall ABI version {found}, but this runtime speaks version {expected}"
    )]
    AbiVersion {
        /// The version the module declares.
        found: u32,
        /// The version this runtime speaks.
        expected: u32,
    },
    /// The metadata's layout cannot be used to encode facts.
    #[error("the module's layout cannot be used: {0}")]
    Layout(#[source] LayoutError),
    /// Cranelift could not compile the module.
    #[error("cannot compile the module: {0}")]
    Compile(String),
    /// The bytes are not a blastwall precompiled artifact.
    #[error(
        "not a blastwall precompiled module (it neither ends with the artifact trailer nor starts like compiled code)"
    )]
    NotAnArtifact,
    /// The artifact ends early or has trailing bytes.
    #[error("the precompiled module is truncated or malformed: {0}")]
    Truncated(&'static str),
    /// The artifact was written in another format version.
    #[error(
        "the precompiled module has format version {found}; this runtime reads version {expected}: precompile it again with this build"
    )]
    ArtifactVersion {
        /// The artifact's format version.
        found: u32,
        /// The version this runtime reads.
        expected: u32,
    },
    /// The artifact was compiled by another wasmtime version or engine configuration.
    #[error(
        "the precompiled module was made by another wasmtime version, engine configuration or CPU; precompile it again with this build"
    )]
    ArtifactEngine,
    /// The artifact's seal does not verify with this engine's [`ArtifactKey`](crate::ArtifactKey):
    /// another user or machine made it, an older blastwall that did not seal artifacts, or
    /// it was changed since. Checked before anything else of the artifact is read.
    #[error(
        "the precompiled module is not sealed with this user's artifact key: it was made by another user, on another machine or by an older blastwall, or it was changed since; an artifact is native code, so only those this user's own `blastwall build --precompile` wrote are loaded (build it again from its sources)"
    )]
    Unsealed,
    /// Precompiled artifacts were asked of an engine that has no [`ArtifactKey`](crate::ArtifactKey)
    /// to seal or check them with.
    #[error(
        "precompiled modules are native code and load only with the artifact key that sealed them, but this engine has none (set `EngineConfig::artifact_key`)"
    )]
    NoArtifactKey,
    /// The artifact key could not be read or made, or others could read or replace it.
    #[error("cannot use the artifact key: {0}")]
    ArtifactKey(String),
    /// The artifact's checksum does not match its contents.
    #[error("the precompiled module is corrupt: its checksum does not match its contents")]
    Corrupt,
    /// wasmtime refused the compiled code.
    #[error("wasmtime cannot load the precompiled module: {0}")]
    Deserialize(String),
    /// The precompiled module's file could not be read.
    #[error("cannot read the precompiled module: {0}")]
    Read(String),
}

/// A decision that could not be made. After any variant but [`EvalError::Facts`] the instance
/// that failed is discarded; the next decision runs in a fresh one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The facts do not fit the schema; the module never ran. Its text is the facts error's
    /// own, word for word what the reference interpreter says of the same facts.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// The evaluation ran longer than its time limit.
    #[error("the policy ran longer than its limit of {limit:?}: the evaluation took too long")]
    Time {
        /// The time limit in force.
        limit: std::time::Duration,
    },
    /// The evaluation used up its fuel.
    #[error("the policy ran out of fuel (limit {limit}): the evaluation took too long")]
    Fuel {
        /// The fuel limit in force.
        limit: u64,
    },
    /// The module wanted more memory than the limit.
    #[error("the policy needed more than {limit} bytes of memory")]
    Memory {
        /// The memory limit in force, in bytes.
        limit: usize,
    },
    /// The module trapped for another reason (a bug in the module or the compiler).
    #[error("the policy module trapped: {0}")]
    Trap(String),
    /// The module could not be instantiated.
    #[error("cannot instantiate the policy module: {0}")]
    Instantiate(String),
    /// The module broke the ABI (an unexpected address, a result that does not decode).
    #[error("the policy module broke the ABI: {0}")]
    Protocol(String),
    /// The result could not be decoded.
    #[error("cannot decode the policy's result: {0}")]
    Decode(#[source] DecodeError),
    /// Facts were encoded for another input address than this session's.
    #[error(
        "the facts were encoded for input address {encoded}, but this session's input is at {base}"
    )]
    WrongBase {
        /// The address the facts were encoded for.
        encoded: u32,
        /// The session's input address.
        base: u32,
    },
    /// Facts encoded by a session of another policy (not this one or a clone of it): their
    /// header points into that policy's reserved memory, its parameters and topology.
    #[error("the facts were encoded by a session of another policy; encode them with this one")]
    WrongPolicy,
}
