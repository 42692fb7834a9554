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
/// `terraform state rm|mv|push|replace-provider`, `force-unlock`, `taint`, `workspace delete`.
pub const TERRAFORM_STATE_EDIT: &str = "terraform_state_edit";
/// A whole deployment removed: `helm uninstall`, `pulumi destroy`, `cdk destroy`,
/// `serverless remove`, `pulumi stack rm`, `argocd app delete`, …
pub const RELEASE_DESTROY: &str = "release_destroy";
/// Running workloads stopped or rolled back: `helm rollback`, `kubectl scale --replicas=0`,
/// `kubectl drain`, `kubectl rollout undo`.
pub const WORKLOAD_DISRUPTION: &str = "workload_disruption";
/// Containers, volumes or images removed: `docker rm`, `docker volume rm|prune`,
/// `docker system prune`, `docker compose down -v`, …
pub const CONTAINER_DELETE: &str = "container_delete";
/// Files emptied, overwritten or mirrored away: `rsync --delete`, `truncate`, `shred`, …
pub const FILE_DESTROY: &str = "file_destroy";
/// Whole databases dropped or reset outside SQL: `dropdb`, `redis-cli FLUSHALL`, mongo
/// `dropDatabase()`, `rails db:drop`, `prisma migrate reset`, `manage.py flush`, …
pub const DATABASE_DESTROY: &str = "database_destroy";
/// A tool call whose name holds a destructive verb (`delete_repository`, `dropTable`).
pub const DESTRUCTIVE_TOOL: &str = "destructive_tool";
/// Code or commands the adapter cannot see into: inline interpreter code, a script written and
/// run in the same line, input piped into a shell from an unknown source, SQL it cannot parse,
/// an interactive remote shell, a call to a function defined in the line.
pub const UNANALYSED: &str = "unanalysed";
/// A command or tool call the adapter cannot vouch for as read-only. Every command gets it
/// unless its program and verb are known to only read (`kubectl get`, `terraform plan`,
/// `--dry-run`, `SELECT`, …) or only build and test locally.
pub const NOT_READ_ONLY: &str = "not_read_only";
/// A cluster or cloud CLI command that is not read-only and names no environment: it acts on
/// whatever the ambient configuration points to, which cannot be told apart from production.
pub const UNKNOWN_TARGET: &str = "unknown_target";
/// A write to, or delete of, the guard's own configuration (`blastwall.toml`, `rules/**`, the
/// agents' hook settings).
pub const POLICY_FILE_WRITE: &str = "policy_file_write";

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

/// What one command is: its classes, whether it only reads, and what it runs itself.
#[derive(Debug, Default)]
pub(crate) struct Classified {
    pub classes: Vec<&'static str>,
    /// Argument vectors it runs (`find -exec`, `kubectl exec -- …`, `docker exec c …`).
    pub nested: Vec<Vec<String>>,
    /// Shell strings it runs (`ssh host '…'`, `su -c`, `watch`, `flock -c`, inline code's
    /// `os.system('…')`).
    pub nested_shell: Vec<String>,
    /// Names the inner commands target (an `ssh` host): they count for their environment.
    pub inner_targets: Vec<String>,
    /// Names this command targets that its words do not show as such (paths in inline code).
    pub targets: Vec<String>,
    /// Whether the command is known to only read (or to build and test locally).
    pub read_only: bool,
}

impl Classified {
    fn add(&mut self, class: &'static str) {
        self.classes.push(class);
    }
}

