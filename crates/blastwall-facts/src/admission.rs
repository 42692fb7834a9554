//! Kubernetes admission requests as `plan` documents.
//!
//! # Rules
//!
//! **Input.** Either a full `AdmissionReview` (`kind: AdmissionReview`, `apiVersion`
//! `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`, the request under `request`) or a bare
//! `AdmissionRequest` (recognised by its `operation` field), as kubewarden and kwctl pass them.
//! A review without a `request`, another review API version, an unknown operation, a top level
//! that is neither, and empty, truncated or malformed JSON are errors.
//!
//! **The one resource.** The document has `source: "kubernetes"`, `format_version` set to the
//! review's `apiVersion` (empty for a bare request), `tool_version` empty, `complete: true`,
//! `errored: false`, no drift, and exactly one resource:
//!
//! - `type` is the request's `kind.kind` (falling back to the object's `kind`), `provider` is the
//!   API group and version (`v1`, `apps/v1`), `name` is the request's `name` (falling back to the
//!   object's `metadata.name`, then `metadata.generateName`), `namespace` is the request's
//!   `namespace` (falling back to the object's); `module`, `reason` are empty.
//! - `address` is `kind/namespace/name`, or `kind/name` for a cluster-scoped object.
//! - `action`: `CREATE` → `create`, `UPDATE` → `update`, `DELETE` → `delete`, `CONNECT` →
//!   `read` (exec, attach, port-forward: nothing is changed through the API itself).
//! - `tags` are the `metadata.labels` of `object`, or of `oldObject` for a `DELETE` (where
//!   `object` is null) and whenever `object` is absent.
//!
//! **Environment.** The resource's `env` follows the one rule of [`crate::env`]: it is
//! `production` when *any* of these means production — a label of the object or of the old
//! object whose key means environment (`env`, `environment`, `stage`,
//! `app.kubernetes.io/environment`, … in any case) or names something (`tier`, `cluster`, …);
//! the namespace; the object's own name (for a `Namespace`, the namespace it is, so `DELETE
//! Namespace/production` is production); the cluster context given as
//! [`PlanOptions::workspace`]; or the environment of a matching namespace or workspace pattern.
//! So the namespace beats a label that disagrees towards production: a Pod labelled
//! `env=test` in the namespace `production` is production; a label never makes production look
//! safe. The `metadata` names and namespaces of both objects, and a PersistentVolume's
//! `spec.claimRef` name and namespace, are read as names too, and their annotations like
//! labels (they are not recorded as tags).
//!
//! Otherwise it is the first of: an environment label's value (`env` or `environment`, then
//! longer environment keys, then `stage`), normalised as in [`crate::env`]; the first
//! [`PlanOptions::namespace_patterns`] entry matching the namespace; the first
//! [`PlanOptions::workspace_patterns`] entry matching the cluster context; else `unknown`. A
//! namespace or name never yields another environment: `staging` as a namespace stays
//! `unknown` unless a label or pattern says so.
//!
//! **Request.** `plan.request` is `{operation, user, groups, dry_run, uid}` from `operation`,
//! `userInfo.username`, `userInfo.groups`, `dryRun` (absent: `false`) and `uid`.

use serde_json::{Map, Value, json};

use crate::env;
use crate::error::PlanError;
use crate::json::{self, kind_of};
use crate::plan::{PlanDoc, PlanOptions, Resource};

