//! Compiles checked policies to self-contained WebAssembly modules (`docs/abi.md`).
//!
//! ```
//! let text = "rule big { when count(change.files) > 1 warn \"big\" }".to_string();
//! let checked = blastwall_check::check(vec![blastwall_check::SourceFile { path: "p.bw".into(), text }]);
//! let policy = checked.policy.ok_or("the policy did not check")?;
//! let wasm = blastwall_compile::compile(&policy)?;
//! assert_eq!(&wasm[..4], b"\0asm");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The module imports nothing. Its routines (allocation, strings, the pattern matcher, sorting,
//! the graph walk) are written once, as the module's prelude; each rule becomes one
//! function that enumerates its witnesses and appends findings. Literal globs and regular
//! expressions become DFA tables in the data segment; parameter globs are compiled by the host
//! into the config record (the defaults are compiled here).

mod asm;
mod codegen;
mod memo;
mod meta;
mod module;
mod prelude;
mod reads;

use blastwall_abi::dfa;
use blastwall_abi::layout::{Layout, Metadata};
use blastwall_check::ir::Policy;
use blastwall_check::ty::Type;
use wasm_encoder::ValType;

use crate::asm::Asm;
use crate::module::{G_BASE, G_CHANGE, G_CONFIG, G_FINDINGS, G_GRAPH, G_HP, G_NFIND, Out};
use crate::prelude::{GraphSlots, P_ALLOC, P_ENSURE};

/// Why a policy could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// A pattern could not be turned into an automaton.
    #[error("pattern {pattern}: {reason}")]
    Pattern {
        /// The pattern, or the first few of a list, each in backticks.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A parameter's default does not fit its type.
    #[error("parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: String,
        /// Why.
        reason: String,
    },
    /// The emitted module did not validate: a compiler bug, reported rather than shipped.
    #[error("the emitted module is invalid (a compiler bug): {0}")]
    Invalid(String),
    /// An inconsistency in the IR: a compiler bug.
    #[error("internal compiler error: {0}")]
    Internal(String),
}

/// The compiler's version, recorded in every module.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Compile a checked policy to a module.
pub fn compile(policy: &Policy) -> Result<Vec<u8>, CompileError> {
    Ok(compile_with_metadata(policy)?.0)
}

