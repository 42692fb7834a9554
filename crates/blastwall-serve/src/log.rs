//! The decision log: one JSON line per decision, with OPA's field names where they fit
//! (`decision_id`, `timestamp`, `path`, `input`, `result`, `bundles.<name>.revision`).
//!
//! A request hands its entry to a bounded queue and moves on: serialising and writing happen
//! on a thread of their own, so a slow disk never slows a decision. The queue is bounded in
//! entries and in the memory they hold (an entry keeps its facts until it is written, so a
//! count alone would let a writer that falls behind pile up gigabytes of large requests). When either bound is
//! reached the entry is dropped and counted (`blastwall_decision_log_dropped_total`, and a line
//! on standard error at shutdown), never waited for and never lost silently.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::LogTarget;
use crate::metrics::Door;
use crate::shadow::Decided;

/// One decision, as the request hands it over; the writer renders it.
pub(crate) struct Entry {
    /// From [`DecisionLog::decision_id`].
    pub(crate) id: String,
    pub(crate) door: Door,
    /// The request path.
    pub(crate) path: String,
    pub(crate) time: SystemTime,
    /// The facts decided on (absent when the request could not be read into facts).
    pub(crate) input: Option<Value>,
    pub(crate) decided: Result<Decided, String>,
    pub(crate) revision: String,
    pub(crate) took_ns: u64,
    /// The request's size in bytes; the queue's memory bound counts `Entry::held` of it.
    pub(crate) size: usize,
}

impl Entry {
    /// About how many bytes of memory a queued entry holds: its facts as a JSON value (several
    /// times the request's bytes: every string, number and map is its own allocation), the
    /// decision, and the rest.
    fn held(&self) -> usize {
        self.size.saturating_mul(8).saturating_add(2048)
    }
}

#[derive(Debug)]
pub(crate) struct DecisionLog {
    queue: Mutex<Option<SyncSender<Entry>>>,
    counts: Arc<Counts>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Distinguishes this process's decision ids from another's.
    run: u64,
    next: AtomicU64,
}

#[derive(Debug, Default)]
struct Counts {
    written: AtomicU64,
    dropped: AtomicU64,
    /// About how much memory the entries queued and not yet written hold.
    queued_bytes: AtomicUsize,
    /// The most `queued_bytes` may reach.
    max_bytes: usize,
}

impl DecisionLog {
    pub(crate) fn open(
        target: Option<&LogTarget>,
        capacity: usize,
        max_bytes: usize,
    ) -> Result<DecisionLog, String> {
        let run = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| {
                u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(0)
            })
            ^ u64::from(std::process::id()).rotate_left(48);
        let counts = Arc::new(Counts {
            max_bytes,
            ..Counts::default()
        });
        let Some(target) = target else {
            return Ok(DecisionLog {
                queue: Mutex::new(None),
                counts,
                writer: Mutex::new(None),
                run,
                next: AtomicU64::new(0),
            });
        };
        let out: Box<dyn std::io::Write + Send> = match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open `{}`: {e}", path.display()))?,
            ),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity.max(1));
        let thread_counts = counts.clone();
        let writer = std::thread::Builder::new()
            .name("blastwall-log".into())
            .spawn(move || write_all(rx, out, &thread_counts))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(DecisionLog {
            queue: Mutex::new(Some(tx)),
            counts,
            writer: Mutex::new(Some(writer)),
            run,
            next: AtomicU64::new(0),
        })
    }

    /// A new decision id: unique in this process and, with overwhelming likelihood, across
    /// processes.
    pub(crate) fn decision_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}-{n:08x}", self.run)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Queues `entry`, or drops and counts it when the queue is full; never waits.
    pub(crate) fn push(&self, entry: Entry) {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = queue.as_ref() else { return };
        let size = entry.held();
        let before = self.counts.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) > self.counts.max_bytes && before > 0 {
            self.counts.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.queued_bytes.fetch_sub(size, Ordering::Relaxed);
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn written(&self) -> u64 {
        self.counts.written.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Closes the queue, waits for the writer to write what is queued, and returns how many
    /// entries were dropped in all.
    pub(crate) fn close(&self) -> u64 {
        drop(
            self.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(writer) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = writer.join();
        }
        self.dropped()
    }
}

fn write_all(rx: Receiver<Entry>, out: Box<dyn std::io::Write + Send>, counts: &Counts) {
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let mut failed = false;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        // Write what is queued, then flush once.
        while let Some(entry) = next {
            let size = entry.held();
            let line = render(entry);
            counts.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            let ok = !failed
                && serde_json::to_writer(&mut out, &line).is_ok()
                && out.write_all(b"\n").is_ok();
            if ok {
                counts.written.fetch_add(1, Ordering::Relaxed);
            } else {
                if !failed {
                    eprintln!(
                        "blastwall serve: cannot write the decision log; entries are dropped and counted from now on"
                    );
                }
                failed = true;
                counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
            next = rx.try_recv().ok();
        }
        if !failed && out.flush().is_err() {
            failed = true;
        }
    }
    let _ = out.flush();
}

/// The log line of an entry.
fn render(e: Entry) -> Value {
    let mut line = serde_json::Map::new();
    line.insert("decision_id".into(), e.id.into());
    line.insert("timestamp".into(), crate::time::rfc3339(e.time).into());
    line.insert("path".into(), e.path.into());
    line.insert("door".into(), e.door.name().into());
    if let Some(input) = e.input {
        line.insert("input".into(), input);
    }
    match e.decided {
        Ok(d) => {
            line.insert(
                "rules".into(),
                Value::Array(
                    d.decision
                        .findings
                        .iter()
                        .map(|f| {
                            json!({
                                "rule": f.rule,
                                "level": f.level.as_str(),
                                "effect": f.effect.as_str(),
                            })
                        })
                        .collect(),
                ),
            );
            if !d.shadow.is_empty() {
                line.insert(
                    "shadow".into(),
                    json!({
                        "would": d.shadow_outcome.as_str(),
                        "findings": d.shadow,
                    }),
                );
            }
            line.insert(
                "result".into(),
                serde_json::to_value(&d.decision).unwrap_or(Value::Null),
            );
        }
        Err(error) => {
            line.insert(
                "result".into(),
                json!({ "outcome": "deny", "error": error }),
            );
            line.insert("error".into(), error.into());
        }
    }
    line.insert(
        "bundles".into(),
        json!({ "blastwall": { "revision": e.revision } }),
    );
    line.insert(
        "metrics".into(),
        json!({ "timer_server_handler_ns": e.took_ns }),
    );
    Value::Object(line)
}
