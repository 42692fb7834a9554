//! The CODEOWNERS adapter on real files (see `tests/fixtures/PROVENANCE.md`) and generated ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use blastwall_abi::schema::OWNERS;
use blastwall_facts::codeowners::{MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_REPORTED_ERRORS};
use blastwall_facts::{Codeowners, Dialect, locate, owners_facts, parse_codeowners};
use common::{assert_conforms, fixture, fixture_names};
use serde_json::json;

fn load(name: &str, dialect: Dialect) -> Codeowners {
    parse_codeowners(&fixture("codeowners", name), dialect)
}

/// Assert the owners of each `(path, owners)`; an empty list means unowned.
fn check(co: &Codeowners, cases: &[(&str, &[&str])]) {
    for (path, want) in cases {
        let got = co.owners_of(path).owners;
        assert_eq!(got, *want, "owners of `{path}`");
    }
}

#[test]
fn every_fixture_parses() {
    let names = fixture_names("codeowners");
    assert_eq!(names.len(), 5);
    for name in names {
        let dialect = if name.contains("gitlab") {
            Dialect::GitLab
        } else {
            Dialect::GitHub
        };
        let co = load(&name, dialect);
        assert!(co.rule_count() > 10, "{name}");
        let (_, record) = owners_facts(&co, &["README.md"]);
        assert_conforms(&record, &OWNERS);
    }
}

#[test]
fn cpython_last_match_wins_and_exclusions_unown() {
    let co = load(
        "cpython_individuals_globs_exclusions.CODEOWNERS",
        Dialect::GitHub,
    );
    assert_eq!(co.errors(), &[]);
    check(
        &co,
        &[
            (".azure-pipelines/ci.yml", &["@AA-Turner"]),
            (
                ".github/workflows/build.yml",
                &["@ezio-melotti", "@hugovk", "@AA-Turner"],
            ),
            (
                "configure.ac",
                &["@erlend-aasland", "@corona10", "@AA-Turner"],
            ),
            ("Objects/genobject.c", &["@markshannon"]),
            ("Include/internal/pycore_genobject.h", &["@markshannon"]),
            ("Objects/dictobject.c", &["@methane", "@markshannon"]),
            ("Lib/test/test_datetime.py", &["@pganssle", "@abalkin"]),
            ("Lib/email/parser.py", &["@python/email-team"]),
            ("Lib/zipfile/_path/__init__.py", &["@jaraco"]),
            // The exclusions at the end name no owners, and the last match wins.
            (".mailmap", &[]),
            ("Modules/clinic/posixmodule.c.h", &[]),
            ("Modules/_io/clinic/bufferedio.c.h", &[]),
            ("Objects/clinic/dictobject.c.h", &[]),
            ("Python/clinic/sysmodule.c.h", &[]),
            // No rule at all.
            ("README.rst", &[]),
        ],
    );
    let r = co.owners_of(".mailmap");
    assert_eq!(r.line, Some(581));
    assert_eq!(r.pattern.as_deref(), Some(".mailmap"));
    assert_eq!(co.owners_of("Lib/email/parser.py").line, Some(393));
    assert_eq!(co.owners_of("README.rst").line, None);

    let (per_path, record) = owners_facts(
        &co.with_file(".github/CODEOWNERS"),
        &["Objects/genobject.c", ".mailmap", "README.rst"],
    );
    assert_eq!(
        per_path[0],
        (
            "Objects/genobject.c".to_string(),
            vec!["@markshannon".to_string()]
        )
    );
    assert_eq!(
        record,
        json!({"errors": [], "unowned": [".mailmap", "README.rst"], "file": ".github/CODEOWNERS"})
    );
    assert_conforms(&record, &OWNERS);
}