/// Compile, returning the module and the metadata it carries.
pub fn compile_with_metadata(policy: &Policy) -> Result<(Vec<u8>, Metadata), CompileError> {
    let analysis = reads::analyse(policy);
    let layout = Layout::new(&analysis.reads);
    let metadata = meta::metadata(policy, &layout, &analysis);
    let json = serde_json::to_vec(&metadata).map_err(|e| CompileError::Internal(e.to_string()))?;

    let mut out = Out::new();
    let slot = |r: &str, f: &str| layout.slot(r, f).unwrap_or(0);
    let graph = GraphSlots {
        nodes: slot("Topology", "nodes"),
        name: slot("Node", "name"),
        kind: slot("Node", "kind"),
        tier: slot("Node", "tier"),
        owner: slot("Node", "owner"),
    };
    // The prelude's functions take indices 0.. in order; its constants come first in data.
    let topology_prefix = out.str("topology: ");
    prelude::emit(&mut out, graph, topology_prefix as u64);

    let mut g = codegen::Gen::new(policy, &layout, out);
    for glob in &policy.globs {
        let d = dfa::glob_dfa(glob).map_err(|e| pattern_error(&[glob.as_str()], &e))?;
        let addr = d.encode_into(g.out.data_mut(), module::DATA_BASE);
        g.glob_addr.push(addr);
    }
    for re in &policy.regexes {
        let d = dfa::regex_dfa(re).map_err(|e| pattern_error(&[re.as_str()], &e))?;
        let addr = d.encode_into(g.out.data_mut(), module::DATA_BASE);
        g.regex_addr.push(addr);
    }
    let default_config = default_config(&mut g)?;

    g.declare_fns();
    g.define_fns()?;
    let mut rules = Vec::new();
    for (i, r) in policy.rules.iter().enumerate() {
        rules.push(g.rule(u32::try_from(i).unwrap_or(0), r)?);
    }
    let nrules = u32::try_from(policy.rules.len()).unwrap_or(0);
    let memo_bytes = g.memo_entries() * 16;
    let call_bytes = g.call_cache_count() * codegen::CALL_CACHE_BYTES;
    let matches_globs = g.matches_globs;

    let mut out = g.out;
    let version = out.add_func(&[], &[ValType::I32], {
        let mut a = Asm::new(0);
        a.u32c(blastwall_abi::layout::ABI_VERSION);
        a.finish()
    });
    let reserve = out.add_func(&[ValType::I32], &[ValType::I32], {
        let mut a = Asm::new(1);
        let p = a.i32_local();
        a.i(wasm_encoder::Instruction::GlobalGet(G_BASE))
            .i32c(7)
            .i(wasm_encoder::Instruction::I32Add)
            .i32c(-8)
            .i(wasm_encoder::Instruction::I32And)
            .set(p);
        a.get(p)
            .get(0)
            .i(wasm_encoder::Instruction::I32Add)
            .i32c(7)
            .i(wasm_encoder::Instruction::I32Add)
            .i32c(-8)
            .i(wasm_encoder::Instruction::I32And);
        let end = a.i32_local();
        a.tee(end).call(P_ENSURE);
        a.get(end).i(wasm_encoder::Instruction::GlobalSet(G_BASE));
        a.get(end).i(wasm_encoder::Instruction::GlobalSet(G_HP));
        a.get(p);
        a.finish()
    });
    let input = out.add_func(&[ValType::I32], &[ValType::I32], {
        let mut a = Asm::new(1);
        a.i(wasm_encoder::Instruction::GlobalGet(G_BASE))
            .i(wasm_encoder::Instruction::GlobalSet(G_HP));
        a.get(0).call(P_ALLOC);
        a.finish()
    });
    let evaluate = out.add_func(&[ValType::I32], &[ValType::I32], {
        use wasm_encoder::Instruction as I;
        let mut a = Asm::new(1);
        for k in 0..6u32 {
            a.get(0).load32(4 * k);
            a.i(I::GlobalSet(match k {
                4 => G_CONFIG,
                5 => G_GRAPH,
                _ => G_CHANGE + k,
            }));
        }
        a.i(I::GlobalGet(G_CONFIG)).i(I::I32Eqz);
        a.if_();
        a.u32c(default_config).i(I::GlobalSet(G_CONFIG));
        a.end();
        a.u32c((nrules * codegen::MAX_FINDINGS * 48).max(8))
            .call(P_ALLOC)
            .i(I::GlobalSet(G_FINDINGS));
        a.i32c(0).i(I::GlobalSet(G_NFIND));
        // The memo table starts empty in every evaluation.
        a.u32c(memo_bytes.max(8))
            .call(P_ALLOC)
            .i(I::GlobalSet(module::G_MEMO));
        a.i(I::GlobalGet(module::G_MEMO))
            .i32c(0)
            .u32c(memo_bytes)
            .i(I::MemoryFill(0));
        // So do the call caches.
        a.u32c(call_bytes.max(8))
            .call(P_ALLOC)
            .i(I::GlobalSet(module::G_CALLS));
        a.i(I::GlobalGet(module::G_CALLS))
            .i32c(0)
            .u32c(call_bytes)
            .i(I::MemoryFill(0));
        // And the cache of the subjects' literal masks, when anything matches a glob.
        if matches_globs {
            a.u32c(prelude::MASK_CACHE_BYTES)
                .call(P_ALLOC)
                .i(I::GlobalSet(module::G_MASKS));
            a.i(I::GlobalGet(module::G_MASKS))
                .i32c(0)
                .u32c(prelude::MASK_CACHE_BYTES)
                .i(I::MemoryFill(0));
        }
        let start = a.i32_local();
        let rec = a.i32_local();
        for (i, f) in rules.iter().enumerate() {
            a.i(I::GlobalGet(G_NFIND)).set(start);
            a.call(*f);
            a.if_();
            a.get(start).i(I::GlobalSet(G_NFIND));
            a.i(I::GlobalGet(G_FINDINGS))
                .get(start)
                .i32c(48)
                .i(I::I32Mul)
                .i(I::I32Add)
                .set(rec);
            a.get(rec)
                .i64c(i64::try_from(i).unwrap_or(0) | (1i64 << 32))
                .store64(0);
            a.get(rec).i(I::GlobalGet(crate::module::G_ERR)).store64(8);
            a.get(rec).i64c(-1).store64(16);
            a.get(rec).i64c(-1).store64(24);
            a.get(rec).i64c(0).store64(32);
            a.get(rec).i64c(0).store64(40);
            a.get(start).i32c(1).i(I::I32Add).i(I::GlobalSet(G_NFIND));
            a.end();
        }
        // The result's header is written last, after every finding, and starts with the
        // magic and the ABI version: a host refuses a result without them, so memory this
        // function never wrote cannot read as a decision with no findings.
        let res = a.i32_local();
        a.u32c(blastwall_abi::layout::RESULT_LEN)
            .call(P_ALLOC)
            .set(res);
        a.get(res)
            .u32c(blastwall_abi::layout::RESULT_MAGIC)
            .store32(0);
        a.get(res)
            .u32c(blastwall_abi::layout::ABI_VERSION)
            .store32(4);
        a.get(res).i32c(0).store32(8);
        a.get(res).i(I::GlobalGet(G_NFIND)).store32(12);
        a.get(res).i(I::GlobalGet(G_FINDINGS)).store32(16);
        a.get(res);
        a.finish()
    });
    let bytes = out.finish(
        &[
            ("bw_abi_version", version),
            ("bw_reserve", reserve),
            ("bw_input", input),
            ("bw_evaluate", evaluate),
        ],
        &json,
    );
    validate(&bytes)?;
    Ok((bytes, metadata))
}