/// Classify `program` (already a base name) run with `args`.
pub(crate) fn classify(
    program: &str,
    args: &[String],
    stdin_text: Option<&str>,
    out_targets: &[String],
) -> Classified {
    let mut c = Classified::default();
    let lower = program.to_ascii_lowercase();
    let prog = lower.strip_suffix(".exe").unwrap_or(&lower);
    let prog = if prog.starts_with("python")
        && prog
            .trim_start_matches("python")
            .chars()
            .all(|ch| ch.is_ascii_digit() || ch == '.')
    {
        "python"
    } else {
        prog
    };
    // `python manage.py flush`: the script is the program.
    if prog == "python"
        && let Some(pos) = args.iter().position(|a| !a.starts_with('-'))
        && args
            .get(pos)
            .is_some_and(|a| a.rsplit('/').next() == Some("manage.py"))
    {
        return classify(
            "manage.py",
            args.get(pos + 1..).unwrap_or_default(),
            stdin_text,
            out_targets,
        );
    }
    c.read_only = read_only_program(prog, args);
    match prog {
        "rm" | "srm" if has_flag(args, &["--recursive"], &['r', 'R']) => {
            c.add(RECURSIVE_DELETE);
        }
        "rm" | "unlink" | "rmdir" => {}
        "shred" | "wipe" | "truncate" => c.add(FILE_DESTROY),
        "rsync" if dry_run(args) || has_flag(args, &[], &['n']) => c.read_only = true,
        "rsync" => {
            if args
                .iter()
                .take_while(|a| *a != "--")
                .any(|a| a.starts_with("--delete") || a == "--remove-source-files")
            {
                c.add(FILE_DESTROY);
            }
            c.read_only = dry_run(args) || has_flag(args, &[], &['n']);
        }
        "find" => find(args, &mut c),
        "git" => git(args, &mut c),
        "git-filter-repo" | "git-filter-branch" => c.add(GIT_HISTORY_REWRITE),
        "terraform" | "tofu" | "terragrunt" => terraform(args, &mut c),
        "kubectl" | "oc" | "kubecolor" | "k" => kubectl(args, &mut c),
        "helm" => helm(args, &mut c),
        "helmfile" => {
            let p = positionals(
                args,
                &[
                    "-f",
                    "--file",
                    "-e",
                    "--environment",
                    "-l",
                    "--selector",
                    "-n",
                    "--namespace",
                ],
            );
            if matches!(p.first(), Some(&"destroy" | &"delete")) {
                c.add(RELEASE_DESTROY);
            }
            c.read_only = matches!(
                p.first(),
                Some(&"list" | &"status" | &"diff" | &"template" | &"lint" | &"build" | &"version")
            );
        }
        "pulumi" => {
            let p = positionals(
                args,
                &[
                    "-s",
                    "--stack",
                    "-C",
                    "--cwd",
                    "--target",
                    "-t",
                    "--config-file",
                ],
            );
            let (a, b) = (p.first().copied(), p.get(1).copied());
            if matches!(a, Some("up" | "update" | "destroy" | "refresh"))
                && (has_flag(args, &["--yes", "--skip-preview"], &['y', 'f']))
            {
                c.add(TERRAFORM_AUTO_APPROVE);
            }
            if a == Some("destroy")
                || a == Some("down")
                || (a == Some("stack") && matches!(b, Some("rm" | "remove")))
            {
                c.add(RELEASE_DESTROY);
            }
            if a == Some("state") && matches!(b, Some("delete" | "unprotect" | "edit" | "move")) {
                c.add(TERRAFORM_STATE_EDIT);
            }
            c.read_only = match a {
                Some("preview" | "whoami" | "about" | "version" | "logs" | "login" | "help") => {
                    true
                }
                Some("stack") => matches!(
                    b,
                    None | Some("ls" | "output" | "history" | "export" | "select" | "graph")
                ),
                Some("config") => matches!(b, None | Some("get")),
                _ => false,
            };
        }
        "cdk" | "cdktf" => {
            let p = positionals(
                args,
                &[
                    "-a",
                    "--app",
                    "-c",
                    "--context",
                    "--profile",
                    "-o",
                    "--output",
                ],
            );
            if p.first() == Some(&"destroy") {
                c.add(RELEASE_DESTROY);
            }
            c.read_only = matches!(
                p.first(),
                Some(
                    &"synth"
                        | &"diff"
                        | &"ls"
                        | &"list"
                        | &"doctor"
                        | &"version"
                        | &"docs"
                        | &"metadata"
                        | &"notices"
                )
            );
        }
        "serverless" | "sls" => {
            let p = positionals(
                args,
                &[
                    "-s",
                    "--stage",
                    "-r",
                    "--region",
                    "-c",
                    "--config",
                    "--aws-profile",
                    "-f",
                    "--function",
                ],
            );
            if p.first() == Some(&"remove") {
                c.add(RELEASE_DESTROY);
            }
            c.read_only = matches!(
                p.first(),
                Some(&"info" | &"logs" | &"print" | &"package" | &"invoke" | &"metrics")
            );
        }
        "sam" | "copilot" | "amplify" | "argocd" | "flux" | "skaffold" | "tanka" | "tk"
        | "kapp" | "waypoint" => {
            let p = positionals(
                args,
                &[
                    "-n",
                    "--namespace",
                    "--profile",
                    "--region",
                    "--app",
                    "-a",
                    "--env",
                    "-e",
                    "--context",
                ],
            );
            if p.iter().any(|w| is_destructive_verb(w)) {
                c.add(RELEASE_DESTROY);
            }
            c.read_only = generic_read_only(&p);
        }
        "psql" | "pgcli" => sql_cli(
            args,
            &["-c", "--command"],
            &["-f", "--file"],
            stdin_text,
            &mut c,
        ),
        "mysql" | "mariadb" | "mycli" => {
            sql_cli(args, &["-e", "--execute"], &[], stdin_text, &mut c)
        }
        "sqlite3" | "sqlite" | "duckdb" => sqlite(args, stdin_text, &mut c),
        "cockroach" => {
            if positionals(
                args,
                &["-e", "--execute", "--url", "--host", "-d", "--database"],
            )
            .first()
                == Some(&"sql")
            {
                sql_cli(
                    args,
                    &["-e", "--execute"],
                    &["-f", "--file"],
                    stdin_text,
                    &mut c,
                );
            } else if args.iter().any(|a| a == "node")
                && args
                    .iter()
                    .any(|a| matches!(a.as_str(), "decommission" | "drain"))
            {
                c.add(WORKLOAD_DISRUPTION);
            }
        }
        "clickhouse" | "clickhouse-client" => {
            sql_cli(
                args,
                &["-q", "--query"],
                &["--queries-file"],
                stdin_text,
                &mut c,
            );
        }
        "sqlcmd" => sql_cli(args, &["-Q", "-q"], &["-i"], stdin_text, &mut c),
        "cqlsh" | "snowsql" | "bq" | "usql" | "trino" | "presto" => {
            sql_cli(
                args,
                &["-e", "--execute", "-q", "--query", "query"],
                &["-f", "--file"],
                stdin_text,
                &mut c,
            );
        }
        "dropdb" | "dropuser" | "mongorestore"
            if !dry_run(args) && (prog != "mongorestore" || args.iter().any(|a| a == "--drop")) =>
        {
            c.add(DATABASE_DESTROY);
        }
        "mysqladmin" => {
            if positionals(
                args,
                &[
                    "-h", "--host", "-u", "--user", "-P", "--port", "-S", "--socket",
                ],
            )
            .iter()
            .any(|w| w.eq_ignore_ascii_case("drop"))
            {
                c.add(DATABASE_DESTROY);
            }
            c.read_only = positionals(args, &["-h", "--host", "-u", "--user", "-P", "--port"])
                .iter()
                .all(|w| {
                    matches!(
                        *w,
                        "status"
                            | "ping"
                            | "version"
                            | "processlist"
                            | "variables"
                            | "extended-status"
                    )
                });
        }
        "pg_restore" if args.iter().any(|a| a == "--clean" || a == "-c") => c.add(DATABASE_DESTROY),
        "redis-cli" | "valkey-cli" | "keydb-cli" => redis(args, &mut c),
        "mongo" | "mongosh" => mongo(args, stdin_text, &mut c),
        "rails" | "rake" | "bin/rails" => rails(args, &mut c),
        "prisma" => {
            let p = positionals(args, &["--schema"]);
            let destroy = matches!(p.as_slice(), ["migrate", "reset", ..])
                || (matches!(p.as_slice(), ["db", "push", ..])
                    && args
                        .iter()
                        .any(|a| a == "--force-reset" || a == "--accept-data-loss"))
                || matches!(p.as_slice(), ["migrate", "dev", ..])
                    && args.iter().any(|a| a == "--force-reset");
            if destroy {
                c.add(DATABASE_DESTROY);
            }
            c.read_only = matches!(
                p.as_slice(),
                ["generate", ..]
                    | ["validate", ..]
                    | ["format", ..]
                    | ["version", ..]
                    | ["migrate", "status", ..]
                    | ["migrate", "diff", ..]
            );
        }
        "manage.py" | "django-admin" => {
            let p = positionals(args, &["--settings", "--database", "--pythonpath"]);
            let destroy = matches!(
                p.first(),
                Some(&"flush" | &"sqlflush" | &"reset_db" | &"drop_test_database")
            ) || (p.first() == Some(&"migrate") && p.get(2) == Some(&"zero"));
            if destroy {
                c.add(DATABASE_DESTROY);
            }
            c.read_only = matches!(
                p.first(),
                Some(
                    &"check"
                        | &"showmigrations"
                        | &"sqlmigrate"
                        | &"test"
                        | &"diffsettings"
                        | &"inspectdb"
                        | &"makemigrations"
                        | &"help"
                        | &"version"
                        | &"collectstatic"
                        | &"compilemessages"
                        | &"runserver"
                )
            );
        }
        _ if framework_db_destroy(prog, args) => c.add(DATABASE_DESTROY),
        "aws" => aws(args, &mut c),
        "gcloud" | "az" => {
            let p = positionals(
                args,
                &[
                    "--project",
                    "--subscription",
                    "-g",
                    "--resource-group",
                    "--format",
                    "--zone",
                    "--region",
                    "--account",
                    "--configuration",
                    "-n",
                    "--name",
                ],
            );
            let storage_rm = prog == "gcloud"
                && p.first() == Some(&"storage")
                && matches!(p.get(1), Some(&"rm" | &"rb"));
            if storage_rm
                || p.iter()
                    .any(|a| *a == "delete" || a.starts_with("delete-") || *a == "purge")
            {
                c.add(CLOUD_DELETE);
            }
            c.read_only = generic_read_only(&p);
        }
        "gsutil" => {
            let p = positionals(args, &["-o", "-h", "-u"]);
            if matches!(p.first(), Some(&"rm" | &"rb"))
                || (p.first() == Some(&"rsync") && has_flag(args, &[], &['d']))
            {
                c.add(CLOUD_DELETE);
            }
            c.read_only = matches!(
                p.first(),
                Some(&"ls" | &"cat" | &"du" | &"stat" | &"hash" | &"version" | &"help")
            );
        }
        "doctl"
        | "eksctl"
        | "heroku"
        | "gh"
        | "fly"
        | "flyctl"
        | "vercel"
        | "netlify"
        | "firebase"
        | "linode-cli"
        | "hcloud"
        | "oci"
        | "ibmcloud"
        | "scw"
        | "civo"
        | "openstack"
        | "exo"
        | "vultr-cli"
        | "aliyun"
        | "railway"
        | "render"
        | "supabase"
        | "neonctl"
        | "planetscale"
        | "pscale"
        | "atlas"
        | "upstash"
        | "turso"
        | "wrangler"
        | "az-cli"
        | "glab"
        | "tea"
        | "cf"
        | "kn"
        | "rosa"
        | "gke-gcloud-auth-plugin"
        | "minikube"
        | "kind"
        | "k3d" => {
            hosted_cli(prog, args, &mut c);
        }
        "docker" | "podman" | "nerdctl" | "docker-compose" | "podman-compose" => {
            docker(prog, args, &mut c);
        }
        "ssh" | "autossh" | "mosh" => ssh(args, &mut c),
        "su" | "runuser" => su(args, &mut c),
        "dd" if args
            .iter()
            .any(|a| a.strip_prefix("of=").is_some_and(is_block_device)) =>
        {
            c.add(DISK_DESTROY);
        }
        p if p.starts_with("mkfs")
            || p == "mke2fs"
            || p == "wipefs"
            || p == "sgdisk" && args.iter().any(|a| a.starts_with("--zap") || a == "-Z") =>
        {
            c.add(DISK_DESTROY);
        }
        "fdisk" | "parted" | "sfdisk" | "gdisk" | "blkdiscard" => c.add(DISK_DESTROY),
        // PowerShell and cmd.exe removals.
        "remove-item" | "ri" | "rd" | "del" | "erase"
            if args.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a.starts_with("-r") || a == "/s"
            }) =>
        {
            c.add(RECURSIVE_DELETE);
        }
        "crontab" if has_flag(args, &[], &['r']) => c.add(FILE_DESTROY),
        "shutdown" | "reboot" | "halt" | "poweroff" => c.add(WORKLOAD_DISRUPTION),
        // A null command, or an empty file, written over a file empties it.
        ":" | "true" if out_targets.iter().any(|t| !t.starts_with("/dev/")) => {
            c.add(FILE_DESTROY);
        }
        "cat"
            if args.len() == 1
                && args.first().is_some_and(|a| a == "/dev/null")
                && out_targets.iter().any(|t| !t.starts_with("/dev/")) =>
        {
            c.add(FILE_DESTROY);
        }
        "ansible" => {
            // `ansible HOSTS -m shell -a 'CMD'`: the command runs on the hosts.
            let module = option_values(args, &["-m", "--module-name"]);
            if module.iter().any(|m| {
                matches!(
                    m.as_str(),
                    "shell"
                        | "command"
                        | "raw"
                        | "ansible.builtin.shell"
                        | "ansible.builtin.command"
                )
            }) {
                c.nested_shell
                    .extend(option_values(args, &["-a", "--args"]));
            }
            c.read_only = module
                .iter()
                .all(|m| matches!(m.as_str(), "ping" | "setup" | "ansible.builtin.ping"))
                && !module.is_empty();
        }
        "npm" | "pnpm" | "yarn" | "bun" | "make" | "gmake" | "just" | "task" | "mage" => {
            // A script or target named for destroying a database or a deployment.
            let p = positionals(
                args,
                &[
                    "-C",
                    "--dir",
                    "--prefix",
                    "-f",
                    "--filter",
                    "-w",
                    "--workspace",
                ],
            );
            let names: Vec<&str> = if matches!(p.first(), Some(&"run" | &"run-script")) {
                p.get(1).into_iter().copied().collect()
            } else {
                p.clone()
            };
            for name in names {
                let parts: Vec<String> = name
                    .split([':', '-', '_', '.', '/'])
                    .map(str::to_ascii_lowercase)
                    .collect();
                if !parts.iter().any(|x| is_destructive_verb(x) || x == "fresh") {
                    continue;
                }
                if parts.iter().any(|x| {
                    matches!(
                        x.as_str(),
                        "db" | "database"
                            | "schema"
                            | "migrate"
                            | "migrations"
                            | "data"
                            | "prisma"
                            | "redis"
                            | "mongo"
                    )
                }) {
                    c.add(DATABASE_DESTROY);
                } else if parts.iter().any(|x| {
                    matches!(
                        x.as_str(),
                        "destroy"
                            | "teardown"
                            | "uninstall"
                            | "nuke"
                            | "decommission"
                            | "deprovision"
                    )
                }) {
                    c.add(RELEASE_DESTROY);
                }
            }
        }
        p if INTERPRETERS.iter().any(|(name, _)| *name == p) => {
            interpreter(p, args, stdin_text, &mut c)
        }
        "awk" | "gawk" | "mawk" | "nawk" => {
            if let Some(code) = positionals(args, &["-f", "-v", "-F"]).first()
                && (code.contains("system") || code.contains('|') || code.contains('>'))
            {
                inline_code(code, &mut c);
                c.read_only = false;
            }
            if args.iter().any(|a| a == "-i" || a == "-f") {
                c.read_only = false;
            }
        }
        "curl" | "http" | "https" | "xh" | "wget" => http(prog, args, &mut c),
        "vault" | "consul" | "nomad" | "etcdctl" | "influx" | "mc" | "rclone" | "s3cmd"
        | "azcopy" | "b2" => hosted_cli(prog, args, &mut c),
        "kafka-topics" | "kafka-topics.sh" if args.iter().any(|a| a == "--delete") => {
            c.add(DATABASE_DESTROY);
        }
        _ => {
            // A CLI the classifier does not know, whose subcommand is plainly destructive
            // (`influx delete`, `foo-cli cluster destroy`). Verbs that also manage local
            // packages (`remove`, `uninstall`, `rm`, `prune`) are left out.
            let p = positionals(args, &[]);
            let strict = |w: &&str| {
                matches!(
                    w.to_ascii_lowercase().as_str(),
                    "delete"
                        | "destroy"
                        | "drop"
                        | "purge"
                        | "wipe"
                        | "nuke"
                        | "teardown"
                        | "flush"
                        | "flushall"
                        | "truncate"
                        | "deprovision"
                        | "decommission"
                        | "obliterate"
                )
            };
            let package_manager = matches!(
                prog,
                "apt"
                    | "apt-get"
                    | "dpkg"
                    | "brew"
                    | "dnf"
                    | "yum"
                    | "pacman"
                    | "snap"
                    | "choco"
                    | "winget"
                    | "scoop"
                    | "pip"
                    | "pip3"
                    | "npm"
                    | "pnpm"
                    | "yarn"
                    | "cargo"
                    | "gem"
                    | "conda"
                    | "go"
                    | "rustup"
                    | "asdf"
                    | "mise"
                    | "nix-env"
            );
            if !package_manager && p.iter().take(2).any(strict) {
                c.add(CLOUD_DELETE);
            }
        }
    }
    let check_mode = matches!(prog, "ansible" | "ansible-playbook" | "puppet" | "salt")
        && args
            .iter()
            .any(|a| matches!(a.as_str(), "--check" | "-C" | "--noop" | "test=True"));
    if (dry_run(args) && supports_dry_run(prog)) || check_mode {
        c.classes.clear();
        c.read_only = true;
    }
    if out_targets.iter().any(|t| is_block_device(t)) {
        c.add(DISK_DESTROY);
    }
    if out_targets
        .iter()
        .any(|t| t != "/dev/null" && !t.starts_with("/dev/std") && !t.starts_with("&"))
    {
        c.read_only = false;
    }
    let globbed = program
        .chars()
        .any(|ch| matches!(ch, '*' | '?' | '[' | '{' | '\\'))
        && !matches!(program, "[" | "[[");
    if program.contains('$') || program.contains('`') || globbed {
        c.add(DYNAMIC_PROGRAM);
        c.read_only = false;
    }
    c.classes.sort_unstable();
    c.classes.dedup();
    c
}

