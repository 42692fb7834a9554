//! Destructive classes of one unwrapped simple command.
//!
//! Each class is decided from the program (its base name, compared case-insensitively) and its
//! arguments alone; arguments are data, so `echo "rm -rf /"` is an `echo`, nothing more.

/// `rm -r`, `find -delete`.
pub const RECURSIVE_DELETE: &str = "recursive_delete";
/// Force pushes, hard resets, rebases, history filters, forced branch deletes, `git clean -f`.
pub const GIT_HISTORY_REWRITE: &str = "git_history_rewrite";
/// `terraform destroy`, `terraform apply -destroy` (also `tofu`, `terragrunt`).
pub const TERRAFORM_DESTROY: &str = "terraform_destroy";
/// `terraform apply -auto-approve` or `destroy -auto-approve`: no human sees the plan.
pub const TERRAFORM_AUTO_APPROVE: &str = "terraform_auto_approve";
/// `kubectl delete` of anything.
pub const KUBECTL_DELETE: &str = "kubectl_delete";
/// `kubectl delete` of namespaces.
pub const KUBECTL_DELETE_NAMESPACE: &str = "kubectl_delete_namespace";
/// `kubectl delete` of persistent volumes or claims.
pub const KUBECTL_DELETE_VOLUME: &str = "kubectl_delete_volume";
/// SQL that drops, truncates, or deletes or updates without `WHERE`.
pub const SQL_DESTRUCTIVE: &str = "sql_destructive";
/// Cloud CLI deletes: `aws … delete-*`, `gcloud … delete`, `az … delete`, …
pub const CLOUD_DELETE: &str = "cloud_delete";
/// `dd of=/dev/…`, `mkfs*`, `wipefs`, or output redirected onto a block device.
pub const DISK_DESTROY: &str = "disk_destroy";
/// The program name is computed at run time (`$CMD`, `$(…)`): nothing can be said about it.
pub const DYNAMIC_PROGRAM: &str = "dynamic_program";
/// The command string did not parse in full.
pub const UNPARSED: &str = "unparsed";

/// The letters of a short-option cluster (`-rf` → `rf`); `None` for anything else.
fn short_cluster(arg: &str) -> Option<&str> {
    let rest = arg.strip_prefix('-')?;
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    Some(rest)
}

/// Whether the arguments before `--` hold a long option `long` (alone or as `long=…`) or a
/// short cluster containing one of `shorts`.
fn has_flag(args: &[String], long: &[&str], shorts: &[char]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| {
        long.iter()
            .any(|l| a == l || a.strip_prefix(l).is_some_and(|rest| rest.starts_with('=')))
            || short_cluster(a).is_some_and(|c| {
                // A cluster of letters only: `-n5` style values do not count as flags.
                c.chars().all(|ch| ch.is_ascii_alphabetic())
                    && c.chars().any(|ch| shorts.contains(&ch))
            })
    })
}

/// Whether a long boolean flag is set: `-flag`, `--flag`, `-flag=true`.
fn bool_flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| {
        let a = a.strip_prefix("--").or_else(|| a.strip_prefix('-'));
        match a.and_then(|a| a.strip_prefix(name)) {
            Some("") => true,
            Some(v) => v
                .strip_prefix('=')
                .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0")),
            None => false,
        }
    })
}

/// Arguments that are not options, skipping the values of the options in `valued`.
fn positionals<'a>(args: &'a [String], valued: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.extend(it.map(String::as_str));
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            if !a.contains('=') && valued.contains(&a.as_str()) {
                it.next();
            }
            continue;
        }
        out.push(a.as_str());
    }
    out
}

/// Whether `path` names a device whose contents writing would destroy.
pub(crate) fn is_block_device(path: &str) -> bool {
    let Some(dev) = path.strip_prefix("/dev/") else {
        return false;
    };
    let harmless = [
        "null", "zero", "full", "random", "urandom", "stdin", "stdout", "stderr", "tty", "console",
        "ptmx",
    ];
    !(dev.is_empty()
        || harmless.contains(&dev)
        || dev.starts_with("fd/")
        || dev.starts_with("pts/")
        || dev.starts_with("shm/")
        || dev.starts_with("tty")
        || dev.starts_with("mqueue/"))
}

