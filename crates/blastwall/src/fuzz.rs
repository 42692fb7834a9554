//! The oracles shared by the fuzz targets and their smoke tests, one body each so that the
//! two cannot drift apart: `facts` (`fuzz/fuzz_targets/facts.rs`,
//! `tests/fuzz_facts_smoke.rs`), `metadata` (`fuzz/fuzz_targets/metadata.rs`,
//! `tests/fuzz_metadata_smoke.rs`), and the adapters and the artifact loader — `command`,
//! `codeowners`, `terraform`, `admission`, `artifact` (`fuzz/fuzz_targets/*.rs`,
//! `tests/fuzz_adapters_smoke.rs`).
#![expect(
    clippy::panic,
    reason = "a fuzz oracle reports a broken property, or a broken set-up, by panicking"
)]

use std::sync::OnceLock;

use crate::{Compiled, Engine, EngineConfig, Error, Policy};

/// The shipped rules, checked for the interpreter and compiled for the module once per process.
fn shipped() -> &'static (Policy, Compiled) {
    static SHIPPED: OnceLock<(Policy, Compiled)> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let policy = Policy::embedded().unwrap_or_else(|e| panic!("the shipped rules: {e}"));
        let wasm = policy
            .to_wasm()
            .unwrap_or_else(|e| panic!("compiling the shipped rules: {e}"));
        let engine =
            Engine::new(EngineConfig::default()).unwrap_or_else(|e| panic!("the engine: {e}"));
        let compiled =
            Policy::load(&engine, &wasm).unwrap_or_else(|e| panic!("loading the module: {e}"));
        (policy, compiled)
    })
}