/// Whether `args` ask for a dry run: `--dry-run` in any form (`--dry-run=server`,
/// `--dry-run=client`, `--dryrun`), but not `--dry-run=none` or `=false`. Only tools known to
/// honour it are trusted with it (`supports_dry_run`): some CLIs ignore flags they do not know.
pub(crate) fn dry_run(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| {
        let a = a.to_ascii_lowercase();
        let Some(rest) = a
            .strip_prefix("--dry-run")
            .or_else(|| a.strip_prefix("--dryrun"))
        else {
            return false;
        };
        match rest.strip_prefix('=') {
            None => rest.is_empty(),
            Some(v) => !matches!(v, "none" | "false" | "0" | "unchanged"),
        }
    })
}

/// Programs whose `--dry-run` (or `--check`) really changes nothing.
fn supports_dry_run(prog: &str) -> bool {
    matches!(
        prog,
        "kubectl"
            | "oc"
            | "kubecolor"
            | "k"
            | "helm"
            | "helmfile"
            | "aws"
            | "rsync"
            | "ansible"
            | "ansible-playbook"
            | "git"
            | "argocd"
            | "flux"
            | "eksctl"
            | "apt"
            | "apt-get"
            | "dnf"
            | "yum"
            | "pip"
            | "cargo"
    )
}

/// Verbs that destroy, as whole words of a subcommand or a tool's name.
const DESTRUCTIVE_VERBS: &[&str] = &[
    "delete",
    "del",
    "destroy",
    "remove",
    "rm",
    "rmdir",
    "purge",
    "reset",
    "terminate",
    "wipe",
    "drop",
    "uninstall",
    "erase",
    "flush",
    "flushall",
    "flushdb",
    "truncate",
    "nuke",
    "teardown",
    "deprovision",
    "decommission",
    "prune",
    "unlink",
    "shred",
    "rb",
    "obliterate",
];

/// Verbs that only read, as the first word of a tool's name or anywhere in a subcommand path.
const READ_VERBS: &[&str] = &[
    "get", "list", "ls", "describe", "show", "view", "read", "cat", "search", "find", "status",
    "diff", "top", "explain", "version", "logs", "log", "plan", "preview", "inspect", "history",
    "info", "lint", "validate", "whoami", "fetch", "watch", "stat", "stats", "head", "count",
    "lookup", "print", "output", "tail", "grep", "tree", "browse", "help", "check", "download",
    "ping", "health",
];

/// Whether `word` (any case, split at `-`, `_`, `:` and `.`) holds a destructive verb.
pub(crate) fn is_destructive_verb(word: &str) -> bool {
    word.split(['-', '_', ':', '.', '/'])
        .any(|w| DESTRUCTIVE_VERBS.iter().any(|v| v.eq_ignore_ascii_case(w)))
}

/// Whether `word` is a verb that only reads.
pub(crate) fn is_read_verb(word: &str) -> bool {
    READ_VERBS.iter().any(|v| v.eq_ignore_ascii_case(word))
}

/// Verbs that change things, besides the destructive ones: a subcommand path holding one is
/// not read-only even when it also holds a read verb (`config set`, `secrets unset`).
fn is_write_verb(word: &str) -> bool {
    word.split(['-', '_', ':', '.']).any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "set"
                | "unset"
                | "create"
                | "update"
                | "add"
                | "put"
                | "deploy"
                | "apply"
                | "edit"
                | "patch"
                | "scale"
                | "restart"
                | "stop"
                | "start"
                | "run"
                | "exec"
                | "push"
                | "upload"
                | "import"
                | "promote"
                | "rollback"
                | "restore"
                | "merge"
                | "close"
                | "archive"
                | "transfer"
                | "rename"
                | "move"
                | "attach"
                | "detach"
                | "resize"
                | "upgrade"
                | "install"
                | "enable"
                | "disable"
                | "login"
                | "ssh"
                | "connect"
                | "psql"
                | "console"
        )
    })
}

/// A generic subcommand path (`gcloud compute instances list`) is read-only when it holds a
/// read verb and no verb that changes or destroys anything.
fn generic_read_only(p: &[&str]) -> bool {
    p.iter().any(|w| w.split([':', '-']).any(is_read_verb))
        && !p.iter().any(|w| is_destructive_verb(w) || is_write_verb(w))
}

/// CLIs of hosted services: a destructive verb anywhere in the subcommand path deletes
/// (`heroku apps:destroy`, `gh repo delete`, `doctl compute droplet delete`, `eksctl delete
/// cluster`), and `heroku pg:reset` resets a database.
fn hosted_cli(prog: &str, args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "-a",
            "--app",
            "-r",
            "--remote",
            "-R",
            "--repo",
            "--name",
            "-n",
            "--region",
            "--context",
            "--profile",
            "-t",
            "--team",
            "--org",
            "-o",
            "--output",
            "--format",
            "--project",
            "--cluster",
            "--scope",
            "-c",
            "--config",
            "-X",
            "--method",
            "-H",
            "--header",
            "-f",
            "--field",
            "-F",
            "--raw-field",
        ],
    );
    // Only the command words count, not resource names after them: stop at the first word
    // that holds a character no subcommand has.
    let words: Vec<&str> = p
        .iter()
        .take(4)
        .copied()
        .take_while(|w| {
            w.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | ':' | '_'))
        })
        .collect();
    if words.iter().any(|w| is_destructive_verb(w)) {
        if words.iter().any(|w| {
            w.split([':', '-']).any(|x| {
                x == "pg"
                    || x == "db"
                    || x == "database"
                    || x == "databases"
                    || x == "redis"
                    || x == "postgres"
            })
        }) {
            c.add(DATABASE_DESTROY);
        }
        c.add(CLOUD_DELETE);
    }
    c.read_only = generic_read_only(&words);
    match (prog, words.first().copied()) {
        ("gh", Some("api")) => {
            let method = option_values(args, &["-X", "--method"]);
            let delete = method.iter().any(|m| m.eq_ignore_ascii_case("DELETE"));
            if delete {
                c.add(CLOUD_DELETE);
            }
            let writes = method.iter().any(|m| !m.eq_ignore_ascii_case("GET"))
                || has_flag(args, &["--field", "--raw-field", "--input"], &['f', 'F']);
            c.read_only = !writes;
        }
        ("heroku", Some("run" | "run:detached" | "run:inside")) => {
            let rest: Vec<&str> = positionals(
                args,
                &[
                    "-a", "--app", "-r", "--remote", "-s", "--size", "-e", "--env", "--type",
                ],
            )
            .into_iter()
            .skip(1)
            .collect();
            if !rest.is_empty() {
                c.nested_shell.push(rest.join(" "));
                c.read_only = true;
            }
        }
        ("fly" | "flyctl", Some("ssh")) => {
            for cmd in option_values(args, &["-C", "--command"]) {
                c.nested_shell.push(cmd);
                c.read_only = true;
            }
        }
        _ => {}
    }
}

/// `docker`/`podman` and compose: removals, and the commands run inside containers.
fn docker(prog: &str, args: &[String], c: &mut Classified) {
    const GLOBAL: [&str; 8] = [
        "-H",
        "--host",
        "--context",
        "-c",
        "--config",
        "--log-level",
        "-l",
        "--tlscacert",
    ];
    let mut p = positionals(args, &GLOBAL);
    let compose = prog.ends_with("compose") || p.first() == Some(&"compose");
    if compose && !prog.ends_with("compose") {
        p.remove(0);
    }
    let sub = p.first().copied().unwrap_or_default();
    // `docker container rm`, `docker image prune`: the object, then the verb.
    let (object, verb) = match sub {
        "container" | "image" | "volume" | "network" | "system" | "builder" | "buildx"
        | "service" | "stack" | "secret" | "config" | "node" | "plugin" | "context" => {
            (sub, p.get(1).copied().unwrap_or_default())
        }
        _ => ("", sub),
    };
    let rest_flags = args;
    if compose {
        match verb {
            "down" if has_flag(rest_flags, &["--volumes", "--rmi"], &['v']) => {
                c.add(CONTAINER_DELETE)
            }
            "rm" => c.add(CONTAINER_DELETE),
            _ => {}
        }
    } else {
        if let (_, "rm" | "rmi" | "remove" | "prune") = (object, verb) {
            c.add(CONTAINER_DELETE)
        }
    }
    c.read_only = matches!(
        verb,
        "ps" | "images"
            | "logs"
            | "inspect"
            | "version"
            | "info"
            | "stats"
            | "top"
            | "port"
            | "diff"
            | "history"
            | "search"
            | "events"
            | "ls"
            | "config"
            | "df"
            | "build"
            | "pull"
            | "images-ls"
            | "show"
            | "exec"
            | "run"
            | "wait"
    );
    // Commands run inside a container.
    if matches!(verb, "exec" | "run") && object.is_empty()
        || object == "container" && matches!(verb, "exec" | "run")
    {
        let valued: &[&str] = &[
            "-e",
            "--env",
            "--env-file",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "-v",
            "--volume",
            "--name",
            "-p",
            "--publish",
            "--network",
            "--net",
            "--entrypoint",
            "-l",
            "--label",
            "--mount",
            "--platform",
            "-m",
            "--memory",
            "--cpus",
            "-h",
            "--hostname",
            "--add-host",
            "--restart",
            "--pull",
            "--log-driver",
            "--log-opt",
            "--device",
            "--cap-add",
            "--cap-drop",
            "--security-opt",
            "--ulimit",
            "--shm-size",
            "--tmpfs",
            "--dns",
            "--ipc",
            "--pid",
            "--runtime",
            "--gpus",
            "--detach-keys",
            "--cidfile",
            "--stop-signal",
            "--health-cmd",
            "--link",
            "--expose",
            "--group-add",
            "-a",
            "--attach",
            "--volumes-from",
            "--index",
            "--profile",
            "-f",
            "--file",
            "--project-name",
            "--project-directory",
        ];
        let verb_at = args.iter().position(|a| a == verb).map_or(0, |i| i + 1);
        let after: &[String] = args.get(verb_at..).unwrap_or_default();
        let mut i = 0;
        while let Some(a) = after.get(i) {
            if a == "--" {
                i += 1;
                break;
            }
            if a.starts_with('-') && a.len() > 1 {
                i += if !a.contains('=') && valued.contains(&a.as_str()) {
                    2
                } else {
                    1
                };
                continue;
            }
            break;
        }
        // The image, container or service, then the command.
        let cmd: Vec<String> = after.get(i + 1..).unwrap_or_default().to_vec();
        if !cmd.is_empty() {
            c.nested.push(cmd);
        }
        // What the container runs by default is not known; a named command decides.
        c.read_only = verb == "exec" || !after.get(i + 1..).unwrap_or_default().is_empty();
        if let Some(name) = after.get(i) {
            c.inner_targets.push(name.clone());
        }
        if let Some(ep) = option_values(after, &["--entrypoint"]).first() {
            c.nested.push(vec![ep.clone()]);
        }
    }
}

