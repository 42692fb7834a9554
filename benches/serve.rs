//! `blastwall serve` under load on loopback, against the same decision made in process in the
//! same run. Not criterion: a server and a bounded, self-stopping load client (127.0.0.1 only)
//! share the machine, and what is reported is latency percentiles at a fixed rate, saturation
//! throughput, and memory. See `benches/README.md`.
//!
//! `cargo bench --bench serve` runs the latency and throughput cases and a reload;
//! `BLASTWALL_SERVE_SOAK=1000000 cargo bench --bench serve` adds a soak of that many requests;
//! `BLASTWALL_SERVE_LOG=off` runs the server without its decision log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod typical;

#[path = "../crates/blastwall-serve/tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blastwall_serve::{LogTarget, Options, PolicySource, Server};
use common::Client;

/// Requests per second of the latency cases.
const RATE: u64 = 1_000;
/// How long each latency case runs.
const RATE_SECONDS: u64 = 5;
/// Connections of the latency cases (each sends every `CONNECTIONS` ms).
const RATE_CONNECTIONS: u64 = 4;
/// Requests of each saturation case, and the connections that send them back to back.
const SATURATION_REQUESTS: u64 = 100_000;
const SATURATION_CONNECTIONS: u64 = 16;
/// No case runs longer than this, whatever the machine does.
const CAP: Duration = Duration::from_secs(60);

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let soak: u64 = std::env::var("BLASTWALL_SERVE_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let dir = tempfile::tempdir().unwrap();

    let facts = typical::typical_change();
    let decide_body = serde_json::to_vec(&facts).unwrap();
    let review = common::review("kubewarden_pod_create_privileged_request.json");
    let admission_body = serde_json::to_vec(&review).unwrap();

    // In process: the module the server loads, deciding the same facts.
    let engine = blastwall::Engine::new(Default::default()).unwrap();
    let wasm = blastwall::Policy::embedded().unwrap().to_wasm().unwrap();
    let compiled = blastwall::Policy::load(&engine, &wasm).unwrap();
    let decide_only = median_ns(20_000, || {
        std::hint::black_box(compiled.evaluate_json(&facts).unwrap());
    });
    let parse_and_decide = median_ns(20_000, || {
        let v: serde_json::Value = serde_json::from_slice(&decide_body).unwrap();
        std::hint::black_box(compiled.evaluate_json(&v).unwrap());
    });
    let plan_opts = blastwall_facts::PlanOptions::default();
    let admission_in_process = median_ns(20_000, || {
        let text = std::str::from_utf8(&admission_body).unwrap();
        let plan = blastwall_facts::plan_from_admission(text, &plan_opts).unwrap();
        let facts = serde_json::json!({ "plan": plan });
        std::hint::black_box(compiled.evaluate_json(&facts).unwrap());
    });
    println!(
        "RSS after loading the module and deciding in process: {} MiB",
        rss_kib() / 1024
    );
    println!("in process (median of 20,000):");
    println!(
        "  decide, facts already parsed     {:>8.1} µs",
        us(decide_only)
    );
    println!(
        "  parse the body + decide          {:>8.1} µs   (what /v1/decide does besides HTTP)",
        us(parse_and_decide)
    );
    println!(
        "  admission adapter + decide       {:>8.1} µs   (what /v1/admission does besides HTTP)",
        us(admission_in_process)
    );

    let module = dir.path().join("shipped.wasm");
    std::fs::write(&module, &wasm).unwrap();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .unwrap();
    // The decision log is on, rendered and written by its thread, into /dev/null: a million
    // entries of the typical change would fill gigabytes of disk.
    let log = std::path::PathBuf::from("/dev/null");
    // `BLASTWALL_SERVE_LOG=off` measures the server without its decision log.
    let log_on = std::env::var("BLASTWALL_SERVE_LOG").map_or(true, |v| v != "off");
    println!("decision log: {}", if log_on { "on" } else { "off" });
    let server = server_rt
        .block_on(Server::start(Options {
            addr: "127.0.0.1:0".parse().unwrap(),
            policy: PolicySource::Module(module),
            decision_log: log_on.then(|| LogTarget::File(log.clone())),
            watch: None,
            ..Options::default()
        }))
        .unwrap();
    let addr = server.http_addr();
    println!("RSS with the server started: {} MiB", rss_kib() / 1024);
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    for (name, path, body, baseline) in [
        (
            "/v1/decide",
            "/v1/decide",
            decide_body.clone(),
            parse_and_decide,
        ),
        (
            "/v1/admission",
            "/v1/admission",
            admission_body.clone(),
            admission_in_process,
        ),
    ] {
        let body = Arc::new(body);
        let lat = client_rt.block_on(fixed_rate(addr, path, body.clone()));
        let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
        println!(
            "{name} at {RATE} requests/s for {RATE_SECONDS} s ({} requests, {RATE_CONNECTIONS} connections):",
            lat.len()
        );
        println!(
            "  p50 {:>8.1} µs = in process + {:.1} µs ({:.1}× in process)",
            us(p50),
            us(p50.saturating_sub(baseline)),
            p50 as f64 / baseline as f64
        );
        println!(
            "  p99 {:>8.1} µs ({:.1}× in process)",
            us(p99),
            p99 as f64 / baseline as f64
        );
        let (done, took) = client_rt.block_on(saturate(
            addr,
            path,
            body,
            SATURATION_REQUESTS,
            SATURATION_CONNECTIONS,
        ));
        let per_second = done as f64 / took.as_secs_f64();
        println!(
            "  saturation: {done} requests on {SATURATION_CONNECTIONS} connections in {:.2} s = {:.0} decisions/s (in process, one core: {:.0}/s); RSS {} MiB",
            took.as_secs_f64(),
            per_second,
            1e9 / baseline as f64,
            rss_kib() / 1024
        );
        let metrics = server.metrics_text();
        println!(
            "  decision log so far: {} written, {} dropped (counted)",
            count(&metrics, "blastwall_decision_log_written_total "),
            count(&metrics, "blastwall_decision_log_dropped_total ")
        );
    }

    // A reload of the shipped rules from source beside a serving module: the peak memory.
    let reloading = server_rt
        .block_on(Server::start(Options {
            addr: "127.0.0.1:0".parse().unwrap(),
            policy: PolicySource::Shipped,
            watch: None,
            ..Options::default()
        }))
        .unwrap();
    let before = rss_kib();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    server_rt.block_on(reloading.reload()).unwrap();
    let reload_took = started.elapsed();
    let peak = hwm_kib();
    let after = rss_kib();
    println!(
        "reload of the shipped rules from source: {:.0} ms; RSS {} MiB before, peak {} MiB during{}, {} MiB after",
        reload_took.as_secs_f64() * 1e3,
        before / 1024,
        peak / 1024,
        if reset {
            ""
        } else {
            " (process peak: peak reset not permitted)"
        },
        after / 1024
    );
    server_rt.block_on(reloading.shutdown());

    if soak > 0 {
        let body = Arc::new(decide_body.clone());
        let start_rss = rss_kib();
        let mut samples = Vec::new();
        let chunk = (soak / 10).max(1);
        let mut sent = 0;
        let started = Instant::now();
        while sent < soak {
            let n = chunk.min(soak - sent);
            let (done, _) = client_rt.block_on(saturate(
                addr,
                "/v1/decide",
                body.clone(),
                n,
                SATURATION_CONNECTIONS,
            ));
            assert_eq!(done, n, "requests failed in the soak");
            sent += n;
            samples.push(rss_kib() / 1024);
        }
        let metrics = server.metrics_text();
        let count = |name: &str| count(&metrics, name);
        println!(
            "soak: {sent} requests in {:.0} s, {} errors, decision log {} written + {} dropped (counted); RSS {} MiB at start, every {chunk}: {:?} MiB",
            started.elapsed().as_secs_f64(),
            count("blastwall_decisions_total{door=\"decide\",outcome=\"error\"} "),
            count("blastwall_decision_log_written_total "),
            count("blastwall_decision_log_dropped_total "),
            start_rss / 1024,
            samples
        );
    }
    server_rt.block_on(server.shutdown());
}

