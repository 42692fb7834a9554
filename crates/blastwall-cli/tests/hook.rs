//! End-to-end: `blastwall hook <agent>` driven through standard input and output as each agent
//! drives it, with real payloads; every failure on the way is a deny in the agent's contract,
//! never an exit code the agent reads as "run it"; `hook install` and `uninstall` merge into
//! and restore the agents' configuration files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// One cache directory for every call of this test binary, so the shipped rules are compiled
/// once, not once a test.
fn cache() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hook_with(agent: &str, args: &[&str], stdin: &[u8], cache_dir: &Path) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["hook", agent])
        .args(args)
        .env("BLASTWALL_CACHE_DIR", cache_dir)
        .env_remove("XDG_CACHE_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    // The hook may stop reading early (an oversized payload); a broken pipe then is expected.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn hook(agent: &str, stdin: &[u8]) -> Out {
    hook_with(agent, &[], stdin, cache())
}

fn json_of(out: &Out) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {:?}", out.stdout))
}

/// The decision an answer gives, read as the agent reads it: `allow`, `ask` or `deny`.
fn verdict(agent: &str, out: &Out) -> String {
    assert_eq!(out.code, 0, "{agent}: stderr: {}", out.stderr);
    let v = match agent {
        "claude-code" | "codex" | "copilot" if out.stdout.is_empty() => return "allow".into(),
        _ => json_of(out),
    };
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    match agent {
        "claude-code" | "codex" => {
            s("/hookSpecificOutput/permissionDecision").unwrap_or_else(|| "allow".into())
        }
        "cursor" => s("/permission").expect("cursor always gets a permission"),
        "gemini" => s("/decision").unwrap_or_else(|| "allow".into()),
        "copilot" => s("/permissionDecision").unwrap_or_else(|| "allow".into()),
        _ => unreachable!(),
    }
}

/// The reason an answer carries.
fn reason(agent: &str, out: &Out) -> String {
    let v = json_of(out);
    let p = match agent {
        "claude-code" | "codex" => "/hookSpecificOutput/permissionDecisionReason",
        "cursor" => "/agent_message",
        "gemini" => "/reason",
        _ => "/permissionDecisionReason",
    };
    v.pointer(p)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

const AGENTS: [&str; 5] = ["claude-code", "codex", "cursor", "gemini", "copilot"];

/// A shell command as `agent` sends it.
fn shell_payload(agent: &str, command: &str, cwd: &str) -> Vec<u8> {
    let v = match agent {
        "claude-code" | "codex" => json!({
            "session_id": "s", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": { "command": command }, "tool_use_id": "toolu_1",
        }),
        "cursor" => json!({
            "hook_event_name": "beforeShellExecution", "conversation_id": "c",
            "generation_id": "g", "workspace_roots": [cwd], "command": command, "cwd": cwd,
        }),
        "gemini" => json!({
            "session_id": "s", "transcript_path": "/tmp/t.json", "cwd": cwd,
            "hook_event_name": "BeforeTool", "timestamp": "2026-12-07T10:00:00Z",
            "tool_name": "run_shell_command", "tool_input": { "command": command },
        }),
        "copilot" => json!({
            "timestamp": 1_704_614_600_000_u64, "cwd": cwd, "toolName": "bash",
            "toolArgs": json!({ "command": command, "description": "run" }).to_string(),
        }),
        _ => unreachable!(),
    };
    v.to_string().into_bytes()
}

#[test]
fn a_destructive_production_command_is_denied_by_every_agent() {
    for agent in AGENTS {
        let out = hook(
            agent,
            &shell_payload(
                agent,
                "terraform destroy -auto-approve",
                "/srv/infra/envs/production",
            ),
        );
        assert_eq!(verdict(agent, &out), "deny", "{agent}: {}", out.stdout);
        let why = reason(agent, &out);
        assert!(
            why.contains("agent_destructive_command_in_prod")
                && why.contains("terraform destroy -auto-approve"),
            "{agent}: {why}"
        );
    }
}

#[test]
fn a_review_asks_where_the_agent_can_ask_and_denies_elsewhere() {
    for (agent, expected) in [
        ("claude-code", "ask"),
        ("cursor", "ask"),
        ("codex", "deny"),
        ("gemini", "deny"),
        ("copilot", "deny"),
    ] {
        let out = hook(
            agent,
            &shell_payload(agent, "rm -rf build", "/home/dev/project"),
        );
        assert_eq!(verdict(agent, &out), expected, "{agent}: {}", out.stdout);
        let why = reason(agent, &out);
        assert!(why.contains("agent_destructive_command"), "{agent}: {why}");
        if expected == "deny" {
            // The reason says what would let it proceed, since the agent will not ask.
            assert!(
                why.contains("to proceed") && why.contains("run it yourself"),
                "{agent}: {why}"
            );
        }
    }
}

#[test]
fn a_harmless_command_is_not_denied_and_changes_no_permission() {
    for agent in AGENTS {
        let out = hook(agent, &shell_payload(agent, "ls -la", "/home/dev/project"));
        assert_eq!(verdict(agent, &out), "allow", "{agent}: {}", out.stdout);
        match agent {
            // Nothing that would grant what the user's own settings would ask about.
            "claude-code" | "codex" | "copilot" => assert_eq!(out.stdout, "", "{agent}"),
            "gemini" => assert_eq!(json_of(&out), json!({})),
            _ => assert_eq!(json_of(&out), json!({"permission": "allow"})),
        }
    }
}

#[test]
fn real_payloads_decide_as_their_commands_say() {
    let fixture = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/agent-hooks")
                .join(name),
        )
        .unwrap()
    };
    let out = hook(
        "claude-code",
        &fixture("claude_pretooluse_bash_npm_test_official_docs.json"),
    );
    assert_eq!(verdict("claude-code", &out), "allow");
    let out = hook(
        "claude-code",
        &fixture("claude_pretooluse_bash_rm_rf_cupcake.json"),
    );
    assert_eq!(verdict("claude-code", &out), "ask", "{}", out.stdout);
    let out = hook(
        "claude-code",
        &fixture("claude_pretooluse_mcp_github_delete_repository_cupcake.json"),
    );
    assert_eq!(verdict("claude-code", &out), "ask", "{}", out.stdout);
    assert!(reason("claude-code", &out).contains("mcp__github__delete_repository"));
    let out = hook(
        "cursor",
        &fixture("cursor_beforeShellExecution_cupcake_docs.json"),
    );
    assert_eq!(verdict("cursor", &out), "allow", "{}", out.stdout);
}