/// Read an `AdmissionReview` or a bare `AdmissionRequest` and build the `plan` document.
pub fn plan_from_admission(json: &str, opts: &PlanOptions) -> Result<Value, PlanError> {
    let root = json::parse(json)?;
    let Value::Object(top) = &root else {
        return Err(PlanError::NotAnObject {
            found: kind_of(&root),
        });
    };

    let (req, req_path, format_version) =
        if json::opt_str(top, "kind", "").ok().flatten() == Some("AdmissionReview") {
            let api_version = json::opt_str(top, "apiVersion", "")?.unwrap_or("");
            if !matches!(
                api_version,
                "admission.k8s.io/v1" | "admission.k8s.io/v1beta1"
            ) {
                return Err(PlanError::UnsupportedApiVersion {
                    api_version: api_version.to_string(),
                });
            }
            let req = json::opt_obj(top, "request", "")?.ok_or(PlanError::MissingRequest)?;
            (req, "request", api_version)
        } else if top.contains_key("operation") {
            (top, "", "")
        } else {
            return Err(PlanError::NotAdmission);
        };

    let p = req_path;
    let operation = json::opt_str(req, "operation", p)?.ok_or_else(|| PlanError::MissingField {
        path: json::join(p, "operation"),
    })?;
    let action = match operation {
        "CREATE" => "create",
        "UPDATE" => "update",
        "DELETE" => "delete",
        "CONNECT" => "read",
        other => {
            return Err(PlanError::UnknownOperation {
                operation: other.to_string(),
            });
        }
    };

    let object = json::opt_obj(req, "object", p)?;
    let old_object = json::opt_obj(req, "oldObject", p)?;
    // The object whose labels and names describe the resource: the one being removed for a
    // DELETE, else the new one, else whichever is there.
    let (subject, subject_key) = match (action, object, old_object) {
        ("delete", _, Some(old)) => (Some(old), "oldObject"),
        (_, Some(obj), _) => (Some(obj), "object"),
        (_, None, Some(old)) => (Some(old), "oldObject"),
        (_, None, None) => (None, "object"),
    };
    let subject_path = json::join(p, subject_key);
    let metadata = match subject {
        Some(o) => json::opt_obj(o, "metadata", &subject_path)?,
        None => None,
    };
    let meta_path = json::join(&subject_path, "metadata");

    let gvk = json::opt_obj(req, "kind", p)?;
    let gvk_path = json::join(p, "kind");
    let kind = match gvk {
        Some(g) => json::opt_str(g, "kind", &gvk_path)?,
        None => None,
    };
    let kind = match (kind, subject) {
        (Some(k), _) => k.to_string(),
        (None, Some(o)) => json::opt_str(o, "kind", &subject_path)?
            .unwrap_or("")
            .to_string(),
        (None, None) => String::new(),
    };
    let provider = match gvk {
        Some(g) => {
            let group = json::opt_str(g, "group", &gvk_path)?.unwrap_or("");
            let version = json::opt_str(g, "version", &gvk_path)?.unwrap_or("");
            if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            }
        }
        None => String::new(),
    };

    let meta_str = |key: &str| -> Result<Option<String>, PlanError> {
        Ok(match metadata {
            Some(m) => json::opt_str(m, key, &meta_path)?.map(str::to_string),
            None => None,
        })
    };
    let name = match json::opt_str(req, "name", p)?.filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => match meta_str("name")? {
            Some(n) if !n.is_empty() => n,
            _ => meta_str("generateName")?.unwrap_or_default(),
        },
    };
    let namespace = match json::opt_str(req, "namespace", p)?.filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => meta_str("namespace")?.unwrap_or_default(),
    };
    let address = if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    };

    let tags = labels(metadata, &meta_path)?;

    let mut signals = env::EnvSignals::new(&opts.production_tokens);
    for (k, v) in &tags {
        signals.tag(k, v);
    }
    // The other object's labels too: an update that relabels production as `test`, or a
    // delete whose new object says something else, still touches production.
    let (other, other_key) = if subject_key == "object" {
        (old_object, "oldObject")
    } else {
        (object, "object")
    };
    let other_path = json::join(p, other_key);
    if let Some(o) = other {
        let other_meta = json::opt_obj(o, "metadata", &other_path)?;
        for (k, v) in labels(other_meta, &json::join(&other_path, "metadata"))? {
            signals.tag(&k, &v);
        }
    }
    // The names and namespaces both objects give themselves, and the claim a
    // PersistentVolume is bound to: a request whose own fields disagree with its objects'
    // still touches what they name.
    for (o, key) in [(object, "object"), (old_object, "oldObject")] {
        let Some(o) = o else { continue };
        let path = json::join(p, key);
        if let Some(m) = json::opt_obj(o, "metadata", &path)? {
            let meta_path = json::join(&path, "metadata");
            for field in ["name", "namespace", "generateName"] {
                if let Some(v) = json::opt_str(m, field, &meta_path)? {
                    signals.name(v);
                }
            }
            // Annotations are read like labels (`environment`, Helm's
            // `meta.helm.sh/release-namespace`), but are not recorded as tags.
            if let Some(Value::Object(annotations)) = m.get("annotations") {
                for (k, v) in annotations {
                    if let Value::String(v) = v {
                        signals.tag(k, v);
                    }
                }
            }
        }
        let claim = o
            .get("spec")
            .and_then(|s| s.get("claimRef"))
            .and_then(Value::as_object);
        if let Some(c) = claim {
            for field in ["name", "namespace"] {
                if let Some(Value::String(v)) = c.get(field) {
                    signals.name(v);
                }
            }
        }
    }
    signals.name(&namespace);
    // The object's own name; for a `Namespace` (cluster-scoped, with an empty `namespace`),
    // that is the namespace it is.
    signals.name(&name);
    if kind.eq_ignore_ascii_case("Namespace") {
        signals.pattern(3, &opts.namespace_patterns, &name);
    }
    signals.name(&opts.workspace);
    signals.pattern(3, &opts.namespace_patterns, &namespace);
    signals.pattern(4, &opts.workspace_patterns, &opts.workspace);
    let env = signals.finish();

    let user_info = json::opt_obj(req, "userInfo", p)?;
    let ui_path = json::join(p, "userInfo");
    let (user, groups) = match user_info {
        Some(u) => (
            json::opt_str(u, "username", &ui_path)?
                .unwrap_or("")
                .to_string(),
            json::str_list(u, "groups", &ui_path)?,
        ),
        None => (String::new(), Vec::new()),
    };
    let request = json!({
        "operation": operation,
        "user": user,
        "groups": groups,
        "dry_run": json::opt_bool(req, "dryRun", p)?.unwrap_or(false),
        "uid": json::opt_str(req, "uid", p)?.unwrap_or(""),
    });

    let resource = Resource {
        address,
        action,
        replace_order: "none",
        reason: String::new(),
        type_: kind,
        name,
        module: String::new(),
        provider,
        namespace,
        env,
        previous_address: None,
        tags,
    };
    Ok(PlanDoc {
        source: "kubernetes",
        format_version: format_version.to_string(),
        tool_version: String::new(),
        complete: true,
        errored: false,
        workspace: opts.workspace.clone(),
        resources: vec![resource],
        drift: Vec::new(),
        request: Some(request),
    }
    .to_value())
}

/// `metadata.labels` as tag pairs; label values are strings in Kubernetes, others are rendered.
fn labels(
    metadata: Option<&Map<String, Value>>,
    meta_path: &str,
) -> Result<Vec<(String, String)>, PlanError> {
    let Some(m) = metadata else {
        return Ok(Vec::new());
    };
    Ok(match json::opt_obj(m, "labels", meta_path)? {
        Some(labels) => labels
            .iter()
            .map(|(k, v)| (k.clone(), json::scalar_string(v)))
            .collect(),
        None => Vec::new(),
    })
}
