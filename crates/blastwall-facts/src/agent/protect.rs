//! The guard's own configuration: which paths hold it, and which commands and tool calls write
//! or delete them.
//!
//! A path is resolved against the working directory first, so that the checkout's own location
//! plays no part: `rules/x.bw`, `./rules/x.bw` and `/home/me/repo/rules/x.bw` run in
//! `/home/me/repo` are the same file. Paths inside the checkout are matched from its root;
//! paths outside it (or when the working directory is not known) by their last components, so
//! `~/.claude/settings.json` (the user's scope) and `/etc/claude-code/managed-settings.json`
//! count wherever they are, and `rules/**` only where it is the checkout's `rules/` folder or a
//! `.bw` file in some `rules/` folder.

/// Files of the guard's configuration, from the checkout's root. `*` matches within one
/// component.
const ROOT_FILES: [&str; 12] = [
    "blastwall.toml",
    "blastwall-topology.toml",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/settings*.json",
    ".codex/hooks.json",
    ".codex/config.toml",
    ".cursor/hooks.json",
    ".gemini/settings.json",
    ".github/hooks/*",
    "rules/*",
    "managed-settings.json",
];

/// Folders whose removal or replacement removes the configuration inside them.
const ROOT_DIRS: [&str; 7] = [
    "rules",
    ".claude",
    ".codex",
    ".cursor",
    ".gemini",
    ".github",
    ".github/hooks",
];

/// Whether `path`, as written in a command run in `cwd`, names the guard's configuration (a
/// file of it, a folder holding it, or a glob that matches one).
pub(crate) fn is_policy_path(path: &str, cwd: &str) -> bool {
    let path = path.trim().trim_matches(['"', '\'']);
    if path.is_empty() || path.contains('\n') {
        return false;
    }
    let cwd = cwd.trim_end_matches('/');
    let (relative, inside) = if let Some(rest) = (!cwd.is_empty())
        .then(|| path.strip_prefix(cwd))
        .flatten()
        .and_then(|r| r.strip_prefix('/'))
    {
        (rest.to_string(), true)
    } else if path.starts_with('/') || path.starts_with('~') || path.starts_with("$HOME") {
        (path.to_string(), false)
    } else {
        (path.to_string(), true)
    };
    let parts = normalise(&relative);
    if parts.is_empty() {
        return false;
    }
    if inside && parts.first().is_none_or(|p| p != "..") && matches_any_root(&parts) {
        return true;
    }
    matches_anywhere(&parts)
}

/// Components of a path with `.` dropped and `..` resolved where the text allows.
fn normalise(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            p => parts.push(p.to_string()),
        }
    }
    parts
}

fn matches_any_root(parts: &[String]) -> bool {
    let joined = parts.join("/");
    ROOT_FILES
        .iter()
        .any(|f| glob_path(f, &joined) || glob_path(&joined, f))
        || ROOT_DIRS.iter().any(|d| glob_path(&joined, d))
}

/// By their last components: the guard's files wherever they are, and `.bw` files in a `rules`
/// folder.
fn matches_anywhere(parts: &[String]) -> bool {
    let n = parts.len();
    for start in 0..n {
        let tail = parts.get(start..).unwrap_or_default().join("/");
        let specific = ROOT_FILES
            .iter()
            .filter(|f| !f.starts_with("rules"))
            .any(|f| glob_path(f, &tail) || glob_path(&tail, f));
        if specific {
            return true;
        }
        if matches!(
            tail.as_str(),
            ".claude" | ".codex" | ".cursor" | ".gemini" | ".github/hooks"
        ) {
            return true;
        }
    }
    let last = parts.last().map(String::as_str).unwrap_or_default();
    let parent = n
        .checked_sub(2)
        .and_then(|i| parts.get(i))
        .map(String::as_str)
        .unwrap_or_default();
    parent == "rules" && last.ends_with(".bw")
}

/// Whether glob `pattern` matches `path`, component by component; `*` and `?` stay within a
/// component, `**` as a whole component matches any number of them.
fn glob_path(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let txt: Vec<&str> = path.split('/').collect();
    crate::env::star_match(&pat, &txt, |p| *p == "**", |p, t| component_match(p, t))
}

/// `*`/`?`/`[…]` matching within one component, iterative. A `[…]` class matches any one
/// character (erring towards a match).
fn component_match(pattern: &str, text: &str) -> bool {
    let mut p: Vec<char> = Vec::new();
    let mut in_class = false;
    for c in pattern.chars() {
        match (in_class, c) {
            (false, '[') => {
                in_class = true;
                p.push('?');
            }
            (true, ']') => in_class = false,
            (true, _) => {}
            (false, c) => p.push(c),
        }
    }
    let t: Vec<char> = text.chars().collect();
    crate::env::star_match(&p, &t, |c| *c == '*', |a, b| a == b || *a == '?')
}

