//! The approvals adapter: GitHub review histories, `--approved-by` flags and team membership.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::APPROVAL;
use blastwall_facts::{
    ApprovalError, TeamMembership, approvals_from_flags, approvals_from_github_reviews,
};
use common::assert_conforms;
use miette::Diagnostic;
use serde_json::{Value, json};

const HEAD: &str = "9f3c1e7d2b4a6f8091a2b3c4d5e6f708192a3b4c";
const OLD: &str = "1111111111111111111111111111111111111111";

const TEAMS: &str = r#"
# Other sections of the configuration are not the teams reader's business.
[policy]
max_dependents = 5

[teams]
"@org/payments" = ["alice", "@bob"]
"@org/senior" = ["Alice", "carol"]
"@org/empty" = []
"#;

fn teams() -> TeamMembership {
    TeamMembership::from_toml(TEAMS).unwrap()
}

/// A review as GitHub's REST API returns it, with the fields this adapter ignores filled in.
fn review(id: u64, login: &str, state: &str, commit: Option<&str>, at: Option<&str>) -> Value {
    let mut v = json!({
        "id": id,
        "node_id": format!("PRR_kwDOA{id}"),
        "user": {
            "login": login,
            "id": 1000 + id,
            "node_id": format!("MDQ6VXNlcj{id}"),
            "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
            "site_admin": false,
        },
        "body": "",
        "state": state,
        "html_url": format!("https://github.com/acme/shop/pull/7#pullrequestreview-{id}"),
        "pull_request_url": "https://api.github.com/repos/acme/shop/pulls/7",
        "author_association": "MEMBER",
        "_links": {
            "html": { "href": format!("https://github.com/acme/shop/pull/7#pullrequestreview-{id}") },
            "pull_request": { "href": "https://api.github.com/repos/acme/shop/pulls/7" },
        },
        "commit_id": commit,
    });
    if let Some(at) = at {
        v["submitted_at"] = json!(at);
    }
    v
}

/// The history of one pull request, in the order GitHub lists it.
fn history() -> Vec<Value> {
    vec![
        // alice approves an early commit, later only comments: still approved, but stale.
        review(
            1,
            "alice",
            "APPROVED",
            Some(OLD),
            Some("2024-05-01T09:00:00Z"),
        ),
        // bob asks for changes, then approves the head: the re-approval counts.
        review(
            2,
            "bob",
            "CHANGES_REQUESTED",
            Some(OLD),
            Some("2024-05-01T09:30:00Z"),
        ),
        // carol's approval was dismissed: GitHub rewrites its state.
        review(
            3,
            "carol",
            "DISMISSED",
            Some(OLD),
            Some("2024-05-01T10:00:00Z"),
        ),
        // dave approves, then asks for changes: the approval is cancelled.
        review(
            4,
            "dave",
            "APPROVED",
            Some(OLD),
            Some("2024-05-01T10:30:00Z"),
        ),
        review(
            5,
            "alice",
            "COMMENTED",
            Some(HEAD),
            Some("2024-05-02T08:00:00Z"),
        ),
        review(
            6,
            "bob",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-02T09:00:00Z"),
        ),
        review(
            7,
            "dave",
            "CHANGES_REQUESTED",
            Some(HEAD),
            Some("2024-05-02T09:15:00Z"),
        ),
        // A bot's approval never counts.
        review(
            8,
            "renovate[bot]",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-02T09:20:00Z"),
        ),
        // erin's review is still pending: no `submitted_at`, no effect.
        review(9, "erin", "PENDING", Some(HEAD), None),
        // frank approves on a commit GitHub no longer knows.
        review(10, "frank", "APPROVED", None, Some("2024-05-02T10:00:00Z")),
        // A deleted account.
        json!({ "id": 11, "user": null, "state": "APPROVED", "commit_id": HEAD,
                "submitted_at": "2024-05-02T10:05:00Z" }),
        // carol approves again on the head (a new review after the dismissal).
        review(
            12,
            "carol",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-02T11:00:00+02:00"),
        ),
        // gina: two reviews at the same second; array order decides.
        review(
            13,
            "gina",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-02T12:00:00Z"),
        ),
        review(
            14,
            "gina",
            "CHANGES_REQUESTED",
            Some(HEAD),
            Some("2024-05-02T12:00:00Z"),
        ),
        review(
            15,
            "hal",
            "CHANGES_REQUESTED",
            Some(HEAD),
            Some("2024-05-02T12:00:00Z"),
        ),
        review(
            16,
            "hal",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-02T12:00:00Z"),
        ),
        // ivy's reviews come out of order; the later one (by time) decides.
        review(
            17,
            "ivy",
            "APPROVED",
            Some(HEAD),
            Some("2024-05-03T00:00:00Z"),
        ),
        review(
            18,
            "ivy",
            "CHANGES_REQUESTED",
            Some(OLD),
            Some("2024-05-01T00:00:00Z"),
        ),
        // A login seen with two spellings is one reviewer.
        review(
            19,
            "Jo",
            "APPROVED",
            Some(OLD),
            Some("2024-05-01T00:00:00Z"),
        ),
        review(
            20,
            "jo",
            "DISMISSED",
            Some(HEAD),
            Some("2024-05-02T00:00:00Z"),
        ),
    ]
}

