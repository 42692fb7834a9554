//! The runtime against hand-written modules that implement docs/abi.md: loading and its
//! refusals, decisions, limits and recovery, precompiled artifacts, the cache, threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use blastwall_abi::decision::{Decision, Effect, Level, Outcome};
use blastwall_abi::layout::{
    ABI_VERSION, Layout, Metadata, ParamMeta, ParamType, RESULT_MAGIC, Reads, RuleMeta,
};
use blastwall_runtime::{
    ArtifactKey, Engine, EngineConfig, EvalError, EvalLimits, LoadError, Module, Policy,
};
use serde_json::json;
use wasm_encoder::Section as _;

/// The message the deny module returns, at address 16 of its data.
const MESSAGE: &str = "infra/prod.tf changes production";

fn metadata(abi: u32, params: Vec<ParamMeta>) -> String {
    let meta = Metadata {
        abi,
        compiler: "test".into(),
        digest: "00".into(),
        graph: false,
        rules: vec![RuleMeta {
            name: "no-prod".into(),
            level: Level::Hard,
            effect: Effect::Deny,
            doc: vec!["Production needs a ticket.".into()],
            source: "rules/no-prod.bw:1:1".into(),
            reads: vec!["change".into()],
            message: MESSAGE.into(),
        }],
        params,
        layout: Layout::new(&Reads::new()),
    };
    serde_json::to_string(&meta).unwrap()
}

fn strict_param() -> ParamMeta {
    ParamMeta {
        name: "strict".into(),
        ty: ParamType::Bool,
        default: json!(false),
        doc: Vec::new(),
        glob: false,
    }
}

/// A module with a bump allocator implementing `bw_reserve` and `bw_input`, and `evaluate`
/// as the body of `bw_evaluate` (parameter `$input`, local `$r`, helpers `$allow` and `$deny`
/// that build a result and return its address).
fn wat(evaluate: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (global $reserved (mut i32) (i32.const 1024))
  (global $top (mut i32) (i32.const 1024))
  (global $last (mut i32) (i32.const 0))
  (data (i32.const 16) "{MESSAGE}")
  (func $alloc (param $size i32) (result i32)
    (local $addr i32) (local $end i32)
    (local.set $addr (i32.and (i32.add (global.get $top) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $addr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.sub (i32.add (i32.shr_u (local.get $end) (i32.const 16))
                                             (i32.const 1))
                                    (memory.size)))
              (i32.const -1))
          (then unreachable))))
    (global.set $top (local.get $end))
    (local.get $addr))
  (func $result (param $count i32) (param $findings i32) (result i32)
    (local $r i32)
    (local.set $r (call $alloc (i32.const 20)))
    (i32.store (local.get $r) (i32.const {RESULT_MAGIC}))
    (i32.store offset=4 (local.get $r) (i32.const {ABI_VERSION}))
    (i32.store offset=8 (local.get $r) (i32.const 0))
    (i32.store offset=12 (local.get $r) (local.get $count))
    (i32.store offset=16 (local.get $r) (local.get $findings))
    (local.get $r))
  (func $allow (result i32)
    (call $result (i32.const 0) (i32.const 0)))
  (func $deny (result i32)
    (local $r i32) (local $f i32)
    (local.set $f (call $alloc (i32.const 48)))
    (i64.store (local.get $f) (i64.const 0))
    (i64.store offset=8 (local.get $f)
      (i64.or (i64.const 16) (i64.shl (i64.const {len}) (i64.const 32))))
    (i64.store offset=16 (local.get $f) (i64.const -1))
    (i64.store offset=24 (local.get $f) (i64.const -1))
    (i64.store offset=32 (local.get $f) (i64.const 0))
    (i64.store offset=40 (local.get $f) (i64.const 0))
    (call $result (i32.const 1) (local.get $f)))
  (func (export "bw_abi_version") (result i32) (i32.const {ABI_VERSION}))
  (func (export "bw_reserve") (param $size i32) (result i32)
    (local $a i32)
    (global.set $top (global.get $reserved))
    (local.set $a (call $alloc (local.get $size)))
    (global.set $reserved (global.get $top))
    (local.get $a))
  (func (export "bw_input") (param $size i32) (result i32)
    (global.set $top (global.get $reserved))
    (call $alloc (local.get $size)))
  (func (export "bw_evaluate") (param $input i32) (result i32)
    {evaluate})
)"#,
        len = MESSAGE.len()
    )
}

/// The header word at offset 0: the `change` record's address, 0 when not given.
const HAS_CHANGE: &str = "(i32.ne (i32.load (local.get $input)) (i32.const 0))";

fn with_metadata(mut wasm: Vec<u8>, json: &str) -> Vec<u8> {
    wasm_encoder::CustomSection {
        name: "blastwall".into(),
        data: json.as_bytes().into(),
    }
    .append_to(&mut wasm);
    wasm
}

fn module_bytes(evaluate: &str) -> Vec<u8> {
    with_metadata(
        wat::parse_str(wat(evaluate)).unwrap(),
        &metadata(ABI_VERSION, Vec::new()),
    )
}

fn allow_module() -> Vec<u8> {
    module_bytes("(call $allow)")
}

fn deny_module() -> Vec<u8> {
    module_bytes("(call $deny)")
}

/// Loops forever when a `change` is given, else allows.
fn looping_module() -> Vec<u8> {
    module_bytes(&format!(
        "(if {HAS_CHANGE} (then (loop $l (br $l)))) (call $allow)"
    ))
}

/// Allocates without end when a `change` is given, else allows.
fn hungry_module() -> Vec<u8> {
    module_bytes(&format!(
        "(if {HAS_CHANGE} (then (loop $l (drop (call $alloc (i32.const 65536))) (br $l)))) \
         (call $allow)"
    ))
}

/// The key the test engines seal their artifacts with.
fn key() -> ArtifactKey {
    ArtifactKey::from_bytes(*b"blastwall runtime tests, 32 b..!")
}

