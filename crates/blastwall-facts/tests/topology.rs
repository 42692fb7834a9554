//! The topology adapters: the topology file, Cargo workspaces (checked against
//! `cargo metadata` on generated workspaces), Node workspaces, `topology_auto` and
//! `nodes_for_paths`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use blastwall_abi::schema::TOPOLOGY;
use blastwall_facts::topology::{MAX_EXPANSIONS, MAX_NODES};
use blastwall_facts::{
    TopologyError, nodes_for_paths, topology_auto, topology_from_cargo, topology_from_node,
    topology_from_toml,
};
use common::assert_conforms;
use miette::Diagnostic;
use serde_json::{Value, json};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A temporary directory holding `files` (path, text).
fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    dir
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// A minimal package manifest.
fn pkg(name: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
}

/// A node with the derived defaults.
fn node(name: &str, kind: &str, path: &str, deps: &[&str]) -> Value {
    json!({
        "name": name, "kind": kind, "tier": 3, "owner": "",
        "paths": [path], "depends_on": deps,
    })
}

/// Check a derived document: it conforms, and it equals `nodes`.
fn assert_nodes(doc: &Value, nodes: &[Value]) {
    assert_conforms(doc, &TOPOLOGY);
    assert_eq!(doc, &json!({ "nodes": nodes }), "{doc:#}");
}