#[test]
fn terraform_unmaintained_is_an_error_and_unowns() {
    let co = load(
        "terraform_legacy_unmaintained_owners.CODEOWNERS",
        Dialect::GitHub,
    );
    let lines: Vec<usize> = co.errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![5, 9, 13, 15, 17, 20, 22, 24, 26]);
    assert_eq!(
        co.errors()[0].message,
        "invalid owner `Unmaintained`: owners are `@user`, `@org/team` or an email address"
    );
    check(
        &co,
        &[
            ("backend/remote-state/artifactory/client.go", &[]),
            (
                "backend/remote-state/azure/backend.go",
                &["@hashicorp/terraform-azure"],
            ),
            (
                "backend/remote-state/s3/backend.go",
                &["@hashicorp/terraform-aws"],
            ),
            ("backend/remote-state/cos/x.go", &["@likexian"]),
            ("builtin/provisioners/chef/resource.go", &[]),
            (
                "builtin/provisioners/file/resource.go",
                &["@hashicorp/terraform-core"],
            ),
            // `builtin/provisioners/file` has an inner `/`, so it is anchored.
            ("x/builtin/provisioners/file/y.go", &[]),
        ],
    );
    // The `Unmaintained` line still matches: the path is unowned *by that line*.
    assert_eq!(
        co.owners_of("backend/remote-state/pg/backend.go").line,
        Some(15)
    );
    let (_, record) = owners_facts(&co, &["backend/remote-state/pg/backend.go"]);
    assert_eq!(record["errors"].as_array().unwrap().len(), 9);
    assert_eq!(record["errors"][0]["line"], 5);
    assert_eq!(
        record["unowned"],
        json!(["backend/remote-state/pg/backend.go"])
    );
}

#[test]
fn nodejs_teams_and_directories() {
    let co = load("nodejs_node_teams_only.CODEOWNERS", Dialect::GitHub);
    assert_eq!(co.errors(), &[]);
    check(
        &co,
        &[
            ("binding.gyp", &["@nodejs/gyp"]),
            // `*.gyp` (line 110) loses to the later `/deps` (line 178).
            ("deps/uv/uv.gyp", &["@nodejs/security-wg"]),
            ("doc/contributing/releases.md", &["@nodejs/tsc"]),
            ("doc/contributing/maintaining/x.md", &["@nodejs/tsc"]),
            (
                "lib/internal/streams/end-of-stream.js",
                &["@nodejs/streams"],
            ),
            ("BUILDING.md", &["@nodejs/build", "@nodejs/tsc"]),
        ],
    );
    // A later `/deps` line wins over `/deps/cares`, directory without a trailing slash.
    let r = co.owners_of("deps/cares/src/lib/ares_init.c");
    assert_eq!(r.pattern.as_deref(), Some("/deps"));
    // `/lib/internal/streams/*` owns files directly in the directory only (GitHub's `docs/*`
    // rule), so a nested file falls back to an earlier line, if any.
    assert_ne!(
        co.owners_of("lib/internal/streams/sub/x.js")
            .pattern
            .as_deref(),
        Some("/lib/internal/streams/*")
    );
}

#[test]
fn espidf_catch_all_and_subgroups() {
    let co = load(
        "espidf_gitlab_default_owner_subgroups.CODEOWNERS",
        Dialect::GitLab,
    );
    assert_eq!(co.errors(), &[]);
    assert_eq!(co.sections().len(), 1);
    assert_eq!(co.sections()[0].name, "codeowners");
    check(
        &co,
        &[
            ("some/random/file.c", &["@esp-idf-codeowners/other"]),
            ("README_CN.md", &["@esp-idf-codeowners/docs"]),
            (".gitlab-ci.yml", &["@esp-idf-codeowners/ci"]),
            (".mailmap", &["@esp-idf-codeowners/tools"]),
            (
                "components/app_trace/app_trace.c",
                &["@esp-idf-codeowners/debugging"],
            ),
            (
                "components/protocomm/src/common.c",
                &["@esp-idf-codeowners/app-utilities/provisioning"],
            ),
            (
                "docs/en/api-reference/peripherals/usb_host/index.rst",
                &[
                    "@esp-idf-codeowners/peripherals",
                    "@esp-idf-codeowners/peripherals/usb",
                ],
            ),
            (
                "docs/zh_CN/api-reference/provisioning/wifi.rst",
                &["@esp-idf-codeowners/app-utilities/provisioning"],
            ),
        ],
    );
    let r = co.owners_of("some/random/file.c");
    assert_eq!(r.line, Some(47));
    assert_eq!(r.pattern.as_deref(), Some("*"));
    assert_eq!(r.sections.len(), 1);
    assert_eq!(r.sections[0].name, "codeowners");
    assert_eq!(r.sections[0].approvals, 1);
    assert!(!r.sections[0].optional);
    // Read as GitHub, the three-part subgroup owners are errors.
    let gh = load(
        "espidf_gitlab_default_owner_subgroups.CODEOWNERS",
        Dialect::GitHub,
    );
    assert!(gh.errors().iter().any(|e| {
        e.line == 149
            && e.message
                .contains("`@esp-idf-codeowners/app-utilities/provisioning`")
    }));
}