/// Every emitted module is validated before it is returned.
fn validate(bytes: &[u8]) -> Result<(), CompileError> {
    let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default());
    v.validate_all(bytes)
        .map(|_| ())
        .map_err(|e| CompileError::Invalid(e.to_string()))
}

/// Encode the parameters' defaults (and their compiled patterns) into the data segment;
/// returns the config record's address.
fn default_config(g: &mut codegen::Gen<'_>) -> Result<u32, CompileError> {
    let policy = g.policy;
    let mut values = Vec::new();
    for p in &policy.params {
        values.push(encode_value(g, &p.default, &p.ty, &p.name)?);
    }
    // Building the automata is most of a build's time: the parameters' lists are built on
    // every core, then placed in order.
    let mut lists: Vec<(usize, Vec<String>)> = Vec::new();
    for (pi, p) in policy.params.iter().enumerate().filter(|(_, p)| p.glob) {
        let patterns: Vec<String> = blastwall_abi::dfa::param_patterns(&p.default)
            .into_iter()
            .map(str::to_string)
            .collect();
        lists.push((pi, patterns));
    }
    let built = build_lists(&lists);
    let mut dfa_lists = Vec::new();
    for (k, ((pi, patterns), dfas)) in lists.iter().zip(built).enumerate() {
        let pi = *pi;
        let mut addrs = Vec::new();
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let dfas = dfas.map_err(|e| pattern_error(&refs, &e))?;
        for d in dfas.iter() {
            addrs.push(d.encode_into(g.out.data_mut(), module::DATA_BASE));
        }
        g.out.align();
        let at = g.out.here();
        for a in &addrs {
            g.out.bytes(&u64::from(*a).to_le_bytes());
        }
        let n = u64::try_from(addrs.len()).unwrap_or(0);
        dfa_lists.push(u64::from(at) | (n << 32));
        g.glob_slot.insert(
            pi,
            u32::try_from(policy.params.len() + k).unwrap_or(u32::MAX),
        );
    }
    g.out.align();
    let at = g.out.here();
    for v in values.iter().chain(&dfa_lists) {
        g.out.bytes(&v.to_le_bytes());
    }
    Ok(at)
}

