//! The HTTP front doors, and the connection loop that serves them (HTTP/1.1 and HTTP/2, with
//! or without TLS) and drains them at shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use crate::Shared;
use crate::log::Entry;
use crate::metrics::{self, Door};
use crate::policy::Loaded;
use crate::shadow::{self, Decided};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request's headers, and then its body, may take to arrive: a client that trickles
/// them holds a connection, never a decision, and is cut off (a body too slow is denied).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The path prefix of Envoy's HTTP ext_authz service (Envoy's `path_prefix`).
pub(crate) const ENVOY_PREFIX: &str = "/v1/envoy";

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT);
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or a connection reset before it was accepted: wait a
                // moment instead of spinning.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
        let watcher = graceful.watcher();
        let builder = builder.clone();
        match &tls {
            None => {
                tokio::spawn(async move {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
}

type Answer = Response<Full<Bytes>>;

/// Which front door a request is for.
enum Route {
    Decide,
    Admission,
    Envoy,
    Hook(Result<blastwall_hook::Agent, String>),
    Health,
    Metrics,
    NotFound,
    WrongMethod(&'static str),
}

fn route(method: &Method, path: &str) -> Route {
    let path_only = path.split('?').next().unwrap_or(path);
    // Envoy asks with the method of the request it authorises, whatever it is.
    if path_only == ENVOY_PREFIX || path_only.starts_with("/v1/envoy/") {
        return Route::Envoy;
    }
    let post = |r: Route| {
        if method == Method::POST {
            r
        } else {
            Route::WrongMethod("POST")
        }
    };
    let get = |r: Route| {
        if method == Method::GET || method == Method::HEAD {
            r
        } else {
            Route::WrongMethod("GET")
        }
    };
    match path_only {
        "/v1/decide" => post(Route::Decide),
        "/v1/admission" => post(Route::Admission),
        "/healthz" => get(Route::Health),
        "/metrics" => get(Route::Metrics),
        p => match p.strip_prefix("/v1/hooks/") {
            Some(name) => post(Route::Hook(
                blastwall_hook::Agent::from_name(name).ok_or_else(|| {
                    format!(
                        "unknown agent `{name}`: expected one of {}",
                        blastwall_hook::Agent::ALL
                            .map(|a| format!("`{}`", a.name()))
                            .join(", ")
                    )
                }),
            )),
            None => Route::NotFound,
        },
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let start = Instant::now();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let answer = match route(req.method(), &path) {
        Route::Health => health(&shared),
        Route::Metrics => text(StatusCode::OK, metrics_text(&shared)),
        Route::NotFound => {
            shared.metrics.unrouted();
            problem(StatusCode::NOT_FOUND, &format!("no front door at `{path}`"))
        }
        Route::WrongMethod(want) => {
            shared.metrics.unrouted();
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("`{path}` takes {want}"),
            )
        }
        Route::Hook(Err(error)) => {
            shared.metrics.unrouted();
            problem(StatusCode::NOT_FOUND, &error)
        }
        Route::Decide => door(&shared, Door::Decide, req, path, start).await,
        Route::Admission => door(&shared, Door::Admission, req, path, start).await,
        Route::Envoy => door(&shared, Door::EnvoyHttp, req, path, start).await,
        Route::Hook(Ok(_)) => door(&shared, Door::Hook, req, path, start).await,
    };
    Ok(answer)
}

/// What a front door read from the request, besides its body.
struct Head {
    method: String,
    host: String,
    path: String,
}

/// Reads the body (within the limit), decides, answers in the door's contract, and logs.
async fn door(
    shared: &Shared,
    door: Door,
    req: Request<Incoming>,
    path: String,
    start: Instant,
) -> Answer {
    let (parts, body) = req.into_parts();
    let head = Head {
        method: parts.method.as_str().to_string(),
        host: parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("")
            .to_string(),
        path,
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = shared.max_body_bytes;
    let too_large =
        || format!("the request body is larger than the {limit} bytes this server reads");
    let (body, status) = if declared.is_some_and(|n| n > limit as u64) {
        // Refused unread: the connection is closed after the answer.
        (Err(too_large()), StatusCode::PAYLOAD_TOO_LARGE)
    } else {
        match tokio::time::timeout(READ_TIMEOUT, Limited::new(body, limit).collect()).await {
            Ok(Ok(collected)) => (Ok(collected.to_bytes()), StatusCode::BAD_REQUEST),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                (Err(too_large()), StatusCode::PAYLOAD_TOO_LARGE)
            }
            Ok(Err(e)) => (
                Err(format!("cannot read the request body: {e}")),
                StatusCode::BAD_REQUEST,
            ),
            Err(_) => (
                Err(format!(
                    "the request body did not arrive within {} s",
                    READ_TIMEOUT.as_secs()
                )),
                StatusCode::REQUEST_TIMEOUT,
            ),
        }
    };
    let loaded = shared.policy.get();
    let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        answer(shared, door, &loaded, &head, body, status, start)
    }));
    match work {
        Ok(answer) => answer,
        Err(_) => {
            let error = "internal error while deciding".to_string();
            shared
                .metrics
                .record(door, metrics::Result::Error, start.elapsed());
            error_answer(door, &head.path, &error, StatusCode::BAD_REQUEST)
        }
    }
}

/// The answer of `door` for a request whose body is `body` (or the error reading it).
/// `error_status` is the status `/v1/decide` gives an error: 413 for a body too large, else
/// 400.
#[allow(clippy::too_many_arguments)]
fn answer(
    shared: &Shared,
    door: Door,
    loaded: &Arc<Loaded>,
    head: &Head,
    body: Result<Bytes, String>,
    error_status: StatusCode,
    start: Instant,
) -> Answer {
    let id = shared.log.decision_id();
    let size = body.as_ref().map_or(0, Bytes::len);
    let (input, decided, response) = match door {
        Door::Decide => {
            let facts = body.and_then(|b| decide_facts(&b));
            let decided = decide(loaded, &facts);
            let response = match &decided {
                Ok(d) => json_answer(StatusCode::OK, &decision_json(d, &id)),
                Err(e) => decide_error(e, &id, error_status),
            };
            (facts.ok(), decided, response)
        }
        Door::Admission => {
            let (envelope, facts) = match &body {
                Ok(b) => crate::admission::facts(b, loaded),
                Err(e) => (Default::default(), Err(e.clone())),
            };
            let decided = decide(loaded, &facts);
            let review =
                crate::admission::answer(&envelope, decided.as_ref().map_err(String::as_str));
            (facts.ok(), decided, json_answer(StatusCode::OK, &review))
        }
        Door::EnvoyHttp => {
            let original = head
                .path
                .strip_prefix(ENVOY_PREFIX)
                .filter(|p| !p.is_empty())
                .unwrap_or("/");
            let facts = body.and_then(|b| {
                crate::envoy::request_facts(
                    &crate::envoy::HttpCall {
                        method: &head.method,
                        host: &head.host,
                        path: original,
                        body: &b,
                    },
                    &loaded.action,
                )
            });
            let decided = decide(loaded, &facts);
            let response = envoy_answer(decided.as_ref().map_err(String::as_str), &id);
            (facts.ok(), decided, response)
        }
        Door::Hook => {
            let agent = head
                .path
                .split('?')
                .next()
                .and_then(|p| p.strip_prefix("/v1/hooks/"))
                .and_then(blastwall_hook::Agent::from_name);
            let Some(agent) = agent else {
                return problem(StatusCode::NOT_FOUND, "unknown agent");
            };
            let mut seen_facts = None;
            let mut seen = None;
            let reply = match &body {
                Ok(b) => blastwall_hook::run_with(
                    agent,
                    b,
                    &shared.allow_tools,
                    &loaded.action,
                    false,
                    |facts| {
                        let decided = shadow::decide(loaded, &facts);
                        let decision = decided.as_ref().map(|d| d.decision.clone());
                        seen_facts = Some(facts);
                        let decision = decision.map_err(String::clone);
                        seen = Some(decided);
                        decision
                    },
                ),
                Err(e) => blastwall_hook::deny_for_error(agent, e.clone()),
            };
            let decided = match (seen, &body) {
                (Some(d), _) => d,
                (None, Err(e)) => Err(e.clone()),
                // The payload was refused before there was anything to decide.
                (None, Ok(_)) => Err(reply
                    .stderr
                    .trim_end()
                    .to_string()
                    .chars()
                    .take(2000)
                    .collect()),
            };
            let response = hook_answer(reply);
            (seen_facts, decided, response)
        }
        Door::EnvoyGrpc => {
            return problem(StatusCode::NOT_FOUND, "gRPC is served on its own address");
        }
    };
    finish(
        shared,
        door,
        loaded,
        head.path.clone(),
        id,
        input,
        decided,
        start,
        size,
    );
    response
}

/// Counts and logs a decision made at `door`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    shared: &Shared,
    door: Door,
    loaded: &Loaded,
    path: String,
    id: String,
    input: Option<Value>,
    decided: Result<Decided, String>,
    start: Instant,
    size: usize,
) {
    let took = start.elapsed();
    let result = match &decided {
        Ok(d) => metrics::Result::of(d.decision.outcome),
        Err(_) => metrics::Result::Error,
    };
    shared.metrics.record(door, result, took);
    if shared.log.enabled() {
        shared.log.push(Entry {
            id,
            door,
            path,
            time: SystemTime::now(),
            input,
            decided,
            revision: loaded.digest.clone(),
            took_ns: u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            size,
        });
    }
}

