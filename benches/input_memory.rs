//! Memory per input byte: the peak resident memory of one `blastwall` process deciding on one
//! large input, for each kind of input file, against the floor of the same command on a tiny
//! input of the same kind, measured in the same run.
//!
//! Every input file is capped (64 MiB by default, `--max-input-size`), so what one decision
//! can take is bounded by the cap times the ratio this bench measures: `(peak − floor) ÷ input
//! bytes`. It also runs what must fail fast: `/dev/zero` and a 100 MB facts file, each refused
//! before it is read.
//!
//! The peak is the kernel's own count for the finished child (`ru_maxrss` from `wait4`), so
//! nothing samples and nothing is missed. Inputs are generated in a temporary directory: facts
//! with many changed files (`eval --input`), a Terraform plan with many resource changes
//! (`check --plan`), a Kubernetes AdmissionReview of a large ConfigMap (`check --admission`)
//! and an agent's MCP tool call with a large argument (`check --action`). Run:
//!
//! ```sh
//! cargo build --release --bin blastwall && cargo bench --bench input_memory
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    std::env::var_os("BLASTWALL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/blastwall")
        })
}

/// Run `bin args` to its end; its exit code, wall time and peak resident memory in bytes.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by `wait4`, which also gives its resource usage"
)]
fn measure(bin: &Path, args: &[&str], cwd: &Path) -> (i32, Duration, u64) {
    let start = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the blastwall binary runs (cargo build --release --bin blastwall)");
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: `rusage` is plain old data that `wait4` fills in; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (`child` is never waited on), and
    // both pointers are to live locals of the right types.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let took = start.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Linux reports kilobytes.
    (code, took, u64::try_from(usage.ru_maxrss).unwrap() * 1024)
}

/// Writes JSON of about `bytes` bytes (at least one element) to `out`, element by element, so
/// that this process never holds the input: a child's peak memory counts what the parent held
/// when it forked.
type Generator = fn(&mut dyn Write, u64) -> std::io::Result<()>;

/// `head`, then elements `item(i)` separated by commas until `bytes` are written, then `tail`.
fn elements(
    out: &mut dyn Write,
    bytes: u64,
    head: &str,
    item: &dyn Fn(u64) -> String,
    tail: &str,
) -> std::io::Result<()> {
    out.write_all(head.as_bytes())?;
    let mut written = head.len() as u64 + tail.len() as u64;
    let mut i = 0;
    while i == 0 || written < bytes {
        let text = item(i);
        if i > 0 {
            out.write_all(b",")?;
            written += 1;
        }
        out.write_all(text.as_bytes())?;
        written += text.len() as u64;
        i += 1;
    }
    out.write_all(tail.as_bytes())
}

/// Facts with many changed files.
fn facts(out: &mut dyn Write, bytes: u64) -> std::io::Result<()> {
    elements(
        out,
        bytes,
        r#"{"change": {"author": "alice", "approvals": [{"by": "bob"}], "files": ["#,
        &|i| {
            format!(
                r#"{{"path": "services/svc{}/src/module_{i}/file_{i}.rs", "status": "modified", "added": {}, "removed": {}}}"#,
                i % 40,
                i % 50,
                i % 7
            )
        },
        "]}}",
    )
}

/// A Terraform plan (format 1.2) with many resource changes, one in ten a delete.
fn plan(out: &mut dyn Write, bytes: u64) -> std::io::Result<()> {
    elements(
        out,
        bytes,
        r#"{"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": ["#,
        &|i| {
            let team = i % 9;
            let (action, after) = if i % 10 == 0 {
                ("delete", "null".to_string())
            } else {
                (
                    "update",
                    format!(
                        r#"{{"ami": "ami-0987654321", "instance_type": "t3.small", "tags": {{"env": "staging", "team": "team-{team}"}}}}"#
                    ),
                )
            };
            format!(
                r#"{{"address": "aws_instance.web[{i}]", "mode": "managed", "type": "aws_instance", "name": "web", "index": {i}, "provider_name": "registry.terraform.io/hashicorp/aws", "change": {{"actions": ["{action}"], "before": {{"ami": "ami-0123456789", "instance_type": "t3.micro", "tags": {{"env": "staging", "team": "team-{team}"}}}}, "after": {after}}}}}"#
            )
        },
        "]}",
    )
}

