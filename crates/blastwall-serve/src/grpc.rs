//! Envoy's gRPC ext_authz service, `envoy.service.auth.v3.Authorization/Check`.
//!
//! A decision is always a `CheckResponse`: status `OK` with an `ok_response` to let the request
//! through; `PERMISSION_DENIED` with a `denied_response` (403, the findings as a JSON body) to
//! stop it — for a deny, a review (a proxy cannot wait for an approval), and every error on the
//! way, such as a request without HTTP attributes. The RPC itself never fails for a decision,
//! so a proxy set to `failure_mode_allow` has nothing to let through.

use std::sync::Arc;
use std::time::Instant;

use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, DeniedHttpResponse,
    HeaderValue, HeaderValueOption, HttpResponse, HttpStatus, HttpStatusCode, OkHttpResponse,
};
use envoy_types::pb::google::rpc;
use serde_json::Value;

use crate::Shared;
use crate::metrics::Door;
use crate::shadow::Decided;

/// gRPC status codes used in a `CheckResponse`.
const OK: i32 = 0;
const PERMISSION_DENIED: i32 = 7;

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let limit = shared.max_body_bytes;
    let service = AuthorizationServer::new(Check { shared })
        .max_decoding_message_size(limit.saturating_add(64 << 10));
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let signal = async move {
        let _ = stop.changed().await;
    };
    let served = tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(service, incoming, signal)
        .await;
    if let Err(e) = served {
        eprintln!("blastwall serve: the gRPC service stopped: {e}");
    }
}

struct Check {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Authorization for Check {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let start = Instant::now();
        let shared = &self.shared;
        let request = request.into_inner();
        let loaded = shared.policy.get();
        let id = shared.log.decision_id();
        let http = request
            .attributes
            .as_ref()
            .and_then(|a| a.request.as_ref())
            .and_then(|r| r.http.as_ref());
        let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let path = http.map_or_else(String::new, |h| h.path.clone());
            let facts: Result<Value, String> = match http {
                None => Err(
                    "the check request has no HTTP attributes (`attributes.request.http`)".into(),
                ),
                Some(h) => {
                    let body: &[u8] = if h.raw_body.is_empty() {
                        h.body.as_bytes()
                    } else {
                        &h.raw_body
                    };
                    let host = if h.host.is_empty() {
                        h.headers.get(":authority").map_or("", String::as_str)
                    } else {
                        &h.host
                    };
                    crate::envoy::request_facts(
                        &crate::envoy::HttpCall {
                            method: &h.method,
                            host,
                            path: &h.path,
                            body,
                        },
                        &loaded.action,
                    )
                }
            };
            let decided = crate::http::decide(&loaded, &facts);
            let response = check_response(decided.as_ref().map_err(String::as_str), &id);
            let size = http.map_or(0, |h| h.body.len() + h.raw_body.len() + h.path.len());
            (path, facts.ok(), decided, response, size)
        }));
        let response = match work {
            Ok((path, input, decided, response, size)) => {
                crate::http::finish(
                    shared,
                    Door::EnvoyGrpc,
                    &loaded,
                    path,
                    id,
                    input,
                    decided,
                    start,
                    size,
                );
                response
            }
            Err(_) => {
                shared.metrics.record(
                    Door::EnvoyGrpc,
                    crate::metrics::Result::Error,
                    start.elapsed(),
                );
                check_response(Err("internal error while deciding"), &id)
            }
        };
        Ok(tonic::Response::new(response))
    }
}

fn check_response(decided: Result<&Decided, &str>, id: &str) -> CheckResponse {
    let header = |k: &str, v: &str| HeaderValueOption {
        header: Some(HeaderValue {
            key: k.to_string(),
            value: v.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    };
    match decided {
        Ok(d)
            if matches!(
                d.decision.outcome,
                blastwall::Outcome::Allow | blastwall::Outcome::Warn
            ) =>
        {
            CheckResponse {
                status: Some(rpc::Status {
                    code: OK,
                    message: String::new(),
                    details: Vec::new(),
                }),
                http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
                    headers: vec![
                        header("x-blastwall-outcome", d.decision.outcome.as_str()),
                        header("x-blastwall-decision-id", id),
                    ],
                    ..Default::default()
                })),
                ..Default::default()
            }
        }
        other => {
            let (outcome, body, reason) = match other {
                Ok(d) => (
                    d.decision.outcome.as_str(),
                    crate::http::denial_json(d, id),
                    crate::http::reason_text(&d.decision, "this request"),
                ),
                Err(error) => (
                    "deny",
                    crate::http::error_json(error, id),
                    format!("blastwall could not decide this request, so it is denied: {error}"),
                ),
            };
            CheckResponse {
                status: Some(rpc::Status {
                    code: PERMISSION_DENIED,
                    message: reason,
                    details: Vec::new(),
                }),
                http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
                    status: Some(HttpStatus {
                        code: HttpStatusCode::Forbidden as i32,
                    }),
                    headers: vec![
                        header("content-type", "application/json"),
                        header("x-blastwall-outcome", outcome),
                        header("x-blastwall-decision-id", id),
                    ],
                    body: body.to_string(),
                })),
                ..Default::default()
            }
        }
    }
}
