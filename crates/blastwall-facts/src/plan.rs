//! What the Terraform and Kubernetes adapters share: their options and the `plan` document they
//! both build (schema records `Plan`, `Resource`, `Tag` and `Request`).

use serde_json::{Value, json};

use crate::env::{EnvPattern, default_production_tokens};

/// How the `plan` adapters decide a resource's environment, and the workspace to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// The Terraform workspace or the Kubernetes cluster context; recorded as `plan.workspace`
    /// and matched against [`PlanOptions::workspace_patterns`].
    pub workspace: String,
    /// Patterns matched against a Terraform resource's address, e.g. `*prod*` → `production`.
    pub address_patterns: Vec<EnvPattern>,
    /// Patterns matched against [`PlanOptions::workspace`].
    pub workspace_patterns: Vec<EnvPattern>,
    /// Patterns matched against a Kubernetes namespace.
    pub namespace_patterns: Vec<EnvPattern>,
    /// Tokens that make a namespace or workspace name — and any tag or label value — mean
    /// `production`; see [`crate::env`]. Default: `prod`, `production`, `prd`, `live`.
    pub production_tokens: Vec<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            workspace: String::new(),
            address_patterns: Vec::new(),
            workspace_patterns: Vec::new(),
            namespace_patterns: Vec::new(),
            production_tokens: default_production_tokens(),
        }
    }
}

/// One `Resource` record under construction.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub address: String,
    pub action: &'static str,
    pub replace_order: &'static str,
    pub reason: String,
    pub type_: String,
    pub name: String,
    pub module: String,
    pub provider: String,
    pub namespace: String,
    pub env: String,
    pub previous_address: Option<String>,
    pub tags: Vec<(String, String)>,
}

impl Resource {
    /// The record as JSON, every field written out (defaults included) except an absent
    /// `previous_address`.
    pub(crate) fn to_value(&self) -> Value {
        let mut v = json!({
            "address": self.address,
            "action": self.action,
            "replace_order": self.replace_order,
            "reason": self.reason,
            "type": self.type_,
            "name": self.name,
            "module": self.module,
            "provider": self.provider,
            "namespace": self.namespace,
            "env": self.env,
            "tags": tags_value(&self.tags),
        });
        if let (Some(prev), Value::Object(map)) = (&self.previous_address, &mut v) {
            map.insert("previous_address".to_string(), Value::String(prev.clone()));
        }
        v
    }
}

/// A list of `Tag` records.
pub(crate) fn tags_value(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect(),
    )
}

/// The `plan` document under construction.
#[derive(Debug, Clone)]
pub(crate) struct PlanDoc {
    pub source: &'static str,
    pub format_version: String,
    pub tool_version: String,
    pub complete: bool,
    pub errored: bool,
    pub workspace: String,
    pub resources: Vec<Resource>,
    pub drift: Vec<Resource>,
    pub request: Option<Value>,
}

impl PlanDoc {
    pub(crate) fn to_value(&self) -> Value {
        let mut v = json!({
            "source": self.source,
            "format_version": self.format_version,
            "tool_version": self.tool_version,
            "complete": self.complete,
            "errored": self.errored,
            "workspace": self.workspace,
            "resources": self.resources.iter().map(Resource::to_value).collect::<Vec<_>>(),
            "drift": self.drift.iter().map(Resource::to_value).collect::<Vec<_>>(),
        });
        if let (Some(req), Value::Object(map)) = (&self.request, &mut v) {
            map.insert("request".to_string(), req.clone());
        }
        v
    }
}