/// `name → depends_on` of a document.
fn edges(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["depends_on"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            (n["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// An error case: its name, the files of the tree, and a fragment of the expected message.
type ErrorCase<T> = (&'static str, Vec<(&'static str, T)>, &'static str);

/// The error's message, with its help when it has one.
fn message(e: &TopologyError) -> String {
    match e.help() {
        Some(help) => format!("{e} (help: {help})"),
        None => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The topology file

/// Each case: a topology file, and either the `nodes` expected or a fragment of the error
/// message (help included).
enum Want {
    Nodes(Value),
    Error(&'static str),
}

fn check_toml(name: &str, text: &str, want: Want) {
    match (topology_from_toml(text), want) {
        (Ok(doc), Want::Nodes(nodes)) => {
            assert_conforms(&doc, &TOPOLOGY);
            assert_eq!(doc["nodes"], nodes, "{name}: {doc:#}");
        }
        (Err(e), Want::Error(fragment)) => {
            let msg = message(&e);
            assert!(msg.contains(fragment), "{name}: `{msg}` lacks `{fragment}`");
        }
        (Ok(doc), Want::Error(fragment)) => {
            panic!("{name}: expected an error with `{fragment}`, got {doc:#}")
        }
        (Err(e), Want::Nodes(_)) => panic!("{name}: unexpected error {}", message(&e)),
    }
}

#[test]
fn topology_file_cases() {
    use Want::{Error, Nodes};
    let cases: Vec<(&str, &str, Want)> = vec![
        (
            "full example, defaults, sorting",
            r#"
                [services.payments]
                owner = "@org/payments"
                tier = 1
                paths = ["services/payments/**", "libs/money/"]
                depends_on = ["db", "auth", "db"]

                [services.auth]
                paths = ["services/auth/**"]

                [services.db]
                kind = "database"
                tier = 2
            "#,
            Nodes(json!([
                {"name": "auth", "kind": "service", "tier": 3, "owner": "",
                 "paths": ["services/auth/**"], "depends_on": []},
                {"name": "db", "kind": "database", "tier": 2, "owner": "",
                 "paths": [], "depends_on": []},
                {"name": "payments", "kind": "service", "tier": 1, "owner": "@org/payments",
                 "paths": ["services/payments/**", "libs/money/"], "depends_on": ["auth", "db"]},
            ])),
        ),
        ("empty file", "", Nodes(json!([]))),
        ("comments only", "# nothing yet\n", Nodes(json!([]))),
        ("empty services table", "[services]\n", Nodes(json!([]))),
        (
            "inline tables, a cycle is allowed",
            r#"services = { a = { depends_on = ["b"] }, b = { depends_on = ["a"] } }"#,
            Nodes(json!([
                {"name": "a", "kind": "service", "tier": 3, "owner": "", "paths": [], "depends_on": ["b"]},
                {"name": "b", "kind": "service", "tier": 3, "owner": "", "paths": [], "depends_on": ["a"]},
            ])),
        ),
        (
            "quoted service names",
            "[services.\"web.frontend\"]\ntier = 5\n",
            Nodes(json!([
                {"name": "web.frontend", "kind": "service", "tier": 5, "owner": "", "paths": [], "depends_on": []},
            ])),
        ),
        (
            "unknown top-level key",
            "[service.payments]\ntier = 1\n",
            Error(
                "line 1: unknown key `service` in `(top level)` (help: did you mean `services`?)",
            ),
        ),
        (
            "unknown top-level key, no suggestion",
            "title = \"x\"\n",
            Error("only top-level table is `[services.NAME]`"),
        ),
        (
            "unknown service key with suggestion",
            "[services.a]\n\ndepend_on = []\n",
            Error(
                "line 3: unknown key `depend_on` in `services.a` (help: did you mean `depends_on`?)",
            ),
        ),
        (
            "unknown service key without suggestion",
            "[services.a]\nlanguage = \"rust\"\n",
            Error("a service has the keys `owner`, `tier`, `paths`, `depends_on`, `kind`"),
        ),
        (
            "undeclared dependency with suggestion",
            "[services.auth]\n[services.api]\ndepends_on = [\"authh\"]\n",
            Error(
                "line 3: service `api` depends on `authh`, which is not declared (help: did you mean `auth`?)",
            ),
        ),
        (
            "undeclared dependency without suggestion",
            "[services.api]\ndepends_on = [\"billing\"]\n",
            Error("declare it with `[services.billing]`"),
        ),
        (
            "bad glob",
            "[services.a]\npaths = [\"ok/**\", \"src/[z-a]\"]\n",
            Error("line 2: invalid path glob `src/[z-a]` of `a`"),
        ),
        (
            "empty glob",
            "[services.a]\npaths = [\"\"]\n",
            Error("invalid path glob `` of `a`: empty glob"),
        ),
        (
            "tier 0",
            "[services.a]\ntier = 0\n",
            Error("tier `0` of `a` is out of range (help: tiers run from 1"),
        ),
        (
            "tier 6",
            "[services.a]\ntier = 6\n",
            Error("tier `6` of `a` is out of range"),
        ),
        (
            "tier negative",
            "[services.a]\ntier = -1\n",
            Error("tier `-1`"),
        ),
        (
            "tier hex",
            "[services.a]\ntier = 0x2\n",
            Nodes(json!([
                {"name": "a", "kind": "service", "tier": 2, "owner": "", "paths": [], "depends_on": []},
            ])),
        ),
        (
            "tier huge",
            "[services.a]\ntier = 9223372036854775807\n",
            Error("tier `9223372036854775807`"),
        ),
        (
            "tier as string",
            "[services.a]\ntier = \"1\"\n",
            Error("`services.a.tier` should be an integer, found a string"),
        ),
        (
            "tier as float",
            "[services.a]\ntier = 1.0\n",
            Error("found a float"),
        ),
        (
            "owner as integer",
            "[services.a]\nowner = 7\n",
            Error("`services.a.owner` should be a string"),
        ),
        (
            "paths not a list",
            "[services.a]\npaths = \"src/**\"\n",
            Error("`services.a.paths` should be a list of strings"),
        ),
        (
            "paths element",
            "[services.a]\npaths = [\"a\", 1]\n",
            Error("`services.a.paths[1]` should be a string, found an integer"),
        ),
        (
            "service not a table",
            "[services]\na = 1\n",
            Error("`services.a` should be a table"),
        ),
        (
            "services not a table",
            "services = []\n",
            Error("`services` should be a table"),
        ),
        (
            "empty name",
            "[services.\"\"]\n",
            Error("line 1: a service name is empty"),
        ),
        (
            "syntax error",
            "[services.a]\ntier = \n",
            Error("line 2: invalid toml"),
        ),
        (
            "duplicate key",
            "[services.a]\ntier = 1\ntier = 2\n",
            Error("invalid toml"),
        ),
    ];
    for (name, text, want) in cases {
        check_toml(name, text, want);
    }
}

#[test]
fn topology_file_node_limit() {
    let mut text = String::new();
    for i in 0..=MAX_NODES {
        text.push_str(&format!("[services.s{i}]\n"));
    }
    let err = topology_from_toml(&text).unwrap_err();
    assert!(
        matches!(err, TopologyError::TooMany { limit, .. } if limit == MAX_NODES),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Cargo workspaces, by hand

#[test]
fn cargo_workspace_members_kinds_of_dependencies_and_exclusion() {
    let a = pkg("a");
    let b = format!(
        "{}[dependencies]\na = {{ path = \"../a\" }}\nserde = \"1\"\n",
        pkg("b")
    );
    let c = format!(
        "{}[dev-dependencies]\nb.workspace = true\nserde = {{ workspace = true }}\n",
        pkg("c")
    );
    let cli = format!(
        "{}[build-dependencies]\nc = {{ path = \"../../crates/c\", version = \"0.1\" }}\n\
         [target.'cfg(unix)'.dependencies]\nalpha = {{ package = \"a\", path = \"../../crates/a\" }}\n",
        pkg("cli")
    );
    let old = format!("{}[dependencies]\na = {{ path = \"../a\" }}\n", pkg("old"));
    let dir = tree(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\", \"tools/cli\"]\nexclude = [\"crates/old\", \"crates/junk\"]\n\
             [workspace.dependencies]\nb = { path = \"crates/b\" }\nserde = \"1\"\n",
        ),
        ("crates/a/Cargo.toml", &a),
        ("crates/b/Cargo.toml", &b),
        ("crates/c/Cargo.toml", &c),
        ("crates/old/Cargo.toml", &old),
        ("crates/junk/README.md", "no manifest, but excluded"),
        ("crates/a/src/lib.rs", ""),
        ("tools/cli/Cargo.toml", &cli),
        ("README.md", ""),
    ]);
    let doc = topology_from_cargo(dir.path()).unwrap();
    assert_nodes(
        &doc,
        &[
            node("a", "crate", "crates/a/**", &[]),
            node("b", "crate", "crates/b/**", &["a"]),
            node("c", "crate", "crates/c/**", &["b"]),
            node("cli", "crate", "tools/cli/**", &["a", "c"]),
        ],
    );
    // The same document through the automatic choice.
    assert_eq!(topology_auto(dir.path()).unwrap(), Some(doc));
}

#[test]
fn cargo_root_package_is_a_member_and_path_dependencies_join_the_workspace() {
    let root = format!(
        "{}[workspace]\nmembers = [\"crates/app\"]\n\n[dependencies]\napp = {{ path = \"crates/app\" }}\n",
        pkg("top")
    );
    let app = format!(
        "{}[dependencies]\nhelper = {{ path = \"../../support/helper\" }}\noutside = {{ path = \"../../../elsewhere\" }}\n",
        pkg("app")
    );
    let helper = format!(
        "{}[dev-dependencies]\napp = {{ path = \"../../crates/app\" }}\n",
        pkg("helper")
    );
    let dir = tree(&[
        ("Cargo.toml", &root),
        ("crates/app/Cargo.toml", &app),
        ("support/helper/Cargo.toml", &helper),
    ]);
    assert_nodes(
        &topology_from_cargo(dir.path()).unwrap(),
        &[
            node("app", "crate", "crates/app/**", &["helper"]),
            // A dev-dependency cycle is kept: the engine's walk handles cycles.
            node("helper", "crate", "support/helper/**", &["app"]),
            node("top", "crate", "**", &["app"]),
        ],
    );
}

#[test]
fn cargo_single_package_is_a_workspace_of_one() {
    let dir = tree(&[("Cargo.toml", &pkg("solo"))]);
    assert_nodes(
        &topology_from_cargo(dir.path()).unwrap(),
        &[node("solo", "crate", "**", &[])],
    );
}

#[test]
fn cargo_globs_recursive_hidden_and_odd_names() {
    let dir = tree(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"libs/**\", \"./x/\"]\n",
        ),
        ("libs/Cargo.toml", &pkg("libs-root")),
        ("libs/deep/er/Cargo.toml", &pkg("deeper")),
        ("libs/.hidden/Cargo.toml", &pkg("hidden")),
        (
            "libs/odd[1]/Cargo.toml",
            &format!(
                "{}[dependencies]\nd = {{ path = \"../deep/er\" }}\n",
                pkg("odd")
            ),
        ),
        ("libs/deep/Cargo.toml", &pkg("deep")),
        ("x/Cargo.toml", &pkg("x")),
    ]);
    let doc = topology_from_cargo(dir.path()).unwrap();
    assert_nodes(
        &doc,
        &[
            node("deep", "crate", "libs/deep/**", &[]),
            node("deeper", "crate", "libs/deep/er/**", &[]),
            node("hidden", "crate", "libs/.hidden/**", &[]),
            node("libs-root", "crate", "libs/**", &[]),
            node("odd", "crate", "libs/odd\\[1\\]/**", &["deeper"]),
            node("x", "crate", "x/**", &[]),
        ],
    );
    assert_eq!(
        nodes_for_paths(&doc, &["libs/odd[1]/src/lib.rs"]),
        ["libs-root", "odd"]
    );
}

#[test]
fn cargo_errors() {
    let member = |extra: &str| format!("{}{extra}", pkg("m"));
    let ws = "[workspace]\nmembers = [\"crates/*\"]\n";
    let cases: Vec<ErrorCase<String>> = vec![
        (
            "a member glob matching nothing",
            vec![
                (
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"crates/*\", \"nothing/*\"]\n".into(),
                ),
                ("crates/m/Cargo.toml", member("")),
            ],
            "`Cargo.toml` line 2: workspace member pattern `nothing/*` matches no directory",
        ),
        (
            "a missing literal member",
            vec![(
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/gone\"]\n".into(),
            )],
            "missing manifest `crates/gone/Cargo.toml` of workspace member listed as `crates/gone` in `workspace.members`",
        ),
        (
            "a glob-matched directory without a manifest",
            vec![
                ("Cargo.toml", ws.into()),
                ("crates/m/Cargo.toml", member("")),
                ("crates/empty/x.txt", String::new()),
            ],
            "missing manifest `crates/empty/Cargo.toml` of workspace member listed as `crates/*`",
        ),
        (
            "a missing path dependency inside the root",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    member("[dependencies]\nq = { path = \"../q\" }\n"),
                ),
            ],
            "missing manifest `crates/q/Cargo.toml` of workspace member found as a path dependency of `m`",
        ),
        (
            "a malformed root manifest",
            vec![("Cargo.toml", "[workspace\nmembers = []\n".into())],
            "`Cargo.toml` line 1: invalid toml",
        ),
        (
            "a malformed member manifest",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    "[package]\nname = \"m\"\nversion = \n".into(),
                ),
            ],
            "`crates/m/Cargo.toml` line 3: invalid toml",
        ),
        (
            "a member without [package]",
            vec![
                ("Cargo.toml", ws.into()),
                ("crates/m/Cargo.toml", "[lib]\nname = \"m\"\n".into()),
            ],
            "`crates/m/Cargo.toml`: the manifest declares no `[package]`",
        ),
        (
            "a root with neither package nor workspace",
            vec![("Cargo.toml", "[dependencies]\n".into())],
            "`Cargo.toml`: the manifest declares no `[package]`",
        ),
        (
            "an inherited name",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    "[package]\nversion = \"1.0.0\"\nname.workspace = true\n".into(),
                ),
            ],
            "`crates/m/Cargo.toml` line 3: `package.name` cannot be inherited from the workspace",
        ),
        (
            "a missing name",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    "[package]\nversion = \"1.0.0\"\n".into(),
                ),
            ],
            "missing `package.name`",
        ),
        (
            "a name of the wrong type",
            vec![
                ("Cargo.toml", ws.into()),
                ("crates/m/Cargo.toml", "[package]\nname = 3\n".into()),
            ],
            "`package.name` should be a string, found an integer",
        ),
        (
            "two members with one name",
            vec![
                ("Cargo.toml", ws.into()),
                ("crates/m/Cargo.toml", member("")),
                ("crates/n/Cargo.toml", member("")),
            ],
            "two workspace members are named `m`: `crates/m` and `crates/n`",
        ),
        (
            "an undeclared workspace dependency",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    member("\n[dependencies]\nzed = { workspace = true }\n"),
                ),
            ],
            "`crates/m/Cargo.toml` line 7: dependency `zed` uses `workspace = true`, but `[workspace.dependencies]` does not declare it",
        ),
        (
            "a dependency of the wrong type",
            vec![
                ("Cargo.toml", ws.into()),
                ("crates/m/Cargo.toml", member("[dependencies]\nzed = 1\n")),
            ],
            "`dependencies.zed` should be a version string or a table, found an integer",
        ),
        (
            "a path of the wrong type",
            vec![
                ("Cargo.toml", ws.into()),
                (
                    "crates/m/Cargo.toml",
                    member("[dependencies]\nzed = { path = [] }\n"),
                ),
            ],
            "`dependencies.zed.path` should be a string",
        ),
        (
            "a bad member glob",
            vec![
                (
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"crates/[z-a]\"]\n".into(),
                ),
                ("crates/m/Cargo.toml", member("")),
            ],
            "invalid workspace member pattern `crates/[z-a]`",
        ),
        (
            "a member outside the root",
            vec![("Cargo.toml", "[workspace]\nmembers = [\"../*\"]\n".into())],
            "`../*` lies outside the workspace root",
        ),
        (
            "members of the wrong type",
            vec![("Cargo.toml", "[workspace]\nmembers = \"crates/*\"\n".into())],
            "`workspace.members` should be a list of strings",
        ),
    ];
    for (name, files, fragment) in cases {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let dir = tree(&files);
        match topology_from_cargo(dir.path()) {
            Ok(doc) => panic!("{name}: expected an error, got {doc:#}"),
            Err(e) => {
                let msg = message(&e);
                assert!(msg.contains(fragment), "{name}: `{msg}` lacks `{fragment}`");
            }
        }
    }
}

