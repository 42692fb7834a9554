//! The whole `blastwall hook claude-code` process, from exec to exit, against the floor of the
//! same binary doing nothing: `blastwall --version`.
//!
//! An agent starts the hook once per tool call, so what it waits for is a process: exec and
//! dynamic loading, reading the payload, finding the repository and its configuration, loading
//! the compiled policy from the cache, deciding, answering. `--version` pays the exec, the
//! loader and clap, and nothing else; the ratio between the two is what the hook itself adds.
//!
//! Both run alternately, `ROUNDS` times each, from the release binary (`cargo build --release
//! --bin blastwall` first, or name another with `BLASTWALL_BIN`), with the payload piped on
//! standard input and both outputs read, as an agent does. The cache is warmed by one call
//! before timing, as every call after an agent's first finds it. Run:
//!
//! ```sh
//! cargo build --release --bin blastwall && cargo bench --bench hook
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 300;

fn binary() -> PathBuf {
    std::env::var_os("BLASTWALL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/blastwall")
        })
}

/// One run of the binary with `args`, `stdin` piped in; returns the wall time and stdout.
fn run(bin: &PathBuf, args: &[&str], stdin: &[u8], cache: &std::path::Path) -> (Duration, String) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env("BLASTWALL_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the blastwall binary runs (cargo build --release --bin blastwall)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8(out.stdout).unwrap())
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that names something else skips this bench.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filter.is_empty() && !filter.iter().any(|f| "hook".contains(f.as_str())) {
        return;
    }
    let bin = binary();
    let cache = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let cwd = workdir.path().join("infra/envs/production");
    std::fs::create_dir_all(&cwd).unwrap();
    let payload = serde_json::json!({
        "session_id": "bench", "transcript_path": "/tmp/t.jsonl",
        "cwd": cwd, "permission_mode": "default", "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": { "command": "terraform destroy -auto-approve" },
        "tool_use_id": "toolu_bench",
    })
    .to_string();

    // Warm the cache, and check the answer is the deny being timed.
    let (cold, answer) = run(
        &bin,
        &["hook", "claude-code"],
        payload.as_bytes(),
        cache.path(),
    );
    assert!(
        answer.contains("\"permissionDecision\":\"deny\""),
        "{answer}"
    );

    let mut hook = Vec::with_capacity(ROUNDS);
    let mut version = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        version.push(run(&bin, &["--version"], b"", cache.path()).0);
        hook.push(
            run(
                &bin,
                &["hook", "claude-code"],
                payload.as_bytes(),
                cache.path(),
            )
            .0,
        );
    }
    hook.sort();
    version.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("hook/process (binary {})", bin.display());
    println!("  first call, cold cache: {:.2} ms", ms(cold));
    println!(
        "  blastwall --version:             median {:.2} ms  p10 {:.2}  p90 {:.2}",
        ms(quantile(&version, 0.5)),
        ms(quantile(&version, 0.1)),
        ms(quantile(&version, 0.9))
    );
    println!(
        "  blastwall hook claude-code deny: median {:.2} ms  p10 {:.2}  p90 {:.2}",
        ms(quantile(&hook, 0.5)),
        ms(quantile(&hook, 0.1)),
        ms(quantile(&hook, 0.9))
    );
    println!(
        "  ratio of medians: {:.2}x ({ROUNDS} runs each, alternating)",
        ms(quantile(&hook, 0.5)) / ms(quantile(&version, 0.5))
    );
}
