//! The Kubernetes admission adapter on real requests (see `tests/fixtures/PROVENANCE.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::PLAN;
use blastwall_facts::{EnvPattern, InputError, PlanError, PlanOptions, plan_from_admission};
use common::{assert_conforms, fixture, fixture_names};
use serde_json::{Value, json};

fn admit(text: &str, opts: &PlanOptions) -> Result<Value, PlanError> {
    let r = plan_from_admission(text, opts);
    if let Ok(doc) = &r {
        assert_conforms(doc, &PLAN);
        assert_eq!(doc["resources"].as_array().unwrap().len(), 1);
    }
    r
}

fn fixture_plan(name: &str) -> Value {
    admit(&fixture("admission", name), &PlanOptions::default()).unwrap()
}

/// The fixture wrapped in an `AdmissionReview` of `api_version`.
fn wrapped(name: &str, api_version: &str) -> String {
    let request: Value = serde_json::from_str(&fixture("admission", name)).unwrap();
    json!({"apiVersion": api_version, "kind": "AdmissionReview", "request": request}).to_string()
}

#[test]
fn every_fixture_parses_bare_and_wrapped() {
    let names = fixture_names("admission");
    assert_eq!(names.len(), 3);
    for name in names {
        let bare = fixture_plan(&name);
        assert_eq!(bare["source"], "kubernetes");
        assert_eq!(bare["format_version"], "");
        for api in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
            let doc = admit(&wrapped(&name, api), &PlanOptions::default()).unwrap();
            assert_eq!(doc["format_version"], api);
            assert_eq!(doc["resources"], bare["resources"], "{name}");
            assert_eq!(doc["request"], bare["request"], "{name}");
        }
    }
}

#[test]
fn pod_delete_reads_the_old_object() {
    let doc = fixture_plan("kubewarden_pod_delete_request.json");
    let r = &doc["resources"][0];
    assert_eq!(r["address"], "Pod/default/nginx");
    assert_eq!(r["action"], "delete");
    assert_eq!(r["type"], "Pod");
    assert_eq!(r["name"], "nginx");
    assert_eq!(r["namespace"], "default");
    assert_eq!(r["provider"], "v1");
    // `object` is null: the labels come from `oldObject`.
    assert_eq!(r["tags"], json!([{"key": "env", "value": "test"}]));
    assert_eq!(r["env"], "test");
    assert_eq!(
        doc["request"],
        json!({
            "operation": "DELETE",
            "user": "kubernetes-admin",
            "groups": ["system:masters", "system:authenticated"],
            "dry_run": false,
            "uid": "6230ff1b-7dd7-42af-88d2-fbf9aecde94b",
        })
    );
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["drift"], json!([]));
}

#[test]
fn endpoints_update_by_a_service_account() {
    let doc = fixture_plan("kubewarden_endpoints_update_serviceaccount_request.json");
    let r = &doc["resources"][0];
    assert_eq!(
        r["address"],
        "Endpoints/kube-system/k8s.io-minikube-hostpath"
    );
    assert_eq!(r["action"], "update");
    assert_eq!(r["tags"], json!([]));
    assert_eq!(r["env"], "unknown");
    assert_eq!(
        doc["request"]["user"],
        "system:serviceaccount:kube-system:storage-provisioner"
    );
    assert_eq!(
        doc["request"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated"
        ])
    );
}

#[test]
fn privileged_pod_create() {
    let doc = fixture_plan("kubewarden_pod_create_privileged_request.json");
    let r = &doc["resources"][0];
    assert_eq!(r["address"], "Pod/default/nginx");
    assert_eq!(r["action"], "create");
    assert_eq!(r["env"], "test");
    assert_eq!(doc["request"]["operation"], "CREATE");
    assert_eq!(
        doc["request"]["uid"],
        "1299d386-525b-4032-98ae-1949f69f9cfc"
    );
}

fn request(extra: Value) -> String {
    let mut req = json!({
        "uid": "u1",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "namespace": "payments-prod",
        "name": "api",
        "operation": "UPDATE",
        "userInfo": {"username": "alice", "groups": ["devs"]},
        "object": {"metadata": {"name": "api", "labels": {"app": "api"}}},
        "dryRun": true,
    });
    if let (Value::Object(r), Value::Object(e)) = (&mut req, extra) {
        r.extend(e);
    }
    req.to_string()
}

