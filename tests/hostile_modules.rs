//! Tampered modules and hostile results: every one is a clear error or a decision, never a
//! panic or a hang (fuel bounds every run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use blastwall_runtime::{Engine, EngineConfig, EvalLimits};
use proptest::prelude::*;

const POLICY: &str = r#"
param paths: [str] = ["src/**", "*.rs"]
rule touched {
    level hard
    when some f in change.files: f.path matches config.paths and f.added > 10
    require review from "@org/a" count 2
    message "{f.path} adds {f.added} lines"
}
"#;

fn wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
            path: "p.bw".into(),
            text: POLICY.into(),
        }]);
        blastwall_compile::compile(&checked.policy.unwrap()).unwrap()
    })
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(EngineConfig {
            limits: EvalLimits {
                fuel: Some(5_000_000),
                memory_bytes: 16 << 20,
                ..EvalLimits::default()
            },
            cache_dir: None,
            artifact_key: None,
        })
        .unwrap()
    })
}

fn facts() -> serde_json::Value {
    serde_json::json!({"change": {"files": [
        {"path": "src/a.rs", "added": 50},
        {"path": "docs/x.md", "added": 500},
    ]}})
}

#[test]
fn the_untampered_module_decides() {
    let d = engine()
        .load(wasm())
        .unwrap()
        .policy()
        .evaluate_json(&facts())
        .unwrap();
    assert_eq!(d.findings.len(), 1);
    assert_eq!(d.findings[0].message, "src/a.rs adds 50 lines");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_load_or_fail_cleanly(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6)) {
        let mut bytes = wasm().to_vec();
        for (i, x) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= x;
        }
        if let Ok(module) = engine().load(&bytes) {
            // Whatever a tampered module does, the host returns a decision or an error.
            let _ = module.policy().evaluate_json(&facts());
        }
    }

    #[test]
    fn truncated_modules_are_errors(cut in 0usize..1_000_000) {
        let bytes = wasm();
        let cut = cut % bytes.len();
        prop_assert!(engine().load(&bytes[..cut]).is_err());
    }

    #[test]
    fn random_results_decode_to_errors_or_findings(
        memory in proptest::collection::vec(any::<u8>(), 0..512),
        at in any::<u32>(),
    ) {
        let module = engine().load(wasm()).unwrap();
        let _ = blastwall_abi::decode::decode_findings(&memory, at % 600, module.metadata());
    }
}