/// A pattern error as `build` reports it: the patterns in brief (a list of thousands is named
/// by its first few) and why, without the list again.
pub(crate) fn pattern_error(patterns: &[&str], e: &dfa::DfaError) -> CompileError {
    let reason = match e {
        dfa::DfaError::TooCostly { .. } => format!(
            "takes more than the limit of {} steps to compile; split the list, or use fewer wildcards in each glob",
            dfa::MAX_WORK
        ),
        other => brief(&other.to_string(), 300),
    };
    let shown: Vec<String> = patterns
        .iter()
        .take(3)
        .map(|p| format!("`{}`", brief(p, 80)))
        .collect();
    let pattern = match patterns.len() {
        0..=3 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - 3),
    };
    CompileError::Pattern { pattern, reason }
}

/// `text` cut to `max` characters, with a mark where it was cut.
fn brief(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// The tables of each list (remembered for the process: the checker built them already), on
/// as many threads as there are cores (at most one per list).
fn build_lists(lists: &[(usize, Vec<String>)]) -> Vec<Built> {
    let build = |patterns: &Vec<String>| {
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        dfa::glob_list_dfas_shared(&refs)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(lists.len());
    if threads <= 1 {
        return lists.iter().map(|(_, p)| build(p)).collect();
    }
    // Thread `t` builds lists t, t + threads, t + 2 threads, …
    let mut out: Vec<Option<Built>> = (0..lists.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    lists
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, (_, p))| (i, build(p)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicking builder would be a bug; its lists are then built again below.
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            }
        }
    });
    out.into_iter()
        .zip(lists)
        .map(|(r, (_, p))| r.unwrap_or_else(|| build(p)))
        .collect()
}

/// The tables of one list, or why it has none.
type Built = Result<std::sync::Arc<Vec<dfa::Dfa>>, dfa::DfaError>;

fn encode_value(
    g: &mut codegen::Gen<'_>,
    v: &serde_json::Value,
    ty: &Type,
    name: &str,
) -> Result<u64, CompileError> {
    use serde_json::Value as J;
    let bad = || CompileError::Param {
        name: name.to_string(),
        reason: format!("default `{v}` is not a `{ty}`"),
    };
    Ok(match (ty, v) {
        (Type::Bool, J::Bool(b)) => u64::from(*b),
        (Type::Int, J::Number(n)) => n.as_i64().ok_or_else(bad)? as u64,
        (t, J::String(s)) if t.is_stringy() => g.out.str(s) as u64,
        (Type::List(inner) | Type::Set(inner), J::Array(items)) => {
            let mut slots = Vec::new();
            for item in items {
                slots.push(encode_value(g, item, inner, name)?);
            }
            g.out.align();
            let at = g.out.here();
            for s in &slots {
                g.out.bytes(&s.to_le_bytes());
            }
            let n = u64::try_from(slots.len()).unwrap_or(0);
            u64::from(at) | (n << 32)
        }
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_error_names_a_long_list_by_its_first_few() {
        let patterns: Vec<String> = (0..3000).map(|i| format!("src/{i}/**")).collect();
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let e = pattern_error(
            &refs,
            &dfa::DfaError::TooCostly {
                pattern: patterns.join(", "),
            },
        );
        let text = e.to_string();
        assert!(
            text.starts_with(
                "pattern `src/0/**`, `src/1/**`, `src/2/**` and 2997 more: takes more than the limit of 50000000 steps"
            ),
            "{text}"
        );
        assert!(text.len() < 300, "{text}");
    }
}
