//! AI provenance: a table of commit messages and identities with the tools each must (or must
//! not) yield, trailer parsing, configured patterns and the range-level tri-state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::AI;
use blastwall_facts::provenance::{
    Marker, PatternKind, Person, Provenance, ProvenanceOptions, ProvenancePattern, Trailer,
    TriState, classify_commit, parse_trailers,
};
use common::assert_conforms;
use serde_json::json;

const HUMAN: (&str, &str) = ("Ada Lovelace", "ada@example.com");

/// One case: message, author, committer, the tools expected (empty: none).
struct Case {
    name: &'static str,
    message: &'static str,
    author: (&'static str, &'static str),
    committer: (&'static str, &'static str),
    tools: &'static [&'static str],
}

const fn case(
    name: &'static str,
    message: &'static str,
    author: (&'static str, &'static str),
    tools: &'static [&'static str],
) -> Case {
    Case {
        name,
        message,
        author,
        committer: HUMAN,
        tools,
    }
}

const CASES: &[Case] = &[
    // Claude Code.
    case(
        "claude code co-author trailer",
        "Fix the cache\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code trailer, lowercase key",
        "Fix the cache\n\nco-authored-by: Claude <noreply@anthropic.com>\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code trailer, model name",
        "Fix the cache\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code trailer, upper-case email",
        "Fix the cache\n\nCo-authored-by: Claude <NoReply@Anthropic.com>\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code footer with link",
        "Fix the cache\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code footer without link",
        "Fix the cache\n\nGenerated with Claude Code\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "claude code full footer",
        "Add retries\n\nBody.\n\n🤖 Generated with [Claude Code](https://claude.ai/code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "a person named Claude is not AI",
        "Pair on the parser\n\nCo-Authored-By: Claude <claude@somebody.com>\n",
        HUMAN,
        &[],
    ),
    case(
        "an author named Claude is not AI",
        "Fix typo\n",
        ("Claude", "claude.monet@example.com"),
        &[],
    ),
    case(
        "the word claude in prose is not AI",
        "Thank Claude for the review\n\nClaude found the bug.\n",
        HUMAN,
        &[],
    ),
    // Copilot.
    case(
        "copilot coding agent author",
        "Implement the endpoint\n",
        (
            "copilot-swe-agent[bot]",
            "198982749+Copilot@users.noreply.github.com",
        ),
        &["copilot"],
    ),
    case(
        "copilot bot login in an email",
        "Implement the endpoint\n",
        (
            "Some Name",
            "198982749+copilot-swe-agent[bot]@users.noreply.github.com",
        ),
        &["copilot"],
    ),
    case(
        "copilot noreply email alone",
        "Implement the endpoint\n",
        ("Copilot", "198982749+Copilot@users.noreply.github.com"),
        &["copilot"],
    ),
    case(
        "copilot co-author trailer (vs code)",
        "Fix bug\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>\n",
        HUMAN,
        &["copilot"],
    ),
    case(
        "copilot old co-author address (vs code)",
        "Fix bug\n\nCo-authored-by: Copilot <copilot@github.com>\n",
        HUMAN,
        &["copilot"],
    ),
    case(
        "a person's noreply address proves nothing",
        "Fix bug\n",
        ("Octo Cat", "583231+octocat@users.noreply.github.com"),
        &[],
    ),
    case(
        "a user named copilotfan is not copilot",
        "Fix bug\n",
        ("Fan", "12345+copilotfan@users.noreply.github.com"),
        &[],
    ),
    // Cursor.
    case(
        "cursor agent co-author",
        "Refactor\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n",
        HUMAN,
        &["cursor"],
    ),
    case(
        "cursor agent as author",
        "Refactor\n",
        ("Cursor Agent", "cursoragent@cursor.com"),
        &["cursor"],
    ),
    case(
        "a person at cursor.com is not the agent",
        "Refactor\n",
        ("Jo", "jo@cursor.com"),
        &[],
    ),
    // aider.
    case(
        "aider author suffix",
        "Add tests\n",
        ("Ada Lovelace (aider)", "ada@example.com"),
        &["aider"],
    ),
    case(
        "aider message prefix",
        "aider: Add tests for the parser\n",
        HUMAN,
        &["aider"],
    ),
    case(
        "aider co-author trailer",
        "Add tests\n\nCo-authored-by: aider (openai/gpt-4o) <aider@aider.chat>\n",
        HUMAN,
        &["aider"],
    ),
    case(
        "aider in prose is not a prefix",
        "Remove aider: config\n",
        HUMAN,
        &[],
    ),
    case(
        "a name containing aider is not the suffix",
        "Add tests\n",
        ("Aider Smith", "aider@example.com"),
        &[],
    ),
    // Codex.
    case(
        "codex author",
        "Port the module\n",
        ("Codex", "noreply@openai.com"),
        &["codex"],
    ),
    case(
        "codex co-author",
        "Port the module\n\nCo-authored-by: Codex <noreply@openai.com>\n",
        HUMAN,
        &["codex"],
    ),
    case(
        "a person at openai.com is not codex",
        "Port the module\n",
        ("Sam", "sam@openai.com"),
        &[],
    ),
    // GitHub app bots.
    case(
        "devin bot",
        "Update deps\n",
        (
            "devin-ai-integration[bot]",
            "158243242+devin-ai-integration[bot]@users.noreply.github.com",
        ),
        &["devin"],
    ),
    case(
        "a person named Devin is not AI",
        "Update deps\n",
        ("Devin", "devin@example.com"),
        &[],
    ),
    case(
        "amazon q bot",
        "Update deps\n",
        (
            "amazon-q-developer[bot]",
            "208079219+amazon-q-developer[bot]@users.noreply.github.com",
        ),
        &["amazon-q"],
    ),
    case(
        "gemini code assist bot",
        "Apply suggestion\n",
        (
            "gemini-code-assist[bot]",
            "176961590+gemini-code-assist[bot]@users.noreply.github.com",
        ),
        &["gemini"],
    ),
    case(
        "claude github app bot",
        "Fix issue #12\n",
        (
            "claude[bot]",
            "209825114+claude[bot]@users.noreply.github.com",
        ),
        &["claude"],
    ),
    case(
        "a bot whose login only contains claude",
        "Fix\n",
        (
            "notclaude[bot]",
            "1+notclaude[bot]@users.noreply.github.com",
        ),
        &[],
    ),
    case(
        "dependabot is a bot but not AI",
        "Bump serde\n",
        (
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com",
        ),
        &[],
    ),
    // Replit and the kernel's Assisted-by.
    case(
        "replit trailer",
        "Agent query: add login\n\nReplit-Commit-Author: Agent\nReplit-Commit-Session-Id: 1234\n",
        HUMAN,
        &["replit"],
    ),
    case(
        "kernel assisted-by",
        "mm: fix leak\n\nAssisted-by: Claude:claude-3-opus coccinelle sparse\nSigned-off-by: Ada <ada@example.com>\n",
        HUMAN,
        &["claude"],
    ),
    case(
        "kernel assisted-by, other agent, lowercase key",
        "mm: fix leak\n\nassisted-by: Gemini:gemini-2.5-pro\n",
        HUMAN,
        &["gemini"],
    ),
    case(
        "signed-off-by alone is not AI",
        "mm: fix leak\n\nSigned-off-by: Ada <ada@example.com>\n",
        HUMAN,
        &[],
    ),
    // Several at once, and placement.
    case(
        "two tools in one commit",
        "Merge work\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        HUMAN,
        &["claude-code", "cursor"],
    ),
    case(
        "squash merge keeps trailers in the body",
        "Feature (#42)\n\n* first step\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n\n* second step\n\nReviewed-by: Ada\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "indented trailer in a squash body",
        "Feature (#42)\n\n    Co-authored-by: Codex <noreply@openai.com>\n",
        HUMAN,
        &["codex"],
    ),
    case(
        "co-author given as a bare email",
        "Apply\n\nCo-authored-by: noreply@anthropic.com\n",
        HUMAN,
        &["claude-code"],
    ),
    case(
        "plain human commit",
        "Fix off-by-one in the lexer\n",
        HUMAN,
        &[],
    ),
    case("empty message", "", HUMAN, &[]),
    // Identities seen on real commits of public repositories.
    case(
        "Codex authoring with its own address",
        "Add retry to the fetcher\n",
        ("Codex", "codex@openai.com"),
        &["codex"],
    ),
    case(
        "a model-named Codex co-author",
        "Refactor config loading\n\nCo-authored-by: GPT-5 Codex <codex@openai.com>\n",
        HUMAN,
        &["codex"],
    ),
    case(
        "Claude's coding agent on GitHub",
        "Fix flaky test\n",
        (
            "anthropic-code-agent[bot]",
            "242468646+Claude@users.noreply.github.com",
        ),
        &["claude"],
    ),
    case(
        "a project's AI-assisted line names the tool",
        "Speed up the parser\n\nAI-assisted: Claude Code (Opus 4)\n",
        HUMAN,
        &["claude"],
    ),
    case(
        "an AI disclosure line with a space in its key",
        "Port the CLI\n\nAI disclosure: GitHub Copilot suggested the tests\n",
        HUMAN,
        &["github"],
    ),
    case(
        "a bare yes names no tool",
        "Docs\n\nAI-Assisted: yes\n",
        HUMAN,
        &["ai"],
    ),
    case(
        "a disclosure that no AI was used is no marker",
        "Docs\n\nAI-assisted: no\nAI disclosure: none\n",
        HUMAN,
        &[],
    ),
];

