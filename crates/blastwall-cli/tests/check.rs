//! `blastwall check` end to end, on repositories the tests build in temp dirs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../blastwall-facts/tests/fixtures")
}

mod common;

use common::Repo;

fn check(repo: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .arg("check")
        .arg("--repo")
        .arg(repo)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

/// A repository with owners and a topology; `feature` holds an AI-assisted change to payments.
fn payments_repo() -> Repo {
    let r = Repo::new();
    r.write(
        ".github/CODEOWNERS",
        "* @org/everyone\n/services/payments/ @org/payments\n",
    );
    r.write(
        "blastwall-topology.toml",
        "[services.payments]\ntier = 1\npaths = [\"services/payments/**\"]\n\n[services.shop]\ntier = 1\npaths = [\"services/shop/**\"]\ndepends_on = [\"payments\"]\n",
    );
    r.write("services/payments/src/lib.rs", "pub fn pay() {}\n");
    r.write("services/shop/src/lib.rs", "pub fn shop() {}\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "services/payments/src/lib.rs",
        "pub fn pay() { /* faster */ }\n",
    );
    r.commit("Speed up payments\n\nCo-Authored-By: Claude <noreply@anthropic.com>");
    r
}

#[test]
fn an_ai_change_needs_its_owners_and_the_blast_radius_reviews() {
    let r = payments_repo();
    let (out, v) = check(r.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["outcome"], "review");
    let change = &v["facts"]["change"];
    assert_eq!(change["ai"]["assisted"], "yes");
    assert_eq!(change["ai"]["tools"], serde_json::json!(["claude-code"]));
    assert_eq!(change["files"][0]["path"], "services/payments/src/lib.rs");
    assert_eq!(
        change["files"][0]["owners"],
        serde_json::json!(["@org/payments"])
    );
    assert_eq!(change["services"], serde_json::json!(["payments"]));
    let froms: Vec<&str> = v["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from"].as_str().unwrap())
        .collect();
    assert!(froms.contains(&"@org/payments"), "{froms:?}");
    assert!(
        froms.contains(&"any"),
        "the shop (tier 1) depends on payments: {froms:?}"
    );
}

