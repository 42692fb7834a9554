//! The agent-action adapter: real hook payloads (see `tests/fixtures/PROVENANCE.md`) and a table
//! of shell commands, destructive and not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::ACTION;
use blastwall_facts::{ActionError, ActionOptions, action_from_command, action_from_json};
use common::{assert_conforms, fixture, fixture_names};
use serde_json::{Value, json};

fn from_json(text: &str) -> Result<Value, ActionError> {
    let r = action_from_json(text, &ActionOptions::default());
    if let Ok(doc) = &r {
        assert_conforms(doc, &ACTION);
    }
    r
}

fn run(cmd: &str, cwd: &str) -> Value {
    let doc = action_from_command(cmd, cwd, &ActionOptions::default());
    assert_conforms(&doc, &ACTION);
    doc
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn programs(doc: &Value) -> Vec<String> {
    doc["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["program"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_fixture_parses() {
    let names = fixture_names("agent-hooks");
    assert_eq!(names.len(), 4);
    for name in names {
        let doc =
            from_json(&fixture("agent-hooks", &name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(doc.get("parse_error").is_none(), "{name}");
    }
}

#[test]
fn claude_bash_npm_test_from_the_docs() {
    let doc = from_json(&fixture(
        "agent-hooks",
        "claude_pretooluse_bash_npm_test_official_docs.json",
    ))
    .unwrap();
    assert_eq!(doc["source"], "claude-code");
    assert_eq!(doc["tool"], "Bash");
    assert_eq!(doc["command"], "npm test");
    assert_eq!(doc["cwd"], "/home/user/my-project");
    assert_eq!(doc["env"], "unknown");
    assert_eq!(
        doc["commands"],
        json!([{"program": "npm", "args": ["test"], "classes": [], "env": "unknown"}])
    );
    assert_eq!(doc["classes"], json!([]));
    assert_eq!(doc["arguments"], json!([]));
}

#[test]
fn claude_bash_rm_rf() {
    let doc = from_json(&fixture(
        "agent-hooks",
        "claude_pretooluse_bash_rm_rf_cupcake.json",
    ))
    .unwrap();
    assert_eq!(doc["source"], "claude-code");
    assert_eq!(doc["command"], "rm -rf /tmp/test");
    assert_eq!(doc["cwd"], "/tmp");
    assert_eq!(doc["classes"], json!(["not_read_only", "recursive_delete"]));
    assert_eq!(doc["commands"][0]["program"], "rm");
    assert_eq!(doc["commands"][0]["args"], json!(["-rf", "/tmp/test"]));
}

#[test]
fn claude_mcp_tool_arguments() {
    let doc = from_json(&fixture(
        "agent-hooks",
        "claude_pretooluse_mcp_github_delete_repository_cupcake.json",
    ))
    .unwrap();
    assert_eq!(doc["source"], "claude-code");
    assert_eq!(doc["tool"], "mcp__github__delete_repository");
    assert_eq!(doc["command"], "");
    assert_eq!(doc["commands"], json!([]));
    // The tool's name holds a destructive verb.
    assert_eq!(doc["classes"], json!(["destructive_tool", "not_read_only"]));
    let args = doc["arguments"].as_array().unwrap();
    assert_eq!(args.len(), 3);
    for pair in [
        json!({"key": "repository", "value": "test-project"}),
        json!({"key": "owner", "value": "myuser"}),
        json!({"key": "branch", "value": "main"}),
    ] {
        assert!(args.contains(&pair), "{pair}");
    }
}

#[test]
fn cursor_before_shell_execution() {
    let doc = from_json(&fixture(
        "agent-hooks",
        "cursor_beforeShellExecution_cupcake_docs.json",
    ))
    .unwrap();
    assert_eq!(doc["source"], "cursor");
    assert_eq!(doc["tool"], "");
    assert_eq!(doc["command"], "npm install express");
    assert_eq!(doc["cwd"], "/path/to/project");
    assert_eq!(programs(&doc), vec!["npm"]);
    // Without `cwd`, the first workspace root stands in.
    let doc = from_json(
        &json!({"hook_event_name": "beforeShellExecution", "command": "ls",
                "workspace_roots": ["/srv/prod/app", "/x"]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(doc["cwd"], "/srv/prod/app");
    // The checkout's path alone does not make `ls` a production command.
    assert_eq!(doc["env"], "unknown");
}

#[test]
fn mcp_tools_call() {
    let doc = from_json(
        &json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "delete_bucket", "arguments": {
                "bucket": "logs", "options": {"force": true, "region": "eu"},
                "tags": ["a", "b"], "empty": {}, "none": null, "environment": "Prod"
            }}
        })
        .to_string(),
    )
    .unwrap();
    assert_eq!(doc["source"], "mcp");
    assert_eq!(doc["tool"], "delete_bucket");
    assert_eq!(doc["env"], "production");
    let mut args: Vec<(String, String)> = doc["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().into(),
                a["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    args.sort();
    let expected: Vec<(String, String)> = [
        ("bucket", "logs"),
        ("empty", "{}"),
        ("environment", "Prod"),
        ("none", ""),
        ("options.force", "true"),
        ("options.region", "eu"),
        ("tags.0", "a"),
        ("tags.1", "b"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect();
    assert_eq!(args, expected);
}

#[test]
fn plain_command_json() {
    let doc =
        from_json(r#"{"command": "cd infra/prod && terraform destroy", "cwd": "/repo"}"#).unwrap();
    assert_eq!(doc["source"], "plain");
    assert_eq!(doc["env"], "production");
    assert_eq!(
        doc["classes"],
        json!(["not_read_only", "terraform_destroy"])
    );
}

#[test]
fn unrecognised_inputs_are_errors() {
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the input is empty"),
        ("{\"command\": \"ls\"".to_string(), "looks truncated"),
        ("[]".to_string(), "expected a json object at the top level, found an array"),
        (
            json!({"hello": 1, "world": 2}).to_string(),
            "unrecognised action input with keys `hello`, `world`",
        ),
        (
            json!({"hook_event_name": "beforeReadFile", "file_path": "x"}).to_string(),
            "unsupported cursor hook event `beforeReadFile`",
        ),
        (
            json!({"hook_event_name": "UserPromptSubmit", "prompt": "hi"}).to_string(),
            "unrecognised action input with keys",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "tools/list"}).to_string(),
            "unsupported mcp method `tools/list`",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "tools/call"}).to_string(),
            "missing field `params`",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"arguments": {}}})
                .to_string(),
            "missing field `params.name`",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "x", "arguments": [1]}})
                .to_string(),
            "`params.arguments` should be an object, found an array",
        ),
        (
            json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}})
                .to_string(),
            "missing field `tool_input.command`",
        ),
        (
            json!({"tool_name": "Bash", "tool_input": {"command": 5}}).to_string(),
            "`tool_input.command` should be a string or a list of strings, found a number",
        ),
        (json!({"command": 5}).to_string(), "`command` should be a string, found a number"),
        (
            json!({"command": "ls", "cwd": false}).to_string(),
            "`cwd` should be a string, found a boolean",
        ),
    ];
    for (input, message) in cases {
        let err = from_json(&input).unwrap_err().to_string();
        assert!(err.contains(message), "{input}: {err}");
    }
}