#[test]
fn table() {
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    let opts = ProvenanceOptions::default();
    for c in CASES {
        let author = Person::new(c.author.0, c.author.1);
        let committer = Person::new(c.committer.0, c.committer.1);
        let got = classify_commit(c.message, &author, &committer, &opts);
        assert_eq!(got.tools, c.tools, "{}: {:?}", c.name, got.evidence);
        let want_ai = if c.tools.is_empty() {
            TriState::Unknown
        } else {
            TriState::Yes
        };
        assert_eq!(got.ai, want_ai, "{}", c.name);
        assert_eq!(got.evidence.is_empty(), c.tools.is_empty(), "{}", c.name);
    }
}

#[test]
fn committer_identities_count_too() {
    let got = classify_commit(
        "Apply\n",
        &Person::new(HUMAN.0, HUMAN.1),
        &Person::new("Ada (aider)", "ada@example.com"),
        &ProvenanceOptions::default(),
    );
    assert_eq!(got.tools, ["aider"]);
    assert_eq!(
        got.evidence,
        [Marker {
            tool: "aider".into(),
            marker: "committer: Ada (aider) <ada@example.com>".into()
        }]
    );
    let got = classify_commit(
        "Apply\n",
        &Person::new(HUMAN.0, HUMAN.1),
        &Person::new("Codex", "noreply@openai.com"),
        &ProvenanceOptions::default(),
    );
    assert_eq!(got.tools, ["codex"]);
}