#[test]
fn approvals_from_flags_and_team_config_satisfy_the_reviews() {
    let r = payments_repo();
    r.write("blastwall.toml", "[teams]\n\"@org/payments\" = [\"bob\"]\n");
    let (out, v) = check(
        r.path(),
        &["--approved-by", "bob", "--approved-by", "carol"],
    );
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["outcome"], "allow");
    assert!(
        v["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["satisfied"] == true),
        "{v}"
    );
    // The author's own approval never counts.
    let (out, _) = check(
        r.path(),
        &["--approved-by", "alice@example.com", "--approved-by", "bob"],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn plans_actions_and_parameters_join_the_change() {
    let r = payments_repo();
    let plan = fixtures().join("terraform/tfjson_replace_tainted_fv1.2.json");
    let (out, v) = check(
        r.path(),
        &[
            "--no-git",
            "--plan",
            plan.to_str().unwrap(),
            "--set",
            "production_envs=[\"production\",\"unknown\"]",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["findings"][0]["rule"], "no_destructive_prod_plan");
    assert!(v["facts"].get("change").is_none());

    let action = fixtures().join("agent-hooks/claude_pretooluse_bash_rm_rf_cupcake.json");
    let (out, v) = check(
        r.path(),
        &["--no-git", "--action", action.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(
        v["facts"]["action"]["classes"],
        serde_json::json!(["not_read_only", "recursive_delete"])
    );
}

#[test]
fn bad_inputs_are_errors_never_an_empty_change() {
    let r = payments_repo();
    let (out, _) = check(r.path(), &["--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("base revision `no-such-branch` not found")
    );

    let not_a_repo = tempfile::tempdir().unwrap();
    let (out, _) = check(not_a_repo.path(), &["--base", "main"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let truncated = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        truncated.path(),
        "{\"format_version\": \"1.2\", \"resource_changes\": [",
    )
    .unwrap();
    let (out, _) = check(
        r.path(),
        &["--no-git", "--plan", truncated.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));

    r.write("blastwall.toml", "[parmas]\nx = 1\n");
    let (out, _) = check(r.path(), &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown setting `parmas`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    r.write("blastwall.toml", "[params]\nno_such_param = 1\n");
    let (out, _) = check(r.path(), &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown parameter `no_such_param`"));
}

#[test]
fn repository_rules_replace_the_shipped_ones() {
    let r = payments_repo();
    r.write("rules/only.bw", "rule touches_payments {\n    when some f in change.files: f.path matches \"services/payments/**\"\n    deny \"payments frozen: {f.path}\"\n}\n");
    r.commit("Freeze payments");
    let (out, v) = check(r.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(
        v["findings"][0]["message"],
        "payments frozen: services/payments/src/lib.rs"
    );
}

#[test]
fn gitlab_repositories_use_gitlab_code_owners() {
    let r = Repo::new();
    r.write(".gitlab-ci.yml", "test:\n  script: [\"true\"]\n");
    r.write(
        ".gitlab/CODEOWNERS",
        "[Payments][2]\n/services/payments/ @org/payments\n\n^[Docs]\n/docs/ @org/docs\n",
    );
    r.write("services/payments/a.rs", "1\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("services/payments/a.rs", "2\n");
    r.commit("Change payments");
    let (_, v) = check(r.path(), &[]);
    let change = &v["facts"]["change"];
    assert_eq!(change["owners"]["file"], ".gitlab/CODEOWNERS", "{v}");
    assert_eq!(
        change["files"][0]["owners"],
        serde_json::json!(["@org/payments"]),
        "{v}"
    );
    assert_eq!(change["owners"]["errors"], serde_json::json!([]), "{v}");
}

#[test]
fn explain_takes_the_same_inputs_as_check() {
    let r = payments_repo();
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["explain", "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("fired    ai_change_needs_owner_review"),
        "{text}"
    );
    assert!(
        text.contains("with f = \"services/payments/src/lib.rs\""),
        "{text}"
    );
    assert!(text.contains("skipped  no_destructive_prod_plan"), "{text}");
    let (_, v) = check(r.path(), &[]);
    assert!(v.get("explain").is_none(), "check alone has no explanation");
}

/// The constraints the SARIF 2.1.0 schema places on what blastwall writes: required
/// properties, enumerations and ranges of the objects it uses (sarifLog, run, tool,
/// toolComponent, reportingDescriptor, result, location, physicalLocation, artifactLocation,
/// region, logicalLocation, suppression).
fn assert_sarif_2_1_0(v: &serde_json::Value) {
    assert_eq!(v["version"], "2.1.0");
    let runs = v["runs"].as_array().expect("runs is an array");
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].is_string(), "toolComponent.name is required");
        let rules = driver["rules"].as_array().map_or(&[][..], Vec::as_slice);
        for r in rules {
            assert!(r["id"].is_string(), "reportingDescriptor.id is required");
            if let Some(level) = r["defaultConfiguration"]["level"].as_str() {
                assert!(["none", "note", "warning", "error"].contains(&level));
            }
        }
        for result in run["results"].as_array().expect("results is an array") {
            assert!(
                result["message"]["text"].is_string(),
                "result.message needs text or id"
            );
            assert!(
                ["none", "note", "warning", "error"].contains(&result["level"].as_str().unwrap())
            );
            if let Some(i) = result["ruleIndex"].as_u64() {
                assert!((i as usize) < rules.len(), "ruleIndex within rules");
                assert_eq!(rules[i as usize]["id"], result["ruleId"]);
            }
            for loc in result["locations"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
            {
                if let Some(p) = loc.get("physicalLocation") {
                    assert!(p["artifactLocation"]["uri"].is_string());
                    assert!(p["region"]["startLine"].as_u64().unwrap() >= 1);
                } else {
                    assert!(loc["logicalLocations"][0]["name"].is_string());
                }
            }
            for s in result["suppressions"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
            {
                assert!(["inSource", "external"].contains(&s["kind"].as_str().unwrap()));
            }
        }
    }
}

#[test]
fn sarif_and_github_annotations_locate_findings() {
    let r = payments_repo();
    let plan = fixtures().join("terraform/tfjson_replace_tainted_fv1.2.json");
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_blastwall"))
            .args(["check", "--repo"])
            .arg(r.path())
            .args([
                "--plan",
                plan.to_str().unwrap(),
                "--set",
                "production_envs=[\"production\",\"unknown\"]",
                "--format",
                format,
            ])
            .output()
            .unwrap()
    };
    let out = run("sarif");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_sarif_2_1_0(&v);
    let results = v["runs"][0]["results"].as_array().unwrap();
    let owner = results
        .iter()
        .find(|x| x["ruleId"] == "ai_change_needs_owner_review")
        .unwrap();
    assert_eq!(owner["level"], "warning");
    assert_eq!(
        owner["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "services/payments/src/lib.rs"
    );
    let plan_finding = results.iter().find(|x| x["level"] == "error").unwrap();
    assert_eq!(
        plan_finding["locations"][0]["logicalLocations"][0]["name"],
        "null_resource.example"
    );

    let out = run("github");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("::warning file=services/payments/src/lib.rs,title=blastwall%3A ai_change_needs_owner_review::"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error title=blastwall%3A ")),
        "{text}"
    );
    assert!(
        text.ends_with("::notice title=blastwall::outcome: deny\n"),
        "{text}"
    );
}

#[test]
fn on_the_default_branch_check_decides_the_last_commit() {
    let r = payments_repo();
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--ff-only", "feature"]);
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["check", "--format", "json", "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["outcome"], "review",
        "the pushed AI commit is checked, not an empty range: {v}"
    );
    assert_eq!(
        v["facts"]["change"]["files"][0]["path"],
        "services/payments/src/lib.rs"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is on `main`: checking its last commit")
    );

    // A repository of one commit has nothing before it: an empty change, said plainly.
    let single = Repo::new();
    single.write("a.txt", "1\n");
    single.commit("Only");
    let (out, v) = check(single.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["facts"]["change"]["files"], serde_json::json!([]));
}

/// The OASIS SARIF 2.1.0 schema, vendored (see `tests/fixtures/README.md`).
fn sarif_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // The published schema's pattern for `language` (of a run and of a tool component) has a
    // stray `]`. ECMAScript, the dialect JSON Schema patterns are written in, reads a lone `]`
    // as itself; Rust's regex engines reject it, and with it the whole schema. Escaping it
    // keeps the meaning.
    for def in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".into();
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, v: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn sarif_output_is_valid_against_the_sarif_2_1_0_schema() {
    let validator = sarif_schema();
    let r = payments_repo();
    // A second change on the branch, so findings point at more than one file: a CI workflow
    // (a sensitive path) beside the AI-assisted payments change.
    r.write(".github/workflows/ci.yml", "on: push\n");
    r.commit("Add CI\n\nCo-Authored-By: Claude <noreply@anthropic.com>");
    let plan = fixtures().join("terraform/tfjson_replace_tainted_fv1.2.json");
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .args(["check", "--format", "sarif", "--repo"])
        .arg(r.path())
        .args([
            "--plan",
            plan.to_str().unwrap(),
            "--set",
            "production_envs=[\"production\",\"unknown\"]",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = schema_errors(&validator, &v);
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");

    // The log is worth validating: results with file locations, and with logical ones.
    let results = v["runs"][0]["results"].as_array().unwrap();
    let uris: Vec<&str> = results
        .iter()
        .filter_map(|x| x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&"services/payments/src/lib.rs"), "{uris:?}");
    assert!(uris.contains(&".github/workflows/ci.yml"), "{uris:?}");
    assert!(
        results
            .iter()
            .any(|x| x["locations"][0]["logicalLocations"][0]["name"].is_string()),
        "{v:#}"
    );

    // And the schema is strict enough to catch what code scanning would reject.
    let located = results
        .iter()
        .position(|x| x["locations"][0]["physicalLocation"].is_object())
        .unwrap();
    let mut bad = v.clone();
    bad["runs"][0]["results"][located]["level"] = "fatal".into();
    bad["runs"][0]["results"][located]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    bad["runs"][0]["tool"]["driver"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let errors = schema_errors(&validator, &bad);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn a_shallow_clone_cut_at_the_head_of_the_default_branch_is_an_error_not_an_empty_change() {
    let r = payments_repo();
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--ff-only", "feature"]);
    // What CI's default checkout of a push to `main` looks like: one commit, no parent.
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    let status = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url, "shallow"])
        .current_dir(clones.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", clones.path())
        .status()
        .unwrap();
    assert!(status.success());
    let shallow = clones.path().join("shallow");
    let (out, _) = check(&shallow, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("its parent is not in this shallow clone")
            && err.contains("git fetch --deepen=1"),
        "{err}"
    );
    // With one more commit of history the last commit is checked as usual.
    let status = Command::new("git")
        .args(["fetch", "-q", "--deepen=1"])
        .current_dir(&shallow)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", clones.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (out, v) = check(&shallow, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["outcome"], "review");
}

#[test]
fn the_text_report_says_what_was_checked() {
    let r = payments_repo();
    let out = Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .env("NO_COLOR", "1")
        .args(["check", "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("checked: "), "{text}");
    let shipped = blastwall::Policy::embedded().unwrap().rule_names().len();
    assert!(
        first.contains(&format!(
            "(1 file, AI-assisted: yes), a topology of 2 nodes with {shipped} rules"
        )),
        "{first}"
    );
    assert!(text.contains("outcome: review"), "{text}");
}

fn check_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blastwall"))
        .arg("check")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn check_from_a_subdirectory_finds_the_repository_as_git_does() {
    let r = payments_repo();
    let sub = r.path().join("services/payments/src");
    let out = check_in(&sub, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The same decision as from the root: the change, its owners and the topology were found.
    let (root_out, root_v) = check(r.path(), &[]);
    assert_eq!(out.status.code(), root_out.status.code());
    assert_eq!(v["outcome"], root_v["outcome"]);
    assert_eq!(
        v["facts"]["change"]["files"][0]["owners"],
        serde_json::json!(["@org/payments"])
    );
    assert!(v["facts"]["topology"].is_object());
}

#[test]
fn check_outside_any_repository_with_nothing_to_check_fails_instead_of_allowing() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_in(dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to check"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("outcome: allow"));
    // An input of its own is enough to decide outside a repository.
    let action = dir.path().join("a.json");
    std::fs::write(&action, r#"{"command": "ls"}"#).unwrap();
    let out = check_in(dir.path(), &["--action", action.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_github_noreply_author_is_their_login_so_their_own_approval_never_counts() {
    let r = payments_repo();
    r.write(
        "services/payments/src/lib.rs",
        "pub fn pay() { /* fastest */ }\n",
    );
    r.git(&["add", "-A"]);
    r.git(&[
        "commit",
        "-q",
        "-m",
        "Tune payments",
        "--author",
        "Alice <12345+alice@users.noreply.github.com>",
    ]);
    let (out, v) = check(
        r.path(),
        &["--approved-by", "alice", "--approved-by", "bob"],
    );
    assert_eq!(
        v["facts"]["change"]["author"],
        "alice",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two approvals are needed for the blast radius; alice's is her own, so one is had.
    let any = v["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["from"] == "any")
        .unwrap();
    assert_eq!(any["have"], 1, "{v:#}");
    assert_eq!(out.status.code(), Some(1));

    // An author known only by an email: the report says their approval cannot be told apart.
    let r = payments_repo();
    let (out, _) = check(r.path(), &["--approved-by", "alice"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("known only by the email `alice@example.com`"),
        "{err}"
    );
}

#[test]
fn login_of_email_reads_github_noreply_addresses() {
    use blastwall_facts::login_of_email as l;
    assert_eq!(l("12345+octocat@users.noreply.github.com"), "octocat");
    assert_eq!(l("octocat@users.noreply.github.com"), "octocat");
    assert_eq!(l("Octo@Users.Noreply.GitHub.com"), "Octo");
    assert_eq!(l("alice@example.com"), "alice@example.com");
    assert_eq!(l("+x@users.noreply.github.com"), "+x");
}

#[test]
fn ai_provenance_is_judged_per_file_by_the_commits_that_touched_it() {
    let r = Repo::new();
    r.write(".github/CODEOWNERS", "* @org/core\n");
    r.write("src/human.rs", "fn a() {}\n");
    r.write("src/agent.rs", "fn b() {}\n");
    r.write("src/renamed.rs", "fn c() {}\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("src/human.rs", "fn a() { /* by hand */ }\n");
    r.commit("Tidy by hand");
    r.write("src/agent.rs", "fn b() { /* by an agent */ }\n");
    r.commit("Speed up b\n\nCo-Authored-By: Claude <noreply@anthropic.com>");
    r.git(&["mv", "src/renamed.rs", "src/moved.rs"]);
    r.commit("Move c by hand");
    let (out, v) = check(r.path(), &[]);
    let files = v["facts"]["change"]["files"].as_array().unwrap();
    let commits_of = |path: &str| {
        files
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["commits"].as_array().unwrap().len())
            .unwrap()
    };
    assert_eq!(commits_of("src/human.rs"), 1);
    assert_eq!(commits_of("src/agent.rs"), 1);
    assert_eq!(commits_of("src/moved.rs"), 1);
    assert_eq!(v["facts"]["change"]["ai"]["assisted"], "yes");
    let ai_findings: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "ai_change_needs_owner_review")
        .map(|f| f["about"].as_str().unwrap())
        .collect();
    assert_eq!(
        ai_findings,
        ["src/agent.rs"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_records_an_override_of_a_soft_rule_but_not_of_a_hard_one() {
    let r = Repo::new();
    r.write("README.md", "hello\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    let big: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    r.write("data.txt", &big);
    r.commit("A large change");
    let (out, v) = check(r.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "large_change_review")
    );
    let (out, v) = check(
        r.path(),
        &[
            "--override",
            "large_change_review",
            "--reason",
            "generated data",
            "--by",
            "carol",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "large_change_review")
        .unwrap();
    assert_eq!(f["overridden"]["by"], "carol");
    assert_eq!(f["overridden"]["reason"], "generated data");
    // Without a reason it is refused, as a usage error.
    let (out, _) = check(r.path(), &["--override", "large_change_review"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reason"));
    let (out, _) = check(
        r.path(),
        &[
            "--override",
            "large_change_review",
            "--reason",
            " ",
            "--by",
            "carol",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "an empty reason is no reason");
}

#[test]
fn a_review_from_a_placeholder_group_says_how_to_name_the_team() {
    let r = Repo::new();
    r.write("README.md", "hello\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(".github/workflows/ci.yml", "on: push\n");
    r.commit("Add CI");
    let text = |args: &[&str]| {
        let out = check_in(r.path(), args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = text(&[]);
    assert!(
        out.contains("note: `@org/security` is the default of"),
        "{out}"
    );
    assert!(out.contains("`ci_reviewers`"), "{out}");
    assert!(out.contains("--set ci_reviewers=@your-org/team"), "{out}");
    let out = text(&["--set", "ci_reviewers=@acme/platform"]);
    assert!(!out.contains("placeholder"), "{out}");
    assert!(out.contains("@acme/platform"), "{out}");
}

#[test]
fn a_derived_topology_takes_tiers_from_config_and_owners_from_codeowners() {
    let r = Repo::new();
    r.write("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n");
    r.write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\n",
    );
    r.write("crates/core/src/lib.rs", "pub fn f() {}\n");
    r.write(
        "crates/app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\ncore = { path = \"../core\" }\n",
    );
    r.write("crates/app/src/lib.rs", "pub fn g() {}\n");
    r.write(".github/CODEOWNERS", "/crates/app/ @org/app\n");
    r.write("blastwall.toml", "[topology.tiers]\n\"ap*\" = 1\n");
    r.commit("Initial");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("crates/core/src/lib.rs", "pub fn f() { /* changed */ }\n");
    r.commit("Change core");
    let (out, v) = check(r.path(), &[]);
    let nodes = v["facts"]["topology"]["nodes"].as_array().unwrap();
    let app = nodes.iter().find(|n| n["name"] == "app").unwrap();
    assert_eq!(app["tier"], 1, "{app}");
    assert_eq!(app["owner"], "@org/app", "{app}");
    let core = nodes.iter().find(|n| n["name"] == "core").unwrap();
    assert_eq!(core["tier"], 3);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "tier1_dependent_needs_owner_review" && f["from"] == "@org/app"),
        "{}\n{v:#}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A tier that is not a whole number is a clear error.
    r.write("blastwall.toml", "[topology.tiers]\napp = \"high\"\n");
    let (out, _) = check(r.path(), &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("topology.tiers.app"));
}
