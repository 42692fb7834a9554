//! The real server on an ephemeral loopback port, driven through every front door by real
//! clients: hyper for HTTP, tonic with the ext_authz protos for gRPC. Bad input of every kind is
//! answered by a deny in the door's own contract, and the server keeps serving.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use blastwall_serve::{LogTarget, Options, PolicySource, Server};
use common::{Client, once, review, send_huge};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use serde_json::{Value, json};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn options(dir: &tempfile::TempDir, policy: PolicySource) -> Options {
    Options {
        addr: loopback(),
        grpc_addr: Some(loopback()),
        policy,
        decision_log: Some(LogTarget::File(dir.path().join("decisions.jsonl"))),
        watch: None,
        ..Options::default()
    }
}

/// The shipped rules, built once into a module file that every server of this binary loads.
fn shipped_module() -> PathBuf {
    static MODULE: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    MODULE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("shipped.wasm");
            let wasm = blastwall::Policy::embedded().unwrap().to_wasm().unwrap();
            std::fs::write(&path, wasm).unwrap();
            (dir, path)
        })
        .1
        .clone()
}

fn without_id(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("decision_id");
    }
    v
}

fn check(method: &str, host: &str, path: &str, body: &str) -> CheckRequest {
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    method: method.into(),
                    host: host.into(),
                    path: path.into(),
                    body: body.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

const PROD_DB_REPLACE: &str = r#"{"plan": {"resources": [{"address": "aws_db_instance.main", "action": "replace", "env": "production"}]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_door_decides_and_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(options(&dir, PolicySource::Module(shipped_module())))
        .await
        .unwrap();
    let addr = server.http_addr();
    let mut c = Client::connect(addr).await;

    // Health: ready, with the module's digest.
    let health = c.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["module"], server.module_digest());

    // /v1/decide: the decision `eval --format json` prints, for the same facts in process.
    let facts: Value = serde_json::from_str(PROD_DB_REPLACE).unwrap();
    let in_process = blastwall::Policy::embedded()
        .unwrap()
        .evaluate_json(&facts)
        .unwrap();
    let r = c.post("/v1/decide", PROD_DB_REPLACE).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        without_id(r.json()),
        serde_json::to_value(&in_process).unwrap()
    );
    assert_eq!(r.json()["outcome"], "deny");

    // Malformed facts: a deny with the error, and a 4xx.
    for bad in ["{not json", "[1, 2]", ""] {
        let r = c.post("/v1/decide", bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["outcome"], "deny");
        assert!(r.json()["error"].as_str().unwrap().len() > 10);
    }
    // Facts that do not fit the schemas: a deny.
    let r = c
        .post(
            "/v1/decide",
            r#"{"plan": {"resources": [{"action": "delete"}]}}"#,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["outcome"], "deny");

    // /v1/admission: a real Pod delete in `default` by a person is allowed, uid echoed.
    let pod_delete = review("kubewarden_pod_delete_request.json");
    let r = c
        .post("/v1/admission", pod_delete.to_string().into_bytes())
        .await;
    assert_eq!(r.status, 200);
    let answer = r.json();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], pod_delete["request"]["uid"]);
    assert_eq!(answer["response"]["allowed"], true);

    // The same request turned into deleting a production Namespace: denied, with the rule and
    // what would satisfy it.
    let mut ns_delete = pod_delete.clone();
    ns_delete["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "Namespace"});
    ns_delete["request"]["resource"] =
        json!({"group": "", "version": "v1", "resource": "namespaces"});
    ns_delete["request"]["name"] = json!("payments-prod");
    ns_delete["request"]["namespace"] = json!("");
    ns_delete["request"]["oldObject"] = json!({"metadata": {"name": "payments-prod"}});
    let r = c
        .post("/v1/admission", ns_delete.to_string().into_bytes())
        .await;
    let answer = r.json();
    assert_eq!(answer["response"]["uid"], pod_delete["request"]["uid"]);
    assert_eq!(answer["response"]["allowed"], false);
    let message = answer["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("admission_protected_delete_in_prod"),
        "{message}"
    );
    assert!(message.contains("to proceed"), "{message}");
    assert_eq!(answer["response"]["status"]["code"], 403);

    // A service account deleting a StatefulSet anywhere: denied (soft, with the override).
    let mut sts_delete = pod_delete.clone();
    sts_delete["request"]["kind"] =
        json!({"group": "apps", "version": "v1", "kind": "StatefulSet"});
    sts_delete["request"]["name"] = json!("db");
    sts_delete["request"]["userInfo"] =
        json!({"username": "system:serviceaccount:ci:deployer", "groups": []});
    let r = c
        .post("/v1/admission", sts_delete.to_string().into_bytes())
        .await;
    let answer = r.json();
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("admission_protected_delete_by_automation")
    );

    // A wrong apiVersion: allowed false, uid still echoed, in the version served.
    let mut v1beta1 = pod_delete.clone();
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let answer = c
        .post("/v1/admission", v1beta1.to_string().into_bytes())
        .await
        .json();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["response"]["uid"], pod_delete["request"]["uid"]);
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("admission.k8s.io/v1beta1")
    );

    // Malformed JSON and a review without a request: allowed false.
    for bad in [
        "{\"apiVersion\": ".to_string(),
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).to_string(),
    ] {
        let r = c.post("/v1/admission", bad.clone()).await;
        assert_eq!(r.status, 200, "{bad}");
        assert_eq!(r.json()["response"]["allowed"], false, "{bad}");
    }

    // Envoy over HTTP: a destructive call to a production host is refused with the findings.
    let r = once(
        addr,
        "DELETE",
        "/v1/envoy/v1/services/payments",
        "deploy.prod.example.com",
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    let body = r.json();
    assert_eq!(body["outcome"], "deny");
    assert!(
        body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "agent_destructive_command_in_prod")
    );
    // A read is let through.
    let r = once(
        addr,
        "GET",
        "/v1/envoy/v1/services",
        "deploy.prod.example.com",
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-blastwall-outcome"], "allow");
    // An agent's MCP call through the proxy, deleting a production repository: refused.
    let mcp = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "delete_repository", "arguments": {"repo": "payments", "env": "production"}}});
    let r = once(
        addr,
        "POST",
        "/v1/envoy/mcp",
        "mcp.internal",
        mcp.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    // A JSON-RPC batch cannot be decided: refused.
    let r = once(
        addr,
        "POST",
        "/v1/envoy/mcp",
        "mcp.internal",
        format!("[{mcp}]").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.json()["error"].as_str().unwrap().contains("batch"));

    // Envoy over gRPC, with a client built from the ext_authz protos.
    let grpc = server.grpc_addr().unwrap();
    let mut authz = AuthorizationClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    let denied = authz
        .check(check(
            "DELETE",
            "deploy.prod.example.com",
            "/v1/services/payments",
            "",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(denied.status.as_ref().unwrap().code, 7);
    match denied.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            assert_eq!(d.status.unwrap().code, 403);
            let body: Value = serde_json::from_str(&d.body).unwrap();
            assert_eq!(body["outcome"], "deny");
        }
        other => panic!("not a denied response: {other:?}"),
    }
    let allowed = authz
        .check(check("GET", "deploy.example.com", "/v1/services", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allowed.status.as_ref().unwrap().code, 0);
    assert!(matches!(
        allowed.http_response,
        Some(HttpResponse::OkResponse(_))
    ));
    // No HTTP attributes: PERMISSION_DENIED with the reason, not an RPC error.
    let empty = authz
        .check(CheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    let status = empty.status.unwrap();
    assert_eq!(status.code, 7);
    assert!(status.message.contains("no HTTP attributes"), "{status:?}");

    // Agent hooks over HTTP: Claude Code's answers, always with status 200.
    let r = c
        .post(
            "/v1/hooks/claude-code",
            common::hook_payload("claude_pretooluse_bash_rm_rf_cupcake.json"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["hookSpecificOutput"]["permissionDecision"],
        "ask",
        "{}",
        r.json()
    );
    let r = c
        .post(
            "/v1/hooks/claude-code",
            common::hook_payload("claude_pretooluse_bash_npm_test_official_docs.json"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "an allow has no body");
    let r = c.post("/v1/hooks/claude-code", "{oops").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["hookSpecificOutput"]["permissionDecision"], "deny");
    let r = c
        .post(
            "/v1/hooks/cursor",
            common::hook_payload("cursor_beforeShellExecution_cupcake_docs.json"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["permission"].is_string());
    let r = c.post("/v1/hooks/no-such-agent", "{}").await;
    assert_eq!(r.status, 404);

    // 100 MB bodies, announced and chunked: each a deny in its door's contract (when the
    // answer arrives before the server closes the connection), and the server still serves.
    const HUNDRED_MB: u64 = 100 << 20;
    let mut answered = 0;
    for declared in [true, false] {
        if let Some(r) = send_huge(addr, "/v1/admission", HUNDRED_MB, declared).await {
            answered += 1;
            assert_eq!(r.status, 200);
            assert_eq!(r.json()["response"]["allowed"], false);
        }
        if let Some(r) = send_huge(addr, "/v1/decide", HUNDRED_MB, declared).await {
            answered += 1;
            assert_eq!(r.status, 413);
            assert_eq!(r.json()["outcome"], "deny");
        }
        if let Some(r) = send_huge(addr, "/v1/envoy/upload", HUNDRED_MB, declared).await {
            answered += 1;
            assert_eq!(r.status, 403);
        }
        if let Some(r) = send_huge(addr, "/v1/hooks/claude-code", HUNDRED_MB, declared).await {
            answered += 1;
            assert_eq!(r.status, 200);
            assert_eq!(r.json()["hookSpecificOutput"]["permissionDecision"], "deny");
        }
    }

    eprintln!("100 MB bodies answered before the connection closed: {answered} of 8");

    // Still serving, on old and new connections.
    let r = c.post("/v1/decide", PROD_DB_REPLACE).await;
    assert_eq!(r.json()["outcome"], "deny");
    let r = once(addr, "GET", "/healthz", "127.0.0.1", b"").await;
    assert_eq!(r.status, 200);

    // The metrics count what happened.
    let metrics = c.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    for line in [
        "blastwall_decisions_total{door=\"decide\",outcome=\"deny\"} 2",
        "blastwall_decisions_total{door=\"admission\",outcome=\"allow\"} 1",
        "blastwall_decisions_total{door=\"envoy_grpc\",outcome=\"error\"} 1",
        "blastwall_reloads_total{result=\"ok\"} 0",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    assert!(text.contains(&format!(
        "blastwall_module_info{{digest=\"{}\"}} 1",
        server.module_digest()
    )));
    assert!(text.contains("blastwall_decision_seconds_bucket{door=\"decide\",le=\"+Inf\"}"));

    server.shutdown().await;

    // The decision log: one line per decision, OPA's field names, the module digest.
    let log = std::fs::read_to_string(dir.path().join("decisions.jsonl")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 20, "{} lines", lines.len());
    let first = &lines[0];
    assert_eq!(first["path"], "/v1/decide");
    assert_eq!(first["result"]["outcome"], "deny");
    assert_eq!(first["input"], facts);
    assert_eq!(first["rules"][0]["rule"], "no_destructive_prod_plan");
    assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
    for l in &lines {
        assert!(l["decision_id"].is_string());
        assert!(l["bundles"]["blastwall"]["revision"].is_string());
    }
    let ids: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["decision_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), lines.len(), "decision ids are unique");
}

const GATE: &str = r#"
rule gate {
    level hard
    when action.command == "deploy"
    deny "deploys are closed"
}
"#;

const GATE_OPEN: &str = r#"
rule gate {
    level advisory
    when action.command == "deploy"
    warn "deploys are open, carefully"
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gate.bw");
    std::fs::write(&rules, GATE).unwrap();
    let server = Server::start(options(&dir, PolicySource::Rules(vec![rules.clone()])))
        .await
        .unwrap();
    let addr = server.http_addr();
    let first = server.module_digest();

    // Four clients, each a bounded number of requests on one connection.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                let mut seen = std::collections::BTreeMap::<String, u32>::new();
                for _ in 0..400 {
                    let r = c
                        .post("/v1/decide", r#"{"action": {"command": "deploy"}}"#)
                        .await;
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    let outcome = r.json()["outcome"].as_str().unwrap().to_string();
                    *seen.entry(outcome).or_default() += 1;
                }
                seen
            })
        })
        .collect();

    // Meanwhile: swap the rules back and forth, and once to a policy that does not compile.
    let mut digests = vec![first.clone()];
    for round in 0..6 {
        let text = if round % 2 == 0 { GATE_OPEN } else { GATE };
        std::fs::write(&rules, text).unwrap();
        digests.push(server.reload().await.unwrap());
        if round == 2 {
            std::fs::write(&rules, "rule broken {").unwrap();
            let error = server.reload().await.unwrap_err();
            assert!(error.contains("do not compile"), "{error}");
            assert_eq!(&server.module_digest(), digests.last().unwrap());
        }
    }
    let mut total = std::collections::BTreeMap::<String, u32>::new();
    for c in clients {
        for (k, v) in c.await.unwrap() {
            *total.entry(k).or_default() += v;
        }
    }
    assert_eq!(total.values().sum::<u32>(), 1600);
    assert!(
        total.keys().all(|k| k == "deny" || k == "warn"),
        "{total:?}"
    );
    assert_ne!(digests[1], first);
    assert_eq!(digests[2], first, "the same rules give the same module");

    let health = once(addr, "GET", "/healthz", "127.0.0.1", b"").await.json();
    assert_eq!(health["module"], *digests.last().unwrap());
    let metrics = server.metrics_text();
    assert!(metrics.contains("blastwall_reloads_total{result=\"ok\"} 6"));
    assert!(metrics.contains("blastwall_reloads_total{result=\"failed\"} 1"));
    assert!(metrics.contains("blastwall_decisions_total{door=\"decide\",outcome=\"error\"} 0"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_rules_file_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gate.bw");
    std::fs::write(&rules, GATE).unwrap();
    let mut opts = options(&dir, PolicySource::Rules(vec![dir.path().to_path_buf()]));
    opts.watch = Some(std::time::Duration::from_millis(50));
    let server = Server::start(opts).await.unwrap();
    let first = server.module_digest();
    std::fs::write(&rules, GATE_OPEN).unwrap();
    // Wait (bounded) for the watcher to notice; the assertion is on the outcome, not the time.
    for _ in 0..400 {
        if server.module_digest() != first {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_ne!(server.module_digest(), first);
    let r = once(
        server.http_addr(),
        "POST",
        "/v1/decide",
        "127.0.0.1",
        br#"{"action": {"command": "deploy"}}"#,
    )
    .await;
    assert_eq!(r.json()["outcome"], "warn");
    server.shutdown().await;
}

const SHADOWED: &str = r#"
rule old_gate {
    level hard
    when some r in plan.resources: r.action == "delete" and r.env == "production"
    deny "no production deletes: {r.address}"
}

rule new_gate {
    level hard
    when some r in plan.resources: r.action == "delete"
    deny "no deletes at all: {r.address}"
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_rules_are_logged_never_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gates.bw");
    std::fs::write(&rules, SHADOWED).unwrap();
    let mut opts = options(&dir, PolicySource::Rules(vec![rules]));
    opts.shadow = vec!["new_gate".into()];
    let server = Server::start(opts).await.unwrap();
    let addr = server.http_addr();

    // A staging delete: only the shadow rule fires, so it is allowed, and says what it would do.
    let r = once(
        addr,
        "POST",
        "/v1/decide",
        "127.0.0.1",
        br#"{"plan": {"resources": [{"address": "a.b", "action": "delete", "env": "staging"}]}}"#,
    )
    .await;
    let d = r.json();
    assert_eq!(d["outcome"], "allow");
    assert_eq!(d["findings"], json!([]));
    assert_eq!(d["shadow"]["would"], "deny");
    assert_eq!(d["shadow"]["findings"][0]["rule"], "new_gate");

    // Through admission: allowed, the shadow finding in the audit annotations.
    let mut pod_delete = review("kubewarden_pod_delete_request.json");
    pod_delete["request"]["namespace"] = json!("staging");
    let answer = once(
        addr,
        "POST",
        "/v1/admission",
        "127.0.0.1",
        pod_delete.to_string().as_bytes(),
    )
    .await
    .json();
    assert_eq!(answer["response"]["allowed"], true);
    let note = answer["response"]["auditAnnotations"]["shadow-new_gate"]
        .as_str()
        .unwrap();
    assert!(note.starts_with("would deny: no deletes at all"), "{note}");

    // A production delete: the enforced rule denies.
    let r = once(
        addr,
        "POST",
        "/v1/decide",
        "127.0.0.1",
        br#"{"plan": {"resources": [{"address": "a.b", "action": "delete", "env": "production"}]}}"#,
    )
    .await;
    assert_eq!(r.json()["outcome"], "deny");
    server.shutdown().await;

    let log = std::fs::read_to_string(dir.path().join("decisions.jsonl")).unwrap();
    let first: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["result"]["outcome"], "allow");
    assert_eq!(first["shadow"]["would"], "deny");

    // A shadow rule the policy does not have is refused at start.
    let mut opts = options(&dir, PolicySource::Rules(vec![dir.path().join("gates.bw")]));
    opts.shadow = vec!["no_such_rule".into()];
    let err = Server::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("`no_such_rule`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_decision_log_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gate.bw");
    std::fs::write(&rules, GATE).unwrap();
    let mut opts = options(&dir, PolicySource::Rules(vec![rules]));
    // A queue of one entry, written to a pipe nobody reads would block; a file does not, so
    // the queue is what is tested: many requests at once against a queue of one.
    opts.log_queue = 1;
    let server = Server::start(opts).await.unwrap();
    let addr = server.http_addr();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                for _ in 0..100 {
                    let r = c
                        .post("/v1/decide", r#"{"action": {"command": "deploy"}}"#)
                        .await;
                    assert_eq!(r.json()["outcome"], "deny");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let metrics = server.metrics_text();
    let count = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let written = count("blastwall_decision_log_written_total ");
    let dropped = count("blastwall_decision_log_dropped_total ");
    server.shutdown().await;
    let lines = std::fs::read_to_string(dir.path().join("decisions.jsonl"))
        .unwrap()
        .lines()
        .count() as u64;
    // Every decision is either in the log or counted as dropped; none is lost silently.
    assert!(lines >= written);
    assert_eq!(lines + dropped, 400, "{lines} written, {dropped} dropped");
}

#[test]
fn the_manifest_in_the_docs_is_the_generated_one() {
    let params = blastwall::Policy::embedded().unwrap().param_defaults();
    let yaml = blastwall_serve::webhook_config(&params, &Default::default()).unwrap();
    let docs = std::fs::read_to_string(common::root().join("docs/serve.md")).unwrap();
    assert!(
        docs.contains(&yaml),
        "docs/serve.md shows another manifest than the generator writes:\n{yaml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_over_tls() {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

    let dir = tempfile::tempdir().unwrap();
    let tls = common::root().join("crates/blastwall-serve/tests/fixtures/tls");
    let rules = dir.path().join("gate.bw");
    std::fs::write(&rules, GATE).unwrap();
    let mut opts = options(&dir, PolicySource::Rules(vec![rules]));
    opts.tls = Some((tls.join("server.crt"), tls.join("server.key")));
    let server = Server::start(opts).await.unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(tls.join("ca.crt")).unwrap())
        .unwrap();
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.http_addr())
        .await
        .unwrap();
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let review = review("kubewarden_pod_delete_request.json");
    let req = hyper::Request::builder()
        .method("POST")
        .uri("/v1/admission")
        .header("host", "localhost")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(
            review.to_string(),
        )))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
    assert_eq!(answer["response"]["allowed"], true);

    // Plain HTTP to the TLS port gets no answer at all, certainly not an allow.
    let plain = tokio::net::TcpStream::connect(server.http_addr())
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(plain))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method("POST")
        .uri("/v1/admission")
        .header("host", "localhost")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(
            review.to_string(),
        )))
        .unwrap();
    assert!(sender.send_request(req).await.is_err());
    server.shutdown().await;
}

/// A request body whose chunks the test sends when it chooses.
struct Trickle(tokio::sync::mpsc::Receiver<hyper::body::Bytes>);

impl hyper::body::Body for Trickle {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(hyper::body::Frame::data(c))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gate.bw");
    std::fs::write(&rules, GATE).unwrap();
    let server = Server::start(options(&dir, PolicySource::Rules(vec![rules])))
        .await
        .unwrap();
    let addr = server.http_addr();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Trickle>(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let req = hyper::Request::builder()
        .method("POST")
        .uri("/v1/decide")
        .header("host", "127.0.0.1")
        .body(Trickle(rx))
        .unwrap();
    let in_flight = tokio::spawn(async move { sender.send_request(req).await });
    tx.send(hyper::body::Bytes::from_static(b"{\"action\": "))
        .await
        .unwrap();
    // Let the server take the request in, then ask it to stop while the body is unfinished.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.send(hyper::body::Bytes::from_static(
        b"{\"command\": \"deploy\"}}",
    ))
    .await
    .unwrap();
    drop(tx);
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let decision: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(decision["outcome"], "deny");
    stopping.await.unwrap();
    // Stopped: nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