/// Decides facts that could be read, or passes on why they could not.
pub(crate) fn decide(loaded: &Loaded, facts: &Result<Value, String>) -> Result<Decided, String> {
    match facts {
        Ok(f) => shadow::decide(loaded, f),
        Err(e) => Err(e.clone()),
    }
}

/// The facts of `/v1/decide`: a JSON object, as `eval --input` reads it.
fn decide_facts(body: &[u8]) -> Result<Value, String> {
    let body = body
        .strip_prefix(blastwall_gather::UTF8_BOM)
        .unwrap_or(body);
    let facts: Value =
        serde_json::from_slice(body).map_err(|e| format!("the facts are not valid JSON: {e}"))?;
    if !facts.is_object() {
        return Err("the facts must be a JSON object".into());
    }
    Ok(facts)
}

/// The decision JSON `eval --format json` prints, with the shadow findings beside it when
/// there are any.
fn decision_json(d: &Decided, id: &str) -> Value {
    let mut v = serde_json::to_value(&d.decision).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        if !d.shadow.is_empty() {
            m.insert(
                "shadow".into(),
                json!({ "would": d.shadow_outcome.as_str(), "findings": d.shadow }),
            );
        }
        m.insert("decision_id".into(), id.into());
    }
    v
}

/// `/v1/decide` could not decide: a deny, with the error, and a 4xx status (never a 5xx).
fn decide_error(error: &str, id: &str, status: StatusCode) -> Answer {
    json_answer(
        status,
        &json!({
            "outcome": "deny",
            "findings": [],
            "reviews": [],
            "error": error,
            "decision_id": id,
        }),
    )
}

