//! The errors of the adapters that can fail.
//!
//! The CODEOWNERS parser never fails: it collects one error entry per bad line instead, because a
//! single bad line must not hide the owners the rest of the file names.

use miette::Diagnostic;
use thiserror::Error;

/// The input could not be read as JSON at all.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum InputError {
    /// The input holds nothing but whitespace.
    #[error("the input is empty")]
    #[diagnostic(help("pass the JSON document itself, not an empty file"))]
    Empty,
    /// The input stops in the middle of a value.
    #[error("the input ends early at line {line}, column {column}: it looks truncated")]
    #[diagnostic(help("the file was probably cut off while being written or copied"))]
    Truncated {
        /// 1-based line of the end of the input.
        line: usize,
        /// 1-based column of the end of the input.
        column: usize,
    },
    /// The input is not valid JSON, or nests deeper than the parser allows.
    #[error("invalid json at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the JSON parser found.
        message: String,
    },
}

/// A field holds a value of the wrong JSON type.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("`{path}` should be {expected}, found {found}")]
pub struct TypeError {
    /// Where the field is, e.g. `resource_changes[3].change.actions`.
    pub path: String,
    /// What was expected, e.g. `a string`.
    pub expected: &'static str,
    /// What was found, e.g. `a number`.
    pub found: &'static str,
}

/// Why a Terraform plan or a Kubernetes admission request could not become a `plan` document.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum PlanError {
    /// The input is not JSON.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputError),
    /// A field has the wrong type.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Type(#[from] TypeError),
    /// A required field is missing.
    #[error("missing field `{path}`")]
    MissingField {
        /// Where the field should be.
        path: String,
    },
    /// The top level is not a JSON object.
    #[error("expected a json object at the top level, found {found}")]
    NotAnObject {
        /// What was found.
        found: &'static str,
    },
    /// The plan's `format_version` has a major version this adapter does not know.
    #[error("unsupported plan format version `{version}`")]
    #[diagnostic(help("blastwall reads `terraform show -json` format versions 0.x and 1.x"))]
    UnsupportedFormatVersion {
        /// The version as written.
        version: String,
    },
    /// The plan's `format_version` is not `MAJOR.MINOR`.
    #[error("malformed plan format version `{version}`")]
    #[diagnostic(help("`terraform show -json` writes versions such as `1.2`"))]
    MalformedFormatVersion {
        /// The version as written.
        version: String,
    },
    /// The document is Terraform state, not a plan.
    #[error(
        "this is terraform state, not a plan: it has `values` but no `planned_values` or `resource_changes`"
    )]
    #[diagnostic(help("run `terraform show -json PLANFILE` on a saved plan"))]
    StateNotPlan,
    /// A resource change has a list of actions that does not map to one normalised action.
    #[error("unknown change actions `{actions}` for `{address}`")]
    #[diagnostic(help(
        "known actions are `create`, `update`, `delete`, `delete,create`, `create,delete`, `read`, `no-op` and `forget`"
    ))]
    UnknownActions {
        /// The resource's address.
        address: String,
        /// The actions, comma-separated.
        actions: String,
    },
    /// An `AdmissionReview` without a `request`.
    #[error("the `AdmissionReview` has no `request`")]
    #[diagnostic(help("pass the review sent to the webhook, not the webhook's response"))]
    MissingRequest,
    /// An `AdmissionReview` of an API version this adapter does not know.
    #[error("unsupported admission review api version `{api_version}`")]
    #[diagnostic(help("blastwall reads `admission.k8s.io/v1` and `admission.k8s.io/v1beta1`"))]
    UnsupportedApiVersion {
        /// The `apiVersion` as written.
        api_version: String,
    },
    /// Neither an `AdmissionReview` nor an `AdmissionRequest`.
    #[error("not a kubernetes admission request: expected `operation` or `kind: AdmissionReview`")]
    NotAdmission,
    /// An admission operation this adapter does not know.
    #[error("unknown admission operation `{operation}`")]
    #[diagnostic(help("kubernetes sends `CREATE`, `UPDATE`, `DELETE` or `CONNECT`"))]
    UnknownOperation {
        /// The operation as written.
        operation: String,
    },
}

/// Why an agent's action could not become an `action` document.
///
/// A shell command that does not parse is *not* an error: the document records `parse_error`
/// and the class `unparsed`, so a rule can fail closed on it.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum ActionError {
    /// The input is not JSON.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputError),
    /// A field has the wrong type.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Type(#[from] TypeError),
    /// A required field is missing.
    #[error("missing field `{path}`")]
    MissingField {
        /// Where the field should be.
        path: String,
    },
    /// The top level is not a JSON object.
    #[error("expected a json object at the top level, found {found}")]
    NotAnObject {
        /// What was found.
        found: &'static str,
    },
    /// The shape matches none of the known payloads.
    #[error("unrecognised action input with keys {keys}")]
    #[diagnostic(help(
        "expected a Claude Code hook payload (`tool_name`, `tool_input`), a Cursor `beforeShellExecution` payload, an MCP `tools/call` request or `{{\"command\": …}}`"
    ))]
    Unrecognised {
        /// The top-level keys found, in backticks, comma-separated.
        keys: String,
    },
    /// A Cursor hook event other than `beforeShellExecution`.
    #[error("unsupported cursor hook event `{event}`")]
    #[diagnostic(help("only `beforeShellExecution` carries a command"))]
    UnsupportedCursorEvent {
        /// The `hook_event_name` as written.
        event: String,
    },
    /// A JSON-RPC request that is not a tool call.
    #[error("unsupported mcp method `{method}`")]
    #[diagnostic(help("only `tools/call` requests are actions"))]
    UnsupportedMcpMethod {
        /// The `method` as written.
        method: String,
    },
}