fn approvals(json: &str, head: &str) -> Vec<Value> {
    let out = approvals_from_github_reviews(json, head, &teams()).unwrap();
    for a in &out {
        assert_conforms(a, &APPROVAL);
    }
    out
}

#[test]
fn a_realistic_review_history() {
    let json = serde_json::to_string(&history()).unwrap();
    assert_eq!(
        approvals(&json, HEAD),
        vec![
            json!({ "by": "alice", "teams": ["@org/payments", "@org/senior"], "stale": true }),
            json!({ "by": "bob", "teams": ["@org/payments"], "stale": false }),
            // 11:00+02:00 is 09:00Z: after the dismissal, so the new approval stands.
            json!({ "by": "carol", "teams": ["@org/senior"], "stale": false }),
            json!({ "by": "frank", "teams": [], "stale": true }),
            json!({ "by": "hal", "teams": [], "stale": false }),
            json!({ "by": "ivy", "teams": [], "stale": false }),
        ]
    );
}

#[test]
fn an_unknown_head_marks_nothing_stale() {
    let json = serde_json::to_string(&history()).unwrap();
    let stale: Vec<bool> = approvals(&json, "")
        .iter()
        .map(|a| a["stale"].as_bool().unwrap())
        .collect();
    assert_eq!(stale, [false; 6]);
}

#[test]
fn head_comparison_ignores_case_and_a_short_head_is_not_the_head() {
    let json = serde_json::to_string(&history()).unwrap();
    let bob = |head: &str| {
        approvals(&json, head)
            .into_iter()
            .find(|a| a["by"] == "bob")
            .unwrap()["stale"]
            .clone()
    };
    assert_eq!(bob(&HEAD.to_ascii_uppercase()), json!(false));
    assert_eq!(bob(&HEAD[..7]), json!(true));
}

#[test]
fn paginated_forms_agree() {
    let reviews = history();
    let flat = serde_json::to_string(&reviews).unwrap();
    // `gh api --paginate --slurp`: an array of pages.
    let pages: Vec<Value> = reviews
        .chunks(6)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    let slurped = serde_json::to_string(&pages).unwrap();
    assert_eq!(approvals(&slurped, HEAD), approvals(&flat, HEAD));
    assert_eq!(approvals("[]", HEAD), Vec::<Value>::new());
    assert_eq!(approvals("[[], []]", HEAD), Vec::<Value>::new());
}

#[test]
fn lower_case_states_as_in_webhook_payloads() {
    let json = serde_json::to_string(&[review(
        1,
        "alice",
        "approved",
        Some(HEAD),
        Some("2024-05-01T09:00:00.123456Z"),
    )])
    .unwrap();
    assert_eq!(
        approvals(&json, HEAD),
        [json!({ "by": "alice", "teams": ["@org/payments", "@org/senior"], "stale": false })]
    );
}

/// The error's message, with its help when it has one.
fn error(json: &str) -> String {
    match approvals_from_github_reviews(json, HEAD, &teams()) {
        Ok(v) => panic!("expected an error for {json}, got {v:?}"),
        Err(e) => match e.help() {
            Some(help) => format!("{e} (help: {help})"),
            None => e.to_string(),
        },
    }
}