#[test]
fn evidence_names_the_matching_line() {
    let got = classify_commit(
        "Fix\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        &Person::new(HUMAN.0, HUMAN.1),
        &Person::new(HUMAN.0, HUMAN.1),
        &ProvenanceOptions::default(),
    );
    let markers: Vec<&str> = got.evidence.iter().map(|m| m.marker.as_str()).collect();
    assert_eq!(
        markers,
        [
            "🤖 Generated with [Claude Code](https://claude.com/claude-code)",
            "Co-Authored-By: Claude <noreply@anthropic.com>"
        ]
    );
    assert_eq!(got.tools, ["claude-code"]);
}

#[test]
fn unmarked_means_human_turns_unknown_into_no() {
    let opts = ProvenanceOptions {
        unmarked_means_human: true,
        ..ProvenanceOptions::default()
    };
    let human = Person::new(HUMAN.0, HUMAN.1);
    let got = classify_commit("Fix\n", &human, &human, &opts);
    assert_eq!(got.ai, TriState::No);
    let got = classify_commit(
        "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        &human,
        &human,
        &opts,
    );
    assert_eq!(got.ai, TriState::Yes);
}

#[test]
fn configured_patterns() {
    let opts = ProvenanceOptions {
        unmarked_means_human: false,
        patterns: vec![
            ProvenancePattern::new("windsurf", PatternKind::Email, "Agent@Windsurf.example")
                .unwrap(),
            ProvenancePattern::new("in-house", PatternKind::TrailerKey, "AI-Assisted").unwrap(),
            ProvenancePattern::new("in-house", PatternKind::TrailerValueRegex, r"^bot-\d+$")
                .unwrap(),
            ProvenancePattern::new("scripted", PatternKind::MessageRegex, r"(?m)^\[autogen\]")
                .unwrap(),
        ],
    };
    let human = Person::new(HUMAN.0, HUMAN.1);
    let check = |message: &str, author: &Person, want: &[&str]| {
        let got = classify_commit(message, author, &human, &opts);
        assert_eq!(got.tools, want, "{message:?}");
    };
    check(
        "Fix\n",
        &Person::new("W", "agent@windsurf.example"),
        &["windsurf"],
    );
    check(
        "Fix\n\nCo-authored-by: W <AGENT@windsurf.example>\n",
        &human,
        &["windsurf"],
    );
    check("Fix\n\nai-assisted: true\n", &human, &["in-house"]);
    check("Fix\n\nRan-By: bot-17\n", &human, &["in-house"]);
    check("Fix\n\nRan-By: bot-17x\n", &human, &[]);
    check("Fix\n\n[autogen] regenerated\n", &human, &["scripted"]);
    check("Fix [autogen] in prose\n", &human, &[]);
    let got = classify_commit("Fix\n\n[autogen] regenerated\n", &human, &human, &opts);
    assert_eq!(got.evidence[0].marker, "[autogen] regenerated");
}