/// `ssh [options] host [command …]`: the command runs on the host, and the host is a target.
fn ssh(args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o",
            "-p", "-Q", "-R", "-S", "-W", "-w", "-B",
        ],
    );
    let Some(host) = p.first() else {
        return;
    };
    c.inner_targets.push((*host).to_string());
    let rest: Vec<&str> = p.get(1..).unwrap_or_default().to_vec();
    if rest.is_empty() {
        // An interactive shell on the host: what it will do is not known.
        c.add(UNANALYSED);
        c.read_only = false;
    } else {
        c.nested_shell.push(rest.join(" "));
        c.read_only = true;
    }
}

/// `su [options] [-] [user] [-c command]`, `runuser`: the command, or an interactive shell.
fn su(args: &[String], c: &mut Classified) {
    let cmds = option_values(args, &["-c", "--command", "--session-command"]);
    if cmds.is_empty() {
        let p = positionals(
            args,
            &[
                "-s",
                "--shell",
                "-g",
                "--group",
                "-G",
                "--supp-group",
                "-u",
                "--user",
                "-w",
                "--whitelist-environment",
            ],
        );
        let after_user: Vec<String> = p
            .iter()
            .skip_while(|w| **w == "-")
            .skip(1)
            .map(|s| (*s).to_string())
            .collect();
        if args.iter().any(|a| a == "-u" || a == "--user") && !p.is_empty() {
            c.nested.push(p.iter().map(|s| (*s).to_string()).collect());
            c.read_only = true;
        } else if after_user.is_empty() {
            c.add(UNANALYSED);
        } else {
            c.nested.push(after_user);
            c.read_only = true;
        }
    } else {
        c.nested_shell.extend(cmds);
        c.read_only = true;
    }
}

/// Interpreters that take inline code, and the option that gives it.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("pypy", &["-c"]),
    ("pypy3", &["-c"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("deno", &["eval"]),
    ("bun", &["-e", "--eval", "-p", "--print"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("rscript", &["-e"]),
    ("osascript", &["-e"]),
    ("pwsh", &["-c", "-command", "-Command"]),
    ("powershell", &["-c", "-command", "-Command"]),
    ("tclsh", &[]),
];

/// Whether `program` is an interpreter of inline code (`python3.12`, `node`, `perl`, …).
pub(crate) fn is_interpreter(program: &str) -> bool {
    let p = program.to_ascii_lowercase();
    let p = if p.starts_with("python") {
        "python"
    } else {
        p.as_str()
    };
    INTERPRETERS.iter().any(|(n, _)| *n == p)
}

/// An interpreter: inline code is not analysed beyond a few obvious destructive calls and the
/// shell commands and SQL in its string literals; a script file is not read; a bare
/// interpreter reading a here-document reads code.
fn interpreter(prog: &str, args: &[String], stdin_text: Option<&str>, c: &mut Classified) {
    let opts = INTERPRETERS
        .iter()
        .find(|(n, _)| *n == prog)
        .map(|(_, o)| *o)
        .unwrap_or_default();
    let mut code: Vec<String> = if prog == "deno" {
        let p = positionals(args, &[]);
        if p.first() == Some(&"eval") {
            p.get(1).map(|s| vec![(*s).to_string()]).unwrap_or_default()
        } else {
            Vec::new()
        }
    } else {
        opts.iter()
            .flat_map(|o| option_values_exact(args, o))
            .collect()
    };
    // `perl -pi -e`, `ruby -ne`: clusters that end in `e`.
    if matches!(prog, "perl" | "ruby") {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if short_cluster(a)
                .is_some_and(|cl| cl.len() > 1 && (cl.ends_with('e') || cl.ends_with('E')))
            {
                code.extend(it.next().cloned());
            }
        }
    }
    let script_named = !positionals(args, &["-m", "-W", "-X", "-r", "--require", "-I"]).is_empty();
    if code.is_empty()
        && !script_named
        && let Some(text) = stdin_text
    {
        code.push(text.to_string());
    }
    let version_only = args.iter().all(|a| {
        matches!(
            a.as_str(),
            "-V" | "--version" | "-v" | "version" | "-h" | "--help"
        )
    });
    c.read_only = version_only && !args.is_empty();
    if code.is_empty() {
        // A module or script: its code is elsewhere. Known harmless modules stay read-only.
        let modules = option_values_exact(args, "-m");
        if modules.iter().any(|m| {
            matches!(
                m.as_str(),
                "pytest"
                    | "unittest"
                    | "mypy"
                    | "black"
                    | "ruff"
                    | "pip"
                    | "json.tool"
                    | "py_compile"
                    | "compileall"
                    | "venv"
                    | "doctest"
                    | "pydoc"
                    | "timeit"
            )
        }) {
            c.read_only = true;
        }
        return;
    }
    for text in &code {
        inline_code(text, c);
    }
}

/// Inline code: not analysed as a program. Obvious destructive library calls give their class,
/// and string literals that read as shell commands or SQL are analysed as such.
pub(crate) fn inline_code(code: &str, c: &mut Classified) {
    c.add(UNANALYSED);
    c.read_only = false;
    let squashed: String = code.chars().filter(|ch| !ch.is_whitespace()).collect();
    let has = |needle: &str| squashed.contains(needle);
    if has("rmtree")
        || has("rmSync")
        || has("rm_rf")
        || has("rm_r(")
        || has("remove_dir_all")
        || has("rimraf")
        || has("fs.rm(")
        || has("rmdirSync")
        || has("Remove-Item") && has("-Recurse")
        || has("FileUtils.rm")
        || has("File::Path")
    {
        c.add(RECURSIVE_DELETE);
    }
    if has("os.remove")
        || has("os.unlink")
        || has("unlinkSync")
        || has(".unlink(")
        || has("File.delete")
        || has("unlink(")
        || has("truncate(")
        || has("remove_file")
    {
        c.add(FILE_DESTROY);
    }
    if has("dropDatabase")
        || has("drop_database")
        || has("flushall")
        || has("flushdb")
        || has("FLUSHALL")
        || has("FLUSHDB")
    {
        c.add(DATABASE_DESTROY);
    }
    // Bounded, so that hostile code cannot make the analysis run long: the first literals are
    // the ones read as commands.
    const MAX_LITERALS: usize = 1024;
    const MAX_LITERAL_COMMANDS: usize = 32;
    let mut literals = string_literals(code);
    literals.truncate(MAX_LITERALS);
    // `['rm', '-rf', '/srv/x']`, `system("rm", "-rf", x)`: a run of literals that starts with
    // a program is read as that command.
    for (i, lit) in literals.iter().enumerate() {
        if !lit.contains(' ')
            && c.nested_shell.len() < MAX_LITERAL_COMMANDS
            && looks_like_program(lit.rsplit('/').next().unwrap_or(lit))
        {
            let run: Vec<String> = literals
                .iter()
                .skip(i)
                .take(16)
                .map(|l| format!("'{}'", l.replace('\'', "")))
                .collect();
            c.nested_shell.push(run.join(" "));
        }
        if lit.starts_with('/') || lit.starts_with('~') || lit.contains("://") {
            c.targets.push(lit.clone());
        }
    }
    for lit in literals {
        let trimmed = lit.trim();
        if trimmed.is_empty() {
            continue;
        }
        match sql_kind(trimmed) {
            SqlKind::Destructive => c.add(SQL_DESTRUCTIVE),
            SqlKind::ReadOnly | SqlKind::Write | SqlKind::Unknown => {}
        }
        let first = trimmed.split_whitespace().next().unwrap_or_default();
        let first = first.rsplit('/').next().unwrap_or(first);
        if trimmed.contains(' ')
            && c.nested_shell.len() < MAX_LITERAL_COMMANDS
            && looks_like_program(first)
        {
            c.nested_shell.push(trimmed.to_string());
        }
    }
}

/// Whether `word` is a program this classifier knows something about: a string literal that
/// starts with one is analysed as a command.
pub(crate) fn looks_like_program(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    matches!(
        w.as_str(),
        "rm" | "find"
            | "git"
            | "terraform"
            | "tofu"
            | "terragrunt"
            | "kubectl"
            | "oc"
            | "helm"
            | "psql"
            | "mysql"
            | "sqlite3"
            | "aws"
            | "gcloud"
            | "az"
            | "gsutil"
            | "dd"
            | "docker"
            | "podman"
            | "pulumi"
            | "cdk"
            | "serverless"
            | "sls"
            | "eksctl"
            | "doctl"
            | "heroku"
            | "gh"
            | "rsync"
            | "truncate"
            | "shred"
            | "dropdb"
            | "redis-cli"
            | "mongo"
            | "mongosh"
            | "rails"
            | "rake"
            | "prisma"
            | "sudo"
            | "sh"
            | "bash"
            | "zsh"
            | "ssh"
            | "mkfs"
            | "wipefs"
            | "cockroach"
            | "clickhouse"
            | "clickhouse-client"
            | "mv"
            | "cp"
            | "chmod"
            | "chown"
            | "kill"
            | "pkill"
            | "killall"
            | "shutdown"
            | "reboot"
            | "systemctl"
            | "curl"
            | "wget"
            | "xargs"
            | "env"
            | "npx"
            | "make"
    )
}

/// The contents of `'…'`, `"…"` and `` `…` `` literals in code, without escapes resolved
/// beyond `\\` and the quote itself.
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars();
    while let Some(ch) = chars.next() {
        if !matches!(ch, '\'' | '"' | '`') {
            continue;
        }
        let mut lit = String::new();
        while let Some(d) = chars.next() {
            if d == '\\' {
                if let Some(e) = chars.next() {
                    lit.push(e);
                }
                continue;
            }
            if d == ch {
                break;
            }
            lit.push(d);
        }
        out.push(lit);
    }
    out
}

/// `curl`/`wget`/`httpie`: a request other than GET (or HEAD) changes something; a `DELETE`
/// deletes.
fn http(prog: &str, args: &[String], c: &mut Classified) {
    let mut methods: Vec<String> = option_values(args, &["-X", "--request", "--method"]);
    if matches!(prog, "http" | "https" | "xh")
        && let Some(m) = positionals(args, &[]).first()
        && m.chars().all(|ch| ch.is_ascii_uppercase())
    {
        methods.push((*m).to_string());
    }
    let delete = methods.iter().any(|m| m.eq_ignore_ascii_case("DELETE"));
    if delete {
        c.add(CLOUD_DELETE);
    }
    let sends = has_flag(
        args,
        &[
            "--data",
            "--data-raw",
            "--data-binary",
            "--data-urlencode",
            "--form",
            "--json",
            "--upload-file",
            "--post-data",
            "--post-file",
            "--body-data",
        ],
        &['d', 'F', 'T'],
    );
    c.read_only = !sends
        && methods.iter().all(|m| {
            m.eq_ignore_ascii_case("GET")
                || m.eq_ignore_ascii_case("HEAD")
                || m.eq_ignore_ascii_case("OPTIONS")
        });
}

/// Database CLIs: the SQL in `inline` options and standard input; a file of SQL or an
/// interactive session is not known to be read-only.
fn sql_cli(
    args: &[String],
    inline: &[&str],
    files: &[&str],
    stdin_text: Option<&str>,
    c: &mut Classified,
) {
    let mut sql: Vec<String> = inline
        .iter()
        .flat_map(|o| {
            if o.starts_with('-') {
                option_values_exact(args, o)
            } else {
                // A subcommand whose argument is the SQL (`bq query 'SELECT …'`).
                let p = positionals(args, &[]);
                p.iter()
                    .position(|w| w == o)
                    .and_then(|i| p.get(i + 1))
                    .map(|s| vec![(*s).to_string()])
                    .unwrap_or_default()
            }
        })
        .collect();
    sql.extend(stdin_text.map(str::to_string));
    let from_file = files
        .iter()
        .any(|f| !option_values_exact(args, f).is_empty());
    judge_sql(&sql, c);
    if sql.is_empty() || from_file {
        c.read_only = false;
    }
}

/// Apply the verdicts on pieces of SQL.
fn judge_sql(sql: &[String], c: &mut Classified) {
    let kinds: Vec<SqlKind> = sql.iter().map(|s| sql_kind(s)).collect();
    if kinds.contains(&SqlKind::Destructive) {
        c.add(SQL_DESTRUCTIVE);
    }
    if kinds.contains(&SqlKind::Unknown) {
        c.add(UNANALYSED);
    }
    c.read_only = !kinds.is_empty() && kinds.iter().all(|k| *k == SqlKind::ReadOnly);
}

fn sqlite(args: &[String], stdin_text: Option<&str>, c: &mut Classified) {
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
            "-c",
        ],
    )
    .into_iter()
    .skip(1)
    .map(str::to_string)
    .collect();
    sql.extend(option_values_exact(args, "-cmd"));
    sql.extend(option_values_exact(args, "-c"));
    sql.extend(stdin_text.map(str::to_string));
    judge_sql(&sql, c);
    if sql.is_empty() {
        c.read_only = false;
    }
}