/// What one command is: its classes, and the commands it runs itself (`find -exec`).
#[derive(Debug, Default)]
pub(crate) struct Classified {
    pub classes: Vec<&'static str>,
    pub nested: Vec<Vec<String>>,
}

/// Classify `program` (already a base name) run with `args`.
pub(crate) fn classify(
    program: &str,
    args: &[String],
    stdin_text: Option<&str>,
    out_targets: &[String],
) -> Classified {
    let mut c = Classified::default();
    let prog = program.to_ascii_lowercase();
    let prog = prog.strip_suffix(".exe").unwrap_or(&prog);
    match prog {
        "rm" if has_flag(args, &["--recursive"], &['r', 'R']) => {
            c.classes.push(RECURSIVE_DELETE);
        }
        "find" => find(args, &mut c),
        "git" => git(args, &mut c),
        "git-filter-repo" | "git-filter-branch" => c.classes.push(GIT_HISTORY_REWRITE),
        "terraform" | "tofu" | "terragrunt" => terraform(args, &mut c),
        "kubectl" | "oc" => kubectl(args, &mut c),
        "psql" => {
            let mut sql = option_values(args, &["-c", "--command"]);
            sql.extend(stdin_text.map(str::to_string));
            if sql.iter().any(|s| sql_is_destructive(s)) {
                c.classes.push(SQL_DESTRUCTIVE);
            }
        }
        "mysql" | "mariadb" => {
            let mut sql = option_values(args, &["-e", "--execute"]);
            sql.extend(stdin_text.map(str::to_string));
            if sql.iter().any(|s| sql_is_destructive(s)) {
                c.classes.push(SQL_DESTRUCTIVE);
            }
        }
        "sqlite3" => {
            let mut sql: Vec<String> = positionals(
                args,
                &[
                    "-cmd",
                    "-separator",
                    "-newline",
                    "-nullvalue",
                    "-init",
                    "-vfs",
                    "-maxsize",
                ],
            )
            .into_iter()
            .skip(1)
            .map(str::to_string)
            .collect();
            sql.extend(option_values(args, &["-cmd"]));
            sql.extend(stdin_text.map(str::to_string));
            if sql.iter().any(|s| sql_is_destructive(s)) {
                c.classes.push(SQL_DESTRUCTIVE);
            }
        }
        "aws" => aws(args, &mut c),
        "gcloud" | "az" => {
            let p = positionals(args, &[]);
            let storage_rm = prog == "gcloud"
                && p.first() == Some(&"storage")
                && matches!(p.get(1), Some(&"rm" | &"rb"));
            if storage_rm || p.iter().any(|a| *a == "delete" || a.starts_with("delete-")) {
                c.classes.push(CLOUD_DELETE);
            }
        }
        "gsutil" => {
            if matches!(
                positionals(args, &["-o", "-h", "-u"]).first(),
                Some(&"rm" | &"rb")
            ) {
                c.classes.push(CLOUD_DELETE);
            }
        }
        "dd" if args
            .iter()
            .any(|a| a.strip_prefix("of=").is_some_and(is_block_device)) =>
        {
            c.classes.push(DISK_DESTROY);
        }
        p if p.starts_with("mkfs") || p == "mke2fs" || p == "wipefs" => {
            c.classes.push(DISK_DESTROY);
        }
        _ => {}
    }
    if out_targets.iter().any(|t| is_block_device(t)) {
        c.classes.push(DISK_DESTROY);
    }
    if program.contains('$') || program.contains('`') {
        c.classes.push(DYNAMIC_PROGRAM);
    }
    c.classes.sort_unstable();
    c.classes.dedup();
    c
}

