//! The `blastwall.toml` reader: every setting, and every mistake named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blastwall_facts::{Person, classify_commit, read_config};

#[test]
fn every_setting_is_read() {
    let cfg = read_config(
        "blastwall.toml",
        r#"
[params]
max_dependents = 5
production_envs = ["production", "live"]
strict = true

[teams]
"@org/payments" = ["alice", "Bob"]

[ai]
unmarked_means_human = true
[[ai.patterns]]
tool = "internal-agent"
email = "agent@corp.example"

[env]
production_tokens = ["prod", "live"]
workspace = "eu-live"
[[env.patterns]]
address = "*payments*"
env = "production"
"#,
    )
    .unwrap();
    assert_eq!(cfg.params["max_dependents"], 5);
    assert_eq!(
        cfg.params["production_envs"],
        serde_json::json!(["production", "live"])
    );
    assert_eq!(cfg.params["strict"], true);
    assert_eq!(cfg.teams.teams_of("bob"), vec!["@org/payments".to_string()]);
    assert!(cfg.provenance.unmarked_means_human);
    let p = classify_commit(
        "Refactor",
        &Person::new("Agent", "agent@corp.example"),
        &Person::new("Agent", "agent@corp.example"),
        &cfg.provenance,
    );
    assert_eq!(p.tools, vec!["internal-agent".to_string()]);
    assert_eq!(cfg.plan.workspace, "eu-live");
    assert_eq!(
        cfg.plan.production_tokens,
        vec!["prod".to_string(), "live".to_string()]
    );
    assert_eq!(cfg.action.production_tokens, cfg.plan.production_tokens);
    assert_eq!(cfg.plan.address_patterns.len(), 1);
}

#[test]
fn mistakes_are_named_with_their_line() {
    let cases = [
        (
            "[parmas]\nx = 1\n",
            "`blastwall.toml` line 1: unknown setting `parmas`",
        ),
        ("[ai]\nunmarked = true\n", "unknown setting `ai.unmarked`"),
        (
            "[ai]\nunmarked_means_human = \"yes\"\n",
            "should be a boolean, found a string",
        ),
        ("[[ai.patterns]]\ntool = \"x\"\n", "needs `tool` and one of"),
        (
            "[[ai.patterns]]\ntool = \"x\"\nemail = \"a\"\nmessage = \"b\"\n",
            "exactly one of",
        ),
        (
            "[[ai.patterns]]\ntool = \"x\"\nmessage = \"(unclosed\"\n",
            "unclosed",
        ),
        (
            "[env]\nproduction_tokens = \"prod\"\n",
            "should be a list of strings",
        ),
        (
            "[[env.patterns]]\nenv = \"production\"\n",
            "needs `env` and one of",
        ),
        (
            "[params]\nx = 1.5\n",
            "should be a string, integer, boolean or list, found a float",
        ),
        (
            "[teams]\n\"@org/x\" = \"alice\"\n",
            "should be a list of logins",
        ),
        ("not toml at all [", "invalid TOML"),
    ];
    for (text, want) in cases {
        let e = read_config("blastwall.toml", text).unwrap_err().to_string();
        assert!(
            e.contains(want),
            "{text:?}: `{e}` does not contain `{want}`"
        );
    }
}