fn engine() -> Engine {
    Engine::new(EngineConfig {
        artifact_key: Some(key()),
        ..EngineConfig::default()
    })
    .unwrap()
}

fn engine_with(limits: EvalLimits) -> Engine {
    Engine::new(EngineConfig {
        limits,
        cache_dir: None,
        artifact_key: Some(key()),
    })
    .unwrap()
}

fn load_err(engine: &Engine, wasm: &[u8]) -> String {
    match engine.load(wasm) {
        Ok(_) => panic!("the module loaded"),
        Err(e) => e.to_string(),
    }
}

/// `d` is the decision of an evaluation stopped at a limit, whose message says `why`: deny,
/// one error finding, nothing else kept.
#[track_caller]
fn assert_limit_reached(d: &Decision, why: &str) {
    assert_eq!(d.outcome, Outcome::Deny, "{d:?}");
    assert!(d.is_limit_reached(), "{d:?}");
    assert_eq!((d.findings.len(), d.reviews.len()), (1, 0), "{d:?}");
    assert!(
        d.findings[0].message.contains(why),
        "{}",
        d.findings[0].message
    );
}

#[test]
fn no_findings_allow() {
    let policy = engine().load(&allow_module()).unwrap().policy();
    let d = policy.evaluate_json(&json!({})).unwrap();
    assert_eq!(d.outcome, Outcome::Allow);
    assert!(d.findings.is_empty());
}

#[test]
fn a_deny_finding_denies_with_its_message() {
    let policy = engine().load(&deny_module()).unwrap().policy();
    let d = policy.evaluate_json(&json!({"change": {}})).unwrap();
    assert_eq!(d.outcome, Outcome::Deny);
    assert_eq!(d.findings.len(), 1);
    assert_eq!(d.findings[0].rule, "no-prod");
    assert_eq!(d.findings[0].message, MESSAGE);
    assert_eq!(d.findings[0].source, "rules/no-prod.bw:1:1");
    // The same instance decides again.
    assert_eq!(policy.evaluate_json(&json!({})).unwrap(), d);
}

#[test]
fn running_past_the_time_limit_denies_naming_it_and_the_next_decision_works() {
    let limits = EvalLimits {
        time: std::time::Duration::from_millis(50),
        ..EvalLimits::default()
    };
    let policy = engine_with(limits)
        .load(&looping_module())
        .unwrap()
        .policy();
    let started = std::time::Instant::now();
    let d = policy.evaluate_json(&json!({"change": {}})).unwrap();
    assert_limit_reached(&d, "ran longer than its limit of 50ms");
    // Stopped within a few ticks of the limit, on a busy machine generously so.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        policy.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
}

/// [`looping_module`] under a fuel limit.
fn fuelled_looping_policy() -> Policy {
    let limits = EvalLimits {
        fuel: Some(1_000_000),
        ..EvalLimits::default()
    };
    engine_with(limits)
        .load(&looping_module())
        .unwrap()
        .policy()
}