#[test]
fn cargo_without_a_manifest_is_not_a_workspace() {
    let dir = tree(&[("README.md", "")]);
    let err = topology_from_cargo(dir.path()).unwrap_err();
    assert!(matches!(err, TopologyError::NoWorkspace { .. }), "{err}");
    assert_eq!(topology_auto(dir.path()).unwrap(), None);
}

#[test]
fn cargo_expansion_limit() {
    let dir = tree(&[("Cargo.toml", "[workspace]\nmembers = [\"d/**\"]\n")]);
    // 101 × 100 directories: more than the expansion limit.
    for i in 0..101 {
        for j in 0..100 {
            std::fs::create_dir_all(dir.path().join(format!("d/{i}/{j}"))).unwrap();
        }
    }
    const { assert!(101 * 100 > MAX_EXPANSIONS) };
    let err = topology_from_cargo(dir.path()).unwrap_err();
    assert!(
        matches!(err, TopologyError::TooMany { limit, .. } if limit == MAX_EXPANSIONS),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Cargo workspaces, generated and checked against `cargo metadata`

/// xorshift64*: a small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A generated workspace: `count` crates, some under the glob `crates/*`, some under `libs/*`,
/// one listed literally, one under the excluded `crates/skipped`, and (with `root_package`)
/// a root package. Dependencies go from later crates to earlier ones (so normal dependencies
/// never cycle); dev-dependencies may also point forward. Each edge is written as a direct
/// `path`, through `workspace = true`, or renamed, in a random table.
fn generate_workspace(root: &Path, seed: u64, count: usize, root_package: bool) -> Vec<String> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let names: Vec<String> = (0..count).map(|i| format!("c{i:03}")).collect();
    let dirs: Vec<String> = (0..count)
        .map(|i| match i % 3 {
            _ if i == count - 1 => format!("extra/lone-{i}"),
            0 | 1 => format!("crates/{}", names[i]),
            _ => format!("libs/{}", names[i]),
        })
        .collect();
    // Every third crate is reachable through `workspace = true`.
    let mut root_toml = String::new();
    if root_package {
        root_toml.push_str(&pkg("top"));
        root_toml.push_str(&format!(
            "[dependencies]\n{} = {{ path = \"{}\" }}\n\n",
            names[0], dirs[0]
        ));
        write_files(root, &[("src/lib.rs", "")]);
    }
    root_toml.push_str(&format!(
        "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\", \"libs/*\", \"{}\"]\nexclude = [\"crates/skipped\"]\n\n[workspace.dependencies]\n",
        dirs[count - 1]
    ));
    for i in (0..count).step_by(3) {
        root_toml.push_str(&format!("{} = {{ path = \"{}\" }}\n", names[i], dirs[i]));
    }
    write_files(root, &[("Cargo.toml", &root_toml)]);
    // An excluded crate that some members depend on: a path dependency, but not a member.
    write_files(
        root,
        &[
            ("crates/skipped/Cargo.toml", &pkg("skipped")),
            ("crates/skipped/src/lib.rs", ""),
        ],
    );

    for i in 0..count {
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut used = BTreeSet::new();
        let edges = if i == 0 { 0 } else { rng.below(4) };
        for _ in 0..edges {
            let dev = rng.chance(25);
            let j = if dev { rng.below(count) } else { rng.below(i) };
            if j == i || !used.insert(j) {
                continue;
            }
            let table = match (dev, rng.below(4)) {
                (true, _) => "dev-dependencies".to_string(),
                (false, 0) => "build-dependencies".to_string(),
                (false, 1) => "target.'cfg(unix)'.dependencies".to_string(),
                _ => "dependencies".to_string(),
            };
            let rel = relative(&dirs[i], &dirs[j]);
            let line = if j % 3 == 0 && rng.chance(60) {
                format!("{} = {{ workspace = true }}", names[j])
            } else if rng.chance(20) {
                format!(
                    "renamed{j} = {{ package = \"{}\", path = \"{rel}\" }}",
                    names[j]
                )
            } else {
                format!("{} = {{ path = \"{rel}\", version = \"0.1.0\" }}", names[j])
            };
            tables.entry(table).or_default().push(line);
        }
        if rng.chance(10) {
            let rel = relative(&dirs[i], "crates/skipped");
            tables
                .entry("dependencies".to_string())
                .or_default()
                .push(format!("skipped = {{ path = \"{rel}\" }}"));
        }
        let mut manifest = pkg(&names[i]);
        for (table, lines) in tables {
            manifest.push_str(&format!("\n[{table}]\n{}\n", lines.join("\n")));
        }
        write_files(
            root,
            &[
                (&format!("{}/Cargo.toml", dirs[i]), &manifest),
                (&format!("{}/src/lib.rs", dirs[i]), ""),
            ],
        );
    }
    let mut all = names;
    if root_package {
        all.push("top".to_string());
    }
    all
}

/// The relative path from directory `from` to directory `to` (both root-relative).
fn relative(from: &str, to: &str) -> String {
    let ups = from.split('/').count();
    format!("{}{to}", "../".repeat(ups))
}

/// `name → names of the members it depends on`, from `cargo metadata --no-deps`.
fn cargo_metadata_edges(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--no-deps",
        ])
        .current_dir(root)
        .env("CARGO_HOME", root.join(".cargo-home"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let dir_of = |manifest: &str| Path::new(manifest).parent().unwrap().to_path_buf();
    let by_dir: BTreeMap<_, String> = packages
        .iter()
        .map(|p| {
            (
                dir_of(p["manifest_path"].as_str().unwrap()),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d["path"].as_str())
                .filter_map(|path| by_dir.get(Path::new(path)).cloned())
                .filter(|n| n != p["name"].as_str().unwrap())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// The names that reach `start` by following edges backwards: its reverse-dependency closure.
fn dependents(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let mut frontier = vec![start.to_string()];
    while let Some(cur) = frontier.pop() {
        for (name, deps) in edges {
            if deps.contains(&cur) && reached.insert(name.clone()) {
                frontier.push(name.clone());
            }
        }
    }
    reached
}

#[test]
fn cargo_generated_workspaces_agree_with_cargo_metadata() {
    for (seed, count, root_package) in [(1, 30, false), (2, 30, true), (3, 45, false)] {
        let dir = tempfile::tempdir().unwrap();
        // cargo reports canonical paths; compare under the canonical root.
        let root = dir.path().canonicalize().unwrap();
        let names = generate_workspace(&root, seed, count, root_package);
        let doc = topology_from_cargo(&root).unwrap();
        assert_conforms(&doc, &TOPOLOGY);
        let ours = edges(&doc);
        let cargo = cargo_metadata_edges(&root);

        let expected: BTreeSet<String> = names.iter().cloned().collect();
        assert_eq!(
            ours.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "seed {seed}"
        );
        assert_eq!(ours, cargo, "seed {seed}: edges differ from cargo metadata");
        let mut nonempty = 0;
        for name in &names {
            let closure = dependents(&ours, name);
            nonempty += usize::from(!closure.is_empty());
            assert_eq!(
                closure,
                dependents(&cargo, name),
                "seed {seed}: dependents of {name}"
            );
        }
        assert!(
            nonempty > count / 3,
            "seed {seed}: the generator made too few edges"
        );
        // The excluded crate is never a node, even when members depend on it.
        assert!(!ours.contains_key("skipped"));
    }
}

#[test]
fn cargo_five_hundred_crates() {
    // Correctness at scale only: the time is measured by `cargo bench --bench facts`.
    let dir = tempfile::tempdir().unwrap();
    generate_workspace(dir.path(), 7, 500, false);
    let doc = topology_from_cargo(dir.path()).unwrap();
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 500);
}

// ---------------------------------------------------------------------------------------------
// Node workspaces

fn package_json(name: &str, deps: &[(&str, &[&str])]) -> String {
    let mut v = json!({ "name": name, "version": "1.0.0" });
    for (field, names) in deps {
        let m: serde_json::Map<String, Value> =
            names.iter().map(|n| (n.to_string(), json!("*"))).collect();
        v[*field] = Value::Object(m);
    }
    serde_json::to_string_pretty(&v).unwrap()
}

/// The packages every Node layout below shares.
fn node_packages() -> Vec<(&'static str, String)> {
    vec![
        ("packages/a/package.json", package_json("@acme/a", &[])),
        (
            "packages/b/package.json",
            package_json("@acme/b", &[("dependencies", &["@acme/a", "lodash"])]),
        ),
        (
            "packages/c/package.json",
            package_json(
                "@acme/c",
                &[
                    ("devDependencies", &["@acme/a"]),
                    ("peerDependencies", &["@acme/b", "react"]),
                ],
            ),
        ),
        (
            "packages/legacy/package.json",
            package_json("@acme/legacy", &[("dependencies", &["@acme/a"])]),
        ),
        ("packages/no-manifest/README.md", String::new()),
        ("packages/.cache/package.json", package_json("hidden", &[])),
        (
            "packages/node_modules/x/package.json",
            package_json("x", &[]),
        ),
        (
            "apps/web/package.json",
            package_json(
                "web",
                &[
                    ("optionalDependencies", &["@acme/c"]),
                    ("dependencies", &["web"]),
                ],
            ),
        ),
    ]
}

fn node_tree(extra: &[(&'static str, String)]) -> TempDir {
    let mut files = node_packages();
    files.extend(extra.iter().cloned());
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    tree(&files)
}

fn expected_node_nodes(with_legacy: bool) -> Vec<Value> {
    let mut nodes = vec![
        node("@acme/a", "package", "packages/a/**", &[]),
        node("@acme/b", "package", "packages/b/**", &["@acme/a"]),
        node(
            "@acme/c",
            "package",
            "packages/c/**",
            &["@acme/a", "@acme/b"],
        ),
    ];
    if with_legacy {
        nodes.push(node(
            "@acme/legacy",
            "package",
            "packages/legacy/**",
            &["@acme/a"],
        ));
    }
    nodes.push(node("web", "package", "apps/web/**", &["@acme/c"]));
    nodes
}

#[test]
fn npm_workspaces_array() {
    let dir = node_tree(&[(
        "package.json",
        r#"{ "name": "root", "private": true, "workspaces": ["packages/*", "apps/web"],
             "dependencies": { "@acme/a": "*" } }"#
            .to_string(),
    )]);
    assert_nodes(
        &topology_from_node(dir.path()).unwrap(),
        &expected_node_nodes(true),
    );
}

#[test]
fn npm_workspaces_with_negation() {
    let dir = node_tree(&[(
        "package.json",
        r#"{ "workspaces": ["packages/*", "!packages/legacy", "./apps/*"] }"#.to_string(),
    )]);
    assert_nodes(
        &topology_from_node(dir.path()).unwrap(),
        &expected_node_nodes(false),
    );
}

#[test]
fn yarn_workspaces_object() {
    let dir = node_tree(&[(
        "package.json",
        "\u{feff}{ \"private\": true, \"workspaces\": { \"packages\": [\"packages/*\", \"apps/**\"], \"nohoist\": [\"**/react\"] } }"
            .to_string(),
    )]);
    // `apps/**` also matches `apps` itself, which has no package.json and is skipped.
    assert_nodes(
        &topology_from_node(dir.path()).unwrap(),
        &expected_node_nodes(true),
    );
}

#[test]
fn pnpm_workspace_yaml_wins_over_package_json() {
    let dir = node_tree(&[
        (
            "pnpm-workspace.yaml",
            "# the workspace\npackages:\n  - 'packages/*'\n  - \"apps/*\"\n  - '!**/legacy/**'\n\ncatalog:\n  react: ^18.2.0\n"
                .to_string(),
        ),
        ("package.json", r#"{ "workspaces": ["nothing/*"] }"#.to_string()),
    ]);
    assert_nodes(
        &topology_from_node(dir.path()).unwrap(),
        &expected_node_nodes(false),
    );
}

#[test]
fn node_package_without_a_name_is_named_after_its_directory() {
    let dir = tree(&[
        ("package.json", r#"{ "workspaces": ["tools/*"] }"#),
        (
            "tools/gen/package.json",
            r#"{ "dependencies": { "fmt": "1" } }"#,
        ),
        ("tools/fmt/package.json", r#"{ "name": "fmt" }"#),
    ]);
    assert_nodes(
        &topology_from_node(dir.path()).unwrap(),
        &[
            node("fmt", "package", "tools/fmt/**", &[]),
            node("gen", "package", "tools/gen/**", &["fmt"]),
        ],
    );
}

#[test]
fn node_errors() {
    let cases: Vec<ErrorCase<&str>> = vec![
        (
            "malformed root package.json",
            vec![("package.json", "{\n  \"workspaces\": [\"a\",]\n}\n")],
            "`package.json` line 2: invalid json",
        ),
        (
            "empty package.json",
            vec![("package.json", "")],
            "`package.json`: invalid json: the file is empty",
        ),
        (
            "malformed member package.json",
            vec![
                ("package.json", r#"{"workspaces": ["p/*"]}"#),
                ("p/a/package.json", "{\"name\": "),
            ],
            "`p/a/package.json` line 1: invalid json: the file ends early",
        ),
        (
            "workspaces of the wrong type",
            vec![("package.json", r#"{"workspaces": "p/*"}"#)],
            "`workspaces` should be a list of globs or an object with `packages`, found a string",
        ),
        (
            "a workspace pattern of the wrong type",
            vec![("package.json", r#"{"workspaces": ["p/*", 3]}"#)],
            "`workspaces[1]` should be a string, found a number",
        ),
        (
            "yarn packages of the wrong type",
            vec![("package.json", r#"{"workspaces": {"packages": {}}}"#)],
            "`workspaces.packages` should be a list of globs",
        ),
        (
            "a member name of the wrong type",
            vec![
                ("package.json", r#"{"workspaces": ["p/*"]}"#),
                ("p/a/package.json", r#"{"name": 1}"#),
            ],
            "`p/a/package.json`: `name` should be a string, found a number",
        ),
        (
            "dependencies of the wrong type",
            vec![
                ("package.json", r#"{"workspaces": ["p/*"]}"#),
                (
                    "p/a/package.json",
                    r#"{"name": "a", "devDependencies": ["b"]}"#,
                ),
            ],
            "`devDependencies` should be an object, found an array",
        ),
        (
            "a yaml form outside the subset",
            vec![("pnpm-workspace.yaml", "packages:\n  - !**/test/**\n")],
            "`pnpm-workspace.yaml` line 2: `!**/test/**` is outside the yaml subset read here: quote it",
        ),
        (
            "a bad exclusion glob",
            vec![("pnpm-workspace.yaml", "packages:\n  - 'p/*'\n  - '![]'\n")],
            "invalid workspace member pattern `![]`",
        ),
        (
            "a pattern outside the root",
            vec![("package.json", r#"{"workspaces": ["../*"]}"#)],
            "`../*` lies outside the workspace root",
        ),
    ];
    for (name, files, fragment) in cases {
        let dir = tree(&files);
        match topology_from_node(dir.path()) {
            Ok(doc) => panic!("{name}: expected an error, got {doc:#}"),
            Err(e) => {
                let msg = message(&e);
                assert!(msg.contains(fragment), "{name}: `{msg}` lacks `{fragment}`");
            }
        }
    }
}

#[test]
fn node_without_workspaces_is_not_a_workspace() {
    let dir = tree(&[("package.json", r#"{ "name": "app" }"#)]);
    let err = topology_from_node(dir.path()).unwrap_err();
    assert!(matches!(err, TopologyError::NoWorkspace { .. }), "{err}");
    assert_eq!(topology_auto(dir.path()).unwrap(), None);
}

#[test]
fn pnpm_without_packages_is_an_empty_workspace() {
    let dir = tree(&[(
        "pnpm-workspace.yaml",
        "onlyBuiltDependencies:\n  - esbuild\n",
    )]);
    assert_nodes(&topology_from_node(dir.path()).unwrap(), &[]);
}

// ---------------------------------------------------------------------------------------------
// The automatic choice

#[test]
fn auto_prefers_the_topology_file_then_cargo_then_node() {
    let file = "[services.api]\npaths = [\"api/**\"]\n";
    let cargo = pkg("solo");
    let npm = r#"{ "workspaces": ["packages/*"] }"#;
    let npm_pkg = r#"{ "name": "p" }"#;

    let all = tree(&[
        ("blastwall-topology.toml", file),
        ("Cargo.toml", &cargo),
        ("package.json", npm),
        ("packages/p/package.json", npm_pkg),
    ]);
    let doc = topology_auto(all.path()).unwrap().unwrap();
    assert_eq!(edges(&doc).keys().collect::<Vec<_>>(), ["api"]);

    let no_file = tree(&[
        ("Cargo.toml", &cargo),
        ("package.json", npm),
        ("packages/p/package.json", npm_pkg),
    ]);
    let doc = topology_auto(no_file.path()).unwrap().unwrap();
    assert_eq!(edges(&doc).keys().collect::<Vec<_>>(), ["solo"]);

    let node_only = tree(&[("package.json", npm), ("packages/p/package.json", npm_pkg)]);
    let doc = topology_auto(node_only.path()).unwrap().unwrap();
    assert_eq!(edges(&doc).keys().collect::<Vec<_>>(), ["p"]);

    assert_eq!(topology_auto(tree(&[]).path()).unwrap(), None);
}

#[test]
fn auto_reports_a_broken_source_instead_of_falling_back() {
    let broken_file = tree(&[
        ("blastwall-topology.toml", "[services.a]\ntierr = 1\n"),
        ("Cargo.toml", &pkg("solo")),
    ]);
    let err = topology_auto(broken_file.path()).unwrap_err();
    assert!(
        message(&err).contains("`blastwall-topology.toml` line 2: unknown key `tierr` in `services.a` (help: did you mean `tier`?)"),
        "{}",
        message(&err)
    );

    let broken_cargo = tree(&[
        ("Cargo.toml", "[package\n"),
        ("package.json", r#"{ "workspaces": [] }"#),
    ]);
    assert!(matches!(
        topology_auto(broken_cargo.path()),
        Err(TopologyError::Toml { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Changed paths to nodes

#[test]
fn nodes_for_paths_cases() {
    let doc = topology_from_toml(
        r#"
        [services.payments]
        paths = ["services/payments/**", "libs/money/"]
        [services.cart]
        paths = ["services/cart/**"]
        [services.docs]
        paths = ["*.md"]
        [services.db]
        "#,
    )
    .unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (&["services/payments/src/lib.rs"], &["payments"]),
        (&["services/payments"], &[]),
        (
            &["libs/money/x.rs", "services/cart/a"],
            &["cart", "payments"],
        ),
        (&["README.md", "services/cart/README.md"], &["cart", "docs"]),
        (&["services/cart/a", "services/cart/b"], &["cart"]),
        (&["elsewhere/file.rs"], &[]),
    ];
    for (paths, want) in cases {
        assert_eq!(nodes_for_paths(&doc, paths), *want, "{paths:?}");
    }
    // Input that is not a topology document touches nothing.
    assert!(nodes_for_paths(&json!({}), &["a"]).is_empty());
    assert!(nodes_for_paths(&json!({"nodes": [{"paths": ["**"]}]}), &["a"]).is_empty());
    assert_eq!(
        nodes_for_paths(
            &json!({"nodes": [{"name": "x", "paths": ["[", "a/**"]}]}),
            &["a/b"]
        ),
        ["x"]
    );
}

#[test]
fn node_packages_sharing_a_name_are_qualified_by_directory_and_paths_resolve_by_directory() {
    let dir = tree(&[
        (
            "pnpm-workspace.yaml",
            "packages:\n  - packages/*\n  - playground/*\n",
        ),
        (
            "packages/vite/package.json",
            r#"{"name": "vite", "dependencies": {"shared": "workspace:*"}}"#,
        ),
        ("packages/shared/package.json", r#"{"name": "shared"}"#),
        // Test fixtures that share a name, and two unnamed packages named after their folders.
        (
            "playground/a/package.json",
            r#"{"name": "fixture", "dependencies": {"vite": "workspace:*"}}"#,
        ),
        (
            "playground/b/package.json",
            r#"{"name": "fixture", "devDependencies": {"dep": "file:../dep"}}"#,
        ),
        (
            "playground/dep/package.json",
            r#"{"name": "some-dep-under-another-name"}"#,
        ),
        (
            "playground/uses-fixture/package.json",
            r#"{"name": "uses-fixture", "dependencies": {"fixture": "workspace:*"}}"#,
        ),
    ]);
    let doc = topology_auto(dir.path()).unwrap().unwrap();
    let e = edges(&doc);
    let names: Vec<&String> = e.keys().collect();
    assert_eq!(
        names,
        [
            "fixture (playground/a)",
            "fixture (playground/b)",
            "shared",
            "some-dep-under-another-name",
            "uses-fixture",
            "vite",
        ]
    );
    assert_eq!(set(&e["fixture (playground/a)"]), ["vite"]);
    // `file:` names its package by directory, not by the key's name.
    assert_eq!(
        set(&e["fixture (playground/b)"]),
        ["some-dep-under-another-name"]
    );
    // A name two packages hold reaches both.
    assert_eq!(
        set(&e["uses-fixture"]),
        ["fixture (playground/a)", "fixture (playground/b)"]
    );
    assert_eq!(set(&e["vite"]), ["shared"]);
}

fn set(s: &BTreeSet<String>) -> Vec<&str> {
    s.iter().map(String::as_str).collect()
}
