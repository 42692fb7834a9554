//! The `ValidatingWebhookConfiguration` that sends a cluster's admission requests to
//! `blastwall serve`, narrowed to what the rules can fire on.
//!
//! The shipped admission rules fire only on `DELETE` of the kinds in their parameter
//! `admission_protected_kinds`; so the webhook asks for exactly those operations on exactly
//! those resources, and the API server never waits on the server for anything else. A policy
//! without that parameter has no rule that reads admission requests, and gets no webhook.
//!
//! The webhook fails closed and fast: `failurePolicy: Fail` (an unreachable server blocks the
//! delete instead of letting it through), `sideEffects: None` (deciding writes nothing, so dry
//! runs are sent too), `timeoutSeconds` at most 5, `admissionReviewVersions: ["v1"]`.

use serde_json::Value;

/// The parameter that names the kinds the admission rules guard.
pub const KINDS_PARAM: &str = "admission_protected_kinds";

/// The operations the admission rules fire on.
const OPERATIONS: &[&str] = &["DELETE"];

/// Where the API server reaches the server, and what the webhook is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// The configuration's and the webhook's name (a webhook name must be fully qualified).
    pub name: String,
    /// The Service in front of `blastwall serve`, as `namespace/name`, port 443; ignored when
    /// `url` is set.
    pub service: String,
    /// A URL instead of a Service (a server outside the cluster); `https://` only.
    pub url: Option<String>,
    /// The CA bundle that signed the server's certificate, as PEM; written base64-encoded. When
    /// `None`, a placeholder is written for a tool such as cert-manager's CA injector to fill.
    pub ca_pem: Option<String>,
    /// Seconds the API server waits for an answer; at most 5.
    pub timeout_seconds: u32,
}

impl Default for WebhookOptions {
    fn default() -> WebhookOptions {
        WebhookOptions {
            name: "admission.blastwall.dev".into(),
            service: "blastwall/blastwall".into(),
            url: None,
            ca_pem: None,
            timeout_seconds: 5,
        }
    }
}

/// A kind the generator can scope a webhook rule to: its API group, version and resource.
const KINDS: &[(&str, &str, &str, &str, bool)] = &[
    // (kind, group, version, resource, namespaced)
    ("Namespace", "", "v1", "namespaces", false),
    (
        "PersistentVolumeClaim",
        "",
        "v1",
        "persistentvolumeclaims",
        true,
    ),
    ("PersistentVolume", "", "v1", "persistentvolumes", false),
    ("ConfigMap", "", "v1", "configmaps", true),
    ("Secret", "", "v1", "secrets", true),
    ("Service", "", "v1", "services", true),
    ("ServiceAccount", "", "v1", "serviceaccounts", true),
    ("Pod", "", "v1", "pods", true),
    (
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        false,
    ),
    ("StatefulSet", "apps", "v1", "statefulsets", true),
    ("Deployment", "apps", "v1", "deployments", true),
    ("DaemonSet", "apps", "v1", "daemonsets", true),
    ("ReplicaSet", "apps", "v1", "replicasets", true),
    ("Job", "batch", "v1", "jobs", true),
    ("CronJob", "batch", "v1", "cronjobs", true),
    ("Ingress", "networking.k8s.io", "v1", "ingresses", true),
    (
        "StorageClass",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        false,
    ),
    ("Role", "rbac.authorization.k8s.io", "v1", "roles", true),
    (
        "RoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        true,
    ),
    (
        "ClusterRole",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        false,
    ),
    (
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        false,
    ),
];