#[test]
fn malformed_input() {
    let ok = |state: &str| {
        json!({ "user": { "login": "a", "type": "User" }, "state": state,
                "commit_id": HEAD, "submitted_at": "2024-05-01T09:00:00Z" })
    };
    let with = |key: &str, value: Value| {
        let mut v = ok("APPROVED");
        v[key] = value;
        json!([v]).to_string()
    };
    let without = |key: &str| {
        let mut v = ok("APPROVED");
        v.as_object_mut().unwrap().remove(key);
        json!([v]).to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "the input is empty"),
        ("[{\"state\": ".into(), "looks truncated"),
        ("[{]".into(), "invalid json at line 1"),
        (
            r#"{"message": "Not Found"}"#.into(),
            "expected a json array of reviews at the top level, found an object (help: pass the response of `GET /repos/OWNER/REPO/pulls/NUMBER/reviews`",
        ),
        (
            "[1]".into(),
            "`[0]` should be a review object, found a number",
        ),
        (
            "[[1], 2]".into(),
            "`[0]` should be a review object, found an array",
        ),
        (
            "[[1]]".into(),
            "`[0][0]` should be a review object, found a number",
        ),
        (without("state"), "missing field `[0].state`"),
        (
            with("state", json!(1)),
            "`[0].state` should be a string, found a number",
        ),
        (
            with("state", json!("LGTM")),
            "unknown review state `LGTM` at `[0].state` (help: github writes `APPROVED`",
        ),
        (without("user"), "missing field `[0].user`"),
        (
            with("user", json!("a")),
            "`[0].user` should be an object, found a string",
        ),
        (
            with("user", json!({ "type": "User" })),
            "missing field `[0].user.login`",
        ),
        (
            with("user", json!({ "login": 5 })),
            "`[0].user.login` should be a string",
        ),
        (
            with("user", json!({ "login": "a", "type": 1 })),
            "`[0].user.type` should be a string",
        ),
        (without("submitted_at"), "missing field `[0].submitted_at`"),
        (
            with("submitted_at", json!("yesterday")),
            "`[0].submitted_at` is not an rfc 3339 timestamp: `yesterday`",
        ),
        (
            with("submitted_at", json!("2024-02-30T00:00:00Z")),
            "is not an rfc 3339 timestamp",
        ),
        (
            with("commit_id", json!(42)),
            "`[0].commit_id` should be a string, found a number",
        ),
    ];
    for (json, fragment) in cases {
        let msg = error(&json);
        assert!(msg.contains(fragment), "{json}: `{msg}` lacks `{fragment}`");
    }
    // Comments and pending reviews are skipped before their other fields are read.
    let mut pending = ok("PENDING");
    pending.as_object_mut().unwrap().remove("submitted_at");
    pending["user"] = json!(3);
    assert_eq!(
        approvals(&json!([pending]).to_string(), HEAD),
        Vec::<Value>::new()
    );
}

#[test]
fn approvals_from_flags_are_never_stale_and_one_per_login() {
    let logins: Vec<String> = ["carol", "@alice", "  bob ", "", "@", "Alice", "carol"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = approvals_from_flags(&logins, &teams());
    for a in &out {
        assert_conforms(a, &APPROVAL);
    }
    assert_eq!(
        out,
        vec![
            json!({ "by": "alice", "teams": ["@org/payments", "@org/senior"], "stale": false }),
            json!({ "by": "bob", "teams": ["@org/payments"], "stale": false }),
            json!({ "by": "carol", "teams": ["@org/senior"], "stale": false }),
        ]
    );
    assert!(approvals_from_flags(&[], &teams()).is_empty());
}

#[test]
fn team_membership() {
    let t = teams();
    let cases: &[(&str, &[&str])] = &[
        ("alice", &["@org/payments", "@org/senior"]),
        ("ALICE", &["@org/payments", "@org/senior"]),
        ("@alice", &["@org/payments", "@org/senior"]),
        ("bob", &["@org/payments"]),
        ("carol", &["@org/senior"]),
        ("dave", &[]),
        ("", &[]),
    ];
    for (login, want) in cases {
        assert_eq!(t.teams_of(login), *want, "{login}");
    }
    assert!(!t.is_empty());

    assert!(TeamMembership::from_toml("").unwrap().is_empty());
    assert!(
        TeamMembership::from_toml("[policy]\nx = 1\n")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        TeamMembership::from_toml("teams = { ops = [\"zed\"] }")
            .unwrap()
            .teams_of("zed"),
        ["ops"]
    );

    let mut built = TeamMembership::new();
    built.add("@org/b", "@Zed");
    built.add("@org/a", "zed");
    built.add("@org/a", "zed");
    assert_eq!(built.teams_of("zed"), ["@org/a", "@org/b"]);
}

#[test]
fn team_membership_errors() {
    let cases: &[(&str, &str)] = &[
        ("[teams\n", "line 1: invalid"),
        (
            "teams = [\"alice\"]\n",
            "line 1: `teams` should be a table, found an array",
        ),
        (
            "[teams]\n\"@org/a\" = \"alice\"\n",
            "line 2: the members of `@org/a` should be a list of logins, found a string",
        ),
        (
            "[teams]\n\"@org/a\" = [\n  \"alice\",\n  7,\n]\n",
            "line 4: a member of `@org/a` should be a login string, found an integer",
        ),
        (
            "[teams]\n\"@org/a\" = [\"@\"]\n",
            "line 2: a member of `@org/a` is empty",
        ),
        ("[teams]\n\"\" = [\"a\"]\n", "line 2: a team name is empty"),
    ];
    for (text, fragment) in cases {
        match TeamMembership::from_toml(text) {
            Ok(t) => panic!("{text:?}: expected an error, got {t:?}"),
            Err(e) => {
                assert!(matches!(e, ApprovalError::Teams { .. }), "{e:?}");
                let msg = e.to_string();
                assert!(
                    msg.contains(fragment),
                    "{text:?}: `{msg}` lacks `{fragment}`"
                );
            }
        }
    }
}
