//! The `metadata` fuzz target (`fuzz/fuzz_targets/metadata.rs`) run under `cargo test` on
//! mutants of a compiled module's metadata JSON (`mutate`): every node replaced by values of
//! every JSON kind (and large, negative and odd numbers, and names the layout uses), every
//! object member removed and an unknown one added, every list emptied and its first element
//! repeated. Each tampered module must load or be refused, and
//! decide or fail, without a panic or an abort.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod mutate;

use serde_json::{Value, json};

/// Values of every kind, and the slots, defaults, types and shapes a layout gives meaning to.
fn replacements() -> Vec<Value> {
    let mut values = mutate::every_kind();
    values.extend([
        json!(7),
        json!(4_000_000_000u64),
        json!("required"),
        json!("absent"),
        json!("record"),
        json!("str"),
        json!("[str]"),
        json!("File"),
        json!(["x"]),
        json!({"list": "str"}),
        json!({"record": "Nope"}),
        json!({"optional": {"record": "File"}}),
    ]);
    values
}

#[test]
fn tampered_metadata_loads_or_is_refused_without_a_panic() {
    let seed: Value = serde_json::from_slice(&blastwall::fuzz::untampered_metadata()).unwrap();
    // The seed itself loads and decides.
    let engine = blastwall::Engine::new(blastwall::EngineConfig::default()).unwrap();
    let wasm = blastwall::fuzz::with_metadata(seed.to_string().as_bytes());
    blastwall::Policy::load(&engine, &wasm).unwrap();
    // The layout, the parameters and the flags: the rules' docs and texts would multiply
    // mutants without reaching other code. Each mutant that loads is compiled, so a
    // deterministic sample of one in 25 keeps the test short; the fuzz target tries them all.
    let mut all = Vec::new();
    for part in ["layout", "params", "graph", "abi"] {
        for m in mutate::mutants(&seed[part], &replacements()) {
            let mut tampered = seed.clone();
            tampered[part] = m;
            all.push(tampered);
        }
    }
    assert!(all.len() > 10_000, "only {} mutants", all.len());
    for tampered in all.iter().step_by(25) {
        blastwall::fuzz::check_metadata(tampered.to_string().as_bytes());
    }
    blastwall::fuzz::check_metadata(b"not json");
    blastwall::fuzz::check_metadata(b"");
}

#[test]
fn a_slot_past_its_record_is_refused_before_any_fact_is_encoded() {
    // A slot of 4 billion once made the host allocate 32 GB for each record of the type, and
    // abort.
    let seed: Value = serde_json::from_slice(&blastwall::fuzz::untampered_metadata()).unwrap();
    let engine = blastwall::Engine::new(blastwall::EngineConfig::default()).unwrap();
    let records = seed["layout"]["records"].as_object().unwrap();
    let mut n = 0;
    for (record, fields) in records {
        for (i, field) in fields.as_array().unwrap().iter().enumerate() {
            if field["slot"].is_null() {
                continue;
            }
            let mut tampered = seed.clone();
            tampered["layout"]["records"][record][i]["slot"] = json!(4_000_000_000u64);
            let wasm = blastwall::fuzz::with_metadata(tampered.to_string().as_bytes());
            let err = blastwall::Policy::load(&engine, &wasm)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("`{record}` has")) && err.contains("not 4000000000"),
                "{record}.{}: {err}",
                field["name"]
            );
            n += 1;
        }
    }
    assert!(n >= 5, "only {n} encoded fields");
}
