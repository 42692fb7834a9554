//! The adapter and artifact fuzz targets (`fuzz/fuzz_targets/{command,codeowners,terraform,
//! admission,artifact}.rs`) run under `cargo test` on a few thousand inputs each, made by a
//! small deterministic mutator from real inputs (the fixtures of `blastwall-facts`, with their
//! provenance) and from agent commands: the same oracle bodies (`blastwall::fuzz`), so what a
//! fuzzer checks is checked on every test run too.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod mutate;

use std::path::PathBuf;

use serde_json::{Value, json};

/// A small deterministic generator (a 64-bit LCG; its high bits are used).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `seed` changed at random, `n` times over: bytes cut, repeated, replaced by one of `alphabet`,
/// two seeds spliced. Cuts land on character boundaries, so the results stay text.
fn text_mutants(seeds: &[String], alphabet: &[&str], n: usize, rng: &mut Rng) -> Vec<String> {
    let boundary = |s: &str, at: usize| {
        let mut at = at.min(s.len());
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(3) {
            let a = boundary(&s, rng.below(s.len() + 1));
            let b = boundary(&s, a + rng.below(16));
            match rng.below(5) {
                0 => s.replace_range(a..b, ""),
                1 => {
                    let piece = s[a..b].to_string();
                    s.insert_str(b, &piece);
                }
                2 | 3 => s.insert_str(a, alphabet[rng.below(alphabet.len())]),
                _ => {
                    let other = &seeds[rng.below(seeds.len())];
                    let c = boundary(other, rng.below(other.len() + 1));
                    s.truncate(a);
                    s.push_str(&other[c..]);
                }
            }
        }
        out.push(s);
    }
    out
}

fn fixtures(kind: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../blastwall-facts/tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(!texts.is_empty(), "no fixtures in {}", dir.display());
    texts
}

const COMMANDS: &[&str] = &[
    "kubectl --context prod delete namespace payments",
    "kubectl -n payments-prod delete pvc data-0 --wait=false",
    "terraform -chdir=envs/production destroy -auto-approve",
    "aws s3 rm s3://prod-backups --recursive",
    "aws rds delete-db-instance --db-instance-identifier prod-main --skip-final-snapshot",
    "psql \"$PROD_DATABASE_URL\" -c 'DROP TABLE orders;'",
    "git push --force origin main",
    "rm -rf / --no-preserve-root",
    "cd deploy/prod && helm uninstall api",
    "bash -c \"kubectl delete deploy api -n prod\"",
    "sudo -E env KUBECONFIG=~/.kube/prod kubectl delete ns shop",
    "echo 'kubectl delete ns prod' # a comment",
    "npm test -- --watch=false",
    "cargo build --release && ./target/release/app",
    "ls -la | grep foo > out.txt 2>&1",
    "for i in 1 2 3; do echo $i; done",
    "cat <<EOF > x\nkubectl delete ns prod\nEOF",
    "gcloud sql instances delete prod-db --quiet",
    "docker system prune -af",
    "python3 -c 'import shutil; shutil.rmtree(\"/srv/prod\")'",
];

const SHELL_BITS: &[&str] = &[
    " ",
    ";",
    "|",
    "&&",
    "||",
    "&",
    "$(",
    ")",
    "`",
    "'",
    "\"",
    "\\",
    "\n",
    "#",
    "<<EOF\n",
    ">",
    "2>&1",
    "*",
    "~",
    "$VAR",
    "${X:-prod}",
    "prod",
    "--context=prod",
    "-n ",
    "delete ",
    "sudo ",
    "env A=1 ",
    "bash -c ",
    "(",
    "{",
    "}",
    "é",
    "\u{0}",
    "\t",
];

#[test]
fn the_shell_adapter_holds_on_mutated_commands() {
    let seeds: Vec<String> = COMMANDS.iter().map(|c| (*c).to_string()).collect();
    let mut rng = Rng(1);
    let mut all = text_mutants(&seeds, SHELL_BITS, 2_000, &mut rng);
    all.extend(seeds);
    for command in &all {
        blastwall::fuzz::check_command(command.as_bytes());
    }
}