/// `redis-cli [options] COMMAND …`.
fn redis(args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "-h",
            "-p",
            "-a",
            "-n",
            "-u",
            "--user",
            "--pass",
            "-s",
            "-r",
            "-i",
            "--tls",
            "--cacert",
            "--cert",
            "--key",
            "-d",
            "--eval",
            "--pattern",
            "--scan",
        ],
    );
    let cmd = p
        .first()
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    match cmd.as_str() {
        "FLUSHALL" | "FLUSHDB" | "SHUTDOWN" => c.add(DATABASE_DESTROY),
        "SCRIPT" | "FUNCTION" if p.get(1).is_some_and(|s| s.eq_ignore_ascii_case("flush")) => {
            c.add(DATABASE_DESTROY)
        }
        _ => {}
    }
    c.read_only = matches!(
        cmd.as_str(),
        "GET"
            | "MGET"
            | "KEYS"
            | "SCAN"
            | "INFO"
            | "PING"
            | "TTL"
            | "PTTL"
            | "TYPE"
            | "EXISTS"
            | "DBSIZE"
            | "STRLEN"
            | "HGET"
            | "HGETALL"
            | "HKEYS"
            | "HLEN"
            | "HMGET"
            | "HSCAN"
            | "LRANGE"
            | "LLEN"
            | "LINDEX"
            | "SMEMBERS"
            | "SCARD"
            | "SISMEMBER"
            | "SSCAN"
            | "ZRANGE"
            | "ZCARD"
            | "ZSCORE"
            | "ZSCAN"
            | "ZRANGEBYSCORE"
            | "XRANGE"
            | "XLEN"
            | "XINFO"
            | "MEMORY"
            | "SLOWLOG"
            | "LATENCY"
            | "CLIENT"
            | "TIME"
            | "LASTSAVE"
            | "ROLE"
            | "ECHO"
            | "OBJECT"
            | "RANDOMKEY"
            | "GETRANGE"
            | "BITCOUNT"
            | "PFCOUNT"
    ) || (p.is_empty()
        && (args
            .iter()
            .any(|a| a == "--scan" || a == "--bigkeys" || a == "--stat" || a == "--latency")));
    if cmd == "CONFIG" && p.get(1).is_some_and(|s| s.eq_ignore_ascii_case("get")) {
        c.read_only = true;
    }
    if args.iter().any(|a| a == "--eval") {
        c.add(UNANALYSED);
        c.read_only = false;
    }
}

/// `mongo`/`mongosh --eval JS`: dropping calls are destructive, reading calls read.
fn mongo(args: &[String], stdin_text: Option<&str>, c: &mut Classified) {
    let mut code = option_values_exact(args, "--eval");
    code.extend(stdin_text.map(str::to_string));
    if code.is_empty() {
        return;
    }
    let destructive = |s: &str| {
        let s: String = s.chars().filter(|ch| !ch.is_whitespace()).collect();
        s.contains("dropDatabase(")
            || s.contains(".drop(")
            || s.contains("deleteMany({})")
            || s.contains("remove({})")
            || s.contains("dropAllUsers(")
            || s.contains("dropIndexes(")
            || s.contains("deleteMany()")
            || s.contains(".drop()")
    };
    if code.iter().any(|s| destructive(s)) {
        c.add(DATABASE_DESTROY);
    }
    let read = |s: &str| {
        let s = s.trim();
        [
            "find(",
            "findOne(",
            "count",
            "getCollectionNames",
            "stats(",
            "show ",
            "getIndexes",
            "aggregate(",
            "printjson(",
            "db.version",
            "db.getName",
            "rs.status",
            "db.serverStatus",
            "listCollections",
            "getSiblingDB",
        ]
        .iter()
        .any(|k| s.contains(k))
            && ![
                ".insert", ".update", ".delete", ".remove", ".drop", ".create", ".rename", "$out",
                "$merge", ".replace", ".save", "eval(",
            ]
            .iter()
            .any(|k| s.contains(k))
    };
    c.read_only = code.iter().all(|s| read(s));
}

/// `rails`/`rake` database tasks that drop or reload a schema.
fn rails(args: &[String], c: &mut Classified) {
    for a in args {
        let task = a.split('[').next().unwrap_or(a);
        if matches!(
            task,
            "db:drop"
                | "db:reset"
                | "db:schema:load"
                | "db:structure:load"
                | "db:purge"
                | "db:truncate_all"
                | "db:migrate:reset"
                | "db:rollback"
                | "db:drop:all"
                | "db:purge:all"
                | "db:fixtures:load"
                | "db:seed:replant"
                | "db:setup"
                | "db:test:purge"
                | "db:migrate:down"
                | "db:prepare:reset"
        ) {
            c.add(DATABASE_DESTROY);
        }
    }
    c.read_only = args.iter().all(|a| {
        a.starts_with('-')
            || matches!(
                a.as_str(),
                "routes"
                    | "about"
                    | "stats"
                    | "notes"
                    | "test"
                    | "spec"
                    | "db:migrate:status"
                    | "db:version"
                    | "assets:precompile"
                    | "-T"
                    | "-P"
                    | "zeitwerk:check"
                    | "version"
            )
    }) && !args.is_empty();
}

