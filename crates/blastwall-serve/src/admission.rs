//! Kubernetes admission: an `AdmissionReview` (`admission.k8s.io/v1`) in, one out.
//!
//! The request becomes a `plan` document through the admission adapter
//! (`blastwall_facts::plan_from_admission`), with the adapters' options from the server's
//! configuration. The answer echoes the request's `uid`; `allowed` is true only for an allow or
//! a warning: a review cannot wait for an approval inside an API call, so it is refused like a
//! deny, with what would satisfy it in `status.message`. Warn findings go to `warnings`, shadow
//! rules to `auditAnnotations`. A review that cannot be decided (not JSON, another version, a
//! request the adapter refuses, a limit) is answered `allowed: false` with the reason.

use serde_json::{Map, Value, json};

use crate::policy::Loaded;
use crate::shadow::Decided;

/// The review API version served.
pub(crate) const API_VERSION: &str = "admission.k8s.io/v1";

/// What the answer needs from the review, read even from one that cannot be decided.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    pub(crate) uid: String,
}

/// The review's envelope and its facts.
pub(crate) fn facts(body: &[u8], loaded: &Loaded) -> (Envelope, Result<Value, String>) {
    let mut envelope = Envelope::default();
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            return (
                envelope,
                Err(format!(
                    "the review is not UTF-8 (first bad byte at offset {})",
                    e.valid_up_to()
                )),
            );
        }
    };
    let review: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (envelope, Err(format!("the review is not valid JSON: {e}"))),
    };
    if let Some(uid) = review
        .get("request")
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
    {
        envelope.uid = uid.to_string();
    }
    let kind = review.get("kind").and_then(Value::as_str);
    let version = review.get("apiVersion").and_then(Value::as_str);
    if kind != Some("AdmissionReview") || version != Some(API_VERSION) {
        return (
            envelope,
            Err(format!(
                "expected an `AdmissionReview` of `{API_VERSION}`, got kind {} of apiVersion {} (set `admissionReviewVersions: [\"v1\"]` in the webhook configuration)",
                kind.map_or("none".to_string(), |k| format!("`{k}`")),
                version.map_or("none".to_string(), |v| format!("`{v}`")),
            )),
        );
    }
    let plan = match blastwall_facts::plan_from_admission(text, &loaded.plan) {
        Ok(p) => p,
        Err(e) => return (envelope, Err(format!("the admission request: {e}"))),
    };
    let mut facts = Map::new();
    facts.insert("plan".into(), plan);
    (envelope, Ok(Value::Object(facts)))
}

/// The `AdmissionReview` answering a decision, or the error that stopped one.
pub(crate) fn answer(envelope: &Envelope, decided: Result<&Decided, &str>) -> Value {
    let mut response = Map::new();
    response.insert("uid".into(), envelope.uid.clone().into());
    match decided {
        Ok(d) => {
            let outcome = d.decision.outcome;
            let allowed = matches!(
                outcome,
                blastwall::Outcome::Allow | blastwall::Outcome::Warn
            );
            response.insert("allowed".into(), allowed.into());
            if !allowed {
                response.insert(
                    "status".into(),
                    json!({
                        "code": 403,
                        "reason": "Forbidden",
                        "message": crate::http::reason_text(&d.decision, "this request"),
                    }),
                );
            }
            let warnings: Vec<Value> = d
                .decision
                .findings
                .iter()
                .filter(|f| f.effect == blastwall::Effect::Warn && f.overridden.is_none())
                .map(|f| clip(&format!("{}: {}", f.rule, f.message), 256).into())
                .collect();
            if !warnings.is_empty() {
                response.insert("warnings".into(), Value::Array(warnings));
            }
            if !d.shadow.is_empty() {
                let mut notes: Map<String, Value> = Map::new();
                for f in &d.shadow {
                    let key = audit_key(&f.rule);
                    let line = format!("would {}: {}", f.effect.as_str(), f.message);
                    match notes.get_mut(&key) {
                        Some(Value::String(s)) => {
                            s.push_str("; ");
                            s.push_str(&line);
                        }
                        _ => {
                            notes.insert(key, line.into());
                        }
                    }
                }
                for v in notes.values_mut() {
                    if let Value::String(s) = v {
                        *s = clip(s, 1024);
                    }
                }
                response.insert("auditAnnotations".into(), Value::Object(notes));
            }
        }
        Err(error) => {
            response.insert("allowed".into(), false.into());
            response.insert(
                "status".into(),
                json!({
                    "code": 403,
                    "reason": "Forbidden",
                    "message": clip(&format!("blastwall could not decide this request, so it is denied: {error}"), 4000),
                }),
            );
        }
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "AdmissionReview",
        "response": response,
    })
}

/// An audit annotation key for a shadow rule: `shadow-<rule>`, within the 63 characters of a
/// qualified name (rule names are letters, digits and `_`).
fn audit_key(rule: &str) -> String {
    let key: String = format!("shadow-{rule}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    key.trim_end_matches(['-', '_', '.']).to_string()
}

/// `text`, cut to `max` characters with a mark where it was cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{} …(cut)", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}
