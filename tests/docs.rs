//! Every ```bw example in `docs/language.md` checks, and every test in it passes; and
//! `docs/facts.md` holds the current schema reference (`BLESS=1` regenerates it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use blastwall::{Policy, Source};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn language_examples_check_and_their_tests_pass() {
    let text = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    let mut examples = 0;
    let mut failures = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim() != "```bw" {
            continue;
        }
        let mut src = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            src.push_str(l);
            src.push('\n');
        }
        examples += 1;
        let name = format!("docs/language.md:{}", n + 1);
        match Policy::compile(vec![Source::new(name.clone(), src)]) {
            Ok(p) => {
                for t in p.run_tests() {
                    if !t.failures.is_empty() {
                        failures.push(format!(
                            "{name}: test `{}`: {}",
                            t.name,
                            t.failures.join("; ")
                        ));
                    }
                }
            }
            Err(blastwall::Error::Invalid { rendered, .. }) => {
                failures.push(format!("{name}:\n{rendered}"))
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(examples >= 10, "found only {examples} examples");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn facts_reference_is_current() {
    let path = root().join("docs/facts.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let marker =
        "<!-- generated: everything below is written by `BLESS=1 cargo test --test docs` -->\n";
    let head = current.split(marker).next().unwrap_or_default().to_string();
    let expected = format!("{head}{marker}\n{}", blastwall::facts_reference());
    common::expect_file(&path, &expected).unwrap_or_else(|e| panic!("{e}"));
}