/// Other frameworks' commands that drop, reset or downgrade a database.
fn framework_db_destroy(prog: &str, args: &[String]) -> bool {
    let p = positionals(
        args,
        &[
            "-c",
            "--config",
            "--env",
            "-e",
            "--url",
            "--database-url",
            "-x",
            "--name",
            "--to",
        ],
    );
    let has = |w: &str| p.iter().any(|x| x.eq_ignore_ascii_case(w));
    let first = p.first().copied().unwrap_or_default();
    match prog {
        "alembic" => first == "downgrade",
        "flask" => first == "db" && (has("downgrade") || has("drop") || has("reset")),
        "knex" => {
            matches!(first, "migrate:rollback" | "migrate:down" | "seed:run")
                && (first != "seed:run")
                || has("migrate:rollback")
        }
        "sequelize" | "sequelize-cli" => matches!(
            first,
            "db:drop" | "db:migrate:undo:all" | "db:migrate:undo" | "db:seed:undo:all"
        ),
        "typeorm" | "typeorm-ts-node-commonjs" | "typeorm-ts-node-esm" => {
            matches!(first, "schema:drop" | "migration:revert" | "schema:sync")
        }
        "drizzle-kit" => matches!(first, "drop" | "push") && (first == "drop" || has("--force")),
        "mix" => matches!(first, "ecto.drop" | "ecto.reset" | "ecto.rollback"),
        "php" | "artisan" => p.iter().any(|x| {
            matches!(
                *x,
                "migrate:fresh"
                    | "migrate:reset"
                    | "migrate:refresh"
                    | "migrate:rollback"
                    | "db:wipe"
            )
        }),
        "dotnet" => {
            first == "ef"
                && has("database")
                && (has("drop") || has("update") && p.last() == Some(&"0"))
        }
        "supabase" => first == "db" && has("reset"),
        "flyway" => matches!(first, "clean" | "undo"),
        "liquibase" => matches!(
            first,
            "drop-all"
                | "dropAll"
                | "rollback"
                | "rollback-count"
                | "rollbackCount"
                | "rollback-to-date"
        ),
        "diesel" => {
            first == "database" && has("reset")
                || first == "migration" && (has("revert") || has("redo"))
        }
        "sqlx" => first == "database" && (has("drop") || has("reset")),
        "goose" => matches!(first, "reset" | "down" | "down-to"),
        "migrate" => matches!(first, "drop" | "down" | "force"),
        "dbmate" => matches!(first, "drop" | "down" | "rollback"),
        "atlas" => first == "schema" && has("clean"),
        "bundle" | "npx" | "bunx" | "pnpm" | "yarn" | "npm" | "poetry" | "uv" | "pipenv" => false,
        _ => false,
    }
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

/// The values of one option, as [`option_values`] finds them.
pub(crate) fn option_values_exact(args: &[String], name: &str) -> Vec<String> {
    option_values(args, &[name])
}

fn find(args: &[String], c: &mut Classified) {
    if args.iter().any(|a| a == "-delete") {
        c.add(RECURSIVE_DELETE);
    }
    c.read_only = !args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-delete"
                | "-exec"
                | "-execdir"
                | "-ok"
                | "-okdir"
                | "-fprint"
                | "-fprint0"
                | "-fprintf"
                | "-fls"
        )
    });
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let cmd: Vec<String> = it
                .by_ref()
                .take_while(|w| *w != ";" && *w != "+")
                .cloned()
                .collect();
            // Removing every file found is a mass delete, recursive or not.
            if cmd
                .first()
                .is_some_and(|p| matches!(p.rsplit('/').next(), Some("rm" | "unlink" | "shred")))
            {
                c.add(RECURSIVE_DELETE);
            }
            if !cmd.is_empty() {
                c.nested.push(cmd);
            }
        }
    }
}

/// Programs that only read, or only build and test in the working copy, whatever their
/// arguments (output redirections and `-i` in-place edits aside).
const READ_ONLY_PROGRAMS: &[&str] = &[
    "ls",
    "ll",
    "dir",
    "cat",
    "bat",
    "less",
    "more",
    "head",
    "tail",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "ack",
    "fd",
    "locate",
    "which",
    "whereis",
    "type",
    "whoami",
    "id",
    "groups",
    "date",
    "cal",
    "pwd",
    "echo",
    "printf",
    "true",
    "false",
    "test",
    "[",
    "[[",
    "sleep",
    "wc",
    "uniq",
    "cut",
    "tr",
    "column",
    "nl",
    "fold",
    "paste",
    "join",
    "comm",
    "diff",
    "cmp",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shasum",
    "cksum",
    "base64",
    "xxd",
    "hexdump",
    "od",
    "strings",
    "file",
    "stat",
    "du",
    "df",
    "free",
    "ps",
    "pgrep",
    "htop",
    "uptime",
    "hostname",
    "uname",
    "lsb_release",
    "printenv",
    "tree",
    "realpath",
    "readlink",
    "dirname",
    "basename",
    "jq",
    "man",
    "help",
    "tldr",
    "dig",
    "nslookup",
    "host",
    "ping",
    "traceroute",
    "netstat",
    "ss",
    "lsof",
    "cd",
    "pushd",
    "popd",
    "export",
    "set",
    "unset",
    "alias",
    "history",
    "clear",
    "read",
    "shift",
    "local",
    "declare",
    "typeset",
    "return",
    "exit",
    "break",
    "continue",
    ":",
    "tsc",
    "eslint",
    "prettier",
    "jest",
    "vitest",
    "mocha",
    "pytest",
    "tox",
    "nox",
    "ruff",
    "black",
    "isort",
    "flake8",
    "mypy",
    "pyright",
    "pylint",
    "webpack",
    "vite",
    "next",
    "nuxt",
    "rollup",
    "esbuild",
    "parcel",
    "tsup",
    "turbo",
    "nx",
    "gulp",
    "grunt",
    "babel",
    "swc",
    "astro",
    "ng",
    "rspack",
    "playwright",
    "cypress",
    "storybook",
    "biome",
    "oxlint",
    "rustfmt",
    "gofmt",
    "golangci-lint",
    "shellcheck",
    "hadolint",
    "tflint",
    "actionlint",
    "yamllint",
    "markdownlint",
];

/// pip's subcommands (for `pip` and `pip3` alike).
const PIP_SUBCOMMANDS: &[&str] = &[
    "install",
    "list",
    "freeze",
    "show",
    "check",
    "download",
    "wheel",
    "--version",
    "-V",
    "uninstall",
    "config",
    "index",
    "inspect",
];

/// Build and package tools whose listed subcommands only build, test or inspect locally.
const LOCAL_TOOLS: &[(&str, &[&str])] = &[
    (
        "cargo",
        &[
            "build",
            "b",
            "check",
            "c",
            "test",
            "t",
            "clippy",
            "fmt",
            "doc",
            "bench",
            "tree",
            "metadata",
            "run",
            "r",
            "nextest",
            "version",
            "--version",
            "search",
            "fetch",
            "update",
            "add",
            "new",
            "init",
            "expand",
            "audit",
            "deny",
        ],
    ),
    (
        "go",
        &[
            "build", "test", "vet", "fmt", "run", "mod", "list", "version", "env", "doc",
            "generate", "get", "install", "work", "tool",
        ],
    ),
    (
        "npm",
        &[
            "install",
            "i",
            "ci",
            "test",
            "t",
            "run-script",
            "ls",
            "list",
            "outdated",
            "audit",
            "view",
            "info",
            "why",
            "explain",
            "pack",
            "--version",
            "-v",
            "version",
            "init",
            "config",
            "help",
            "doctor",
            "prune",
            "rebuild",
            "dedupe",
            "fund",
            "search",
            "link",
            "uninstall",
            "update",
            "add",
        ],
    ),
    (
        "pnpm",
        &[
            "install",
            "i",
            "add",
            "test",
            "t",
            "ls",
            "list",
            "outdated",
            "audit",
            "why",
            "--version",
            "-v",
            "build",
            "lint",
            "typecheck",
            "fetch",
            "store",
            "remove",
            "update",
            "up",
        ],
    ),
    (
        "yarn",
        &[
            "install",
            "add",
            "test",
            "build",
            "lint",
            "list",
            "info",
            "why",
            "outdated",
            "audit",
            "--version",
            "-v",
            "typecheck",
            "remove",
            "upgrade",
            "up",
        ],
    ),
    (
        "bun",
        &[
            "install",
            "i",
            "add",
            "test",
            "build",
            "pm",
            "--version",
            "-v",
            "outdated",
            "remove",
            "update",
        ],
    ),
    ("pip", PIP_SUBCOMMANDS),
    ("pip3", PIP_SUBCOMMANDS),
    (
        "uv",
        &[
            "sync",
            "lock",
            "pip",
            "add",
            "tree",
            "venv",
            "build",
            "--version",
            "version",
            "python",
            "export",
            "remove",
        ],
    ),
    (
        "poetry",
        &[
            "install",
            "lock",
            "add",
            "show",
            "check",
            "build",
            "env",
            "--version",
            "version",
            "export",
            "update",
            "remove",
        ],
    ),
    (
        "mvn",
        &[
            "test",
            "compile",
            "package",
            "verify",
            "validate",
            "dependency:tree",
            "clean",
            "install",
            "-v",
            "--version",
            "spotless:apply",
            "checkstyle:check",
        ],
    ),
    (
        "gradle",
        &[
            "build",
            "test",
            "check",
            "assemble",
            "clean",
            "dependencies",
            "tasks",
            "--version",
            "lint",
            "compileJava",
            "compileKotlin",
            "jar",
        ],
    ),
    (
        "make",
        &[
            "build",
            "test",
            "check",
            "lint",
            "fmt",
            "format",
            "all",
            "clean",
            "help",
            "tests",
            "typecheck",
            "vet",
            "bench",
            "docs",
            "doc",
            "compile",
            "install-deps",
            "deps",
            "dev",
        ],
    ),
    (
        "bundle",
        &[
            "install",
            "update",
            "check",
            "list",
            "show",
            "outdated",
            "lock",
            "config",
            "--version",
            "add",
        ],
    ),
];

/// Whether `prog` with `args` is known to only read (or to build and test locally).
fn read_only_program(prog: &str, args: &[String]) -> bool {
    if READ_ONLY_PROGRAMS.contains(&prog) {
        return match prog {
            "sort" => !args.iter().any(|a| a == "-o" || a.starts_with("--output")),
            _ => true,
        };
    }
    match prog {
        "sort" => !args.iter().any(|a| a == "-o" || a.starts_with("--output")),
        "sed" => !args.iter().any(|a| {
            a.starts_with("-i")
                || a == "--in-place"
                || (short_cluster(a).is_some_and(|c| c.contains('i')))
        }),
        "yq" => !args.iter().any(|a| a == "-i" || a == "--inplace"),
        "env" => args.is_empty(),
        "top" => true,
        "gradlew" | "./gradlew" | "mvnw" => LOCAL_TOOLS.iter().any(|(n, subs)| {
            *n == "gradle" && args.first().is_some_and(|a| subs.contains(&a.as_str()))
        }),
        "make" | "gmake" => {
            let targets = positionals(
                args,
                &[
                    "-C",
                    "-f",
                    "-j",
                    "--directory",
                    "--file",
                    "--jobs",
                    "-o",
                    "-W",
                ],
            );
            targets.iter().all(|t| {
                t.contains('=')
                    || LOCAL_TOOLS
                        .iter()
                        .any(|(n, subs)| *n == "make" && subs.contains(t))
            })
        }
        "npm" | "pnpm" | "yarn" | "bun" => {
            let p = positionals(
                args,
                &[
                    "--prefix",
                    "-C",
                    "--dir",
                    "--filter",
                    "-F",
                    "-w",
                    "--workspace",
                    "--cwd",
                ],
            );
            let Some(sub) = p.first() else {
                return true;
            };
            if matches!(*sub, "run" | "run-script")
                || (prog != "npm"
                    && !LOCAL_TOOLS
                        .iter()
                        .any(|(n, s)| *n == prog && s.contains(sub)))
            {
                // A script: its name says what it is for.
                let script = if matches!(*sub, "run" | "run-script") {
                    p.get(1).copied().unwrap_or_default()
                } else {
                    sub
                };
                return script_name_is_local(script);
            }
            LOCAL_TOOLS
                .iter()
                .any(|(n, s)| *n == prog && s.contains(sub))
        }
        _ => {
            if let Some((_, subs)) = LOCAL_TOOLS.iter().find(|(n, _)| *n == prog) {
                return positionals(
                    args,
                    &[
                        "-C",
                        "--manifest-path",
                        "-p",
                        "--package",
                        "--features",
                        "-j",
                        "--target",
                        "--profile",
                    ],
                )
                .first()
                .is_some_and(|s| subs.contains(s))
                    || args.is_empty();
            }
            false
        }
    }
}

