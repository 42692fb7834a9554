//! The oracle shared by the `facts` fuzz target (`fuzz/fuzz_targets/facts.rs`) and its smoke
//! test (`tests/fuzz_facts_smoke.rs`): one body, so the two cannot drift apart.
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
    let (policy, compiled) = shipped();
    let interp = answer(policy.evaluate_json(&facts));
    let module = answer(compiled.evaluate_json(&facts).map_err(Error::Run));
    if interp != module {
        panic!("the hosts disagree on {facts}\ninterpreter: {interp}\nmodule: {module}");
    }
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