const CODEOWNERS_BITS: &[&str] = &[
    "\n",
    " ",
    "@",
    "@org/team",
    "user@example.com",
    "*",
    "**",
    "/",
    "!",
    "#",
    "\\#",
    "[Section]",
    "^[Optional][2]",
    "[",
    "]",
    "\\ ",
    "docs/",
    "/src/**/*.rs",
    "\r\n",
    "é",
    "\t",
    "[Section][0]",
];

#[test]
fn the_codeowners_parser_holds_on_mutated_files() {
    let seeds = fixtures("codeowners");
    let mut rng = Rng(2);
    let mut all = text_mutants(&seeds, CODEOWNERS_BITS, 800, &mut rng);
    all.extend(seeds);
    for text in &all {
        blastwall::fuzz::check_codeowners(text.as_bytes());
    }
}

/// JSON fixtures and their structural mutants (each node replaced by values of every kind, each
/// member removed, an unknown one added, each list emptied and its first element repeated),
/// then text mutants of those, so that broken JSON is tried too.
/// Structural mutants tried per fixture.
const PER_FIXTURE: usize = 150;

fn json_inputs(kind: &str, extra: &[Value], seed: u64) -> Vec<String> {
    let seeds = fixtures(kind);
    let mut replacements = mutate::every_kind();
    replacements.extend(extra.iter().cloned());
    let mut all = Vec::new();
    for text in &seeds {
        let value: Value = serde_json::from_str(text).unwrap();
        // A large plan has tens of thousands of mutants: an even sample of them, so that every
        // part of the document is mutated, in a test that stays short.
        for m in mutate::sample(&value, &replacements, PER_FIXTURE) {
            all.push(serde_json::to_string(&m).unwrap());
        }
    }
    let mut rng = Rng(seed);
    all.extend(text_mutants(
        &seeds,
        &[
            "{",
            "}",
            "[",
            "]",
            ",",
            "\"",
            "null",
            "-1",
            "1e999",
            "\"delete\"",
            "\\u0000",
        ],
        200,
        &mut rng,
    ));
    all.extend(seeds);
    all
}

#[test]
fn the_terraform_adapter_holds_on_mutated_plans() {
    let extra = [
        json!(["delete", "create"]),
        json!(["create", "delete"]),
        json!("prod-main"),
        json!({"env": "production"}),
    ];
    let all = json_inputs("terraform", &extra, 3);
    assert!(all.len() > 1_000, "{} inputs", all.len());
    for text in &all {
        blastwall::fuzz::check_terraform(text.as_bytes());
    }
}

#[test]
fn the_admission_adapter_holds_on_mutated_requests() {
    let extra = [
        json!("DELETE"),
        json!("payments-prod"),
        json!({"kind": "Namespace", "group": "", "version": "v1"}),
        json!("system:serviceaccount:ci:deployer"),
    ];
    let all = json_inputs("admission", &extra, 4);
    assert!(all.len() > 600, "{} inputs", all.len());
    for text in &all {
        blastwall::fuzz::check_admission(text.as_bytes());
    }
}

#[test]
fn every_edit_of_a_sealed_artifact_is_refused() {
    let mut rng = Rng(5);
    let mut edits: Vec<Vec<u8>> = Vec::new();
    // The artifact as sealed (an overwrite with nothing), which must load.
    edits.push(vec![0, 0, 0, 0, 0]);
    for _ in 0..1_500 {
        let op = rng.below(5) as u8;
        let at = (rng.next() as u32).to_le_bytes();
        let len = 1 + rng.below(12);
        let mut data = vec![op];
        data.extend_from_slice(&at);
        data.extend((0..len).map(|_| (rng.next() as u8) | 1));
        edits.push(data);
    }
    // Near the end, where the seal and the trailer are.
    for back in 1..=64u32 {
        let mut data = vec![3];
        data.extend_from_slice(&(0x8000_0000 | back).to_le_bytes());
        data.push(0x80);
        edits.push(data);
    }
    for data in &edits {
        blastwall::fuzz::check_artifact(data);
    }
    // Whole files that are not artifacts.
    for data in [&b""[..], b"\0asm\x01\0\0\0", b"not an artifact at all"] {
        blastwall::fuzz::check_artifact(data);
    }
}
