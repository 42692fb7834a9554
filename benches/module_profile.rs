//! Not a criterion bench: a driver for profiling what a compiled module spends its time on.
//!
//! It runs one bench's module in a bare wasmtime instance configured as `blastwall-runtime`
//! configures its engine, makes decisions in a loop for the given number of seconds, and
//! writes `/tmp/perf-PID.map` so that `perf report` names the module's functions, by the
//! names the compiler writes in the module's `name` section (`dfa`, `fn NAME`, `rule NAME`,
//! `eq TYPE`, `bw_evaluate`…):
//!
//! ```sh
//! cargo bench --no-run --bench module_profile
//! perf record -g -o module.perf target/release/deps/module_profile-* shipped 5
//! perf report -i module.perf --no-children --sort sym
//! ```
//!
//! Scenarios: `shipped` (the shipped rules on the typical change of `benches/shipped.rs`),
//! `decide` (`benches/peers/decide.bw` on the `decide` bench's facts; needs `--features
//! peers`) and `blast N` (the walk of `benches/blast.rs` on the typed topology of N nodes, without the
//! listing). The engine is set up as the runtime's default: epoch interruption on (its
//! deadline far away), fuel metering off. `fuel` as the last argument turns fuel metering on
//! and `noepoch` epoch interruption off, to measure what each costs.
//!
//! `load N` is the other kind of scenario: the shipped rules' precompiled artifact loaded from
//! bytes N times, each followed by its first decision (`load/first_decision`'s loop, with the
//! last few modules kept alive as the bench keeps them), printing the mean; then N more, each
//! step timed on its own (the load; the policy's first instance; its first decision; a second
//! decision on the same instance), printing each step's median. It is the driver for counting
//! the instructions of loading, which the machine's load does not disturb:
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*Engine::load_precompiled*' \
//!     target/release/deps/module_profile-* load 50
//! ```
//!
//! With `BLASTWALL_DUMP=NAME` in the environment it also writes the machine code of the
//! function so named (as in the perf map: `dfa`, `lower`, `rule NAME`…) to
//! `/tmp/blastwall-NAME.bin`, for `objdump -D -b binary -m i386:x86-64`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod typical;

#[cfg(feature = "peers")]
mod peers;

use std::io::Write as _;
use std::time::{Duration, Instant};

/// The module of `sources`.
fn build(sources: Vec<blastwall_check::SourceFile>) -> Vec<u8> {
    let policy = blastwall_check::check(sources).policy.unwrap();
    blastwall_compile::compile(&policy).unwrap()
}

fn shipped_wasm() -> Vec<u8> {
    build(
        blastwall::embedded_rules()
            .into_iter()
            .map(|s| blastwall_check::SourceFile {
                path: s.path,
                text: s.text,
            })
            .collect(),
    )
}

fn blast_wasm() -> Vec<u8> {
    let text = "rule reaches_anything {\n    when count(dependents(topology, change.services, depth: 5)) > 0\n    warn \"x\"\n}\n";
    build(vec![blastwall_check::SourceFile {
        path: "blast.bw".into(),
        text: text.into(),
    }])
}

/// A topology of `n` nodes, each depending on 10 others (a simpler generator than
/// `benches/blast.rs`'s, with the same shape).
fn blast_facts(n: usize) -> serde_json::Value {
    let name = |i: usize| {
        format!(
            "svc-{:016x}",
            (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        )
    };
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let nodes: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let deps: Vec<String> = (0..10)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    name((state % n as u64) as usize)
                })
                .filter(|d| *d != name(i))
                .collect();
            serde_json::json!({"name": name(i), "depends_on": deps})
        })
        .collect();
    serde_json::json!({"change": {"services": [name(0)]}, "topology": {"nodes": nodes}})
}