#[test]
fn every_broken_input_is_a_deny_in_the_agents_contract() {
    let big = {
        let mut v =
            br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":""#
                .to_vec();
        v.extend(std::iter::repeat_n(b'a', 50 << 20));
        v.extend(br#""}}"#);
        v
    };
    for agent in AGENTS {
        let valid = shell_payload(agent, "ls", "/tmp");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"\x00\xffnot json at all".to_vec()),
            ("empty", Vec::new()),
            ("truncated", valid[..valid.len() / 2].to_vec()),
            ("a list", b"[1, 2, 3]".to_vec()),
            ("50 MB", big.clone()),
            ("an unknown tool", unknown_tool(agent)),
            ("a shell call without a command", without_command(agent)),
            (
                "an unparsable command",
                shell_payload(agent, "echo 'unterminated", "/tmp"),
            ),
        ];
        for (what, payload) in cases {
            let out = hook(agent, &payload);
            assert_eq!(out.code, 0, "{agent}, {what}: {}", out.stderr);
            assert_eq!(
                verdict(agent, &out),
                "deny",
                "{agent}, {what}: {}",
                out.stdout
            );
            assert!(!reason(agent, &out).is_empty(), "{agent}, {what}");
        }
    }
}

fn unknown_tool(agent: &str) -> Vec<u8> {
    let v = match agent {
        "copilot" => json!({ "cwd": "/tmp", "toolName": "frobnicate", "toolArgs": "{}" }),
        "cursor" => {
            json!({ "hook_event_name": "preToolUse", "tool_name": "Frobnicate", "tool_input": {} })
        }
        _ => {
            json!({ "hook_event_name": if agent == "gemini" { "BeforeTool" } else { "PreToolUse" },
                     "tool_name": "Frobnicate", "tool_input": {} })
        }
    };
    v.to_string().into_bytes()
}