#[test]
fn kicad_optional_section() {
    let co = load("kicad_gitlab_optional_section.CODEOWNERS", Dialect::GitLab);
    assert_eq!(co.errors(), &[]);
    let s = &co.sections()[1];
    assert_eq!(s.name, "Suggested Reviewers");
    assert!(s.optional);
    assert_eq!(s.line, 23);
    let r = co.owners_of("eeschema/connection_graph.cpp");
    assert_eq!(r.owners, vec!["@craftyjon", "@sethhillbrand"]);
    assert_eq!(r.line, Some(40));
    assert_eq!(r.sections.len(), 1);
    assert_eq!(r.sections[0].name, "Suggested Reviewers");
    assert!(r.sections[0].optional);
    check(
        &co,
        &[
            ("vcpkg.json", &["@mroszko"]),
            ("vcpkg-configuration.json", &["@mroszko"]),
            ("cmake/InstallSteps/InstallMacOS.cmake", &["@craftyjon"]),
            (
                "pcbnew/router/pns_router.cpp",
                &["@twlostow", "@craftyjon", "@sethhillbrand"],
            ),
            ("pcbnew/pcb_io/easyeda/x.cpp", &["@dsa-t"]),
            ("common/eda_item.cpp", &[]),
        ],
    );
    // As GitHub, the section header is an unsupported line.
    let gh = load("kicad_gitlab_optional_section.CODEOWNERS", Dialect::GitHub);
    assert_eq!(gh.errors().len(), 1);
    assert_eq!(gh.errors()[0].line, 23);
}

#[test]
fn locate_follows_each_forge_order() {
    let all = [
        "docs/CODEOWNERS",
        "CODEOWNERS",
        ".github/CODEOWNERS",
        ".gitlab/CODEOWNERS",
    ];
    assert_eq!(locate(&all, Dialect::GitHub), Some(".github/CODEOWNERS"));
    assert_eq!(locate(&all, Dialect::GitLab), Some("CODEOWNERS"));
    assert_eq!(
        locate(&["docs/CODEOWNERS", ".gitlab/CODEOWNERS"], Dialect::GitLab),
        Some("docs/CODEOWNERS")
    );
    assert_eq!(
        locate(&["./docs/CODEOWNERS"], Dialect::GitHub),
        Some("./docs/CODEOWNERS")
    );
    assert_eq!(locate(&[".gitlab/CODEOWNERS"], Dialect::GitHub), None);
    assert_eq!(
        locate(&["src/CODEOWNERS", "codeowners"], Dialect::GitLab),
        None
    );
}