/// `n` loads of the shipped rules' artifact from bytes, each with its first decision; then the
/// phases of `n` more, each timed on its own: the load, the first decision (instantiation,
/// encoding, the module's first run) and a second decision on the same instance.
fn loads(n: u32) {
    let engine = blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig {
        artifact_key: Some(blastwall_runtime::ArtifactKey::generate().unwrap()),
        ..Default::default()
    })
    .unwrap();
    let artifact = engine.precompile(&shipped_wasm()).unwrap();
    let facts = typical::typical_change();
    let mut kept = std::collections::VecDeque::new();
    let start = Instant::now();
    for _ in 0..n {
        let module = engine.load_precompiled(&artifact).unwrap();
        let policy = module.policy();
        let decision = policy.evaluate_json(&facts).unwrap();
        kept.push_back((module, policy, decision));
        if kept.len() > 4 {
            kept.pop_front();
        }
    }
    println!(
        "load from bytes and first decision: {:?} on average over {n}",
        start.elapsed() / n.max(1)
    );
    let mut phases = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..n {
        let t0 = Instant::now();
        let module = engine.load_precompiled(&artifact).unwrap();
        let t1 = Instant::now();
        let policy = module.policy();
        let mut session = policy.session().unwrap();
        let t1b = Instant::now();
        let first = session.evaluate_json(&facts).unwrap();
        let t2 = Instant::now();
        let second = session.evaluate_json(&facts).unwrap();
        let t3 = Instant::now();
        drop(session);
        assert_eq!(first.outcome, second.outcome);
        for (p, d) in phases
            .iter_mut()
            .zip([t1 - t0, t1b - t1, t2 - t1b, t3 - t2])
        {
            p.push(d);
        }
        kept.push_back((module, policy, first));
        if kept.len() > 4 {
            kept.pop_front();
        }
    }
    for (name, mut p) in ["load", "instance", "first decision", "second decision"]
        .into_iter()
        .zip(phases)
    {
        p.sort();
        println!(
            "{name}: median {:?}",
            p.get(p.len() / 2).copied().unwrap_or_default()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        // `cargo bench` runs every bench target; this one only runs when asked.
        return;
    }
    if args[0] == "load" {
        let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
        loads(n);
        return;
    }
    let last = args.last().map(String::as_str);
    let (fuel, epoch) = (last == Some("fuel"), last != Some("noepoch"));
    let (wasm, facts, seconds) = match args[0].as_str() {
        "shipped" => (shipped_wasm(), typical::typical_change(), &args.get(1)),
        #[cfg(feature = "peers")]
        "decide" => (
            build(vec![blastwall_check::SourceFile {
                path: "benches/peers/decide.bw".into(),
                text: peers::DECIDE_BW.into(),
            }]),
            peers::bench_facts(),
            &args.get(1),
        ),
        "blast" => {
            let n = args[1].parse().unwrap();
            (blast_wasm(), blast_facts(n), &args.get(2))
        }
        other => panic!("unknown scenario `{other}`"),
    };
    let seconds: u64 = seconds.and_then(|s| s.parse().ok()).unwrap_or(5);

    // The encoding comes from the runtime, for the input address every instance shares.
    let runtime =
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig::default()).unwrap();
    let policy = runtime.load(&wasm).unwrap().policy();
    let encoded = policy.session().unwrap().encode(&facts).unwrap();

    let mut config = wasmtime::Config::new();
    config
        .consume_fuel(fuel)
        .epoch_interruption(epoch)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, &wasm).unwrap();
    let text = module.text().as_ptr() as usize;
    let mut map = String::new();
    for (k, f) in module.functions().enumerate() {
        let name = f.name.clone().unwrap_or_else(|| format!("function[{k}]"));
        map.push_str(&format!("{:x} {:x} {name}\n", text + f.offset, f.len));
        if std::env::var("BLASTWALL_DUMP").ok().as_deref() == Some(name.as_str()) {
            let code = &module.text()[f.offset..f.offset + f.len];
            std::fs::write(format!("/tmp/blastwall-{name}.bin"), code).unwrap();
        }
    }
    let path = format!("/tmp/perf-{}.map", std::process::id());
    std::fs::File::create(&path)
        .unwrap()
        .write_all(map.as_bytes())
        .unwrap();

    let mut store = wasmtime::Store::new(&engine, ());
    if epoch {
        // Far enough that nothing ticks it: what is measured is the checks' cost.
        store.set_epoch_deadline(u64::MAX / 2);
    }
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let input = instance
        .get_typed_func::<i32, i32>(&mut store, "bw_input")
        .unwrap();
    let evaluate = instance
        .get_typed_func::<i32, i32>(&mut store, "bw_evaluate")
        .unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let set_fuel = |store: &mut wasmtime::Store<()>| {
        if fuel {
            store.set_fuel(2_000_000_000).unwrap();
        }
    };
    set_fuel(&mut store);
    assert_eq!(input.call(&mut store, 0).unwrap() as u32, encoded.base());
    let bytes = encoded.bytes();
    let start = Instant::now();
    let mut decisions = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..100 {
            set_fuel(&mut store);
            let addr = input.call(&mut store, bytes.len() as i32).unwrap();
            memory.write(&mut store, addr as usize, bytes).unwrap();
            std::hint::black_box(evaluate.call(&mut store, addr).unwrap());
        }
        decisions += 100;
    }
    let per = start.elapsed().as_nanos() as f64 / decisions as f64;
    eprintln!(
        "{decisions} decisions, {per:.0} ns each (fuel {}, epoch {}), {} input bytes; functions in {path}",
        if fuel { "on" } else { "off" },
        if epoch { "on" } else { "off" },
        bytes.len()
    );
}