fn without_command(agent: &str) -> Vec<u8> {
    let v = match agent {
        "copilot" => {
            json!({ "cwd": "/tmp", "toolName": "bash", "toolArgs": "{\"description\": \"x\"}" })
        }
        "cursor" => json!({ "hook_event_name": "beforeShellExecution", "cwd": "/tmp" }),
        "gemini" => {
            json!({ "hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {} })
        }
        _ => {
            json!({ "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": { "cmd": "rm -rf /" } })
        }
    };
    v.to_string().into_bytes()
}

#[test]
fn an_event_the_hook_does_not_decide_is_denied() {
    let out = hook(
        "claude-code",
        br#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#,
    );
    assert_eq!(verdict("claude-code", &out), "deny");
    assert!(reason("claude-code", &out).contains("PostToolUse"));
    let out = hook(
        "cursor",
        br#"{"hook_event_name":"beforeReadFile","file_path":"/etc/passwd"}"#,
    );
    assert_eq!(verdict("cursor", &out), "deny");
}

#[test]
fn fail_open_lets_a_broken_call_run_and_says_so() {
    let out = hook_with("claude-code", &["--fail-open"], b"garbage", cache());
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("--fail-open"), "{}", out.stderr);
    // A decision is still a decision.
    let out = hook_with(
        "claude-code",
        &["--fail-open"],
        &shell_payload(
            "claude-code",
            "terraform destroy -auto-approve",
            "/srv/prod",
        ),
        cache(),
    );
    assert_eq!(verdict("claude-code", &out), "deny");
}

/// A directory that looks like a repository to the hook, with the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const NO_CURL: &str = r#"
rule no_curl {
    level hard
    when some c in action.commands: c.program == "curl"
    deny "no curl here"
}
"#;

#[test]
fn the_repository_of_the_calls_cwd_supplies_rules_and_config() {
    let r = repo(&[("rules/no-curl.bw", NO_CURL)]);
    let sub = r.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let out = hook(
        "claude-code",
        &shell_payload("claude-code", "curl example.com", sub.to_str().unwrap()),
    );
    assert_eq!(verdict("claude-code", &out), "deny", "{}", out.stdout);
    assert!(reason("claude-code", &out).contains("no curl here"));
    // Outside the repository the shipped rules decide, and they allow it.
    let out = hook(
        "claude-code",
        &shell_payload("claude-code", "curl example.com", "/"),
    );
    assert_eq!(verdict("claude-code", &out), "allow");

    // `blastwall.toml` of the repository: its production tokens decide the environment. A
    // Terraform directory named by a configured token is production; without the
    // configuration the same call only asks.
    let destroy = |root: &Path| {
        let cwd = root.join("deploy/blue");
        std::fs::create_dir_all(&cwd).unwrap();
        hook(
            "claude-code",
            &shell_payload(
                "claude-code",
                "terraform destroy -auto-approve",
                cwd.to_str().unwrap(),
            ),
        )
    };
    let r = repo(&[("blastwall.toml", "[env]\nproduction_tokens = [\"blue\"]\n")]);
    let out = destroy(r.path());
    assert_eq!(verdict("claude-code", &out), "deny", "{}", out.stdout);
    let plain = repo(&[]);
    let out = destroy(plain.path());
    assert_eq!(verdict("claude-code", &out), "ask", "{}", out.stdout);
}

#[test]
fn rules_given_to_the_hook_win_over_the_repositorys() {
    let mine = tempfile::tempdir().unwrap();
    std::fs::write(mine.path().join("no-curl.bw"), NO_CURL).unwrap();
    // The repository's own rules are empty of any curl rule; the hook's are used instead.
    let r = repo(&[(
        "rules/other.bw",
        "rule nothing {\n    level advisory\n    when false\n    warn \"never\"\n}\n",
    )]);
    let out = hook_with(
        "claude-code",
        &["--rules", mine.path().to_str().unwrap()],
        &shell_payload(
            "claude-code",
            "curl example.com",
            r.path().to_str().unwrap(),
        ),
        cache(),
    );
    assert_eq!(verdict("claude-code", &out), "deny", "{}", out.stdout);
}

#[test]
fn bad_rules_or_config_are_denies_that_say_why() {
    let r = repo(&[(
        "rules/broken.bw",
        "rule broken {\n    level hard\n    when nonsense.field\n",
    )]);
    let out = hook(
        "codex",
        &shell_payload("codex", "ls", r.path().to_str().unwrap()),
    );
    assert_eq!(verdict("codex", &out), "deny");
    assert!(
        reason("codex", &out).contains("rules do not compile"),
        "{}",
        reason("codex", &out)
    );

    let r = repo(&[("blastwall.toml", "this is = = not toml")]);
    let out = hook(
        "gemini",
        &shell_payload("gemini", "ls", r.path().to_str().unwrap()),
    );
    assert_eq!(verdict("gemini", &out), "deny");
    assert!(
        reason("gemini", &out).contains("blastwall.toml"),
        "{}",
        reason("gemini", &out)
    );
}

#[test]
fn a_cached_policy_decides_as_a_fresh_one_and_a_corrupt_cache_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let payload = shell_payload(
        "claude-code",
        "kubectl --context prod delete ns payments",
        "/tmp",
    );
    let first = hook_with("claude-code", &[], &payload, dir.path());
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bwc"))
        .collect();
    assert_eq!(files.len(), 1, "one compiled policy is cached: {files:?}");
    assert!(
        dir.path().join("artifact-key").is_file(),
        "sealed with the user's key, kept beside it"
    );
    let second = hook_with("claude-code", &[], &payload, dir.path());
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(verdict("claude-code", &second), "deny");
    // Overwrite the cached file with garbage (by renaming a new file over it, as a cache
    // writer would): it fails its checks, and the policy is rebuilt.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
    std::fs::rename(&junk, &files[0]).unwrap();
    let third = hook_with("claude-code", &[], &payload, dir.path());
    assert_eq!(first.stdout, third.stdout);
    assert!(
        std::fs::metadata(&files[0]).unwrap().len() > 4096,
        "rewritten"
    );
}