/// The manifest (YAML) for a policy whose parameters are `params` (name → value: the
/// defaults, with the configuration's values over them).
pub fn webhook_config(params: &[(String, Value)], opts: &WebhookOptions) -> Result<String, String> {
    let Some((_, kinds)) = params.iter().rev().find(|(n, _)| n == KINDS_PARAM) else {
        return Err(format!(
            "the policy has no admission rules (no parameter `{KINDS_PARAM}`): a webhook would decide nothing"
        ));
    };
    let kinds: Vec<&str> = kinds
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if kinds.is_empty() {
        return Err(format!(
            "`{KINDS_PARAM}` is empty: the admission rules guard no kind, so no webhook is needed"
        ));
    }
    if opts.timeout_seconds == 0 || opts.timeout_seconds > 5 {
        return Err(format!(
            "timeoutSeconds `{}`: it must be 1 to 5, so that a slow answer fails the request rather than the API server's own deadline",
            opts.timeout_seconds
        ));
    }
    // One webhook rule per API group and version, its resources in the parameter's order.
    let mut groups: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for kind in &kinds {
        let Some((_, group, version, resource, _)) =
            KINDS.iter().find(|k| k.0.eq_ignore_ascii_case(kind))
        else {
            return Err(format!(
                "kind `{kind}` in `{KINDS_PARAM}` is not one the generator knows ({}): write its rule into the manifest by hand",
                KINDS
                    .iter()
                    .map(|k| format!("`{}`", k.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        match groups
            .iter_mut()
            .find(|(g, v, _)| g == group && v == version)
        {
            Some((_, _, resources)) => {
                if !resources.contains(resource) {
                    resources.push(resource);
                }
            }
            None => groups.push((group, version, vec![resource])),
        }
    }
    let client = match &opts.url {
        Some(url) if url.starts_with("https://") => format!("      url: {}\n", quote(url)),
        Some(url) => return Err(format!("webhook URL `{url}` must start with `https://`")),
        None => {
            let (namespace, name) = opts
                .service
                .split_once('/')
                .ok_or_else(|| format!("service `{}`: expected `namespace/name`", opts.service))?;
            format!(
                "      service:\n        namespace: {}\n        name: {}\n        path: /v1/admission\n        port: 443\n",
                quote(namespace),
                quote(name)
            )
        }
    };
    let ca = match &opts.ca_pem {
        Some(pem) => base64(pem.as_bytes()),
        None => "REPLACE-WITH-BASE64-CA-BUNDLE".to_string(),
    };
    let mut out = String::new();
    out.push_str(
        "# Generated by `blastwall build --webhook-config`: the admission rules fire only on\n",
    );
    out.push_str(&format!(
        "# {} of the kinds in `{KINDS_PARAM}` ({}), so only those requests are sent.\n",
        OPERATIONS.join(", "),
        kinds.join(", ")
    ));
    out.push_str("apiVersion: admissionregistration.k8s.io/v1\n");
    out.push_str("kind: ValidatingWebhookConfiguration\n");
    out.push_str(&format!("metadata:\n  name: {}\n", quote(&opts.name)));
    out.push_str("webhooks:\n");
    out.push_str(&format!("  - name: {}\n", quote(&opts.name)));
    out.push_str("    admissionReviewVersions: [\"v1\"]\n");
    out.push_str("    sideEffects: None\n");
    out.push_str("    failurePolicy: Fail\n");
    out.push_str("    matchPolicy: Equivalent\n");
    out.push_str(&format!("    timeoutSeconds: {}\n", opts.timeout_seconds));
    out.push_str("    clientConfig:\n");
    out.push_str(&client);
    out.push_str(&format!("      caBundle: {}\n", quote(&ca)));
    out.push_str("    rules:\n");
    for (group, version, resources) in &groups {
        out.push_str(&format!(
            "      - apiGroups: [{}]\n        apiVersions: [{}]\n        operations: [{}]\n        resources: [{}]\n        scope: \"*\"\n",
            quote(group),
            quote(version),
            OPERATIONS.iter().map(|o| quote(o)).collect::<Vec<_>>().join(", "),
            resources.iter().map(|r| quote(r)).collect::<Vec<_>>().join(", "),
        ));
    }
    Ok(out)
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    // JSON strings are YAML double-quoted scalars.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Standard base64 with padding, for `caBundle`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let at = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET.get(at).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn base64_matches_the_standard_examples() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn rules_are_grouped_by_api_group() {
        let params = vec![(
            KINDS_PARAM.to_string(),
            json!(["Namespace", "PersistentVolumeClaim", "StatefulSet"]),
        )];
        let yaml = webhook_config(&params, &WebhookOptions::default()).unwrap();
        assert!(yaml.contains(
            "      - apiGroups: [\"\"]\n        apiVersions: [\"v1\"]\n        operations: [\"DELETE\"]\n        resources: [\"namespaces\", \"persistentvolumeclaims\"]\n"
        ), "{yaml}");
        assert!(yaml.contains("resources: [\"statefulsets\"]"), "{yaml}");
        assert!(yaml.contains("failurePolicy: Fail\n"));
    }

    #[test]
    fn an_unknown_kind_or_no_admission_rules_is_an_error() {
        let params = vec![(KINDS_PARAM.to_string(), json!(["Widget"]))];
        let err = webhook_config(&params, &WebhookOptions::default()).unwrap_err();
        assert!(err.contains("`Widget`"), "{err}");
        let err = webhook_config(&[], &WebhookOptions::default()).unwrap_err();
        assert!(err.contains("no admission rules"), "{err}");
    }
}