/// Envoy's HTTP contract: 200 lets the request through; 403 with the findings stops it.
fn envoy_answer(decided: Result<&Decided, &str>, id: &str) -> Answer {
    match decided {
        Ok(d)
            if matches!(
                d.decision.outcome,
                blastwall::Outcome::Allow | blastwall::Outcome::Warn
            ) =>
        {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::OK;
            header(&mut r, "x-blastwall-outcome", d.decision.outcome.as_str());
            header(&mut r, "x-blastwall-decision-id", id);
            r
        }
        Ok(d) => {
            let mut r = json_answer(StatusCode::FORBIDDEN, &denial_json(d, id));
            header(&mut r, "x-blastwall-outcome", d.decision.outcome.as_str());
            header(&mut r, "x-blastwall-decision-id", id);
            r
        }
        Err(error) => {
            let mut r = json_answer(StatusCode::FORBIDDEN, &error_json(error, id));
            header(&mut r, "x-blastwall-outcome", "deny");
            header(&mut r, "x-blastwall-decision-id", id);
            r
        }
    }
}

/// The body of a denial for a proxy's client: the outcome, the findings that raised it with
/// what would satisfy each, and the reason in words.
pub(crate) fn denial_json(d: &Decided, id: &str) -> Value {
    let findings: Vec<Value> = d
        .decision
        .findings
        .iter()
        .filter(|f| f.overridden.is_none() && d.decision.raised_by(f) != blastwall::Outcome::Allow)
        .map(|f| {
            json!({
                "rule": f.rule,
                "level": f.level.as_str(),
                "effect": f.effect.as_str(),
                "message": f.message,
                "to_proceed": d.decision.remedy(f),
            })
        })
        .collect();
    json!({
        "outcome": d.decision.outcome.as_str(),
        "reason": reason_text(&d.decision, "this request"),
        "findings": findings,
        "decision_id": id,
    })
}

