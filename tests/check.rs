//! Checker cases: `tests/cases/check/NAME.bw` → `NAME.out`: `ok` and the rules with the
//! documents they read, or every diagnostic rendered with its underline.
//! `BLESS=1 cargo test --test check` rewrites the `.out` files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use blastwall_check::{SourceFile, check, reads_of};

fn run(name: &str, src: &str) -> String {
    let checked = check(vec![SourceFile {
        path: name.to_string(),
        text: src.to_string(),
    }]);
    let mut out = checked.render();
    if let Some(policy) = &checked.policy {
        out.push_str("ok\n");
        for (rule, reads) in reads_of(policy) {
            out.push_str(&format!("  {rule} reads {}\n", reads.join(", ")));
        }
    }
    out
}

#[test]
fn check_cases() {
    let dir = common::cases_dir("check");
    let files = common::files_with(&dir, "bw");
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if let Err(e) = common::expect_file(&f.with_extension("out"), &run(&name, &src)) {
            failures.push(e);
        }
    }
    common::report(failures, files.len());
}

#[test]
fn rules_across_files_share_params_and_fns() {
    let a = "param envs: [str] = [\"prod\"]\nfn is_prod(r: Resource) = r.env in config.envs\n";
    let b = "rule r { when some x in plan.resources: is_prod(x) deny }\nparam envs: [str] = [\"prod\"]\n";
    let c = "param envs: [str] = [\"production\"]\n";
    let ok = check(vec![
        SourceFile {
            path: "a.bw".into(),
            text: a.into(),
        },
        SourceFile {
            path: "b.bw".into(),
            text: b.into(),
        },
    ]);
    assert!(ok.policy.is_some(), "{}", ok.render());
    let clash = check(vec![
        SourceFile {
            path: "a.bw".into(),
            text: a.into(),
        },
        SourceFile {
            path: "c.bw".into(),
            text: c.into(),
        },
    ]);
    assert!(
        clash
            .render()
            .contains("parameter `envs` is declared again"),
        "{}",
        clash.render()
    );
    assert!(
        clash.render().contains("--> c.bw:1:7"),
        "{}",
        clash.render()
    );
}