#[test]
fn invalid_pattern_is_an_error() {
    let err = ProvenancePattern::new("x", PatternKind::MessageRegex, "(unclosed").unwrap_err();
    assert_eq!(err.pattern, "(unclosed");
    assert!(
        err.to_string()
            .contains("invalid provenance pattern `(unclosed`"),
        "{err}"
    );
    // Non-regex kinds take the pattern literally.
    assert!(ProvenancePattern::new("x", PatternKind::TrailerKey, "(unclosed").is_ok());
}

#[test]
fn bot_identities() {
    for (name, email, bot) in [
        (
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com",
            true,
        ),
        (
            "Dependabot",
            "49699333+dependabot[bot]@users.noreply.github.com",
            true,
        ),
        ("renovate[bot]", "renovate@whitesourcesoftware.com", true),
        ("Some Bot", "1+x[bot]@example.com", true),
        ("Octo", "583231+octocat@users.noreply.github.com", false),
        ("Ada", "ada@example.com", false),
        ("Robot", "robot@example.com", false),
    ] {
        assert_eq!(Person::new(name, email).is_bot(), bot, "{name} <{email}>");
    }
}

fn trailers(message: &str) -> Vec<(String, String)> {
    parse_trailers(message)
        .into_iter()
        .map(|Trailer { key, value }| (key, value))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn trailers_follow_git() {
    // The last paragraph, all trailer lines, case preserved.
    assert_eq!(
        trailers("Subject\n\nBody.\n\nSigned-off-by: A <a@x>\nCo-Authored-By: B <b@x>\n"),
        pairs(&[("Signed-off-by", "A <a@x>"), ("Co-Authored-By", "B <b@x>")])
    );
    // The subject alone is never a trailer block.
    assert_eq!(trailers("Fix: the parser\n"), pairs(&[]));
    assert_eq!(trailers("\n\nFix: the parser\n"), pairs(&[]));
    // A paragraph with a non-trailer line has no trailers.
    assert_eq!(
        trailers("Subject\n\nSigned-off-by: A\nthis is prose\n"),
        pairs(&[])
    );
    // Trailers not in the last paragraph do not count.
    assert_eq!(
        trailers("Subject\n\nSigned-off-by: A\n\nMore prose.\n"),
        pairs(&[])
    );
    // Continuation lines fold into the value; blank lines at the end are ignored.
    assert_eq!(
        trailers("Subject\n\nFixes: a long\n  description\nKey : spaced\n\n\n"),
        pairs(&[("Fixes", "a long description"), ("Key", "spaced")])
    );
    // A URL is not a trailer; an empty value is.
    assert_eq!(trailers("Subject\n\nhttps://example.com/x\n"), pairs(&[]));
    assert_eq!(
        trailers("Subject\n\nAcked-by:\n"),
        pairs(&[("Acked-by", "")])
    );
    // CRLF messages.
    assert_eq!(
        trailers("Subject\r\n\r\nSigned-off-by: A\r\n"),
        pairs(&[("Signed-off-by", "A")])
    );
    // Keys are letters, digits and dashes.
    assert_eq!(trailers("Subject\n\nNot a key: x\n"), pairs(&[]));
    assert_eq!(trailers(""), pairs(&[]));
}

#[test]
fn range_provenance() {
    let human = Person::new(HUMAN.0, HUMAN.1);
    let opts = ProvenanceOptions::default();
    let a = classify_commit(
        "One\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n",
        &human,
        &human,
        &opts,
    );
    let b = classify_commit("Two\n", &human, &human, &opts);
    let c = classify_commit(
        "Three\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        &human,
        &human,
        &opts,
    );
    let range = Provenance::from_commits([("c1", &a), ("c2", &b), ("c3", &c)], &opts);
    assert_eq!(range.assisted, TriState::Yes);
    assert_eq!(range.tools, ["claude-code", "cursor"]);
    let doc = range.to_json();
    assert_conforms(&doc, &AI);
    assert_eq!(
        doc,
        json!({
            "assisted": "yes",
            "tools": ["claude-code", "cursor"],
            "evidence": [
                {"tool": "cursor", "commit": "c1", "marker": "Co-authored-by: Cursor Agent <cursoragent@cursor.com>"},
                {"tool": "claude-code", "commit": "c3", "marker": "Co-Authored-By: Claude <noreply@anthropic.com>"},
            ],
        })
    );

    let unknown = Provenance::from_commits([("c2", &b)], &opts);
    assert_eq!(unknown.assisted, TriState::Unknown);
    assert_conforms(&unknown.to_json(), &AI);
    let human_opts = ProvenanceOptions {
        unmarked_means_human: true,
        ..ProvenanceOptions::default()
    };
    assert_eq!(
        Provenance::from_commits([("c2", &b)], &human_opts).assisted,
        TriState::No
    );
    assert_eq!(
        Provenance::from_commits([], &human_opts).assisted,
        TriState::No
    );
    assert_eq!(
        Provenance::from_commits([], &opts).assisted,
        TriState::Unknown
    );
}

/// `Name <email>` from a fixture header.
fn person_of(value: &str) -> Person {
    match value.split_once('<') {
        Some((name, rest)) => Person::new(name.trim(), rest.trim_end_matches('>').trim()),
        None => Person::new(value.trim(), ""),
    }
}

#[test]
fn real_commit_messages_are_attributed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/commits");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let (header, message) = text.split_once("---\n").unwrap();
        let mut author = Person::new("Someone", "someone@example.com");
        let mut committer = author.clone();
        let mut expect: Option<Vec<String>> = None;
        for line in header.lines() {
            let (key, value) = line.split_once(':').unwrap();
            match key {
                "author" => author = person_of(value),
                "committer" => committer = person_of(value),
                "expect" => expect = Some(value.split_whitespace().map(String::from).collect()),
                other => panic!("{}: unknown header `{other}`", path.display()),
            }
        }
        let expect = expect.unwrap_or_else(|| panic!("{}: no `expect:`", path.display()));
        let p = classify_commit(message, &author, &committer, &ProvenanceOptions::default());
        let mut tools = p.tools.clone();
        tools.sort();
        assert_eq!(tools, expect, "{}", path.display());
        let want = if expect.is_empty() {
            TriState::Unknown
        } else {
            TriState::Yes
        };
        assert_eq!(p.ai, want, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} fixtures");
}