#[test]
fn github_rules() {
    let text = "\
# comment
*        @org/everyone
/apps/   @octocat
/apps/github
docs/*   docs@example.com
!secret  @a
*.[ch]   @c
\\#x     @h
/lib/    @a @b @a # trailing
/x/      Unmaintained @ok @a/b/c not-an-email@ @@maintainer
/bad[    @z
";
    let co = parse_codeowners(text, Dialect::GitHub);
    let errors: Vec<(usize, &str)> = co
        .errors()
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                6,
                "GitHub does not support negation with `!` in `!secret`; the line is ignored"
            ),
            (
                7,
                "GitHub does not support character classes with `[ ]` in `*.[ch]`; the line is ignored"
            ),
            (
                8,
                "GitHub does not support escaping a leading `#` with `\\` in `\\#x`; the line is ignored"
            ),
            (
                9,
                "GitHub does not support comments after a pattern; the rest of the line is ignored"
            ),
            (
                10,
                "invalid owner `Unmaintained`: owners are `@user`, `@org/team` or an email address"
            ),
            (
                10,
                "invalid owner `@a/b/c`: GitHub teams are `@org/team`; nested groups are GitLab-only"
            ),
            (
                10,
                "invalid owner `not-an-email@`: owners are `@user`, `@org/team` or an email address"
            ),
            (
                10,
                "invalid owner `@@maintainer`: roles such as `@@maintainer` are GitLab-only and must name `developer`, `maintainer` or `owner`"
            ),
            (
                11,
                "GitHub does not support character classes with `[ ]` in `/bad[`; the line is ignored"
            ),
        ]
    );
    check(
        &co,
        &[
            ("README.md", &["@org/everyone"]),
            ("apps/main/index.js", &["@octocat"]),
            ("apps/github/index.js", &[]),
            ("docs/getting-started.md", &["docs@example.com"]),
            // `docs/*` does not reach nested files; the catch-all does.
            ("docs/build-app/troubleshooting.md", &["@org/everyone"]),
            ("secret", &["@org/everyone"]),
            ("lib/x.rs", &["@a", "@b"]),
            ("x/y", &["@ok"]),
        ],
    );
}

#[test]
fn gitlab_sections() {
    let text = "\
* @default
[Docs][2] @docs-team @docs-lead
docs/
docs/api/ @api
!docs/generated/
^[Optional] @opt
*.md
[docs]
guides/ @guide
[Zero][0]
z/ @z
[Bad][x]
b/ @b
[Empty]
e/
!e/keep @k
[Unclosed
u/ @u
@@maintainer-less/ @@maintainer @group/sub/team me@example.com
";
    let co = parse_codeowners(text, Dialect::GitLab);
    let errors: Vec<(usize, String)> = co
        .errors()
        .iter()
        .map(|e| (e.line, e.message.clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (10, "section `Zero` requires 0 approvals; at least 1 is required, so 1 is used".to_string()),
            (12, "invalid approval count `x` in section `Bad`; 1 is used".to_string()),
            (15, "`e/` has zero owners and section `Empty` has no default owners".to_string()),
            (16, "the exclusion `!e/keep` takes no owners; they are ignored".to_string()),
            (17, "unclosed section header `[Unclosed`; the lines after it stay in the previous section".to_string()),
        ]
    );
    let names: Vec<(&str, u32, bool)> = co
        .sections()
        .iter()
        .map(|s| (s.name.as_str(), s.approvals, s.optional))
        .collect();
    assert_eq!(
        names,
        vec![
            ("codeowners", 1, false),
            ("Docs", 2, false),
            ("Optional", 1, true),
            ("Zero", 1, false),
            ("Bad", 1, false),
            ("Empty", 1, false),
        ]
    );

    // A path collects owners from every section that matches it.
    let r = co.owners_of("docs/api/index.md");
    assert_eq!(r.owners, vec!["@default", "@api", "@opt"]);
    let sections: Vec<(&str, u32, bool, usize)> = r
        .sections
        .iter()
        .map(|s| (s.name.as_str(), s.approvals, s.optional, s.line))
        .collect();
    assert_eq!(
        sections,
        vec![
            ("codeowners", 1, false, 1),
            ("Docs", 2, false, 4),
            ("Optional", 1, true, 7)
        ]
    );
    assert_eq!(r.line, Some(7));
    // Default owners of the section header.
    assert_eq!(
        co.owners_of("docs/intro.txt").owners,
        vec!["@default", "@docs-team", "@docs-lead"]
    );
    // `[docs]` is the same section as `[Docs]`; its lines have their own default owners (none).
    assert_eq!(
        co.owners_of("guides/a.txt").owners,
        vec!["@default", "@guide"]
    );
    assert_eq!(co.owners_of("guides/a.txt").sections[1].name, "Docs");
    // The exclusion takes the path out of `Docs`, whatever the order of the lines.
    assert_eq!(
        co.owners_of("docs/generated/x.txt").owners,
        vec!["@default"]
    );
    // An excluded path in a section without other matches.
    assert_eq!(co.owners_of("e/keep").owners, vec!["@default"]);
    assert_eq!(co.owners_of("e/other").owners, vec!["@default"]);
    // After an unclosed header the lines stay in `Empty`; roles, nested groups and emails are
    // owners.
    assert_eq!(co.owners_of("u/x").owners, vec!["@default", "@u"]);
    assert_eq!(
        co.owners_of("@@maintainer-less/x").owners,
        vec![
            "@default",
            "@@maintainer",
            "@group/sub/team",
            "me@example.com"
        ]
    );
}

#[test]
fn limits() {
    // Over 3 MiB: one error, no rules, nothing owned.
    let big = "* @a\n".repeat(MAX_FILE_BYTES / 5 + 1);
    assert!(big.len() > MAX_FILE_BYTES);
    let co = parse_codeowners(&big, Dialect::GitHub);
    assert_eq!(co.rule_count(), 0);
    assert_eq!(co.errors().len(), 1);
    assert_eq!(co.errors()[0].line, 0);
    assert!(
        co.errors()[0]
            .message
            .contains("over the 3145728-byte limit")
    );
    assert_eq!(co.owners_of("x").owners, Vec::<String>::new());

    // A long line is an error; the lines around it count.
    let text = format!("a @a\n{} @b\nc @c\n", "x".repeat(MAX_LINE_BYTES + 1));
    let co = parse_codeowners(&text, Dialect::GitHub);
    assert_eq!(co.errors().len(), 1);
    assert_eq!(co.errors()[0].line, 2);
    check(&co, &[("a", &["@a"]), ("c", &["@c"])]);

    // Many bad lines: the facts keep the first ones and count the rest.
    let text = "x Unmaintained\n".repeat(MAX_REPORTED_ERRORS + 5);
    let co = parse_codeowners(&text, Dialect::GitHub);
    let (_, record) = owners_facts(&co, &["x"]);
    let errors = record["errors"].as_array().unwrap();
    assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
    assert_eq!(errors[MAX_REPORTED_ERRORS]["message"], "and 5 more errors");
    assert_conforms(&record, &OWNERS);

    // A large file just under the limit parses and answers in bounded time.
    let text = "/a/**/b*c*d*e*/f @x\n".repeat(40_000);
    let co = parse_codeowners(&text, Dialect::GitLab);
    assert_eq!(co.rule_count(), 40_000);
    assert_eq!(co.owners_of("a/q/bxcxdxe/f/g").owners, vec!["@x"]);
}

#[test]
fn line_endings_bom_and_whitespace() {
    let text = "\u{feff}# c\r\n/a\\ b/   @x\r\n\t/c\t@y\r\n";
    let co = parse_codeowners(text, Dialect::GitLab);
    assert_eq!(co.errors(), &[]);
    check(&co, &[("a b/f", &["@x"]), ("c", &["@y"])]);
}

#[test]
fn generated_files_never_panic() {
    let pieces = [
        "*", "/", "a", "**", "[", "]", "!", "^", "#", "\\", " ", "@x", "@a/b", "@@owner", "[S]",
        "[S][2]", "^[O]", "\t", "e@x.y", "?", "\n",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(seed % 30) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for dialect in [Dialect::GitHub, Dialect::GitLab] {
            let co = parse_codeowners(&text, dialect);
            for path in ["a", "a/b", "S/x", "", "/", "[S]"] {
                let _ = co.owners_of(path);
            }
            let (_, record) = owners_facts(&co, &["a"]);
            assert_conforms(&record, &OWNERS);
        }
    }
}
