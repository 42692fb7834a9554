//! Counters and a latency histogram, rendered in the Prometheus text format. Lock-free on the
//! request path: every counter is an atomic.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A front door, as metrics and the decision log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    Decide,
    Admission,
    EnvoyHttp,
    EnvoyGrpc,
    Hook,
}

impl Door {
    const ALL: [Door; 5] = [
        Door::Decide,
        Door::Admission,
        Door::EnvoyHttp,
        Door::EnvoyGrpc,
        Door::Hook,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Door::Decide => "decide",
            Door::Admission => "admission",
            Door::EnvoyHttp => "envoy_http",
            Door::EnvoyGrpc => "envoy_grpc",
            Door::Hook => "hook",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a request came to: a decision's outcome, or an error (answered as a deny).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Result {
    Allow,
    Warn,
    Review,
    Deny,
    Error,
}

impl Result {
    const ALL: [Result; 5] = [
        Result::Allow,
        Result::Warn,
        Result::Review,
        Result::Deny,
        Result::Error,
    ];

    pub(crate) fn of(outcome: blastwall::Outcome) -> Result {
        match outcome {
            blastwall::Outcome::Allow => Result::Allow,
            blastwall::Outcome::Warn => Result::Warn,
            blastwall::Outcome::Review => Result::Review,
            blastwall::Outcome::Deny => Result::Deny,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Result::Allow => "allow",
            Result::Warn => "warn",
            Result::Review => "review",
            Result::Deny => "deny",
            Result::Error => "error",
        }
    }
}

/// Upper bounds of the latency buckets, in seconds: from 25 µs, where a warm decision over
/// loopback lands, to a second, the default time limit of a decision.
const BUCKETS: [f64; 14] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 1.0,
];

const DOORS: usize = Door::ALL.len();
const RESULTS: usize = Result::ALL.len();

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    decisions: [[AtomicU64; RESULTS]; DOORS],
    /// Per door: a count per bucket (the last is `+Inf`), the sum in nanoseconds, the count.
    latency: [Histogram; DOORS],
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Requests not for any front door (unknown path, wrong method).
    unrouted: AtomicU64,
    module: Mutex<String>,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Metrics {
    pub(crate) fn record(&self, door: Door, result: Result, took: Duration) {
        if let Some(row) = self.decisions.get(door.index())
            && let Some(c) = row.get(result as usize)
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(h) = self.latency.get(door.index()) {
            let secs = took.as_secs_f64();
            let at = BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(BUCKETS.len());
            if let Some(b) = h.buckets.get(at) {
                b.fetch_add(1, Ordering::Relaxed);
            }
            h.sum_ns.fetch_add(
                u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            h.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn unrouted(&self) {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reloaded(&self, ok: bool) {
        if ok {
            self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_module(&self, digest: &str) {
        *self.module.lock().unwrap_or_else(PoisonError::into_inner) = digest.to_string();
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub(crate) fn render(&self, log_written: u64, log_dropped: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP blastwall_decisions_total Requests decided, by front door and outcome (error: answered as a deny)."
        );
        let _ = writeln!(out, "# TYPE blastwall_decisions_total counter");
        for door in Door::ALL {
            for result in Result::ALL {
                let n = self
                    .decisions
                    .get(door.index())
                    .and_then(|row| row.get(result as usize))
                    .map_or(0, |c| c.load(Ordering::Relaxed));
                let _ = writeln!(
                    out,
                    "blastwall_decisions_total{{door=\"{}\",outcome=\"{}\"}} {n}",
                    door.name(),
                    result.name()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP blastwall_errors_total Requests that could not be decided and were denied, by front door."
        );
        let _ = writeln!(out, "# TYPE blastwall_errors_total counter");
        for door in Door::ALL {
            let n = self
                .decisions
                .get(door.index())
                .and_then(|row| row.get(Result::Error as usize))
                .map_or(0, |c| c.load(Ordering::Relaxed));
            let _ = writeln!(
                out,
                "blastwall_errors_total{{door=\"{}\"}} {n}",
                door.name()
            );
        }
        let _ = writeln!(
            out,
            "# HELP blastwall_decision_seconds Time from a request's first byte read to its answer, by front door."
        );
        let _ = writeln!(out, "# TYPE blastwall_decision_seconds histogram");
        for door in Door::ALL {
            let Some(h) = self.latency.get(door.index()) else {
                continue;
            };
            let mut cumulative = 0;
            for (i, bucket) in h.buckets.iter().enumerate() {
                cumulative += bucket.load(Ordering::Relaxed);
                let le = BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "blastwall_decision_seconds_bucket{{door=\"{}\",le=\"{le}\"}} {cumulative}",
                    door.name()
                );
            }
            let _ = writeln!(
                out,
                "blastwall_decision_seconds_sum{{door=\"{}\"}} {}",
                door.name(),
                h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "blastwall_decision_seconds_count{{door=\"{}\"}} {}",
                door.name(),
                h.count.load(Ordering::Relaxed)
            );
        }
        let module = self
            .module
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let _ = writeln!(
            out,
            "# HELP blastwall_module_info The module serving now (SHA-256 of its WebAssembly)."
        );
        let _ = writeln!(out, "# TYPE blastwall_module_info gauge");
        let _ = writeln!(out, "blastwall_module_info{{digest=\"{module}\"}} 1");
        let _ = writeln!(
            out,
            "# HELP blastwall_reloads_total Reloads of the policy, by result (a failed one leaves the old module serving)."
        );
        let _ = writeln!(out, "# TYPE blastwall_reloads_total counter");
        let _ = writeln!(
            out,
            "blastwall_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "blastwall_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP blastwall_unrouted_requests_total Requests for no front door (unknown path or method)."
        );
        let _ = writeln!(out, "# TYPE blastwall_unrouted_requests_total counter");
        let _ = writeln!(
            out,
            "blastwall_unrouted_requests_total {}",
            self.unrouted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP blastwall_decision_log_written_total Decision-log entries written."
        );
        let _ = writeln!(out, "# TYPE blastwall_decision_log_written_total counter");
        let _ = writeln!(out, "blastwall_decision_log_written_total {log_written}");
        let _ = writeln!(
            out,
            "# HELP blastwall_decision_log_dropped_total Decision-log entries dropped because the writer fell behind or failed."
        );
        let _ = writeln!(out, "# TYPE blastwall_decision_log_dropped_total counter");
        let _ = writeln!(out, "blastwall_decision_log_dropped_total {log_dropped}");
        out
    }
}