/// Whether a package script's name (`build`, `test:unit`, `lint:fix`) says it builds or checks
/// the working copy, rather than deploying, migrating or resetting something.
fn script_name_is_local(name: &str) -> bool {
    let parts: Vec<String> = name
        .split([':', '-', '_', '.'])
        .map(str::to_ascii_lowercase)
        .collect();
    let local = parts.first().is_some_and(|p| {
        matches!(
            p.as_str(),
            "build"
                | "test"
                | "tests"
                | "lint"
                | "format"
                | "fmt"
                | "typecheck"
                | "check"
                | "dev"
                | "start"
                | "compile"
                | "clean"
                | "storybook"
                | "preview"
                | "e2e"
                | "coverage"
                | "watch"
                | "bundle"
                | "analyze"
                | "docs"
                | "prettier"
                | "eslint"
                | "tsc"
                | "jest"
                | "vitest"
                | "serve"
                | "gen"
                | "generate"
                | "codegen"
                | "validate"
        )
    });
    local
        && !parts.iter().any(|p| {
            is_destructive_verb(p)
                || matches!(
                    p.as_str(),
                    "deploy"
                        | "release"
                        | "publish"
                        | "migrate"
                        | "seed"
                        | "db"
                        | "prod"
                        | "production"
                )
        })
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
    let Some(sub) = args.get(i) else {
        c.read_only = true;
        return;
    };
    let rest = args.get(i + 1..).unwrap_or_default();
    let p = positionals(rest, &[]);
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
        "update-ref" => has_flag(rest, &[], &['d']),
        "reflog" => matches!(p.first(), Some(&"expire" | &"delete")),
        "gc" => rest.iter().any(|a| a.starts_with("--prune")),
        _ => false,
    };
    if rewrite {
        c.add(GIT_HISTORY_REWRITE);
    }
    c.read_only = match sub.as_str() {
        "status" | "log" | "diff" | "show" | "rev-parse" | "blame" | "ls-files" | "ls-remote"
        | "ls-tree" | "describe" | "shortlog" | "grep" | "cat-file" | "rev-list" | "merge-base"
        | "name-rev" | "whatchanged" | "show-ref" | "for-each-ref" | "version" | "help"
        | "fetch" | "show-branch" | "count-objects" | "fsck" | "var" | "check-ignore"
        | "check-attr" | "range-diff" | "annotate" | "verify-commit" | "verify-tag" | "cherry" => {
            true
        }
        "branch" | "tag" => {
            p.is_empty()
                && !has_flag(
                    rest,
                    &[
                        "--delete",
                        "--move",
                        "--copy",
                        "--force",
                        "--set-upstream-to",
                        "--unset-upstream",
                        "--edit-description",
                    ],
                    &['d', 'D', 'm', 'M', 'c', 'C', 'f', 'u', 'a', 's'],
                )
                || rest.iter().any(|a| {
                    a == "--list"
                        || a == "-l"
                        || a == "--show-current"
                        || a == "--contains"
                        || a == "--merged"
                })
        }
        "remote" => {
            matches!(p.first(), None | Some(&"show" | &"get-url")) || rest.iter().any(|a| a == "-v")
        }
        "stash" => matches!(p.first(), Some(&"list" | &"show")),
        "worktree" => matches!(p.first(), Some(&"list")),
        "config" => rest
            .iter()
            .any(|a| a.starts_with("--get") || a == "--list" || a == "-l"),
        "reflog" => matches!(p.first(), None | Some(&"show")),
        // Local history work on a branch: commits, merges and checkouts in the working copy.
        "add" | "commit" | "checkout" | "switch" | "restore" | "stash-save" | "merge" | "pull"
        | "cherry-pick" | "revert" | "mv" | "init" | "clone" | "submodule" | "am" | "apply"
        | "bisect" | "notes" | "sparse-checkout" | "maintenance" | "rerere" | "format-patch" => {
            !rewrite
        }
        "push" => dry_run(rest) || has_flag(rest, &[], &['n']),
        _ => false,
    };
}

fn terraform(args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "-var",
            "-var-file",
            "-target",
            "-out",
            "-state",
            "-state-out",
            "-backup",
            "-lock-timeout",
            "-parallelism",
            "-replace",
            "-chdir",
            "-generate-config-out",
        ],
    );
    let mut sub = p.first().copied();
    let mut rest_at = 1;
    // terragrunt's `run-all destroy` and `run -- destroy`.
    if matches!(sub, Some("run-all" | "run")) {
        sub = p.get(1).copied();
        rest_at = 2;
    }
    let rest: Vec<&str> = p.get(rest_at..).unwrap_or_default().to_vec();
    let saved_plan = sub == Some("apply") && !rest.is_empty();
    let destroy = match sub {
        Some("destroy") => true,
        Some("apply") => bool_flag(args, "destroy"),
        _ => false,
    };
    if destroy {
        c.add(TERRAFORM_DESTROY);
    }
    // A saved plan is applied without a prompt.
    if (matches!(sub, Some("apply" | "destroy")) && bool_flag(args, "auto-approve")) || saved_plan {
        c.add(TERRAFORM_AUTO_APPROVE);
    }
    let state_edit = match sub {
        Some("state") => matches!(
            rest.first(),
            Some(&"rm" | &"mv" | &"push" | &"replace-provider")
        ),
        Some("force-unlock" | "taint" | "untaint") => true,
        Some("workspace") => matches!(rest.first(), Some(&"delete")),
        _ => false,
    };
    if state_edit {
        c.add(TERRAFORM_STATE_EDIT);
    }
    c.read_only = match sub {
        Some(
            "plan"
            | "show"
            | "validate"
            | "fmt"
            | "output"
            | "providers"
            | "version"
            | "graph"
            | "console"
            | "init"
            | "get"
            | "metadata"
            | "modules"
            | "login"
            | "-version"
            | "--version"
            | "hclfmt"
            | "render-json"
            | "output-module-groups"
            | "graph-dependencies"
            | "validate-inputs"
            | "terragrunt-info",
        ) => true,
        Some("state") => matches!(rest.first(), Some(&"list" | &"show" | &"pull")),
        Some("workspace") => matches!(rest.first(), Some(&"list" | &"show" | &"select")),
        None => true,
        _ => false,
    };
}

/// Whether a Terraform command writes a destroy plan, and to which file:
/// `terraform plan -destroy -out=d.tfplan`.
pub(crate) fn terraform_destroy_plan_out(args: &[String]) -> Option<String> {
    let p = positionals(
        args,
        &["-var", "-var-file", "-target", "-out", "-state", "-chdir"],
    );
    if p.first() != Some(&"plan") || !bool_flag(args, "destroy") {
        return None;
    }
    option_values(args, &["-out", "--out"]).into_iter().next()
}

/// The plan file a `terraform apply PLANFILE` applies.
pub(crate) fn terraform_applied_plan(args: &[String]) -> Option<String> {
    let p = positionals(
        args,
        &[
            "-var",
            "-var-file",
            "-target",
            "-state",
            "-state-out",
            "-backup",
            "-lock-timeout",
            "-parallelism",
            "-chdir",
        ],
    );
    if p.first() != Some(&"apply") {
        return None;
    }
    p.get(1).map(|s| (*s).to_string())
}

/// kubectl options that take a separate value.
const KUBECTL_VALUED: &[&str] = &[
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
    "-c",
];