/// What a host answered: the decision as JSON, or the text of the facts' refusal. Anything
/// else (a trap, a limit, a broken module) is reported as itself and fails the comparison.
fn answer(r: Result<crate::Decision, Error>) -> String {
    match r {
        Ok(d) => d.to_json_pretty(),
        Err(Error::Facts(e)) => format!("refused: {e}"),
        Err(Error::Run(blastwall_runtime::EvalError::Facts(e))) => format!("refused: {e}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Decide on arbitrary bytes read as JSON facts with the shipped rules, in the reference
/// interpreter and in the compiled module. Bytes that are not JSON are skipped; for the rest,
/// both must make the same decision or refuse the facts with the same message, and neither
/// may panic or fail otherwise. When the facts hold a topology the module accepts, the module
/// also decides with that topology kept in its instance (`with_topology`) and the rest of the
/// facts, and must decide the same again. A broken property panics: that is how a fuzzer
/// learns of it.
pub fn check_facts(data: &[u8]) {
    let Ok(facts) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (_, compiled) = shipped();
    let module = decide_alike(&facts);
    let serde_json::Value::Object(members) = &facts else {
        return;
    };
    let Some(topology) = members.get("topology") else {
        return;
    };
    // A topology refused here is refused with the facts too (compared above).
    let Ok(resident) = compiled.with_topology(topology) else {
        return;
    };
    let mut rest = members.clone();
    rest.remove("topology");
    let rest = serde_json::Value::Object(rest);
    let kept = answer(resident.evaluate_json(&rest).map_err(Error::Run));
    // The topology is valid, so facts refused with it are refused for the same first bad
    // member without it.
    if kept != module {
        panic!(
            "a kept topology decides otherwise on {facts}\nin the facts: {module}\nkept: {kept}"
        );
    }
}

/// Decide on `facts` with the shipped rules in both evaluators; they must answer alike. Returns
/// the module's answer.
fn decide_alike(facts: &serde_json::Value) -> String {
    let (policy, compiled) = shipped();
    let interp = answer(policy.evaluate_json(facts));
    let module = answer(compiled.evaluate_json(facts).map_err(Error::Run));
    if interp != module {
        panic!("the hosts disagree on {facts}\ninterpreter: {interp}\nmodule: {module}");
    }
    module
}

/// What an adapter made must be facts both evaluators take, and decide on alike: an adapter
/// never hands a front end facts the schema refuses.
fn adapter_facts_decide(what: &str, input: &str, facts: &serde_json::Value) {
    let answer = decide_alike(facts);
    if answer.starts_with("refused") || answer.starts_with("error") {
        panic!(
            "the {what} adapter made facts that cannot be decided on: {answer}\ninput: {input:?}\nfacts: {facts}"
        );
    }
}

/// The shell adapter on arbitrary text as an agent's command line: it never panics, classifies
/// the same text the same way twice, and makes an `action` both evaluators decide on alike.
pub fn check_command(data: &[u8]) {
    let Ok(command) = std::str::from_utf8(data) else {
        return;
    };
    let opts = blastwall_facts::ActionOptions::default();
    let action = blastwall_facts::action_from_command(command, "/repo", &opts);
    let again = blastwall_facts::action_from_command(command, "/repo", &opts);
    if action != again {
        panic!("the same command classified twice differs: {command:?}\n{action}\n{again}");
    }
    adapter_facts_decide("command", command, &serde_json::json!({ "action": action }));
}

/// Paths to ask a CODEOWNERS file about: fixed ones, and each line's first word as a path.
fn owner_queries(text: &str) -> Vec<String> {
    let mut paths: Vec<String> = [
        "README.md",
        "src/lib.rs",
        "docs/a/b.md",
        ".github/workflows/ci.yml",
        "a",
    ]
    .iter()
    .map(|p| (*p).to_string())
    .collect();
    for line in text.lines().take(64) {
        if let Some(word) = line.split_whitespace().next() {
            let path = word
                .trim_start_matches('/')
                .replace(['*', '?', '[', ']'], "x");
            if !path.is_empty() && !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
}

/// The CODEOWNERS parser on arbitrary text, in both dialects: it never panics; every owner it
/// names for a path is written in the file, on the line it names; and the owner facts it makes
/// are facts both evaluators decide on alike.
pub fn check_codeowners(data: &[u8]) {
    use blastwall_facts::{Dialect, owners_facts, parse_codeowners};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let paths = owner_queries(text);
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let lines: Vec<&str> = text.lines().collect();
    for dialect in [Dialect::GitHub, Dialect::GitLab] {
        let co = parse_codeowners(text, dialect);
        for path in &refs {
            let found = co.owners_of(path);
            for owner in &found.owners {
                if !text.contains(owner.as_str()) {
                    panic!("{dialect:?}: owner {owner:?} of {path:?} is not in the file {text:?}");
                }
            }
            if let Some(line) = found.line
                && (line == 0 || line > lines.len())
            {
                panic!(
                    "{dialect:?}: {path:?} matched line {line} of {}",
                    lines.len()
                );
            }
        }
        let (per_path, owners) = owners_facts(&co, &refs);
        let files: Vec<serde_json::Value> = per_path
            .iter()
            .map(|(path, owners)| serde_json::json!({ "path": path, "owners": owners }))
            .collect();
        let facts = serde_json::json!({ "change": { "files": files, "owners": owners } });
        adapter_facts_decide("CODEOWNERS", text, &facts);
    }
}

/// The Terraform plan adapter on arbitrary text: it refuses or makes a `plan` both evaluators
/// decide on alike, the same twice, and never panics.
pub fn check_terraform(data: &[u8]) {
    check_plan(data, "Terraform", blastwall_facts::plan_from_terraform);
}

/// The Kubernetes admission adapter on arbitrary text: as [`check_terraform`].
pub fn check_admission(data: &[u8]) {
    check_plan(data, "admission", blastwall_facts::plan_from_admission);
}

type PlanAdapter = fn(
    &str,
    &blastwall_facts::PlanOptions,
) -> Result<serde_json::Value, blastwall_facts::PlanError>;

fn check_plan(data: &[u8], what: &str, adapter: PlanAdapter) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = blastwall_facts::PlanOptions::default();
    let Ok(plan) = adapter(text, &opts) else {
        return;
    };
    match adapter(text, &opts) {
        Ok(again) if again == plan => {}
        other => panic!("the {what} adapter answered otherwise the second time: {other:?}"),
    }
    adapter_facts_decide(what, text, &serde_json::json!({ "plan": plan }));
}

/// An engine with a fixed artifact key, and the precompiled artifact of the shipped rules it
/// sealed.
fn sealed() -> &'static (Engine, Vec<u8>) {
    static SEALED: OnceLock<(Engine, Vec<u8>)> = OnceLock::new();
    SEALED.get_or_init(|| {
        let engine = Engine::new(EngineConfig {
            artifact_key: Some(crate::ArtifactKey::from_bytes(
                *b"blastwall fuzzing artifact key..",
            )),
            ..EngineConfig::default()
        })
        .unwrap_or_else(|e| panic!("the engine: {e}"));
        let wasm = Policy::embedded()
            .and_then(|p| p.to_wasm())
            .unwrap_or_else(|e| panic!("compiling the shipped rules: {e}"));
        let artifact = engine
            .precompile(&wasm)
            .unwrap_or_else(|e| panic!("precompiling: {e}"));
        (engine, artifact)
    })
}

/// The artifact of the shipped rules, changed as `data` says: its first byte picks the edit
/// (overwrite, insert, cut at, flip bits), the next four where (modulo the length; counted
/// from the end when the high bit is set), the rest what. The edit is `data` itself when it is
/// none of these, so whole arbitrary files are tried too.
pub fn edit_artifact(data: &[u8]) -> Vec<u8> {
    let base = &sealed().1;
    let (Some(&op), Some(&[a, b, c, d])) = (data.first(), data.get(1..5)) else {
        return data.to_vec();
    };
    let raw = u32::from_le_bytes([a, b, c, d]);
    let offset = (raw & 0x7fff_ffff) as usize % (base.len() + 1);
    let at = if raw & 0x8000_0000 != 0 {
        base.len() - offset
    } else {
        offset
    };
    let rest = data.get(5..).unwrap_or_default();
    let mut out = base.clone();
    match op % 5 {
        0 => {
            for (x, b) in out.iter_mut().skip(at).zip(rest) {
                *x = *b;
            }
        }
        1 => {
            out.splice(at..at, rest.iter().copied());
        }
        2 => out.truncate(at),
        3 => {
            for (x, b) in out.iter_mut().skip(at).zip(rest) {
                *x ^= b;
            }
        }
        _ => return data.to_vec(),
    }
    out
}

/// The precompiled-artifact loader on an edited artifact: anything but the artifact as
/// sealed is refused, with an error and before wasmtime runs any of it; the artifact as
/// sealed loads.
pub fn check_artifact(data: &[u8]) {
    let (engine, base) = sealed();
    let edited = edit_artifact(data);
    match engine.load_precompiled(&edited) {
        Ok(_) if edited != *base => panic!("an edited artifact loaded ({} bytes)", edited.len()),
        Err(e) if edited == *base => panic!("the sealed artifact was refused: {e}"),
        _ => {}
    }
}

/// A small policy that reads a glob parameter, an enum, optional fields, approvals, a plan and
/// the topology through a graph builtin: the metadata of its module describes all of these.
const TAMPERED: &str = r#"
param paths: [str] = ["src/**", "*.rs"]
param depth: int = 2
rule touched {
    level hard
    when some f in change.files: f.path matches config.paths and f.status == "modified"
    require review from "@org/a" count 2
    message "{f.path} changed ({f.previous_path ?? \"new\"})"
}
rule wide {
    level soft
    let hit = dependents(topology, change.services, depth: config.depth)
    when count([n for n in hit where n.tier <= 1]) > 0
    require review count 1
    message "reaches {count(hit)}"
}
rule destructive {
    level advisory
    when some r in plan.resources: r.action in ["delete", "replace"]
    deny "{r.address}"
}
"#;

/// The module of `TAMPERED` cut before its metadata section (the module's last, docs/abi.md)
/// and that section's JSON, made once per process; and an engine whose limits bound any
/// decision a tampered module makes.
struct Tampered {
    head: Vec<u8>,
    metadata: Vec<u8>,
    engine: Engine,
}

fn tampered() -> &'static Tampered {
    static BASE: OnceLock<Tampered> = OnceLock::new();
    BASE.get_or_init(|| {
        let wasm = Policy::compile(vec![crate::Source::new("tampered.bw", TAMPERED)])
            .and_then(|p| p.to_wasm())
            .unwrap_or_else(|e| panic!("the tampered policy: {e}"));
        let (section, json) =
            metadata_section(&wasm).unwrap_or_else(|| panic!("no metadata section last"));
        let engine = Engine::new(EngineConfig {
            limits: crate::EvalLimits {
                fuel: Some(20_000_000),
                memory_bytes: 64 << 20,
                ..crate::EvalLimits::default()
            },
            cache_dir: None,
            artifact_key: None,
        })
        .unwrap_or_else(|e| panic!("the engine: {e}"));
        Tampered {
            head: wasm.get(..section).unwrap_or_default().to_vec(),
            metadata: wasm.get(json..).unwrap_or_default().to_vec(),
            engine,
        }
    })
}

/// Where the section holding the metadata starts, and where its JSON does, when it is the
/// module's last section.
fn metadata_section(wasm: &[u8]) -> Option<(usize, usize)> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let b = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 8;
    let mut last = None;
    while at < wasm.len() {
        let start = at;
        let id = *wasm.get(at)?;
        at += 1;
        let size = leb(wasm, &mut at)?;
        let body = at;
        last = None;
        if id == 0 {
            let name_len = leb(wasm, &mut at)?;
            let name = wasm.get(at..at + name_len)?;
            last = (name == b"blastwall").then_some((start, at + name_len));
        }
        at = body + size;
    }
    last
}

/// The module of `TAMPERED` with `metadata` in place of its metadata JSON.
pub fn with_metadata(metadata: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    let mut out = tampered().head.clone();
    let name = b"blastwall";
    out.push(0);
    leb(1 + name.len() + metadata.len(), &mut out);
    leb(name.len(), &mut out);
    out.extend_from_slice(name);
    out.extend_from_slice(metadata);
    out
}

/// The metadata JSON of the module of `TAMPERED`, as the compiler wrote it: the seed that
/// tampering starts from.
pub fn untampered_metadata() -> Vec<u8> {
    tampered().metadata.clone()
}

/// Load the module of `TAMPERED` with `metadata` as its metadata JSON and, when it loads,
/// decide on a few facts that reach every rule. Any refusal or error is an answer; a panic,
/// or an abort on an allocation the metadata made huge, is what a fuzzer reports.
pub fn check_metadata(metadata: &[u8]) {
    let Ok(policy) = Policy::load(&tampered().engine, &with_metadata(metadata)) else {
        return;
    };
    let facts = [
        serde_json::json!({
            "change": {
                "files": [
                    {"path": "src/a.rs", "status": "modified", "previous_path": "src/b.rs"},
                    {"path": "docs/x.md", "status": "added"},
                ],
                "approvals": [{"by": "bob", "teams": ["@org/a"]}],
                "services": ["db"],
            },
            "topology": {"nodes": [
                {"name": "db", "tier": 2},
                {"name": "api", "tier": 1, "depends_on": ["db"]},
            ]},
            "plan": {"resources": [{"address": "aws_db_instance.main", "action": "delete"}]},
        }),
        serde_json::json!({"config": {"paths": ["docs/"], "depth": 1}, "change": {}}),
        serde_json::json!({}),
    ];
    for f in &facts {
        let _ = policy.evaluate_json(f);
    }
}
