//! End to end: `blastwall serve` answers on the address it prints, with the rules and flags it
//! was given; `blastwall build --webhook-config` writes the webhook for the admission rules and
//! refuses a policy without any. The server's own doors are tested in `blastwall-serve`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Kills the server when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request on a fresh loopback connection: the status and the body.
fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_answers_on_the_address_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("gate.bw");
    std::fs::write(
        &rules,
        "rule gate {\n    level hard\n    when action.command == \"deploy\"\n    deny \"deploys are closed\"\n}\n",
    )
    .unwrap();
    let log = dir.path().join("log.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-watch", "--rules"])
        .arg(&rules)
        .arg("--decision-log")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Running(child);
    let mut first = String::new();
    BufReader::new(stderr).read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim()
        .to_string();

    let (status, body) = request(
        &addr,
        "POST",
        "/v1/decide",
        r#"{"action": {"command": "deploy"}}"#,
    );
    assert_eq!(status, 200);
    let decision: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(decision["outcome"], "deny");
    assert_eq!(decision["findings"][0]["message"], "deploys are closed");

    let (status, body) = request(&addr, "POST", "/v1/decide", "{oops");
    assert_eq!(status, 400);
    assert!(body.contains("\"outcome\":\"deny\""), "{body}");

    let (status, body) = request(&addr, "GET", "/healthz", "");
    assert_eq!(status, 200);
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    drop(server);
}

#[test]
fn serve_refuses_a_shadow_rule_the_policy_lacks() {
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--no-watch",
            "--shadow",
            "no_such_rule",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`no_such_rule`"), "{stderr}");
}

#[test]
fn build_writes_the_webhook_for_the_admission_rules() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("webhook.yaml");
    let ca = dir.path().join("ca.crt");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["build", "--webhook-config"])
        .arg(&yaml)
        .args(["--webhook-service", "guard/blastwall", "--webhook-ca"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&yaml).unwrap();
    for line in [
        "kind: ValidatingWebhookConfiguration\n",
        "    failurePolicy: Fail\n",
        "    sideEffects: None\n",
        "    timeoutSeconds: 5\n",
        "    admissionReviewVersions: [\"v1\"]\n",
        "        namespace: \"guard\"\n",
        "        operations: [\"DELETE\"]\n",
        "        resources: [\"statefulsets\"]\n",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert!(
        !text.contains("REPLACE-WITH"),
        "the CA bundle is filled in:\n{text}"
    );

    // A configuration narrows it further.
    let config = dir.path().join("blastwall.toml");
    std::fs::write(
        &config,
        "[params]\nadmission_protected_kinds = [\"Namespace\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["build", "--webhook-config"])
        .arg(&yaml)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("resources: [\"namespaces\"]"), "{text}");
    assert!(!text.contains("statefulsets"), "{text}");

    // Rules that never read an admission request get no webhook.
    let rules = dir.path().join("plan.bw");
    std::fs::write(
        &rules,
        "rule no_deletes {\n    when some r in plan.resources: r.action == \"delete\"\n    deny \"{r.address}\"\n}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .arg("build")
        .arg(&rules)
        .arg("--webhook-config")
        .arg(dir.path().join("none.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no admission rules"));
    assert!(!dir.path().join("none.yaml").exists());
}