/// A key others may read could seal code the user runs: the hook does not use it, and decides
/// all the same, compiling instead of caching.
#[cfg(unix)]
#[test]
fn with_a_key_others_can_read_the_hook_caches_nothing_and_still_decides() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("artifact-key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let payload = shell_payload(
        "claude-code",
        "kubectl --context prod delete ns payments",
        "/tmp",
    );
    let out = hook_with("claude-code", &[], &payload, dir.path());
    assert_eq!(verdict("claude-code", &out), "deny", "{}", out.stderr);
    let cached: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bwc"))
        .collect();
    assert!(cached.is_empty(), "nothing cached: {cached:?}");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        [7u8; 32],
        "the key is left as it was"
    );
}

fn install(args: &[&str], home: &Path) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["hook"])
        .args(args)
        .env("HOME", home)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn install_merges_is_idempotent_and_uninstall_restores_the_file() {
    let existing: [(&str, &str, Value); 5] = [
        (
            "claude-code",
            ".claude/settings.json",
            json!({
                "permissions": { "allow": ["Bash(npm test)"] },
                "hooks": { "PreToolUse": [{ "matcher": "Write", "hooks": [{ "type": "command", "command": "./fmt.sh" }] }] },
            }),
        ),
        (
            "codex",
            ".codex/hooks.json",
            json!({ "hooks": { "Stop": [{ "hooks": [{ "type": "command", "command": "notify" }] }] } }),
        ),
        (
            "cursor",
            ".cursor/hooks.json",
            json!({ "version": 1, "hooks": { "afterFileEdit": [{ "command": "fmt" }] } }),
        ),
        (
            "gemini",
            ".gemini/settings.json",
            json!({ "theme": "dark" }),
        ),
        ("copilot", ".github/hooks/blastwall.json", Value::Null),
    ];
    for (agent, file, before) in existing {
        let project = tempfile::tempdir().unwrap();
        let path = project.path().join(file);
        if !before.is_null() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&before).unwrap()).unwrap();
        }
        let p = project.path().to_str().unwrap();
        let out = install(
            &["install", agent, "--repo", p, "--command", "blastwall"],
            project.path(),
        );
        assert_eq!(out.code, 0, "{agent}: {}", out.stderr);
        assert!(out.stdout.contains("added"), "{agent}: {}", out.stdout);
        let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let text = after.to_string();
        assert!(
            text.contains(&format!("blastwall hook {agent}")),
            "{agent}: {text}"
        );
        if agent == "cursor" {
            assert_eq!(
                after.pointer("/hooks/beforeShellExecution/0/failClosed"),
                Some(&json!(true))
            );
            assert!(after.pointer("/hooks/beforeMCPExecution/0").is_some());
        }
        // What was there stays.
        if let Value::Object(m) = &before {
            for key in m.keys().filter(|k| *k != "hooks") {
                assert_eq!(after.get(key), before.get(key), "{agent}: {key}");
            }
        }
        // Again: nothing changes.
        let again = install(
            &["install", agent, "--repo", p, "--command", "blastwall"],
            project.path(),
        );
        assert!(
            again.stdout.contains("already"),
            "{agent}: {}",
            again.stdout
        );
        let after_again: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(after, after_again, "{agent}");
        // Uninstall: exactly the file there was before.
        let out = install(&["uninstall", agent, "--repo", p], project.path());
        assert_eq!(out.code, 0, "{agent}: {}", out.stderr);
        if before.is_null() {
            assert!(!path.exists(), "{agent}: the file install created is gone");
        } else {
            let restored: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(restored, before, "{agent}");
        }
    }
}

#[test]
fn install_refuses_a_file_that_is_not_json_and_leaves_it() {
    let project = tempfile::tempdir().unwrap();
    let path = project.path().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    let out = install(
        &[
            "install",
            "claude-code",
            "--repo",
            project.path().to_str().unwrap(),
        ],
        project.path(),
    );
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("not valid JSON"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
}

#[test]
fn user_scope_writes_under_home() {
    let home = tempfile::tempdir().unwrap();
    let out = install(
        &[
            "install",
            "gemini",
            "--scope",
            "user",
            "--command",
            "blastwall",
        ],
        home.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.path().join(".gemini/settings.json").is_file());
    let out = install(&["install", "copilot", "--scope", "user"], home.path());
    assert_eq!(out.code, 3, "Copilot has no user scope: {}", out.stdout);
}