#[test]
fn environment_from_labels_namespace_and_context() {
    let opts = PlanOptions::default();
    let doc = admit(&request(json!({})), &opts).unwrap();
    let r = &doc["resources"][0];
    assert_eq!(r["address"], "Deployment/payments-prod/api");
    assert_eq!(r["provider"], "apps/v1");
    assert_eq!(r["env"], "production");
    assert_eq!(doc["request"]["dry_run"], true);

    // A label that disagrees towards production does not beat the namespace.
    let doc = admit(
        &request(json!({"object": {"metadata": {"labels": {"Environment": "Staging"}}}})),
        &opts,
    )
    .unwrap();
    assert_eq!(doc["resources"][0]["env"], "production");
    // Where nothing says production, the label names the environment.
    let doc = admit(
        &request(json!({
            "namespace": "payments",
            "object": {"metadata": {"labels": {"Environment": "Staging"}}},
        })),
        &opts,
    )
    .unwrap();
    assert_eq!(doc["resources"][0]["env"], "staging");

    for (ns, env) in [
        ("prod", "production"),
        ("production", "production"),
        ("prd_eu", "production"),
        ("team-a-prod", "production"),
        ("product", "unknown"),
        ("preprod", "unknown"),
        ("staging", "unknown"),
        ("kube-system", "unknown"),
        ("", "unknown"),
    ] {
        let doc = admit(&request(json!({"namespace": ns})), &opts).unwrap();
        assert_eq!(doc["resources"][0]["env"], env, "{ns}");
    }

    // Configured namespace patterns name environments the tokens cannot, but never make a
    // production namespace anything else.
    let opts = PlanOptions {
        namespace_patterns: vec![EnvPattern::new("payments-*", "payments")],
        ..PlanOptions::default()
    };
    let doc = admit(&request(json!({"namespace": "payments-eu"})), &opts).unwrap();
    assert_eq!(doc["resources"][0]["env"], "payments");
    let doc = admit(&request(json!({})), &opts).unwrap();
    assert_eq!(doc["resources"][0]["env"], "production");

    // The cluster context decides when nothing else does.
    let opts = PlanOptions {
        workspace: "gke_acme_eu_prod-1".to_string(),
        ..PlanOptions::default()
    };
    let doc = admit(&request(json!({"namespace": "web"})), &opts).unwrap();
    assert_eq!(doc["workspace"], "gke_acme_eu_prod-1");
    assert_eq!(doc["resources"][0]["env"], "production");
}

#[test]
fn cluster_scoped_connect_and_fallbacks() {
    let opts = PlanOptions::default();
    let doc = admit(
        &request(json!({
            "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "namespace": null, "name": "prod", "operation": "DELETE",
            "object": null, "oldObject": {"metadata": {"name": "prod"}},
        })),
        &opts,
    )
    .unwrap();
    let r = &doc["resources"][0];
    assert_eq!(r["address"], "Namespace/prod");
    assert_eq!(r["action"], "delete");
    assert_eq!(r["namespace"], "");

    let doc = admit(&request(json!({"operation": "CONNECT"})), &opts).unwrap();
    assert_eq!(doc["resources"][0]["action"], "read");

    // No `name` in the request: the object's `generateName`.
    let doc = admit(
        &request(json!({"name": "", "object": {"metadata": {"generateName": "api-"}}})),
        &opts,
    )
    .unwrap();
    assert_eq!(
        doc["resources"][0]["address"],
        "Deployment/payments-prod/api-"
    );

    // No user info at all.
    let doc = admit(&json!({"operation": "CREATE"}).to_string(), &opts).unwrap();
    assert_eq!(doc["request"]["user"], "");
    assert_eq!(doc["resources"][0]["address"], "/");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let opts = PlanOptions::default();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the input is empty"),
        (
            json!({"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview", "request": {}})
                .to_string(),
            "unsupported admission review api version `admission.k8s.io/v2`",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                   "response": {"allowed": true}})
            .to_string(),
            "the `AdmissionReview` has no `request`",
        ),
        (
            json!({"kind": "Pod", "metadata": {}}).to_string(),
            "not a kubernetes admission request: expected `operation` or `kind: AdmissionReview`",
        ),
        (
            request(json!({"operation": "PATCH"})),
            "unknown admission operation `PATCH`",
        ),
        (
            request(json!({"operation": 3})),
            "`operation` should be a string, found a number",
        ),
        (
            request(json!({"userInfo": {"groups": "devs"}})),
            "`userInfo.groups` should be an array, found a string",
        ),
        (
            request(json!({"object": {"metadata": {"labels": ["a"]}}})),
            "`object.metadata.labels` should be an object, found an array",
        ),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                   "request": {"operation": "DELETE", "oldObject": 5}})
            .to_string(),
            "`request.oldObject` should be an object, found a number",
        ),
        (
            "\"just a string\"".to_string(),
            "expected a json object at the top level, found a string",
        ),
    ];
    for (input, message) in cases {
        let err = admit(&input, &opts).unwrap_err();
        assert_eq!(err.to_string(), message, "{input}");
    }
    let text = fixture("admission", "kubewarden_pod_delete_request.json");
    let err = admit(text.get(..text.len() / 3).unwrap(), &opts).unwrap_err();
    assert!(
        matches!(err, PlanError::Input(InputError::Truncated { .. })),
        "{err}"
    );
}