/// The paths a command writes or deletes, from its program and arguments (output redirections
/// are added by the caller).
pub(crate) fn written_paths(
    program: &str,
    args: &[String],
    stdin_text: Option<&str>,
) -> Vec<String> {
    let prog = program.to_ascii_lowercase();
    let positional: Vec<String> = {
        let mut out = Vec::new();
        let mut after_dd = false;
        for a in args {
            if after_dd || !a.starts_with('-') || a == "-" {
                out.push(a.clone());
            } else if a == "--" {
                after_dd = true;
            }
        }
        out
    };
    let last = || positional.last().cloned().into_iter().collect::<Vec<_>>();
    let target_dir = super::classify::option_values(args, &["-t", "--target-directory"]);
    match prog.as_str() {
        "rm" | "unlink" | "rmdir" | "shred" | "truncate" | "touch" | "chmod" | "chown"
        | "chgrp" | "chattr" | "mv" | "tee" | "sponge" | "vi" | "vim" | "nvim" | "nano"
        | "emacs" | "ed" | "ex" | "code" | "srm" | "trash" | "trash-put" | "setfacl" => positional,
        "cp" | "install" | "ln" | "rsync" | "scp" | "ditto" => {
            if target_dir.is_empty() {
                last()
            } else {
                target_dir
            }
        }
        "sed" | "perl" | "ruby" | "yq" | "awk" | "gawk" => {
            let in_place = args.iter().any(|a| {
                a.starts_with("-i")
                    || a == "--in-place"
                    || a == "--inplace"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('i'))
            });
            if in_place { positional } else { Vec::new() }
        }
        "dd" => args
            .iter()
            .filter_map(|a| a.strip_prefix("of="))
            .map(str::to_string)
            .collect(),
        "curl" | "wget" => {
            super::classify::option_values(args, &["-o", "--output", "-O", "--output-document"])
        }
        "git" => {
            let sub = positional.first().map(String::as_str).unwrap_or_default();
            if matches!(
                sub,
                "checkout" | "restore" | "rm" | "mv" | "clean" | "stash" | "reset" | "apply" | "am"
            ) {
                positional.get(1..).unwrap_or_default().to_vec()
            } else {
                Vec::new()
            }
        }
        "find"
            if args
                .iter()
                .any(|a| matches!(a.as_str(), "-delete" | "-exec" | "-execdir")) =>
        {
            args.iter()
                .take_while(|a| !a.starts_with('-'))
                .cloned()
                .collect()
        }
        "patch" | "apply_patch" | "applypatch" => stdin_text.map(patch_paths).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The files a patch touches: `*** Update File: p` (the Codex form), `+++ b/p` and `--- a/p`.
pub(crate) fn patch_paths(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            [
                "*** Update File:",
                "*** Add File:",
                "*** Delete File:",
                "*** Move to:",
                "+++ ",
                "--- ",
            ]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .map(|rest| {
                let rest = rest.trim();
                rest.strip_prefix("a/")
                    .or_else(|| rest.strip_prefix("b/"))
                    .unwrap_or(rest)
                    .split('\t')
                    .next()
                    .unwrap_or(rest)
                    .to_string()
            })
        })
        .collect()
}

/// Whether inline code or a string mentions the guard's configuration by one of its distinctive
/// names: code that does is assumed to write it.
pub(crate) fn mentions_policy(text: &str) -> bool {
    [
        "blastwall.toml",
        "blastwall-topology.toml",
        ".claude/settings",
        ".codex/hooks.json",
        ".codex/config.toml",
        ".cursor/hooks.json",
        ".gemini/settings.json",
        ".github/hooks",
        "managed-settings.json",
    ]
    .iter()
    .any(|n| text.contains(n))
        || (text.contains("rules/") && text.contains(".bw"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn policy_paths() {
        let cwd = "/home/me/repo";
        for yes in [
            "blastwall.toml",
            "./blastwall.toml",
            "/home/me/repo/blastwall.toml",
            "rules/agent.bw",
            "rules",
            "rules/",
            "./rules/*",
            "rules/*.bw",
            "*.toml",
            ".claude/settings.json",
            ".claude/settings.local.json",
            ".claude",
            "~/.claude/settings.json",
            "/etc/claude-code/managed-settings.json",
            ".codex/hooks.json",
            ".cursor/hooks.json",
            ".gemini/settings.json",
            ".github/hooks/pre.json",
            ".github",
            "/other/repo/rules/x.bw",
            "src/../rules/x.bw",
        ] {
            assert!(is_policy_path(yes, cwd), "{yes}");
        }
        for no in [
            "src/rules/engine.rs",
            "dist",
            "README.md",
            "/tmp/blastwall.txt",
            ".github/workflows/ci.yml",
            "/other/repo/rules/x.rs",
            "",
            ".",
            "Cargo.toml",
        ] {
            assert!(!is_policy_path(no, cwd), "{no}");
        }
    }

    #[test]
    fn patches() {
        let p =
            "*** Begin Patch\n*** Update File: rules/a.bw\n@@\n--- a/src/x.rs\n+++ b/src/x.rs\n";
        assert_eq!(patch_paths(p), vec!["rules/a.bw", "src/x.rs", "src/x.rs"]);
    }
}