/// The values of the options `names`: `-c X`, `-cX` (one-letter names), `--command=X`,
/// `--command X`.
pub(crate) fn option_values(args: &[String], names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        for name in names {
            if a == name {
                if let Some(v) = it.next() {
                    out.push(v.clone());
                }
                break;
            }
            if let Some(rest) = a.strip_prefix(name) {
                if let Some(v) = rest.strip_prefix('=') {
                    out.push(v.to_string());
                    break;
                }
                // `-cSQL`: only one-letter short options take an attached value.
                if name.len() == 2 && !name.starts_with("--") && !rest.is_empty() {
                    out.push(rest.to_string());
                    break;
                }
            }
        }
    }
    out
}

fn find(args: &[String], c: &mut Classified) {
    if args.iter().any(|a| a == "-delete") {
        c.classes.push(RECURSIVE_DELETE);
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let cmd: Vec<String> = it
                .by_ref()
                .take_while(|w| *w != ";" && *w != "+")
                .cloned()
                .collect();
            if !cmd.is_empty() {
                c.nested.push(cmd);
            }
        }
    }
}

fn git(args: &[String], c: &mut Classified) {
    // Global options before the subcommand; these take a separate value.
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if matches!(
            a.as_str(),
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env"
        ) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    let Some(sub) = args.get(i) else { return };
    let rest = args.get(i + 1..).unwrap_or_default();
    let rewrite = match sub.as_str() {
        "push" => {
            has_flag(
                rest,
                &[
                    "--force",
                    "--force-with-lease",
                    "--mirror",
                    "--delete",
                    "--prune",
                ],
                &['f', 'd'],
            ) || positionals(
                rest,
                &["--repo", "--receive-pack", "--exec", "-o", "--push-option"],
            )
            .iter()
            .any(|p| p.starts_with('+') || p.starts_with(':'))
        }
        "reset" => rest.iter().any(|a| a == "--hard"),
        "rebase" => !rest
            .iter()
            .any(|a| matches!(a.as_str(), "--abort" | "--quit" | "--show-current-patch")),
        "filter-branch" | "filter-repo" => true,
        "branch" => {
            has_flag(rest, &[], &['D'])
                || (has_flag(rest, &["--delete"], &['d']) && has_flag(rest, &["--force"], &['f']))
        }
        "clean" => has_flag(rest, &["--force"], &['f']) && !has_flag(rest, &["--dry-run"], &['n']),
        _ => false,
    };
    if rewrite {
        c.classes.push(GIT_HISTORY_REWRITE);
    }
}

fn terraform(args: &[String], c: &mut Classified) {
    let p = positionals(args, &[]);
    let mut sub = p.first().copied();
    // terragrunt's `run-all destroy` and `run -- destroy`.
    if matches!(sub, Some("run-all" | "run")) {
        sub = p.get(1).copied();
    }
    let destroy = match sub {
        Some("destroy") => true,
        Some("apply") => bool_flag(args, "destroy"),
        _ => false,
    };
    if destroy {
        c.classes.push(TERRAFORM_DESTROY);
    }
    if matches!(sub, Some("apply" | "destroy")) && bool_flag(args, "auto-approve") {
        c.classes.push(TERRAFORM_AUTO_APPROVE);
    }
}

/// kubectl options that take a separate value.
const KUBECTL_VALUED: [&str; 30] = [
    "-n",
    "--namespace",
    "--context",
    "--cluster",
    "--kubeconfig",
    "--user",
    "-s",
    "--server",
    "--as",
    "--as-group",
    "--as-uid",
    "--token",
    "--request-timeout",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--cache-dir",
    "-v",
    "-l",
    "--selector",
    "-f",
    "--filename",
    "-k",
    "--kustomize",
    "-o",
    "--output",
    "--field-selector",
    "--grace-period",
    "--timeout",
];