fn kubectl(args: &[String], c: &mut Classified) {
    let p = positionals(args, KUBECTL_VALUED);
    let sub = p.first().copied().unwrap_or_default();
    c.read_only = matches!(
        sub,
        "get"
            | "describe"
            | "logs"
            | "top"
            | "explain"
            | "version"
            | "api-resources"
            | "api-versions"
            | "cluster-info"
            | "config"
            | "auth"
            | "diff"
            | "events"
            | "wait"
            | "port-forward"
            | "proxy"
            | "completion"
            | "plugin"
            | "kustomize"
            | "exec"
            | "attach"
            | "options"
            | "help"
            | ""
    ) || (sub == "rollout" && matches!(p.get(1), Some(&"status" | &"history")));
    if sub == "config" {
        c.read_only = !matches!(
            p.get(1),
            Some(&"delete-context" | &"delete-cluster" | &"delete-user" | &"unset")
        );
    }
    match sub {
        "exec" => {
            // `kubectl exec POD [-c C] -- CMD …`: the command runs in the pod.
            if let Some(dd) = args.iter().position(|a| a == "--") {
                let cmd: Vec<String> = args.get(dd + 1..).unwrap_or_default().to_vec();
                if !cmd.is_empty() {
                    c.nested.push(cmd);
                }
            } else {
                c.add(UNANALYSED);
                c.read_only = false;
            }
        }
        "replace" if bool_flag(args, "force") => c.add(KUBECTL_DELETE),
        "apply"
            if args
                .iter()
                .any(|a| a == "--prune" || a.starts_with("--prune=")) =>
        {
            c.add(KUBECTL_DELETE)
        }
        "scale"
            if option_values(args, &["--replicas"])
                .iter()
                .any(|r| r.trim() == "0") =>
        {
            c.add(WORKLOAD_DISRUPTION);
        }
        "drain" => c.add(WORKLOAD_DISRUPTION),
        "rollout" if p.get(1) == Some(&"undo") => c.add(WORKLOAD_DISRUPTION),
        "delete" => {
            c.add(KUBECTL_DELETE);
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
                        "ns" | "namespace" | "namespaces" | "project" | "projects" => {
                            c.add(KUBECTL_DELETE_NAMESPACE)
                        }
                        "pv"
                        | "pvc"
                        | "persistentvolume"
                        | "persistentvolumes"
                        | "persistentvolumeclaim"
                        | "persistentvolumeclaims" => {
                            c.add(KUBECTL_DELETE_VOLUME);
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
}

fn helm(args: &[String], c: &mut Classified) {
    let p = positionals(
        args,
        &[
            "-n",
            "--namespace",
            "--kube-context",
            "--kubeconfig",
            "-f",
            "--values",
            "--set",
            "--set-string",
            "--version",
            "--repo",
            "-o",
            "--output",
            "--timeout",
            "--revision",
        ],
    );
    let sub = p.first().copied().unwrap_or_default();
    match sub {
        "uninstall" | "delete" | "del" | "un" => c.add(RELEASE_DESTROY),
        "rollback" => c.add(WORKLOAD_DISRUPTION),
        _ => {}
    }
    c.read_only = matches!(
        sub,
        "list"
            | "ls"
            | "status"
            | "get"
            | "history"
            | "hist"
            | "show"
            | "inspect"
            | "template"
            | "search"
            | "version"
            | "lint"
            | "diff"
            | "env"
            | "verify"
            | "help"
            | "completion"
            | "pull"
            | "fetch"
            | "dependency"
            | "dep"
            | "package"
            | ""
    ) || (sub == "repo"
        && matches!(p.get(1), Some(&"list" | &"ls" | &"update" | &"add")))
        || (sub == "plugin" && matches!(p.get(1), Some(&"list" | &"ls")));
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
    let verb = op.split('-').next().unwrap_or_default();
    let delete = matches!(
        verb,
        "delete" | "terminate" | "purge" | "deregister" | "remove" | "destroy"
    ) || (service == Some("s3")
        && (matches!(op, "rm" | "rb") || (op == "sync" && args.iter().any(|a| a == "--delete"))));
    if delete {
        c.add(CLOUD_DELETE);
    }
    c.read_only = matches!(
        verb,
        "describe"
            | "get"
            | "list"
            | "head"
            | "lookup"
            | "search"
            | "scan"
            | "query"
            | "filter"
            | "tail"
            | "wait"
            | "help"
            | "batch"
    ) && !op.starts_with("batch-write")
        && !op.starts_with("batch-delete")
        || (service == Some("s3") && matches!(op, "ls" | "presign"))
        || (service == Some("s3")
            && op == "cp"
            && p.last().is_some_and(|d| !d.starts_with("s3://")))
        || matches!(service, Some("configure") if matches!(op, "" | "list" | "get" | "list-profiles" | "set"))
        || matches!(
            (service, op),
            (Some("eks"), "update-kubeconfig") | (Some("sso"), "login" | "logout")
        )
        || service.is_none();
    if op == "help" || args.iter().any(|a| a == "help") {
        c.read_only = true;
    }
}

/// What a piece of SQL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlKind {
    /// Every statement only reads (`SELECT`, `SHOW`, `EXPLAIN`, psql's `\d`).
    ReadOnly,
    /// Some statement writes, none destroys.
    Write,
    /// Some statement drops, truncates, or deletes or updates without a `WHERE`.
    Destructive,
    /// Some statement could not be read (`DO $$ … $$`, a shell escape, an unknown keyword).
    Unknown,
}

/// What SQL text does, statement by statement.
///
/// String literals and comments are removed first, so `SELECT 'DROP TABLE x'` is harmless. Each
/// `;`-separated statement is judged by its first keyword: `DROP` and `TRUNCATE` always destroy,
/// `DELETE` and `UPDATE` without a `WHERE` (or with `WHERE 1=1` / `WHERE true`), `ALTER … DROP`,
/// and a `WITH …` statement that deletes or updates without a `WHERE`. Dollar-quoted bodies
/// (`DO $$ … $$`), `EXECUTE`, psql's `\!` and `\i`, and keywords not known are `Unknown` —
/// `Destructive` when the text holds `DROP` or `TRUNCATE` anywhere.
pub(crate) fn sql_kind(sql: &str) -> SqlKind {
    let raw_upper = sql.to_ascii_uppercase();
    let stripped = strip_sql_literals(sql);
    let mut kind = SqlKind::ReadOnly;
    let mut any = false;
    let worse = |a: SqlKind, b: SqlKind| {
        let rank = |k: SqlKind| match k {
            SqlKind::ReadOnly => 0,
            SqlKind::Write => 1,
            SqlKind::Unknown => 2,
            SqlKind::Destructive => 3,
        };
        if rank(b) > rank(a) { b } else { a }
    };
    // Meta-commands (psql's `\d`, sqlite's `.tables`) end at their line; SQL at `;`.
    let mut statements: Vec<String> = Vec::new();
    let mut buffer = String::new();
    for line in stripped.lines() {
        let t = line.trim_start();
        if t.starts_with('\\') || (t.starts_with('.') && buffer.trim().is_empty()) {
            statements.push(t.to_string());
        } else {
            buffer.push_str(line);
            buffer.push('\n');
        }
    }
    statements.extend(buffer.split(';').map(str::to_string));
    for stmt in &statements {
        let trimmed = stmt.trim();
        if trimmed.is_empty() {
            continue;
        }
        any = true;
        if let Some(meta) = trimmed.strip_prefix('\\') {
            let cmd = meta.split_whitespace().next().unwrap_or_default();
            let k = match cmd {
                "!" | "i" | "ir" | "include" | "o" | "w" | "gexec" | "copy" | "lo_unlink"
                | "lo_import" => SqlKind::Unknown,
                _ if cmd.starts_with('!') => SqlKind::Unknown,
                _ => SqlKind::ReadOnly,
            };
            kind = worse(kind, k);
            continue;
        }
        if let Some(dot) = trimmed.strip_prefix('.') {
            let cmd = dot.split_whitespace().next().unwrap_or_default();
            let k = match cmd {
                "tables" | "schema" | "indexes" | "indices" | "databases" | "headers" | "mode"
                | "dump" | "show" | "help" | "quit" | "exit" | "width" | "timer" | "changes"
                | "eqp" | "stats" | "fullschema" | "dbinfo" | "lint" => SqlKind::ReadOnly,
                _ => SqlKind::Unknown,
            };
            kind = worse(kind, k);
            continue;
        }
        kind = worse(kind, statement_kind(trimmed));
    }
    if stripped.contains('$') && (raw_upper.contains("$$") || raw_upper.contains("DO ")) {
        kind = worse(kind, SqlKind::Unknown);
    }
    if kind == SqlKind::Unknown
        && sql_words(&raw_upper)
            .iter()
            .any(|w| w == "DROP" || w == "TRUNCATE")
    {
        kind = SqlKind::Destructive;
    }
    if any { kind } else { SqlKind::ReadOnly }
}

fn sql_words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

fn statement_kind(stmt: &str) -> SqlKind {
    let tokens = sql_words(stmt);
    let has = |w: &str| tokens.iter().any(|t| t == w);
    let trivial_where = || {
        let Some(i) = tokens.iter().position(|t| t == "WHERE") else {
            return true;
        };
        let after: Vec<&str> = tokens.iter().skip(i + 1).map(String::as_str).collect();
        matches!(after.as_slice(), ["1", "1"] | ["TRUE"] | ["1"])
    };
    match tokens.first().map(String::as_str) {
        Some("DROP" | "TRUNCATE") => SqlKind::Destructive,
        Some("DELETE" | "UPDATE") => {
            if trivial_where() {
                SqlKind::Destructive
            } else {
                SqlKind::Write
            }
        }
        Some("ALTER") => {
            if has("DROP") {
                SqlKind::Destructive
            } else {
                SqlKind::Write
            }
        }
        Some("WITH") => {
            if (has("DELETE") || has("UPDATE")) && !has("WHERE") {
                SqlKind::Destructive
            } else if has("DELETE") || has("UPDATE") || has("INSERT") || has("MERGE") {
                SqlKind::Write
            } else {
                SqlKind::ReadOnly
            }
        }
        Some("EXPLAIN") => {
            if has("ANALYZE") || has("ANALYSE") {
                statement_kind(
                    &tokens
                        .iter()
                        .skip_while(|t| {
                            matches!(t.as_str(), "EXPLAIN" | "ANALYZE" | "ANALYSE" | "VERBOSE")
                        })
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            } else {
                SqlKind::ReadOnly
            }
        }
        Some("SELECT") => {
            if has("INTO") && !has("FROM")
                || has("PG_TERMINATE_BACKEND")
                || has("PG_CANCEL_BACKEND")
                || has("LO_UNLINK")
            {
                SqlKind::Write
            } else {
                SqlKind::ReadOnly
            }
        }
        Some(
            "SHOW" | "DESCRIBE" | "DESC" | "VALUES" | "TABLE" | "PRAGMA" | "SET" | "RESET" | "USE"
            | "BEGIN" | "COMMIT" | "ROLLBACK" | "START" | "END" | "ABORT" | "LIST" | "HELP"
            | "LISTEN" | "FETCH" | "DECLARE" | "CLOSE" | "DISCARD",
        ) => {
            if tokens.first().map(String::as_str) == Some("PRAGMA") && stmt.contains('=') {
                SqlKind::Write
            } else {
                SqlKind::ReadOnly
            }
        }
        Some(
            "INSERT" | "CREATE" | "GRANT" | "REVOKE" | "COPY" | "VACUUM" | "REINDEX" | "ANALYZE"
            | "ANALYSE" | "CALL" | "MERGE" | "REPLACE" | "LOAD" | "CLUSTER" | "COMMENT" | "LOCK"
            | "REFRESH" | "NOTIFY" | "UPSERT" | "RENAME" | "OPTIMIZE" | "ATTACH" | "DETACH"
            | "KILL" | "FLUSH" | "SYSTEM" | "SECURITY" | "REASSIGN" | "IMPORT" | "EXPORT"
            | "BACKUP" | "RESTORE" | "UNLOAD",
        ) => SqlKind::Write,
        _ => SqlKind::Unknown,
    }
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

    fn sql_is_destructive(sql: &str) -> bool {
        sql_kind(sql) == SqlKind::Destructive
    }

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
    fn sql_kinds() {
        for (sql, kind) in [
            ("SELECT 1; SHOW TABLES; EXPLAIN SELECT 2", SqlKind::ReadOnly),
            ("\\dt\n\\d users", SqlKind::ReadOnly),
            (".tables", SqlKind::ReadOnly),
            ("DELETE FROM users\nWHERE id = 1", SqlKind::Write),
            ("INSERT INTO t VALUES (1)", SqlKind::Write),
            ("UPDATE t SET a = 1 WHERE 1=1", SqlKind::Destructive),
            ("EXPLAIN ANALYZE DELETE FROM t", SqlKind::Destructive),
            ("DO $$ BEGIN PERFORM f(); END $$", SqlKind::Unknown),
            (
                "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$",
                SqlKind::Destructive,
            ),
            ("\\! rm -rf /", SqlKind::Unknown),
            ("FROBNICATE everything", SqlKind::Unknown),
            ("", SqlKind::ReadOnly),
        ] {
            assert_eq!(sql_kind(sql), kind, "{sql}");
        }
    }

    #[test]
    fn verbs() {
        assert!(is_destructive_verb("apps:destroy"));
        assert!(is_destructive_verb("delete-db-instance"));
        assert!(!is_destructive_verb("deleted"));
        assert!(is_read_verb("LIST"));
        assert!(generic_read_only(&["compute", "instances", "list"]));
        assert!(!generic_read_only(&["config", "set", "list"]));
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