pub(crate) fn error_json(error: &str, id: &str) -> Value {
    json!({
        "outcome": "deny",
        "reason": format!("blastwall could not decide this request, so it is denied: {error}"),
        "findings": [],
        "error": error,
        "decision_id": id,
    })
}

/// The findings that raised the outcome, with what would let the request proceed.
pub(crate) fn reason_text(d: &blastwall::Decision, what: &str) -> String {
    let mut lines = vec![match d.outcome {
        blastwall::Outcome::Deny => format!("blastwall denies {what}:"),
        blastwall::Outcome::Review => format!(
            "blastwall holds {what} for a person's review, which an API call cannot wait for:"
        ),
        _ => format!("blastwall warns about {what}:"),
    }];
    for f in d
        .findings
        .iter()
        .filter(|f| f.overridden.is_none() && d.raised_by(f) == d.outcome)
    {
        let mut line = format!("- {}: {}", f.rule, f.message);
        if let Some(hint) = d.remedy(f) {
            line.push_str(&format!(" (to proceed: {hint})"));
        }
        lines.push(line);
    }
    crate::admission::clip(&lines.join("\n"), 4000)
}

/// An agent's HTTP hook: always 200 (an agent treats any other status as "proceed"), with the
/// answer a command hook would print as the body.
fn hook_answer(reply: blastwall_hook::Answer) -> Answer {
    let empty = reply.stdout.trim().is_empty();
    let mut r = Response::new(Full::new(Bytes::from(reply.stdout)));
    if !empty {
        header(&mut r, CONTENT_TYPE.as_str(), "application/json");
    }
    r
}

/// The answer of `door` when deciding itself failed (a panic caught).
fn error_answer(door: Door, path: &str, error: &str, status: StatusCode) -> Answer {
    match door {
        Door::Admission => json_answer(
            StatusCode::OK,
            &crate::admission::answer(&Default::default(), Err(error)),
        ),
        Door::EnvoyHttp | Door::EnvoyGrpc => envoy_answer(Err(error), ""),
        Door::Hook => {
            let agent = path
                .strip_prefix("/v1/hooks/")
                .and_then(blastwall_hook::Agent::from_name)
                .unwrap_or(blastwall_hook::Agent::ClaudeCode);
            hook_answer(blastwall_hook::deny_for_error(agent, error.to_string()))
        }
        Door::Decide => decide_error(error, "", status),
    }
}

fn health(shared: &Shared) -> Answer {
    let loaded = shared.policy.get();
    let mut body = json!({ "status": "ok", "module": loaded.digest });
    if let (Some(error), Value::Object(m)) = (shared.policy.last_error(), &mut body) {
        m.insert("last_reload_error".into(), error.into());
    }
    json_answer(StatusCode::OK, &body)
}

pub(crate) fn metrics_text(shared: &Shared) -> String {
    shared
        .metrics
        .render(shared.log.written(), shared.log.dropped())
}

fn problem(status: StatusCode, message: &str) -> Answer {
    json_answer(status, &json!({ "outcome": "deny", "error": message }))
}

fn json_answer(status: StatusCode, body: &Value) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"outcome\":\"deny\"}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = status;
    header(&mut r, CONTENT_TYPE.as_str(), "application/json");
    r
}

fn text(status: StatusCode, body: String) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    header(&mut r, CONTENT_TYPE.as_str(), "text/plain; version=0.0.4");
    r
}

fn header(r: &mut Answer, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        hyper::header::HeaderName::from_bytes(name.as_bytes()),
        hyper::header::HeaderValue::from_str(value),
    ) {
        r.headers_mut().insert(name, value);
    }
}