/// Requests at `RATE` per second for `RATE_SECONDS`, spread over `RATE_CONNECTIONS`
/// connections; each latency is from the request's send to its answer's last byte.
async fn fixed_rate(addr: SocketAddr, path: &'static str, body: Arc<Vec<u8>>) -> Vec<u64> {
    let total = RATE * RATE_SECONDS;
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let interval = Duration::from_nanos(1_000_000_000 / RATE);
    let tasks: Vec<_> = (0..RATE_CONNECTIONS)
        .map(|k| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                let mut lat = Vec::new();
                let mut i = k;
                while i < total {
                    tokio::time::sleep_until(start + interval * u32::try_from(i).unwrap()).await;
                    if start.elapsed() > CAP {
                        break;
                    }
                    let t = Instant::now();
                    let r = c.post(path, body.to_vec()).await;
                    lat.push(u64::try_from(t.elapsed().as_nanos()).unwrap());
                    assert_eq!(r.status, 200);
                    i += RATE_CONNECTIONS;
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    all
}

/// `n` requests back to back on `connections` connections: how many got a 200, and how long
/// they all took.
async fn saturate(
    addr: SocketAddr,
    path: &'static str,
    body: Arc<Vec<u8>>,
    n: u64,
    connections: u64,
) -> (u64, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|k| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                let mut ok = 0;
                let mut i = k;
                while i < n && started.elapsed() < CAP {
                    let r = c.post(path, body.to_vec()).await;
                    if r.status == 200 {
                        ok += 1;
                    }
                    i += connections;
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    (ok, started.elapsed())
}

/// The value of a metric line that starts with `name`.
fn count(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn median_ns(n: usize, mut f: impl FnMut()) -> u64 {
    for _ in 0..n / 10 {
        f();
    }
    let mut times: Vec<u64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            u64::try_from(t.elapsed().as_nanos()).unwrap()
        })
        .collect();
    times.sort_unstable();
    times[n / 2]
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted[at]
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn hwm_kib() -> u64 {
    status_kib("VmHWM:")
}