/// An AdmissionReview (v1) creating a ConfigMap of many keys.
fn admission(out: &mut dyn Write, bytes: u64) -> std::io::Result<()> {
    elements(
        out,
        bytes,
        r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"}, "resource": {"group": "", "version": "v1", "resource": "configmaps"}, "name": "settings", "namespace": "payments-prod", "operation": "CREATE", "userInfo": {"username": "alice", "groups": ["system:authenticated"]}, "dryRun": false, "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "payments-prod"}, "data": {"#,
        &|i| format!(r#""key-{i}": "value number {i} of the map""#),
        "}}}}",
    )
}

/// A Claude Code `PreToolUse` payload of an MCP call writing a large content.
fn action(out: &mut dyn Write, bytes: u64) -> std::io::Result<()> {
    out.write_all(
        br#"{"session_id": "s", "cwd": "/repo", "hook_event_name": "PreToolUse", "tool_name": "mcp__filesystem__write_file", "tool_input": {"path": "/repo/deploy/prod/values.yaml", "content": ""#,
    )?;
    let line = "replicas: 3 # a line of the values file\\n".repeat(64);
    let mut written = 0u64;
    while written < bytes.max(1) {
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.write_all(br#""}}"#)
}

struct Kind {
    name: &'static str,
    /// The command line, with `{}` for the input file.
    args: &'static [&'static str],
    make: Generator,
}

fn main() {
    let bin = binary();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let kinds = [
        Kind {
            name: "facts (eval --input)",
            args: &["eval", "--input", "{}"],
            make: facts,
        },
        Kind {
            name: "Terraform plan (check --plan)",
            args: &["check", "--no-git", "--plan", "{}"],
            make: plan,
        },
        Kind {
            name: "AdmissionReview (check --admission)",
            args: &["check", "--no-git", "--admission", "{}"],
            make: admission,
        },
        Kind {
            name: "agent MCP call (check --action)",
            args: &["check", "--no-git", "--action", "{}"],
            make: action,
        },
    ];
    let mib = 1u64 << 20;
    println!("binary: {}", bin.display());
    println!(
        "{:<38} {:>9} {:>10} {:>9} {:>13} {:>8}",
        "input", "size MiB", "peak MiB", "floor MiB", "(peak-floor)/B", "seconds"
    );
    for kind in &kinds {
        let run = |bytes: u64, name: &str| {
            let path = cwd.join(name);
            {
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
                (kind.make)(&mut out, bytes).unwrap();
                out.flush().unwrap();
            }
            let size = std::fs::metadata(&path).unwrap().len();
            // The generated input is JSON (checked as a stream: this process holds nothing).
            let reader = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
            serde_json::from_reader::<_, serde::de::IgnoredAny>(reader).unwrap();
            let p = path.to_str().unwrap();
            let args: Vec<&str> = kind
                .args
                .iter()
                .map(|a| if *a == "{}" { p } else { a })
                .collect();
            let (code, took, peak) = measure(&bin, &args, cwd);
            assert!(
                (0..=2).contains(&code),
                "{} on {size} bytes exited {code}",
                kind.name
            );
            std::fs::remove_file(&path).unwrap();
            (size, took, peak)
        };
        let (_, _, floor) = run(0, "floor.json");
        for target_mib in [1u64, 8, 32, 60] {
            let (size, took, peak) = run(target_mib * mib, "input.json");
            let per_byte = peak.saturating_sub(floor) as f64 / size as f64;
            println!(
                "{:<38} {:>9.1} {:>10.1} {:>9.1} {:>13.1} {:>8.2}",
                kind.name,
                size as f64 / mib as f64,
                peak as f64 / mib as f64,
                floor as f64 / mib as f64,
                per_byte,
                took.as_secs_f64()
            );
        }
    }
    // What must fail fast, before reading: a device without end and a file over the cap.
    let big = cwd.join("big.json");
    {
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(100_000_000).unwrap();
    }
    for (name, input) in [
        ("/dev/zero (eval --input)", Path::new("/dev/zero")),
        ("100 MB file (eval --input)", big.as_path()),
    ] {
        let (code, took, peak) = measure(&bin, &["eval", "--input", input.to_str().unwrap()], cwd);
        assert_eq!(code, 3, "{name} must be refused");
        println!(
            "{:<38} {:>9} {:>10.1} {:>9} {:>13} {:>8.3}",
            name,
            "-",
            peak as f64 / mib as f64,
            "-",
            "refused",
            took.as_secs_f64()
        );
    }
}