fn kubectl(args: &[String], c: &mut Classified) {
    let p = positionals(args, &KUBECTL_VALUED);
    if p.first() != Some(&"delete") {
        return;
    }
    c.classes.push(KUBECTL_DELETE);
    for (k, arg) in p.iter().enumerate().skip(1) {
        // The first positional names the kinds (`ns`, `pv,pvc`); later ones only do in the
        // `kind/name` form.
        if k > 1 && !arg.contains('/') {
            continue;
        }
        let kinds = arg.split('/').next().unwrap_or_default();
        for kind in kinds.split(',') {
            let kind = kind
                .split('.')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            match kind.as_str() {
                "ns" | "namespace" | "namespaces" => c.classes.push(KUBECTL_DELETE_NAMESPACE),
                "pv"
                | "pvc"
                | "persistentvolume"
                | "persistentvolumes"
                | "persistentvolumeclaim"
                | "persistentvolumeclaims" => {
                    c.classes.push(KUBECTL_DELETE_VOLUME);
                }
                _ => {}
            }
        }
    }
}

fn aws(args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "--profile",
            "--region",
            "--output",
            "--endpoint-url",
            "--query",
            "--color",
            "--ca-bundle",
            "--cli-read-timeout",
            "--cli-connect-timeout",
            "--cli-binary-format",
        ],
    );
    let (service, op) = (p.first().copied(), p.get(1).copied().unwrap_or_default());
    let delete = op.starts_with("delete-")
        || op == "terminate-instances"
        || (service == Some("s3")
            && (matches!(op, "rm" | "rb")
                || (op == "sync" && args.iter().any(|a| a == "--delete"))));
    if delete {
        c.classes.push(CLOUD_DELETE);
    }
}

/// Whether SQL text drops, truncates, or deletes or updates rows without a `WHERE`.
///
/// String literals and comments are removed first, so `SELECT 'DROP TABLE x'` is harmless. Each
/// `;`-separated statement is judged by its first keyword: `DROP` and `TRUNCATE` always, `DELETE`
/// and `UPDATE` without a `WHERE`, `ALTER … DROP`, and a `WITH …` statement that deletes or
/// updates without a `WHERE`.
pub(crate) fn sql_is_destructive(sql: &str) -> bool {
    strip_sql_literals(sql).split(';').any(|stmt| {
        let tokens: Vec<String> = stmt
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|t| !t.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        let has = |w: &str| tokens.iter().any(|t| t == w);
        match tokens.first().map(String::as_str) {
            Some("DROP" | "TRUNCATE") => true,
            Some("DELETE" | "UPDATE") => !has("WHERE"),
            Some("ALTER") => has("DROP"),
            Some("WITH") => (has("DELETE") || has("UPDATE")) && !has("WHERE"),
            _ => false,
        }
    })
}

/// SQL with `'…'` literals and `--`/`/* */` comments replaced by spaces.
fn strip_sql_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // `''` inside a literal is an escaped quote: the loop simply re-enters.
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                }
                out.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn sql() {
        for yes in [
            "DROP TABLE users",
            "drop database x;",
            "select 1; truncate t",
            "DELETE FROM users",
            "delete from users -- where id = 1",
            "UPDATE users SET admin = true",
            "ALTER TABLE t DROP COLUMN c",
            "WITH x AS (SELECT 1) DELETE FROM t",
        ] {
            assert!(sql_is_destructive(yes), "{yes}");
        }
        for no in [
            "SELECT * FROM users",
            "DELETE FROM users WHERE id = 3",
            "UPDATE t SET a = 1 WHERE id = 2",
            "SELECT 'DROP TABLE x'",
            "CREATE TABLE a (b int REFERENCES c ON DELETE CASCADE)",
            "SELECT * FROM truncate_log",
            "/* DROP TABLE x */ SELECT 1",
            "",
        ] {
            assert!(!sql_is_destructive(no), "{no}");
        }
    }

    #[test]
    fn devices() {
        assert!(is_block_device("/dev/sda"));
        assert!(is_block_device("/dev/nvme0n1"));
        assert!(!is_block_device("/dev/null"));
        assert!(!is_block_device("/dev/fd/3"));
        assert!(!is_block_device("/tmp/dev/sda"));
    }

    #[test]
    fn option_value_forms() {
        let a: Vec<String> = [
            "-c",
            "A",
            "-cB",
            "--command=C",
            "--command",
            "D",
            "--",
            "-c",
            "E",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        assert_eq!(
            option_values(&a, &["-c", "--command"]),
            vec!["A", "B", "C", "D"]
        );
    }
}