/// One row of the command table: the command, the document's classes, the document's env, and
/// (when given) the programs the command runs.
struct Case {
    cmd: &'static str,
    classes: &'static [&'static str],
    env: &'static str,
    programs: Option<&'static [&'static str]>,
}

const fn c(cmd: &'static str, classes: &'static [&'static str], env: &'static str) -> Case {
    Case {
        cmd,
        classes,
        env,
        programs: None,
    }
}

const fn p(
    cmd: &'static str,
    classes: &'static [&'static str],
    env: &'static str,
    programs: &'static [&'static str],
) -> Case {
    Case {
        cmd,
        classes,
        env,
        programs: Some(programs),
    }
}

const RD: &str = "recursive_delete";
const GIT: &str = "git_history_rewrite";
const TFD: &str = "terraform_destroy";
const TFA: &str = "terraform_auto_approve";
const KD: &str = "kubectl_delete";
const KDN: &str = "kubectl_delete_namespace";
const KDV: &str = "kubectl_delete_volume";
const SQL: &str = "sql_destructive";
const CLOUD: &str = "cloud_delete";
const DISK: &str = "disk_destroy";
const DYN: &str = "dynamic_program";
const U: &str = "unknown";
const PROD: &str = "production";

/// Run in `/home/dev/project`, a directory that names no environment.
const TABLE: &[Case] = &[
    // Arguments are data.
    p(r#"echo "rm -rf /""#, &[], U, &["echo"]),
    p("echo 'kubectl delete ns prod'", &[], U, &["echo"]),
    p("grep -r rm .", &[], U, &["grep"]),
    p("printf '%s' 'DROP TABLE users'", &[], U, &["printf"]),
    p("ls -la # rm -rf /", &[], U, &["ls"]),
    p("git commit -m 'git push --force'", &[], U, &["git"]),
    // rm and find.
    p("rm -rf /tmp/x", &[RD], U, &["rm"]),
    c("rm -fr build", &[RD], U),
    c("rm -R dir", &[RD], U),
    c("rm --recursive dir", &[RD], U),
    c("rm -v -r -f dir", &[RD], U),
    c("rm -f file.txt", &[], U),
    c("rm -- -r", &[], U),
    c("/bin/rm -rf /", &[RD], U),
    c(r"\rm -rf x", &[RD], U),
    c("rmdir empty", &[], U),
    c("find . -name '*.o' -delete", &[RD], U),
    p(
        "find . -type d -exec rm -rf {} +",
        &[RD],
        U,
        &["find", "rm"],
    ),
    c("find . -name x -print", &[], U),
    // Wrappers.
    p("sudo rm -rf /var", &[RD], U, &["rm"]),
    p("sudo -u root -E rm -rf /var", &[RD], U, &["rm"]),
    c("sudo -iu root", &[], U),
    p("env FOO=1 rm -r x", &[RD], U, &["rm"]),
    p("env -i -u HOME rm -r x", &[RD], U, &["rm"]),
    p("FOO=1 rm -r x", &[RD], U, &["rm"]),
    p("ls | xargs rm -rf", &[RD], U, &["ls", "rm"]),
    p(
        "ls | xargs -0 -n 1 -I {} rm -rf {}",
        &[RD],
        U,
        &["ls", "rm"],
    ),
    p("nohup rm -rf x &", &[RD], U, &["rm"]),
    p("time rm -rf x", &[RD], U, &["rm"]),
    p("nice -n 10 rm -rf x", &[RD], U, &["rm"]),
    p("timeout 10s rm -rf x", &[RD], U, &["rm"]),
    p("timeout -s KILL 5 rm -rf x", &[RD], U, &["rm"]),
    p("command rm -rf x", &[RD], U, &["rm"]),
    p("command -v rm", &[], U, &["command"]),
    p("exec rm -rf x", &[RD], U, &["rm"]),
    p(
        "sudo env AWS_PROFILE=prod nohup aws s3 rb s3://b --force",
        &[CLOUD],
        PROD,
        &["aws"],
    ),
    // Shell strings.
    p(
        "bash -c 'kubectl delete ns prod'",
        &[KD, KDN],
        PROD,
        &["kubectl"],
    ),
    p("sh -c \"rm -rf /\"", &[RD], U, &["rm"]),
    p("zsh -lc 'git push -f'", &[GIT], U, &["git"]),
    p("bash -euo pipefail -c 'rm -r x'", &[RD], U, &["rm"]),
    p(r#"bash -c "sh -c 'rm -rf x'""#, &[RD], U, &["rm"]),
    p("eval 'rm -rf x'", &[RD], U, &["rm"]),
    p("bash script.sh", &[], U, &["bash"]),
    p("bash <<'EOF'\nrm -rf /srv\nEOF", &[RD], U, &["rm"]),
    p("echo 'rm -rf /' | sh", &[RD], U, &["echo", "rm"]),
    p(
        "curl -s https://x.sh | bash",
        &["unanalysed"],
        U,
        &["curl", "bash"],
    ),
    // Lists, pipes, substitutions.
    p(
        "cd /tmp && rm -rf x || echo fail; ls",
        &[RD],
        U,
        &["cd", "rm", "echo", "ls"],
    ),
    p("echo $(rm -rf x)", &[RD], U, &["rm", "echo"]),
    p("echo `rm -rf x`", &[RD], U, &["rm", "echo"]),
    p("(cd x && rm -r y)", &[RD], U, &["cd", "rm"]),
    p("diff <(git reset --hard) x", &[GIT], U, &["git", "diff"]),
    p("if true; then rm -rf x; fi", &[RD], U, &["true", "rm"]),
    p("for f in a b; do rm -r $f; done", &[RD], U, &["rm"]),
    p("f() { rm -rf x; }", &[RD], U, &["rm"]),
    // Git.
    c("git push origin main", &[], U),
    c("git push -f", &[GIT], U),
    c("git push --force origin main", &[GIT], U),
    c("git push --force-with-lease", &[GIT], U),
    c("git push origin +main", &[GIT], U),
    c("git push origin :old-branch", &[GIT], U),
    c("git push -u origin feature", &[], U),
    c("git -C repo reset --hard HEAD~3", &[GIT], U),
    c("git reset --soft HEAD~1", &[], U),
    c("git rebase -i main", &[GIT], U),
    c("git rebase --abort", &[], U),
    c("git filter-branch --tree-filter x", &[GIT], U),
    c("git filter-repo --path x", &[GIT], U),
    c("git branch -D feature", &[GIT], U),
    c("git branch -d feature", &[], U),
    c("git clean -fdx", &[GIT], U),
    c("git clean -n", &[], U),
    c("git status", &[], U),
    // Terraform.
    p(
        "cd infra/prod && terraform destroy",
        &[TFD],
        PROD,
        &["cd", "terraform"],
    ),
    c("terraform apply -destroy", &[TFD], U),
    c("terraform apply -auto-approve", &[TFA], U),
    c("terraform destroy -auto-approve", &[TFA, TFD], U),
    c("terraform plan -destroy", &[], U),
    c(
        "terraform -chdir=envs/prod apply -auto-approve",
        &[TFA],
        PROD,
    ),
    c("terraform apply -var env=staging", &[], "staging"),
    c("terraform apply -var-file=prod.tfvars", &[], PROD),
    c("tofu destroy", &[TFD], U),
    c("terragrunt run-all destroy", &[TFD], U),
    c(
        "terraform workspace select prod && terraform apply",
        &[],
        PROD,
    ),
    c("TF_WORKSPACE=prd terraform plan", &[], PROD),
    // The first `cd` is into production; the `rm` runs in /tmp (see `per_command_env_and_cwd`).
    c("cd /srv/prod && cd /tmp && rm -rf x", &[RD], PROD),
    c("cd infra/prod/../staging && terraform destroy", &[TFD], U),
    // Kubernetes.
    c("kubectl get pods -n prod", &[], PROD),
    c("kubectl delete pod web-1", &[KD], U),
    c("kubectl delete ns staging", &[KD, KDN], U),
    c(
        "kubectl -n kube-system delete namespace foo",
        &[KD, KDN],
        "kube-system",
    ),
    c(
        "kubectl delete pvc data-0 --context prod-eu",
        &[KD, KDV],
        PROD,
    ),
    c("kubectl delete pv,pvc --all", &[KD, KDV], U),
    c("kubectl delete persistentvolumeclaims/data", &[KD, KDV], U),
    c("kubectl delete -f manifest.yaml", &[KD], U),
    c(
        "kubectl --context=minikube delete pod ns",
        &[KD],
        "minikube",
    ),
    c("oc delete project x", &[KD, KDN], U),
    c(
        "helm uninstall web --kube-context prod",
        &["release_destroy"],
        PROD,
    ),
    // SQL.
    p(
        r#"psql -h prod-db -c "DROP TABLE users""#,
        &[SQL],
        PROD,
        &["psql"],
    ),
    c(r#"psql -c "select * from users""#, &[], U),
    c("psql -c 'DELETE FROM users'", &[SQL], U),
    c("psql -c 'delete from users where id = 1'", &[], U),
    c("mysql -e 'truncate table t'", &[SQL], U),
    c("mysql -h db.staging.internal -e 'select 1'", &[], U),
    c("mysql -h prod-db.internal -e 'select 1'", &[], PROD),
    c("sqlite3 app.db 'drop table x'", &[SQL], U),
    c("psql <<EOF\nDROP DATABASE app;\nEOF", &[SQL], U),
    p(
        r#"echo "DROP TABLE x" | psql"#,
        &[SQL],
        U,
        &["echo", "psql"],
    ),
    c(
        "printf '%s\n' 'select 1' 'DROP TABLE users' | mysql",
        &[SQL],
        U,
    ),
    c(
        "cat <<EOF | psql -h prod-db\ntruncate t;\nEOF",
        &[SQL],
        PROD,
    ),
    c("echo 'DROP TABLE x' > f.sql; psql", &[], U),
    // Cloud.
    c("aws s3 rb s3://bucket --force", &[CLOUD], U),
    c("aws s3 rm s3://bucket/key", &[CLOUD], U),
    c(
        "aws --profile prod ec2 terminate-instances --instance-ids i-1",
        &[CLOUD],
        PROD,
    ),
    c(
        "aws rds delete-db-instance --db-instance-identifier x",
        &[CLOUD],
        U,
    ),
    c("aws s3 ls", &[], U),
    c("AWS_PROFILE=staging aws s3 ls", &[], "staging"),
    c(
        "gcloud compute instances delete vm-1 --project acme-prod",
        &[CLOUD],
        PROD,
    ),
    c("gcloud compute instances list", &[], U),
    c("az group delete -n rg", &[CLOUD], U),
    c("gsutil rm gs://b/o", &[CLOUD], U),
    // Disks.
    c("dd if=/dev/zero of=/dev/sda bs=1M", &[DISK], U),
    c("dd if=/dev/zero of=disk.img", &[], U),
    c("mkfs.ext4 /dev/sdb1", &[DISK], U),
    c("cat /dev/urandom > /dev/nvme0n1", &[DISK], U),
    c("echo hi > /dev/null 2>&1", &[], U),
    // Environments from variables.
    c("ENV=prod ./deploy.sh", &[], PROD),
    c("export AWS_PROFILE=prod; aws s3 ls", &[], PROD),
    c(
        "RAILS_ENV=production rails db:drop",
        &["database_destroy"],
        PROD,
    ),
    c("serverless deploy --stage dev", &[], "dev"),
    c("VIRTUAL_ENV=/opt/prod/venv python x.py", &[], U),
    // Dynamic programs.
    c("$CMD -rf /", &[DYN], U),
    c("eval \"$CMD\"", &[DYN], U),
];

#[test]
fn command_table() {
    assert!(TABLE.len() >= 60);
    let mut failures = Vec::new();
    for case in TABLE {
        let doc = run(case.cmd, "/home/dev/project");
        // Whether a command only reads, and whether its target is ambient, is tested in
        // `read_only_table`.
        let classes: Vec<String> = strs(&doc["classes"])
            .into_iter()
            .filter(|c| c != "not_read_only" && c != "unknown_target")
            .collect();
        let mut ok = classes == case.classes && doc["env"] == case.env;
        if let Some(progs) = case.programs {
            ok &= programs(&doc) == progs;
        }
        ok &= doc.get("parse_error").is_none();
        if !ok {
            failures.push(format!(
                "{:?}\n  want classes {:?} env {} programs {:?}\n  got  {}",
                case.cmd, case.classes, case.env, case.programs, doc
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn per_command_env_and_cwd() {
    let doc = run("kubectl get pods -n prod; ls", "/srv/staging/app");
    assert_eq!(doc["commands"][0]["env"], "production");
    // Paths name production only.
    assert_eq!(doc["commands"][1]["env"], "unknown");
    assert_eq!(doc["env"], "production");

    // The checkout's path alone does not make a local command production ...
    let doc = run("rm -rf build", "/srv/prod/app");
    assert_eq!(doc["commands"][0]["env"], "unknown");
    assert_eq!(doc["env"], "unknown");
    let doc = run("cd /home/me/prod-api && rm -rf dist", "/home/me/prod-api");
    assert_eq!(doc["env"], "unknown");
    let doc = run("git push --force origin feature/login", "/work/prod-api");
    assert_eq!(doc["env"], "unknown");
    // ... but it does for tools whose target is their directory, and named paths count.
    let doc = run(
        "terraform destroy -auto-approve",
        "/srv/infra/envs/production",
    );
    assert_eq!(doc["env"], "production");
    let doc = run("rm -rf /srv/prod/data", "/home/me");
    assert_eq!(doc["env"], "production");

    let doc = run("cd /srv/prod && cd /tmp && rm -rf x", "/home/me");
    assert_eq!(doc["commands"][2]["env"], "unknown");
    let doc = run("cd /srv && cd prod/app && rm -rf x", "/home/me");
    assert_eq!(doc["commands"][2]["env"], "production");

    // No command at all: the cwd decides.
    let doc = run("", "/srv/prod/app");
    assert_eq!(doc["commands"], json!([]));
    assert_eq!(doc["env"], "production");
    let doc = run("# just a comment", "/home/me");
    assert_eq!(doc["env"], "unknown");

    // Custom production tokens.
    let opts = ActionOptions {
        production_tokens: vec!["live".to_string()],
    };
    let doc = action_from_command("kubectl delete pod x -n live-eu", "/", &opts);
    assert_eq!(doc["env"], "production");
    let doc = action_from_command("kubectl delete pod x -n prod", "/", &opts);
    assert_eq!(doc["env"], "prod");
}

#[test]
fn words_and_args() {
    let doc = run(
        r#"FOO="a b" sudo -u deploy git -c x=y commit -m "msg with \"quotes\"" 2>&1 > log"#,
        "/",
    );
    assert_eq!(
        doc["commands"],
        json!([{
            "program": "git",
            "args": ["-c", "x=y", "commit", "-m", "msg with \"quotes\""],
            // Its output goes to a file.
            "classes": ["not_read_only"],
            "env": "unknown",
        }])
    );
    let doc = run("echo 'it'\\''s' \"$(echo \"nested 'q'\")\"", "/");
    assert_eq!(programs(&doc), vec!["echo", "echo"]);
    assert_eq!(doc["commands"][0]["args"], json!(["nested 'q'"]));
    assert_eq!(
        doc["commands"][1]["args"],
        json!(["it's", "$(echo \"nested 'q'\")"])
    );
}

#[test]
fn unparsable_commands_fail_closed() {
    for (cmd, message) in [
        ("echo 'unbalanced", "unclosed single quote"),
        ("echo \"unbalanced", "unclosed double quote"),
        ("echo $(ls", "unclosed command substitution `$(`"),
        ("echo `ls", "unclosed backtick"),
        ("(ls", "unbalanced parentheses: a `(` is never closed"),
        ("ls)", "unbalanced parentheses: a `)` has no matching `(`"),
        ("case $x in a) rm -rf /;;", "a `case` without `esac`"),
        ("bash -c 'rm -rf \"x'", "unclosed double quote"),
    ] {
        let doc = run(cmd, "/");
        assert_eq!(doc["parse_error"], message, "{cmd}");
        assert!(
            strs(&doc["classes"]).contains(&"unparsed".to_string()),
            "{cmd}"
        );
    }
    // What parsed before the error still counts.
    let doc = run("rm -rf / 'oops", "/");
    assert_eq!(
        doc["classes"],
        json!(["not_read_only", "recursive_delete", "unparsed"])
    );
    let doc = run("echo 'oops", "/");
    assert_eq!(doc["classes"], json!(["unparsed"]));
}

#[test]
fn nesting_is_bounded() {
    // `eval` nested 20 deep (each `eval` re-parses the rest): a parse error, not a stack
    // overflow. Quoting `bash -c` that deep would make the string grow exponentially.
    let doc = run(&format!("{}rm -rf x", "eval ".repeat(20)), "/");
    assert!(
        doc["parse_error"]
            .as_str()
            .unwrap()
            .contains("nest deeper than 8"),
        "{doc}"
    );
    assert!(strs(&doc["classes"]).contains(&"unparsed".to_string()));
    // Six levels of quoted `bash -c` are fine.
    let mut cmd = "rm -rf x".to_string();
    for _ in 0..6 {
        cmd = format!("bash -c {}", shell_quote(&cmd));
    }
    let doc = run(&cmd, "/");
    assert!(doc.get("parse_error").is_none(), "{doc}");
    assert_eq!(doc["classes"], json!(["not_read_only", "recursive_delete"]));
    // Nine levels are too many.
    let mut cmd = "rm -rf x".to_string();
    for _ in 0..9 {
        cmd = format!("bash -c {}", shell_quote(&cmd));
    }
    let doc = run(&cmd, "/");
    assert!(
        doc["parse_error"]
            .as_str()
            .unwrap()
            .contains("nest deeper than 8"),
        "{doc}"
    );

    let deep = format!("{}ls{}", "$(".repeat(5000), ")".repeat(5000));
    let doc = run(&deep, "/");
    assert!(doc["parse_error"].as_str().unwrap().contains("nest deeper"));
    let long = "a ".repeat(600_000);
    let doc = run(&long, "/");
    assert!(doc["parse_error"].as_str().unwrap().contains("bytes long"));
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn generated_strings_never_panic() {
    // Every string over a small alphabet of shell metacharacters, up to length 4, plus
    // pseudo-random longer ones: a document always comes back.
    let alphabet: Vec<char> = "a -'\"\\$()`|&;<>#{}\n=".chars().collect();
    let mut stack = vec![String::new()];
    while let Some(s) = stack.pop() {
        let _ = run(&s, "/");
        if s.chars().count() < 3 {
            for c in &alphabet {
                stack.push(format!("{s}{c}"));
            }
        }
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let _ = run(&s, "/");
        let _ = run(&format!("bash -c {}", shell_quote(&s)), "/");
    }
}

/// Commands known to only read (no `not_read_only`), and those that are not; and which of the
/// latter act on an ambient target (`unknown_target`).
#[test]
fn read_only_table() {
    let read_only = [
        "ls -la",
        "kubectl get pods -n prod",
        "kubectl describe pod x",
        "kubectl logs deploy/web -f",
        "kubectl apply -f x.yaml --dry-run=server",
        "kubectl delete ns prod --dry-run=client",
        "helm status web",
        "helm list -A",
        "terraform plan -out=p",
        "terraform state list",
        "aws ec2 describe-instances",
        "aws s3 ls s3://b",
        "gcloud compute instances list",
        "git status",
        "git log --oneline",
        "git diff HEAD~1",
        "psql -c 'SELECT 1'",
        "mysql -e 'SHOW TABLES'",
        "redis-cli GET k",
        "docker ps",
        "curl -s https://example.com",
        "npm test",
        "cargo build --release",
        "cat x | grep y | sort | uniq -c",
        "rsync -an --delete a/ b/",
        "python3 --version",
        "[[ -f x ]] && echo yes",
    ];
    let not_read_only = [
        ("rm x", false),
        ("kubectl apply -f x.yaml", true),
        ("kubectl apply -f x.yaml --context staging", false),
        ("kubectl scale deploy web --replicas=2", true),
        ("helm upgrade web ./chart", true),
        ("terraform apply", true),
        ("aws s3 cp a s3://b/a", true),
        ("psql -c 'INSERT INTO t VALUES (1)'", false),
        ("psql", false),
        ("psql -f migrate.sql", false),
        ("curl -X POST https://example.com", false),
        ("./deploy.sh", false),
        ("python3 -c 'print(1)'", false),
        ("echo hi > out.txt", false),
        ("git push origin main", false),
        ("npm publish", false),
        ("sed -i s/a/b/ f", false),
        ("ssh host", false),
    ];
    for cmd in read_only {
        let doc = run(cmd, "/home/dev/project");
        let classes = strs(&doc["classes"]);
        assert!(
            !classes.contains(&"not_read_only".to_string()),
            "{cmd}: {classes:?}"
        );
    }
    for (cmd, ambient) in not_read_only {
        let doc = run(cmd, "/home/dev/project");
        let classes = strs(&doc["classes"]);
        assert!(
            classes.contains(&"not_read_only".to_string()),
            "{cmd}: {classes:?}"
        );
        assert_eq!(
            classes.contains(&"unknown_target".to_string()),
            ambient,
            "{cmd}: {classes:?}"
        );
    }
}

/// Inputs built to make the analysis work hard end in bounded time, and what could not be
/// analysed in full fails closed.
#[test]
fn hostile_inputs_are_bounded() {
    let has = |doc: &Value, class: &str| strs(&doc["classes"]).contains(&class.to_string());
    // A huge brace word is not expanded; as a program it is dynamic.
    let doc = run(&"{a,b}".repeat(50_000), "/");
    assert!(has(&doc, "dynamic_program"), "{}", doc["classes"]);
    // Inline code with many literals that read as commands.
    let doc = run(
        &format!("python3 -c \"{}\"", "'rm' '-rf' '/x' ".repeat(20_000)),
        "/",
    );
    assert!(has(&doc, "recursive_delete") && has(&doc, "unanalysed"));
    // More simple commands than the bound: a parse error.
    let doc = run(&"true; ".repeat(12_000), "/");
    assert!(has(&doc, "unparsed"));
    assert!(
        doc["parse_error"]
            .as_str()
            .unwrap()
            .contains("more than 10000 simple commands")
    );
    // Nested remote commands beyond the re-parsing bound.
    let doc = run(&format!("ssh h {}rm -rf /", "ssh h ".repeat(2_000)), "/");
    assert!(has(&doc, "unparsed"));
    // A script run again and again.
    let doc = run(
        &format!("echo 'rm -rf x' > a.sh; {}", "sh a.sh; ".repeat(20_000)),
        "/",
    );
    assert!(has(&doc, "unparsed") && has(&doc, "recursive_delete"));
    // An unclosed `[[`.
    let doc = run(&format!("[[ {}", "( ".repeat(10_000)), "/");
    assert_eq!(doc["parse_error"], "unclosed `[[`");
}
