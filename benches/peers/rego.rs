//! `decide.rego` in regorus's fastest mode: compiled once to an RVM program, evaluated by one
//! reused VM with the input set per decision, as a server holding the policy would.

use std::sync::Arc;

use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;

use super::{DECIDE_REGO, Summary};

pub const ENTRY_POINT: &str = "data.blastwall.decide.decision";

/// A VM with the compiled policy loaded.
pub struct Rego {
    vm: RegoVM,
}

impl Rego {
    pub fn new() -> Rego {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("decide.rego".into(), DECIDE_REGO.into())
            .unwrap();
        let compiled = engine.compile_with_entrypoint(&ENTRY_POINT.into()).unwrap();
        let program: Arc<Program> =
            regorus::languages::rego::compiler::Compiler::compile_from_policy(
                &compiled,
                &[ENTRY_POINT],
            )
            .unwrap();
        let mut vm = RegoVM::new();
        vm.load_program(program);
        Rego { vm }
    }

    /// One decision: set the input, run the program, return `decision`.
    pub fn decide(&mut self, input: &regorus::Value) -> regorus::Value {
        // Values share their contents, so the clone is a reference count, not a copy.
        self.vm.set_input(input.clone());
        self.vm.execute().unwrap()
    }
}

/// The facts as regorus's input value.
pub fn input(facts: &serde_json::Value) -> regorus::Value {
    regorus::Value::from(facts.clone())
}

pub fn summarize(decision: &regorus::Value) -> Summary {
    let json = serde_json::to_value(decision).unwrap();
    let findings = json["findings"].as_array().unwrap();
    Summary::new(
        json["outcome"].as_str().unwrap(),
        findings.iter().map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["about"].as_str().unwrap(),
                f["from"].as_str().unwrap(),
            )
        }),
    )
}