#[test]
fn running_out_of_fuel_denies_naming_it_and_the_next_decision_works() {
    let policy = fuelled_looping_policy();
    assert_eq!(
        policy.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
    let d = policy.evaluate_json(&json!({"change": {}})).unwrap();
    assert_limit_reached(&d, "ran out of fuel (limit 1000000)");
    assert_eq!(
        policy.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );

    let mut session = policy.session().unwrap();
    let d = session.evaluate_json(&json!({"change": {}})).unwrap();
    assert_limit_reached(&d, "ran out of fuel");
    assert_eq!(
        session.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
}

#[test]
fn deciding_into_a_decision_that_fails_leaves_it_denying() {
    let policy = fuelled_looping_policy();
    let mut session = policy.session().unwrap();
    let other = engine().load(&allow_module()).unwrap().policy();
    let foreign = other.session().unwrap().encode(&json!({})).unwrap();
    // What the caller's decision holds before each failure: an allow with a finding and a
    // review in it.
    let held: Decision = serde_json::from_value(json!({
        "outcome": "allow",
        "findings": [{"rule": "r", "level": "advisory", "effect": "warn", "message": "m",
                      "source": "p.bw:1:1"}],
        "reviews": [{"from": "any", "needed": 1, "have": 1, "satisfied": true}],
    }))
    .unwrap();
    // Out of fuel: the limit's decision, and nothing of what the decision held.
    let mut d = held.clone();
    session
        .evaluate_json_into(&json!({"change": {}}), &mut d)
        .unwrap();
    assert_limit_reached(&d, "ran out of fuel");
    // Facts refused, facts encoded for another policy: each an error, and each leaves the
    // decision denying, with nothing in it.
    for case in 1..3 {
        let mut d = held.clone();
        let result = match case {
            1 => session.evaluate_json_into(&json!(["not", "an", "object"]), &mut d),
            _ => session.evaluate_encoded_into(&foreign, &mut d),
        };
        assert!(result.is_err(), "case {case} decided");
        assert_eq!(
            (d.outcome, d.findings.len(), d.reviews.len()),
            (Outcome::Deny, 0, 0),
            "case {case}"
        );
    }
    // The next decision works and replaces the denial.
    let mut d = held.clone();
    session.evaluate_json_into(&json!({}), &mut d).unwrap();
    assert_eq!(d, session.evaluate_json(&json!({})).unwrap());
    assert_eq!((d.outcome, d.findings.len()), (Outcome::Allow, 0));
}

#[test]
fn deciding_into_one_decision_replaces_what_it_held() {
    // Denies when a `change` is given, else allows.
    let module = module_bytes(&format!(
        "(if (result i32) {HAS_CHANGE} (then (call $deny)) (else (call $allow)))"
    ));
    let policy = engine().load(&module).unwrap().policy();
    let mut session = policy.session().unwrap();
    let denied = session.encode(&json!({"change": {}})).unwrap();
    let expected = session.evaluate_encoded(&denied).unwrap();
    assert_eq!(expected.findings.len(), 1);
    // A decision holding more findings and reviews than this one, with every optional field
    // set: what is not this decision's is gone.
    let mut d = expected.clone();
    let mut extra = expected.findings[0].clone();
    extra.rule = "another rule, with a longer name than the first".into();
    extra.about = Some("a.rs".into());
    extra.from = Some("@org/x".into());
    extra.count = Some(2);
    extra.error = true;
    extra.omitted = 4;
    d.findings[0] = extra.clone();
    d.findings.push(extra);
    d.reviews.push(blastwall_abi::decision::Review {
        from: "@org/x".into(),
        needed: 2,
        have: 0,
        satisfied: false,
    });
    session.evaluate_encoded_into(&denied, &mut d).unwrap();
    assert_eq!(d, expected);
    let mut d = expected.clone();
    session.evaluate_json_into(&json!({}), &mut d).unwrap();
    assert_eq!(d, session.evaluate_json(&json!({})).unwrap());
    assert_eq!((d.outcome, d.findings.len()), (Outcome::Allow, 0));
}

#[test]
fn exceeding_the_memory_cap_denies_naming_it_and_the_next_decision_works() {
    let limits = EvalLimits {
        memory_bytes: 4 << 20,
        ..EvalLimits::default()
    };
    let policy = engine_with(limits).load(&hungry_module()).unwrap().policy();
    let d = policy.evaluate_json(&json!({"change": {}})).unwrap();
    assert_limit_reached(&d, &format!("more than {} bytes of memory", 4 << 20));
    assert_eq!(
        policy.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
}

#[test]
fn other_traps_are_errors() {
    let policy = engine()
        .load(&module_bytes(&format!(
            "(if {HAS_CHANGE} (then unreachable)) (call $allow)"
        )))
        .unwrap()
        .policy();
    let err = policy.evaluate_json(&json!({"change": {}})).unwrap_err();
    assert!(matches!(err, EvalError::Trap(_)), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(policy.evaluate_json(&json!({})).is_ok());
}

#[test]
fn bad_modules_are_refused_with_reasons() {
    let engine = engine();
    let good = allow_module();

    let err = load_err(&engine, &good[..good.len() / 2]);
    assert!(err.starts_with("not a valid policy module"), "{err}");
    let err = load_err(&engine, b"\x13\x37 random bytes, not wasm at all");
    assert!(err.starts_with("not a valid policy module"), "{err}");
    let err = load_err(&engine, b"");
    assert!(err.starts_with("not a valid policy module"), "{err}");

    let import = wat("(call $allow)").replacen(
        "(module",
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))"#,
        1,
    );
    let err = load_err(
        &engine,
        &with_metadata(
            wat::parse_str(import).unwrap(),
            &metadata(ABI_VERSION, Vec::new()),
        ),
    );
    assert!(
        err.contains("imports `wasi_snapshot_preview1::fd_write`"),
        "{err}"
    );

    let missing = wat("(call $allow)").replace(r#"(export "bw_input")"#, "");
    let err = load_err(
        &engine,
        &with_metadata(
            wat::parse_str(missing).unwrap(),
            &metadata(ABI_VERSION, Vec::new()),
        ),
    );
    assert_eq!(err, "the module does not export `bw_input`");

    let wrong = wat("(call $allow)").replace(
        &format!(r#"(func (export "bw_abi_version") (result i32) (i32.const {ABI_VERSION}))"#),
        &format!(r#"(func (export "bw_abi_version") (result i64) (i64.const {ABI_VERSION}))"#),
    );
    let err = load_err(
        &engine,
        &with_metadata(
            wat::parse_str(wrong).unwrap(),
            &metadata(ABI_VERSION, Vec::new()),
        ),
    );
    assert!(
        err.contains("`bw_abi_version` as a function () -> (i64)")
            && err.contains("a function () -> (i32)"),
        "{err}"
    );

    let bare = wat::parse_str(wat("(call $allow)")).unwrap();
    let err = load_err(&engine, &bare);
    assert!(err.contains("no `blastwall` metadata section"), "{err}");

    let err = load_err(&engine, &with_metadata(bare.clone(), "{not json"));
    assert!(err.contains("not valid metadata"), "{err}");
    let err = load_err(
        &engine,
        &with_metadata(bare.clone(), &format!(r#"{{"abi": {ABI_VERSION}}}"#)),
    );
    assert!(err.contains("not valid metadata"), "{err}");

    let err = load_err(
        &engine,
        &with_metadata(bare.clone(), &metadata(1, Vec::new())),
    );
    assert_eq!(
        err,
        format!(
            "the module speaks blastwall ABI version 1, but this runtime speaks version {ABI_VERSION}"
        )
    );

    let twice = with_metadata(
        with_metadata(bare, &metadata(ABI_VERSION, Vec::new())),
        "{}",
    );
    assert!(load_err(&engine, &twice).contains("more than one"));
}

#[test]
fn features_policy_modules_do_not_use_are_refused() {
    let simd = wat("(call $allow)").replace(
        "(func $allow",
        "(func $simd (result v128) (v128.const i64x2 0 0))\n  (func $allow",
    );
    let wasm = with_metadata(
        wat::parse_str(simd).unwrap(),
        &metadata(ABI_VERSION, Vec::new()),
    );
    let err = load_err(&engine(), &wasm);
    assert!(err.contains("SIMD"), "{err}");
}

fn decisions(policy: &Policy) -> Vec<Outcome> {
    [json!({}), json!({"change": {}})]
        .iter()
        .map(|f| policy.evaluate_json(f).unwrap().outcome)
        .collect()
}

#[test]
fn precompiled_modules_decide_the_same() {
    let engine = engine();
    let wasm = deny_module();
    let artifact = engine.precompile(&wasm).unwrap();
    let loaded = engine.load_precompiled(&artifact).unwrap();
    let compiled = engine.load(&wasm).unwrap();
    assert_eq!(loaded.metadata(), compiled.metadata());
    assert_eq!(decisions(&loaded.policy()), decisions(&compiled.policy()));
    assert_eq!(
        loaded.policy().evaluate_json(&json!({})).unwrap(),
        compiled.policy().evaluate_json(&json!({})).unwrap()
    );
}

#[test]
fn a_module_loaded_from_bytes_keeps_its_own_copy() {
    let engine = engine();
    let mut artifact = engine.precompile(&deny_module()).unwrap();
    let loaded = engine.load_precompiled(&artifact).unwrap();
    // Overwrite and free the caller's bytes: the module's code and data are its own.
    artifact.fill(0);
    drop(artifact);
    let first = loaded.policy();
    assert_eq!(
        decisions(&first),
        [Outcome::Deny, Outcome::Deny],
        "the module decides as before"
    );
    // Instances made later (another policy) map the same data.
    let second = loaded.policy();
    drop(loaded);
    assert_eq!(decisions(&second), decisions(&first));
}

#[test]
fn broken_artifacts_are_refused() {
    let engine = engine();
    let artifact = engine.precompile(&allow_module()).unwrap();
    let err = |bytes: &[u8]| engine.load_precompiled(bytes).unwrap_err();

    let mut flipped = artifact.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    assert!(matches!(err(&flipped), LoadError::Unsealed));

    let cut = err(&artifact[..artifact.len() - 10]);
    assert!(matches!(cut, LoadError::Truncated(_)), "{cut:?}");
    assert!(cut.to_string().contains("truncated"), "{cut}");
    assert!(matches!(err(&artifact[..5]), LoadError::Truncated(_)));

    let wasm = err(&allow_module());
    assert!(matches!(wasm, LoadError::NotAnArtifact), "{wasm:?}");
    assert!(matches!(err(b""), LoadError::NotAnArtifact));

    // The trailer (format version, ABI version, the engine fingerprint…) is under the seal.
    let trailer = artifact.len() - TRAILER;
    for at in [trailer, trailer + 8] {
        let mut changed = artifact.clone();
        changed[at] ^= 1;
        let e = err(&changed);
        assert!(matches!(e, LoadError::Unsealed), "{e:?}");
        assert!(e.to_string().contains("not sealed"), "{e}");
    }

    // An artifact this user sealed, of another engine configuration.
    let fuel = Engine::new(EngineConfig {
        limits: EvalLimits {
            fuel: Some(1_000_000),
            ..EvalLimits::default()
        },
        artifact_key: Some(key()),
        ..EngineConfig::default()
    })
    .unwrap();
    let e = fuel.load_precompiled(&artifact).unwrap_err();
    assert!(matches!(e, LoadError::ArtifactEngine), "{e:?}");
    assert!(e.to_string().contains("precompile it again"), "{e}");

    // An artifact of format 2 put its header first and the compiled code last.
    let mut old = b"\0bwmod\r\n\x02\0\0\0".to_vec();
    old.extend_from_slice(&artifact[..trailer]);
    let e = err(&old);
    assert!(e.to_string().contains("format version 2"), "{e}");

    // wasmtime's own serialization, without our trailer.
    let plain = err(&artifact[..trailer]);
    assert!(matches!(plain, LoadError::Truncated(_)), "{plain:?}");
}

/// Bytes of the artifact trailer (`artifact.rs`), and where its checksum is.
const TRAILER: usize = 132;
const CRC_AT: usize = 88;

/// Recomputes the artifact's CRC-32 after its bytes were changed, as a forger would.
fn recompute_crc(artifact: &mut [u8]) {
    let at = artifact.len() - TRAILER + CRC_AT;
    let crc = crc32fast::hash(&artifact[..at]);
    artifact[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The offset and size of the section `name` in the ELF64 file at the start of `bytes`.
fn elf_section(bytes: &[u8], name: &str) -> (usize, usize) {
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "a 64-bit ELF file");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let names = u64_at(header(shstrndx) + 0x18);
    (0..shnum)
        .map(header)
        .find(|&h| {
            let at = names + u32_at(h);
            bytes[at..].starts_with(name.as_bytes()) && bytes[at + name.len()] == 0
        })
        .map(|h| (u64_at(h + 0x18), u64_at(h + 0x20)))
        .unwrap_or_else(|| panic!("no section `{name}`"))
}

/// A small deterministic generator of positions and bits.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Artifacts changed as an attacker or an accident would change them, each with its CRC-32
/// recomputed so that the checksum alone would pass it: the code overwritten with `int3`
/// (what a forged artifact carrying shellcode looks like), and random bits flipped in
/// wasmtime's `.wasmtime.info` section (which made wasmtime panic when it was trusted) and
/// anywhere else.
fn tampered_artifacts(artifact: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let (text, text_len) = elf_section(artifact, ".text");
    let mut code = artifact.to_vec();
    code[text..text + text_len].fill(0xcc);
    recompute_crc(&mut code);
    out.push(("the code overwritten".to_string(), code));

    let (info, info_len) = elf_section(artifact, ".wasmtime.info");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..150 {
        let mut flipped = artifact.to_vec();
        let (start, len) = if i % 3 == 2 {
            (0, artifact.len() - TRAILER)
        } else {
            (info, info_len)
        };
        for _ in 0..=i % 4 {
            let at = start + (rng.next() as usize) % len;
            flipped[at] ^= 1 << (rng.next() % 8);
        }
        recompute_crc(&mut flipped);
        let place = if i % 3 == 2 {
            "anywhere"
        } else {
            ".wasmtime.info"
        };
        out.push((format!("flip {i} in {place}"), flipped));
    }
    out
}

#[test]
fn tampered_artifacts_are_refused_before_wasmtime_sees_them() {
    let engine = engine();
    let artifact = engine.precompile(&deny_module()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in tampered_artifacts(&artifact) {
        if bytes == artifact {
            continue;
        }
        // The seal is checked before anything else: a panic or a crash inside wasmtime
        // would end this test, and another error would say the seal was not checked first.
        let e = engine.load_precompiled(&bytes).unwrap_err();
        assert!(matches!(e, LoadError::Unsealed), "{what}: {e:?}");
        let path = dir.path().join("tampered.bwc");
        std::fs::write(&path, &bytes).unwrap();
        // SAFETY: the file is this test's own, and nothing writes it while a module lives.
        #[allow(unsafe_code)]
        let e = unsafe { engine.load_precompiled_file(&path) }.unwrap_err();
        assert!(matches!(e, LoadError::Unsealed), "{what}: {e:?}");
    }
    // The untouched artifact loads and decides.
    assert_eq!(
        decisions(&engine.load_precompiled(&artifact).unwrap().policy()),
        [Outcome::Deny, Outcome::Deny]
    );
}

#[test]
fn artifacts_load_only_with_the_key_that_sealed_them() {
    let artifact = engine().precompile(&deny_module()).unwrap();
    let other = Engine::new(EngineConfig {
        artifact_key: Some(ArtifactKey::from_bytes([1; 32])),
        ..EngineConfig::default()
    })
    .unwrap();
    let e = other.load_precompiled(&artifact).unwrap_err();
    assert!(matches!(e, LoadError::Unsealed), "{e:?}");

    // Without a key, an engine neither precompiles nor loads precompiled code.
    let keyless = Engine::new(EngineConfig::default()).unwrap();
    for e in [
        keyless.precompile(&deny_module()).unwrap_err(),
        keyless.load_precompiled(&artifact).unwrap_err(),
        load_file(&keyless, &artifact).unwrap_err(),
    ] {
        assert!(matches!(e, LoadError::NoArtifactKey), "{e:?}");
        assert!(e.to_string().contains("artifact key"), "{e}");
    }
    // It still compiles wasm.
    assert_eq!(
        decisions(&keyless.load(&deny_module()).unwrap().policy()),
        [Outcome::Deny, Outcome::Deny]
    );
}

/// The artifact in a file, loaded memory-mapped.
fn load_file(engine: &Engine, bytes: &[u8]) -> Result<Module, LoadError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.bwc");
    std::fs::write(&path, bytes).unwrap();
    // SAFETY: the file is this test's own, and nothing writes it while the module lives.
    #[allow(unsafe_code)]
    let loaded = unsafe { engine.load_precompiled_file(&path) };
    loaded
}

#[test]
fn artifacts_load_from_files_as_from_bytes() {
    let engine = engine();
    let wasm = deny_module();
    let artifact = engine.precompile(&wasm).unwrap();
    let from_file = load_file(&engine, &artifact).unwrap();
    let from_bytes = engine.load_precompiled(&artifact).unwrap();
    assert_eq!(from_file.metadata(), from_bytes.metadata());
    assert_eq!(
        decisions(&from_file.policy()),
        decisions(&from_bytes.policy())
    );
    assert_eq!(
        from_file.policy().evaluate_json(&json!({})).unwrap(),
        from_bytes.policy().evaluate_json(&json!({})).unwrap()
    );
    // The module outlives the directory its file was in: the mapping keeps the contents.
    let policy = from_file.policy();
    drop(from_file);
    assert_eq!(
        policy.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Deny
    );
}

#[test]
fn broken_artifact_files_are_refused() {
    let engine = engine();
    let artifact = engine.precompile(&allow_module()).unwrap();
    let err = |bytes: &[u8]| load_file(&engine, bytes).unwrap_err();

    let mut flipped = artifact.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    assert!(matches!(err(&flipped), LoadError::Unsealed));
    let mut flipped = artifact.clone();
    flipped[0] ^= 0x40;
    assert!(matches!(err(&flipped), LoadError::Unsealed));

    let cut = err(&artifact[..artifact.len() - 10]);
    assert!(matches!(cut, LoadError::Truncated(_)), "{cut:?}");
    assert!(matches!(err(&artifact[..5]), LoadError::Truncated(_)));
    assert!(matches!(err(&allow_module()), LoadError::NotAnArtifact));
    assert!(matches!(err(b""), LoadError::NotAnArtifact));

    let trailer = artifact.len() - TRAILER;
    let mut other_engine = artifact.clone();
    other_engine[trailer + 8] ^= 1;
    assert!(matches!(err(&other_engine), LoadError::Unsealed));

    let missing = tempfile::tempdir().unwrap().path().join("gone.bwc");
    // SAFETY: there is no file to change.
    #[allow(unsafe_code)]
    let e = unsafe { engine.load_precompiled_file(&missing) }.unwrap_err();
    assert!(matches!(e, LoadError::Read(_)), "{e:?}");
    assert!(e.to_string().contains("cannot read"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    // SAFETY: a directory is refused before anything is mapped.
    #[allow(unsafe_code)]
    let e = unsafe { engine.load_precompiled_file(dir.path()) }.unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

/// An engine caching in `dir`, with the key kept there.
fn cache_engine(dir: &std::path::Path) -> Engine {
    Engine::new(EngineConfig {
        limits: EvalLimits::default(),
        cache_dir: Some(dir.to_path_buf()),
        artifact_key: Some(ArtifactKey::load_or_create(dir).unwrap()),
    })
    .unwrap()
}

/// The compiled modules in a cache directory.
fn cached_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bwc"))
        .collect()
}

#[test]
fn the_cache_is_reused_and_a_bad_file_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = deny_module();

    let first = cache_engine(&cache).load(&wasm).unwrap();
    assert!(!first.loaded_from_cache());
    let second = cache_engine(&cache).load(&wasm).unwrap();
    assert!(second.loaded_from_cache());
    assert_eq!(decisions(&first.policy()), decisions(&second.policy()));

    // Another module is another file.
    assert!(
        !cache_engine(&cache)
            .load(&allow_module())
            .unwrap()
            .loaded_from_cache()
    );

    let files = cached_files(&cache);
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(file, bytes).unwrap();
    }
    let third = cache_engine(&cache).load(&wasm).unwrap();
    assert!(!third.loaded_from_cache());
    assert_eq!(decisions(&third.policy()), decisions(&first.policy()));
    assert!(
        cache_engine(&cache)
            .load(&wasm)
            .unwrap()
            .loaded_from_cache()
    );
}

#[test]
fn planted_cache_files_are_refused_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = deny_module();
    cache_engine(&cache).load(&wasm).unwrap();
    let keyed = |engine: &Engine| {
        engine
            .load_keyed(b"the deny module", || Ok::<_, LoadError>(deny_module()))
            .unwrap()
    };
    assert!(!keyed(&cache_engine(&cache)).loaded_from_cache());
    assert!(keyed(&cache_engine(&cache)).loaded_from_cache());
    let files = cached_files(&cache);
    assert_eq!(files.len(), 2, "{files:?}");
    let genuine: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    // What someone who can write the directory could plant: a file with its code replaced and
    // its checksum recomputed, the file sealed with another key, and one written without a key.
    let other_key = Engine::new(EngineConfig {
        artifact_key: Some(ArtifactKey::from_bytes([1; 32])),
        cache_dir: Some(dir.path().join("other")),
        ..EngineConfig::default()
    })
    .unwrap();
    other_key.load(&wasm).unwrap();
    let keyless = Engine::new(EngineConfig {
        cache_dir: Some(dir.path().join("keyless")),
        ..EngineConfig::default()
    })
    .unwrap();
    keyless.load(&wasm).unwrap();
    let foreign = |sub: &str| std::fs::read(&cached_files(&dir.path().join(sub))[0]).unwrap();
    let mut forged = genuine[0].clone();
    let (text, text_len) = elf_section(&forged, ".text");
    forged[text..text + text_len].fill(0xcc);
    recompute_crc(&mut forged);
    for (what, planted) in [
        ("forged", forged),
        ("sealed with another key", foreign("other")),
        ("written without a key", foreign("keyless")),
    ] {
        for file in &files {
            let temp = cache.join("planted");
            std::fs::write(&temp, &planted).unwrap();
            std::fs::rename(&temp, file).unwrap();
        }
        let by_wasm = cache_engine(&cache).load(&wasm).unwrap();
        assert!(!by_wasm.loaded_from_cache(), "{what}");
        assert_eq!(decisions(&by_wasm.policy()), [Outcome::Deny, Outcome::Deny]);
        let by_key = keyed(&cache_engine(&cache));
        assert!(!by_key.loaded_from_cache(), "{what}");
        assert_eq!(decisions(&by_key.policy()), [Outcome::Deny, Outcome::Deny]);
        for file in &files {
            assert!(
                genuine.contains(&std::fs::read(file).unwrap()),
                "{what}: rewritten"
            );
        }
        assert!(
            cache_engine(&cache)
                .load(&wasm)
                .unwrap()
                .loaded_from_cache()
        );
        assert!(keyed(&cache_engine(&cache)).loaded_from_cache());
    }
}

/// Modules whose `bw_evaluate` does not write a result where it says: it returns 0 or 8 (zeros,
/// which before results had a magic read as a result with no findings: an allow), the address
/// of memory it reserved but never wrote, a result of another ABI version, or the result of
/// its previous decision again.
#[test]
fn a_result_the_module_did_not_write_is_an_error_never_an_allow() {
    let engine = engine();
    for (what, evaluate) in [
        ("returns 0", "(i32.const 0)".to_string()),
        ("returns 8", "(i32.const 8)".to_string()),
        ("writes nothing", "(call $alloc (i32.const 20))".to_string()),
        (
            "writes another version",
            format!(
                "(local.set $r (call $allow))
                 (i32.store offset=4 (local.get $r) (i32.const {}))
                 (local.get $r)",
                ABI_VERSION - 1
            ),
        ),
    ] {
        let evaluate = format!("(local $r i32) {evaluate}");
        let policy = engine.load(&module_bytes(&evaluate)).unwrap().policy();
        for facts in [json!({}), json!({"change": {}})] {
            let e = policy.evaluate_json(&facts).unwrap_err();
            assert!(matches!(e, EvalError::Decode(_)), "{what}: {e:?}");
            let text = e.to_string();
            assert!(
                text.contains("wrote no result") || text.contains("is of ABI version"),
                "{what}: {text}"
            );
        }
    }

    // The first decision is written; the second returns the first's address again.
    let stale = "(if (i32.eqz (global.get $last)) (then (global.set $last (call $allow))))
                 (global.get $last)";
    let policy = engine.load(&module_bytes(stale)).unwrap().policy();
    let mut session = policy.session().unwrap();
    assert_eq!(
        session.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
    let e = session.evaluate_json(&json!({})).unwrap_err();
    assert!(e.to_string().contains("wrote no result"), "{e}");
}

/// `tests/hostile/`: modules and an artifact that must be refused, shared with the CLI's tests
/// and the JavaScript host's. `BLESS=1` writes them.
fn hostile_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

#[test]
fn the_hostile_fixtures_are_refused() {
    let bless = std::env::var_os("BLESS").is_some();
    let dir = hostile_dir();
    let engine = engine();
    // Modules whose `bw_evaluate` writes no result: it returns 0, 8, or memory it reserved.
    for (name, evaluate) in [
        ("result-0.wasm", "(i32.const 0)"),
        ("result-8.wasm", "(i32.const 8)"),
        ("result-unwritten.wasm", "(call $alloc (i32.const 20))"),
    ] {
        let bytes = module_bytes(evaluate);
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "`{name}` is not what this test makes: run it with BLESS=1"
        );
        let policy = engine.load(&bytes).unwrap().policy();
        let e = policy.evaluate_json(&json!({})).unwrap_err();
        assert!(e.to_string().contains("wrote no result"), "{name}: {e}");
    }
    // A precompiled artifact with its code overwritten by `int3` and its CRC-32 recomputed,
    // named like a module. Made on one machine, it is refused on every one: a module it is
    // not, and its seal is no key's.
    let path = dir.join("forged-artifact.wasm");
    if bless {
        let mut forged = engine.precompile(&deny_module()).unwrap();
        let (text, text_len) = elf_section(&forged, ".text");
        forged[text..text + text_len].fill(0xcc);
        recompute_crc(&mut forged);
        std::fs::write(&path, forged).unwrap();
    }
    let forged = std::fs::read(&path).unwrap();
    let e = engine.load(&forged).unwrap_err();
    assert!(matches!(e, LoadError::Invalid(_)), "{e:?}");
    let e = engine.load_precompiled(&forged).unwrap_err();
    assert!(matches!(e, LoadError::Unsealed), "{e:?}");
}

#[test]
fn sessions_decide_on_encoded_facts() {
    let policy = engine().load(&deny_module()).unwrap().policy();
    let mut session = policy.session().unwrap();
    let facts = session.encode(&json!({"change": {}})).unwrap();
    assert_eq!(facts.base(), session.base());
    for _ in 0..3 {
        let d = session.evaluate_encoded(&facts).unwrap();
        assert_eq!(d.outcome, Outcome::Deny);
    }
    // A second session of the same policy has the same input address.
    let mut other = policy.session().unwrap();
    assert_eq!(
        other.evaluate_encoded(&facts).unwrap().outcome,
        Outcome::Deny
    );
    assert!(session.encode(&json!(["not", "an", "object"])).is_err());
}

/// Denies when the config record's first slot (the `strict` parameter) is true.
fn strict_module() -> Vec<u8> {
    let evaluate = "(local $c i32)
    (local.set $c (i32.load offset=16 (local.get $input)))
    (if (i32.eqz (local.get $c)) (then (return (call $allow))))
    (if (i64.ne (i64.load (local.get $c)) (i64.const 0)) (then (return (call $deny))))
    (call $allow)";
    with_metadata(
        wat::parse_str(wat(evaluate)).unwrap(),
        &metadata(ABI_VERSION, vec![strict_param()]),
    )
}

#[test]
fn parameters_are_encoded_once_into_reserved_memory() {
    let module = engine().load(&strict_module()).unwrap();
    let defaults = module.policy();
    let strict = defaults
        .with_config(json!({"strict": true}).as_object().unwrap())
        .unwrap();
    let lax = defaults
        .with_config(json!({"strict": false}).as_object().unwrap())
        .unwrap();
    assert_eq!(
        defaults.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
    for _ in 0..3 {
        assert_eq!(
            strict.evaluate_json(&json!({})).unwrap().outcome,
            Outcome::Deny
        );
        assert_eq!(
            lax.evaluate_json(&json!({})).unwrap().outcome,
            Outcome::Allow
        );
    }
    let mut one = strict.session().unwrap();
    let mut two = strict.session().unwrap();
    assert_eq!(
        one.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Deny
    );
    assert_eq!(
        two.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Deny
    );

    assert!(
        defaults
            .with_config(json!({"strict": "yes"}).as_object().unwrap())
            .is_err()
    );

    // Reserving memory moves the input, so facts encoded for one policy's sessions do not fit
    // the other's.
    let facts = defaults.session().unwrap().encode(&json!({})).unwrap();
    let err = one.evaluate_encoded(&facts).unwrap_err();
    assert!(matches!(err, EvalError::WrongBase { .. }), "{err:?}");
    // Parameters of the same size sit at the same address, so the input address matches, but
    // the facts were encoded for the other policy's parameters: refused, not decided.
    let facts = lax.session().unwrap().encode(&json!({})).unwrap();
    let err = one.evaluate_encoded(&facts).unwrap_err();
    assert!(matches!(err, EvalError::WrongPolicy), "{err:?}");
    // A clone of the policy shares its instances' memory: its sessions' facts fit.
    let facts = strict
        .clone()
        .session()
        .unwrap()
        .encode(&json!({}))
        .unwrap();
    assert_eq!(one.evaluate_encoded(&facts).unwrap().outcome, Outcome::Deny);
}

#[test]
fn precompiled_modules_read_their_parameters_when_a_config_needs_them() {
    let engine = engine();
    let wasm = strict_module();
    let loaded = engine
        .load_precompiled(&engine.precompile(&wasm).unwrap())
        .unwrap();
    // Loading reads only what deciding needs; the metadata is whole all the same.
    assert_eq!(loaded.metadata(), engine.load(&wasm).unwrap().metadata());
    assert_eq!(loaded.metadata().params[0].name, "strict");
    assert_eq!(loaded.metadata().rules[0].message, MESSAGE);
    assert_eq!(loaded.metadata().rules[0].reads, ["change"]);

    let defaults = loaded.policy();
    assert_eq!(
        defaults.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Allow
    );
    let config = |c: serde_json::Value| defaults.with_config(c.as_object().unwrap());
    let strict = config(json!({"strict": true})).unwrap();
    assert_eq!(
        strict.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Deny
    );
    assert_eq!(
        config(json!({"strict": false}))
            .unwrap()
            .evaluate_json(&json!({}))
            .unwrap()
            .outcome,
        Outcome::Allow
    );
    let e = config(json!({"strict": "yes"})).unwrap_err().to_string();
    assert!(e.contains("strict"), "{e}");
    let e = config(json!({"strictly": true})).unwrap_err().to_string();
    assert!(e.contains("the policy declares strict"), "{e}");
    // A config in the facts reads them too.
    assert_eq!(
        defaults
            .evaluate_json(&json!({"config": {"strict": true}}))
            .unwrap()
            .outcome,
        Outcome::Deny
    );
}

#[test]
fn a_module_from_a_file_reads_its_metadata_from_the_file_it_was_loaded_from() {
    // Loading a file leaves the metadata JSON in it, read when the docs or a config need it:
    // from the file as it was loaded, also after another artifact is renamed over it.
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.bwc");
    std::fs::write(&path, engine.precompile(&strict_module()).unwrap()).unwrap();
    // SAFETY: the file is replaced only by renaming, never written in place.
    #[allow(unsafe_code)]
    let module = unsafe { engine.load_precompiled_file(&path) }.unwrap();
    let other = dir.path().join("other.bwc");
    std::fs::write(&other, engine.precompile(&deny_module()).unwrap()).unwrap();
    std::fs::rename(&other, &path).unwrap();

    assert_eq!(
        module.metadata(),
        engine.load(&strict_module()).unwrap().metadata()
    );
    let strict = module
        .policy()
        .with_config(json!({"strict": true}).as_object().unwrap())
        .unwrap();
    assert_eq!(
        strict.evaluate_json(&json!({})).unwrap().outcome,
        Outcome::Deny
    );
    // The file now there has no parameters.
    // SAFETY: as above.
    #[allow(unsafe_code)]
    let replaced = unsafe { engine.load_precompiled_file(&path) }.unwrap();
    assert!(replaced.metadata().params.is_empty());
}

#[test]
fn a_module_whose_defaults_do_not_fit_is_not_precompiled() {
    let engine = engine();
    let mut param = strict_param();
    param.default = json!("no");
    let wasm = with_metadata(
        wat::parse_str(wat("(call $allow)")).unwrap(),
        &metadata(ABI_VERSION, vec![param]),
    );
    // Loaded from wasm, every decision reports the default.
    let e = engine
        .load(&wasm)
        .unwrap()
        .policy()
        .evaluate_json(&json!({}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("strict"), "{e}");
    // So does encoding a config for it, given or empty.
    let module = engine.load(&wasm).unwrap();
    for config in [json!({}), json!({"strict": true})] {
        let e = module
            .policy()
            .with_config(config.as_object().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("strict"), "{e}");
    }
    // Precompiled, its parameters would be read only for a config, and its decisions without
    // one would not: refused.
    let e = engine.precompile(&wasm).unwrap_err().to_string();
    assert!(e.contains("cannot be precompiled"), "{e}");
}

#[test]
fn one_policy_decides_on_four_threads() {
    let policy = Arc::new(engine().load(&looping_module()).unwrap().policy());
    let deny = engine().load(&deny_module()).unwrap().policy();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let policy = Arc::clone(&policy);
            let deny = deny.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let d = policy.evaluate_json(&json!({})).unwrap();
                    assert_eq!(d.outcome, Outcome::Allow, "thread {t}, decision {i}");
                    let d = deny.evaluate_json(&json!({"change": {}})).unwrap();
                    assert_eq!(d.findings[0].message, MESSAGE);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn modules_know_their_metadata() {
    let module: Module = engine().load(&strict_module()).unwrap();
    assert_eq!(module.metadata().rules[0].name, "no-prod");
    assert_eq!(module.metadata().params[0].name, "strict");
    assert_eq!(
        module.engine().limits(),
        EvalLimits {
            time: std::time::Duration::from_secs(1),
            fuel: None,
            memory_bytes: 256 << 20
        }
    );
}

/// Timings for the report, meaningful only in release builds:
/// `cargo test --release -p blastwall-runtime --test runtime timings -- --ignored --nocapture`.
#[test]
#[ignore]
fn timings() {
    use std::time::{Duration, Instant};
    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }
    let engine = engine();
    let wasm = deny_module();
    let artifact = engine.precompile(&wasm).unwrap();

    let runs = 200;
    let mut cold = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let module = engine.load_precompiled(&artifact).unwrap();
        let d = module.policy().evaluate_json(&json!({})).unwrap();
        cold.push(t.elapsed());
        assert_eq!(d.outcome, Outcome::Deny);
    }
    let mut load_only = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let module = engine.load_precompiled(&artifact).unwrap();
        load_only.push(t.elapsed());
        drop(module);
    }
    let mut compile = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        engine.load(&wasm).unwrap();
        compile.push(t.elapsed());
    }

    let policy = engine.load(&wasm).unwrap().policy();
    let n = 100_000u32;
    let mut session = policy.session().unwrap();
    let facts = session.encode(&json!({})).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        session.evaluate_encoded(&facts).unwrap();
    }
    let encoded = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        session.evaluate_json(&json!({})).unwrap();
    }
    let json_session = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        policy.evaluate_json(&json!({})).unwrap();
    }
    let json_pool = t.elapsed() / n;
    let allow = engine.load(&allow_module()).unwrap().policy();
    let mut s = allow.session().unwrap();
    let facts = s.encode(&json!({})).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        s.evaluate_encoded(&facts).unwrap();
    }
    let trivial = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..1000 {
        drop(allow.module().policy().session().unwrap());
    }
    let instance = t.elapsed() / 1000;

    println!("artifact: {} bytes", artifact.len());
    println!(
        "load_precompiled + first decision (median of {runs}): {:?}",
        median(cold)
    );
    println!(
        "load_precompiled alone (median of {runs}): {:?}",
        median(load_only)
    );
    println!("load (compile) wasm (median of 20): {:?}", median(compile));
    println!("fresh instance (+ bw_abi_version, bw_input(0)): {instance:?}");
    println!("decision, zero findings, session, encoded: {trivial:?}");
    println!("decision, one finding, session, encoded: {encoded:?}");
    println!("decision, one finding, session, json: {json_session:?}");
    println!("decision, one finding, pooled policy, json: {json_pool:?}");
}
