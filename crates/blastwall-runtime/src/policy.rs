//! [`Policy`] and [`Session`]: decisions made in reused instances.
//!
//! A fresh instance costs 10–20 µs and a decision in a reused one well under a microsecond, so
//! instances live in slots: a [`Policy`] keeps a pool of idle slots shared by every thread, and
//! a [`Session`] owns one slot for a caller that makes many decisions in a row. A slot whose
//! instance trapped or misbehaved is dropped, never reused (docs/abi.md, "Errors").

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use blastwall_abi::decision::{Decision, Outcome};
use blastwall_abi::layout::ABI_VERSION;
use wasmtime::{Instance, Memory, ResourceLimiter, Store, Trap, TypedFunc};

use crate::abi::{
    CombineContext, Encoded, EncodedTopology, FactsError, Reserved, combine_in_place,
    decode_findings_into,
};
use crate::engine::EvalLimits;
use crate::err::EvalError;
use crate::module::Module;

/// A module with its parameters set, ready to decide. Cheap to clone (clones share their
/// idle instances) and safe to use from many threads at once.
///
/// ```no_run
/// # use blastwall_runtime::{Engine, EngineConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let engine = Engine::new(EngineConfig::default())?;
/// # let module = engine.load(&std::fs::read("policy.wasm")?)?;
/// let config = serde_json::json!({"protected_paths": ["infra/**"]});
/// let policy = module.policy().with_config(config.as_object().unwrap_or(&Default::default()))?;
/// let decision = policy.evaluate_json(&serde_json::json!({"change": {"files": []}}))?;
///
/// // A host deciding many changes against one service graph keeps it in the instances:
/// // checked and encoded once, used by every decision whose facts have no `topology`.
/// let topology = serde_json::json!({"nodes": [
///     {"name": "payments", "tier": 1, "owner": "@org/payments"},
///     {"name": "checkout", "tier": 2, "owner": "@org/web", "depends_on": ["payments"]},
/// ]});
/// let policy = policy.with_topology(&topology)?;
/// let decision = policy.evaluate_json(&serde_json::json!({"change": {"services": ["payments"]}}))?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: Arc<PolicyInner>,
}

struct PolicyInner {
    /// Tells policies apart for [`EncodedFacts`], whose headers point into their reserved
    /// memory; unique in the process.
    id: u64,
    module: Module,
    config: Option<Kept>,
    topology: Option<Kept>,
    limits: EvalLimits,
    idle: Mutex<Vec<Slot>>,
    max_idle: usize,
}

/// What the host keeps in every instance's reserved memory: parameters or a topology.
struct Kept {
    what: Keep,
    /// The encoded length, which does not depend on the address.
    len: u32,
    /// The encoding at the address `bw_reserve` returns, made by the first instance; every
    /// later instance must get the same address and copies these bytes.
    placed: OnceLock<Placed>,
}

#[derive(Clone)]
enum Keep {
    /// Parameter values (`with_config`).
    Config(Arc<serde_json::Map<String, serde_json::Value>>),
    /// A topology document (`with_topology`), after the parameters.
    Topology(Arc<serde_json::Value>),
}

struct Placed {
    addr: u32,
    bytes: Vec<u8>,
    /// For a topology, the addresses of its record and of its graph index (0 for none).
    topology: u32,
    graph: u32,
}

impl Kept {
    /// Checks and measures `what` by encoding it at address 0.
    fn new(what: Keep, encoder: &crate::abi::Encoder) -> Result<Kept, FactsError> {
        let len = Kept::encode(&what, encoder, 0)?.bytes.len();
        let len = u32::try_from(len)
            .map_err(|_| FactsError::at(what.member(), format!("{} too large", what.name())))?;
        Ok(Kept {
            what,
            len,
            placed: OnceLock::new(),
        })
    }

    fn encode(what: &Keep, encoder: &crate::abi::Encoder, addr: u32) -> Result<Placed, FactsError> {
        Ok(match what {
            Keep::Config(map) => Placed {
                addr,
                bytes: encoder.encode_config(map, addr)?,
                topology: 0,
                graph: 0,
            },
            Keep::Topology(value) => {
                let EncodedTopology {
                    bytes,
                    topology,
                    graph,
                } = encoder.encode_topology(value, addr)?;
                Placed {
                    addr,
                    bytes,
                    topology,
                    graph,
                }
            }
        })
    }

    /// The same, not yet placed (a policy made from this one places its own).
    fn unplaced(&self) -> Kept {
        Kept {
            what: self.what.clone(),
            len: self.len,
            placed: OnceLock::new(),
        }
    }

    /// The encoding at `addr`, made once per policy.
    fn place(&self, policy: &PolicyInner, addr: u32) -> Result<&Placed, EvalError> {
        if let Some(placed) = self.placed.get() {
            return Ok(placed);
        }
        let placed = Kept::encode(&self.what, policy.module.encoder(), addr)?;
        if placed.bytes.len() != self.len as usize {
            return Err(EvalError::Protocol(format!(
                "`{}` encodes to {} bytes at address {addr} but {} at 0",
                self.what.member(),
                placed.bytes.len(),
                self.len
            )));
        }
        // Two threads making their first instances at once both encode, for the same
        // address; whichever is stored first is used by both.
        let _ = self.placed.set(placed);
        self.placed
            .get()
            .ok_or_else(|| EvalError::Protocol(format!("{} not stored", self.what.name())))
    }
}

impl Keep {
    /// What it is, as the subject of an error: `the parameters are`, `the topology is`.
    fn name(&self) -> &'static str {
        match self {
            Keep::Config(_) => "the parameters are",
            Keep::Topology(_) => "the topology is",
        }
    }

    /// The facts member it stands for.
    fn member(&self) -> &'static str {
        match self {
            Keep::Config(_) => "config",
            Keep::Topology(_) => "topology",
        }
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("module", &self.inner.module)
            .field(
                "config",
                &self.inner.config.as_ref().and_then(|c| match &c.what {
                    Keep::Config(map) => Some(map),
                    Keep::Topology(_) => None,
                }),
            )
            .field("topology", &self.inner.topology.as_ref().map(|t| t.len))
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// The next [`PolicyInner::id`].
static NEXT_POLICY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many idle instances a policy keeps: idle instances keep their memory, and a few per core
/// is all concurrent callers use. Asked once per process, since reading the core count (cgroup
/// files on Linux) costs more than loading a small module.
fn max_idle() -> usize {
    static MAX_IDLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX_IDLE.get_or_init(|| {
        std::thread::available_parallelism().map_or(4, |n| n.get().saturating_mul(2))
    })
}

impl Policy {
    pub(crate) fn new(module: Module) -> Policy {
        Policy::build(module, None, None)
    }

    fn build(module: Module, config: Option<Kept>, topology: Option<Kept>) -> Policy {
        let limits = module.engine().limits();
        let max_idle = max_idle();
        Policy {
            inner: Arc::new(PolicyInner {
                id: NEXT_POLICY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                module,
                config,
                topology,
                limits,
                idle: Mutex::new(Vec::new()),
                max_idle,
            }),
        }
    }

    /// This policy with parameters `config` (parameter name → value) instead of the defaults
    /// compiled into the module. The values are checked and encoded once, and copied into each
    /// instance's reserved memory when the instance is made.
    pub fn with_config(
        &self,
        config: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Policy, FactsError> {
        // Encoding at address 0 checks the values and measures them; the encoding at the
        // instance's real address is made when the first instance reserves it.
        let config = Kept::new(
            Keep::Config(Arc::new(config.clone())),
            self.inner.module.encoder(),
        )?;
        Ok(Policy::build(
            self.inner.module.clone(),
            Some(config),
            self.inner.topology.as_ref().map(Kept::unplaced),
        ))
    }

    /// This policy with `topology` (the `topology` document: `{"nodes": […]}`) kept in every
    /// instance's reserved memory, for decisions whose facts have no `topology` of their own.
    /// It is checked and encoded once, with its graph index, instead of with every decision:
    /// for a host that decides many changes against one service graph, most of encoding a
    /// typical change was the topology, and a large one is copied into the instance each
    /// time. Facts with a `topology` member still use theirs.
    pub fn with_topology(&self, topology: &serde_json::Value) -> Result<Policy, FactsError> {
        let topology = Kept::new(
            Keep::Topology(Arc::new(topology.clone())),
            self.inner.module.encoder(),
        )?;
        Ok(Policy::build(
            self.inner.module.clone(),
            self.inner.config.as_ref().map(Kept::unplaced),
            Some(topology),
        ))
    }

    /// The module this policy runs.
    pub fn module(&self) -> &Module {
        &self.inner.module
    }

    /// Decides on `facts`, a JSON object with any of `change`, `plan`, `action`, `topology`,
    /// `config` and `overrides` (docs/abi.md, "The metadata"). Uses an idle instance or makes
    /// one; an instance that fails is dropped and the next call gets a fresh one.
    pub fn evaluate_json(&self, facts: &serde_json::Value) -> Result<Decision, EvalError> {
        let mut slot = self.take()?;
        let encoded = match self.encode(facts, slot.base) {
            Ok(e) => e,
            Err(e) => {
                self.give_back(slot);
                return Err(e.into());
            }
        };
        match slot.run(&self.inner, &encoded.bytes, &encoded.context) {
            Ok(decision) => {
                self.give_back(slot);
                Ok(decision)
            }
            // The failed instance is dropped here.
            Err(e) => {
                let mut decision = empty_decision(Outcome::Deny);
                limit_reached(e, &mut decision)?;
                Ok(decision)
            }
        }
    }

    /// A session: one instance owned by the caller, for many decisions in a row without
    /// touching the shared pool. Dropping it returns a healthy instance to the pool.
    pub fn session(&self) -> Result<Session, EvalError> {
        let slot = self.take()?;
        Ok(Session {
            policy: self.clone(),
            base: slot.base,
            slot: Some(slot),
            _not_sync: PhantomData,
        })
    }

    /// What the instances keep in reserved memory, by address (placed by the first instance,
    /// which every encoding waits for: a session or a decision takes an instance first).
    fn reserved(&self) -> Reserved {
        let config = self
            .inner
            .config
            .as_ref()
            .and_then(|c| c.placed.get())
            .map_or(0, |p| p.addr);
        let topology = self.inner.topology.as_ref().and_then(|t| t.placed.get());
        Reserved {
            config,
            topology: topology.map_or(0, |t| t.topology),
            graph: topology.map_or(0, |t| t.graph),
        }
    }

    fn encode(&self, facts: &serde_json::Value, base: u32) -> Result<Encoded, FactsError> {
        self.inner
            .module
            .encoder()
            .encode_json_reserved(facts, base, self.reserved())
    }

    fn take(&self) -> Result<Slot, EvalError> {
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(slot) => Ok(slot),
            None => Slot::new(&self.inner),
        }
    }

    fn give_back(&self, slot: Slot) {
        // A poisoned lock only means another thread panicked between a push and a pop of
        // whole slots; the vector is still sound.
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.inner.max_idle {
            idle.push(slot);
        }
    }
}

/// Facts encoded for a session's input address, ready for [`Session::evaluate_encoded`].
///
/// The encoding holds absolute addresses, so it is valid only for the address it was made for;
/// every instance of a module has the same input address, so facts encoded by one session
/// serve every session of the same policy.
#[derive(Debug)]
pub struct EncodedFacts {
    base: u32,
    /// The policy (and its clones) whose sessions may decide on these facts.
    policy: u64,
    encoded: Encoded,
}

impl EncodedFacts {
    /// The input address the facts were encoded for.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// The encoded bytes, to be copied to [`base`](EncodedFacts::base).
    pub fn bytes(&self) -> &[u8] {
        &self.encoded.bytes
    }
}

/// One instance owned by one caller: the hot path for many decisions in a row. `Send` but not
/// `Sync`; make one per thread.
///
/// ```no_run
/// # use blastwall_runtime::{Engine, EngineConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let engine = Engine::new(EngineConfig::default())?;
/// # let policy = engine.load(&std::fs::read("policy.wasm")?)?.policy();
/// let mut session = policy.session()?;
/// // Encode once, decide many times (a benchmark of the module alone).
/// let facts = session.encode(&serde_json::json!({"change": {"files": []}}))?;
/// for _ in 0..1000 {
///     let decision = session.evaluate_encoded(&facts)?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct Session {
    policy: Policy,
    /// `None` after the instance failed, until the next decision makes a fresh one.
    slot: Option<Slot>,
    /// The input address of this session's instances.
    base: u32,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("policy", &self.policy)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The address facts are encoded for.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// Checks and encodes `facts` for this session's input address.
    pub fn encode(&self, facts: &serde_json::Value) -> Result<EncodedFacts, FactsError> {
        Ok(EncodedFacts {
            base: self.base,
            policy: self.policy.inner.id,
            encoded: self.policy.encode(facts, self.base)?,
        })
    }

    /// Checks and encodes facts given as typed Rust values: any [`serde::Serialize`] shaped
    /// like the fact documents (`{"change": …, "plan": …}`), e.g. structs with the schema's
    /// field names. They go through `serde_json::Value` and the same strict checks as JSON.
    pub fn encode_typed<T: serde::Serialize + ?Sized>(
        &self,
        facts: &T,
    ) -> Result<EncodedFacts, FactsError> {
        let value = serde_json::to_value(facts)
            .map_err(|e| FactsError::at("", format!("the facts do not serialise to JSON: {e}")))?;
        self.encode(&value)
    }

    /// Decides on facts already encoded by [`encode`](Session::encode): the module's time
    /// alone, without checking and encoding JSON.
    pub fn evaluate_encoded(&mut self, facts: &EncodedFacts) -> Result<Decision, EvalError> {
        let mut decision = empty_decision(Outcome::Allow);
        self.decide(facts, &mut decision)?;
        Ok(decision)
    }

    /// [`evaluate_encoded`](Session::evaluate_encoded) into `decision`, replacing what it
    /// held. The strings and vectors already in `decision` are reused, so a caller that decides
    /// many times with one `Decision` allocates only when a decision has more findings or
    /// longer texts than any before it.
    ///
    /// On an error, `decision` is left with no findings, no reviews and the outcome `deny`: a
    /// caller that reads it anyway fails closed.
    pub fn evaluate_encoded_into(
        &mut self,
        facts: &EncodedFacts,
        decision: &mut Decision,
    ) -> Result<(), EvalError> {
        let result = self.decide(facts, decision);
        if result.is_err() {
            fail_closed(decision);
        }
        result
    }

    fn decide(&mut self, facts: &EncodedFacts, decision: &mut Decision) -> Result<(), EvalError> {
        if facts.base != self.base {
            return Err(EvalError::WrongBase {
                encoded: facts.base,
                base: self.base,
            });
        }
        if facts.policy != self.policy.inner.id {
            return Err(EvalError::WrongPolicy);
        }
        let mut slot = match self.slot.take() {
            Some(slot) => slot,
            None => Slot::new(&self.policy.inner)?,
        };
        if slot.base != self.base {
            return Err(EvalError::Protocol(format!(
                "a fresh instance's input is at {}, the session's first instance's at {}",
                slot.base, self.base
            )));
        }
        match slot.run_into(
            &self.policy.inner,
            &facts.encoded.bytes,
            &facts.encoded.context,
            decision,
        ) {
            Ok(()) => {
                self.slot = Some(slot);
                Ok(())
            }
            // The failed instance is dropped here; the next decision gets a fresh one.
            Err(e) => limit_reached(e, decision),
        }
    }

    /// Checks, encodes and decides on `facts`.
    pub fn evaluate_json(&mut self, facts: &serde_json::Value) -> Result<Decision, EvalError> {
        let facts = self.encode(facts)?;
        self.evaluate_encoded(&facts)
    }

    /// [`evaluate_json`](Session::evaluate_json) into `decision`, reusing its allocations as
    /// [`evaluate_encoded_into`](Session::evaluate_encoded_into) does; on an error, `decision`
    /// is left with no findings, no reviews and the outcome `deny`.
    pub fn evaluate_json_into(
        &mut self,
        facts: &serde_json::Value,
        decision: &mut Decision,
    ) -> Result<(), EvalError> {
        match self.encode(facts) {
            Ok(facts) => self.evaluate_encoded_into(&facts, decision),
            Err(e) => {
                fail_closed(decision);
                Err(e.into())
            }
        }
    }
}

/// A limit reached during a decision (time, fuel, memory) makes the decision `deny` with the
/// limit named, as the reference interpreter decides at its own limits: the two evaluators
/// agree under limits, and no host can take a limit for an answer to proceed on. Any other
/// failure stays an error.
fn limit_reached(e: EvalError, decision: &mut Decision) -> Result<(), EvalError> {
    match e {
        EvalError::Time { .. } | EvalError::Fuel { .. } | EvalError::Memory { .. } => {
            decision.set_limit_reached(&e.to_string());
            Ok(())
        }
        e => Err(e),
    }
}

/// A decision with no findings and no reviews.
fn empty_decision(outcome: Outcome) -> Decision {
    Decision {
        outcome,
        findings: Vec::new(),
        reviews: Vec::new(),
    }
}

/// What a decision that failed leaves for a caller that reads it anyway.
fn fail_closed(decision: &mut Decision) {
    decision.findings.clear();
    decision.reviews.clear();
    decision.outcome = Outcome::Deny;
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.policy.give_back(slot);
        }
    }
}

/// What a store knows besides the instance: the memory cap, and whether it refused growth, so
/// that the trap a module raises after a failed `memory.grow` is reported as memory.
struct Limiter {
    memory_bytes: usize,
    denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Policy modules use at most one small function table and never grow it.
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// One instance and what a decision needs of it.
struct Slot {
    store: Store<Limiter>,
    memory: Memory,
    input: TypedFunc<i32, i32>,
    evaluate: TypedFunc<i32, i32>,
    /// Where `bw_input` puts the input: the same for every decision of this instance.
    base: u32,
}

impl Slot {
    /// Instantiates the module, copies the parameters into reserved memory and learns the
    /// input address.
    fn new(policy: &PolicyInner) -> Result<Slot, EvalError> {
        let module = &policy.module;
        let limits = policy.limits;
        let mut store = Store::new(
            module.engine().wasmtime(),
            Limiter {
                memory_bytes: limits.memory_bytes,
                denied: false,
            },
        );
        store.limiter(|l| l);
        // Instantiation (data segments, a start function if any) and the calls below share
        // one decision's worth of fuel.
        if let Some(fuel) = limits.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| EvalError::Instantiate(e.to_string()))?;
        }
        store.set_epoch_deadline(limits.ticks());
        let instance = Instance::new(&mut store, module.compiled(), &[])
            .map_err(|e| failure(e, &store, limits, EvalError::Instantiate))?;
        let protocol = |e: wasmtime::Error| EvalError::Protocol(e.to_string());
        let version = instance
            .get_typed_func::<(), i32>(&mut store, "bw_abi_version")
            .map_err(protocol)?;
        let reserve = instance
            .get_typed_func::<i32, i32>(&mut store, "bw_reserve")
            .map_err(protocol)?;
        let input = instance
            .get_typed_func::<i32, i32>(&mut store, "bw_input")
            .map_err(protocol)?;
        let evaluate = instance
            .get_typed_func::<i32, i32>(&mut store, "bw_evaluate")
            .map_err(protocol)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| EvalError::Protocol("no memory export".into()))?;

        let trapped = |e, store: &Store<Limiter>| failure(e, store, limits, EvalError::Trap);
        let abi = version
            .call(&mut store, ())
            .map_err(|e| trapped(e, &store))?;
        if abi.cast_unsigned() != ABI_VERSION {
            return Err(EvalError::Protocol(format!(
                "`bw_abi_version` returned {abi}, but the metadata says {ABI_VERSION}"
            )));
        }

        // Parameters first, then the topology: every instance reserves them in this order and
        // so gets the same addresses.
        for kept in [&policy.config, &policy.topology].into_iter().flatten() {
            let size = i32::try_from(kept.len)
                .map_err(|_| EvalError::Protocol(format!("{} too large", kept.what.name())))?;
            let addr = reserve
                .call(&mut store, size)
                .map_err(|e| trapped(e, &store))?
                .cast_unsigned();
            let placed = kept.place(policy, addr)?;
            if placed.addr != addr {
                return Err(EvalError::Protocol(format!(
                    "`bw_reserve` returned {addr} in a fresh instance, {} in the first",
                    placed.addr
                )));
            }
            memory
                .write(&mut store, addr as usize, &placed.bytes)
                .map_err(|_| out_of_bounds("bw_reserve", addr, placed.bytes.len()))?;
        }

        let base = input
            .call(&mut store, 0)
            .map_err(|e| trapped(e, &store))?
            .cast_unsigned();
        Ok(Slot {
            store,
            memory,
            input,
            evaluate,
            base,
        })
    }

    /// One decision on `bytes`, encoded for `self.base`.
    fn run(
        &mut self,
        policy: &PolicyInner,
        bytes: &[u8],
        context: &CombineContext,
    ) -> Result<Decision, EvalError> {
        let mut decision = empty_decision(Outcome::Allow);
        self.run_into(policy, bytes, context, &mut decision)?;
        Ok(decision)
    }

    /// [`Slot::run`] into `decision`, reusing its allocations.
    fn run_into(
        &mut self,
        policy: &PolicyInner,
        bytes: &[u8],
        context: &CombineContext,
        decision: &mut Decision,
    ) -> Result<(), EvalError> {
        let limits = policy.limits;
        let trapped = |e, store: &Store<Limiter>| failure(e, store, limits, EvalError::Trap);
        if let Some(fuel) = limits.fuel {
            self.store
                .set_fuel(fuel)
                .map_err(|e| EvalError::Trap(e.to_string()))?;
        }
        self.store.set_epoch_deadline(limits.ticks());
        self.store.data_mut().denied = false;
        let len = i32::try_from(bytes.len())
            .map_err(|_| EvalError::Protocol(format!("an input of {} bytes", bytes.len())))?;
        let addr = self
            .input
            .call(&mut self.store, len)
            .map_err(|e| trapped(e, &self.store))?;
        if addr.cast_unsigned() != self.base {
            return Err(EvalError::Protocol(format!(
                "`bw_input` returned {}, but {} before",
                addr.cast_unsigned(),
                self.base
            )));
        }
        self.memory
            .write(&mut self.store, self.base as usize, bytes)
            .map_err(|_| out_of_bounds("bw_input", self.base, bytes.len()))?;
        let result = self
            .evaluate
            .call(&mut self.store, addr)
            .map_err(|e| trapped(e, &self.store))?;
        let decoded = decode_findings_into(
            self.memory.data(&self.store),
            result.cast_unsigned(),
            policy.module.core_metadata(),
            &mut decision.findings,
        );
        // A result is read once: its magic is cleared, so that a module that returns this
        // address again without writing a new result there is refused, not taken to repeat
        // this decision.
        let at = result.cast_unsigned() as usize;
        if let Some(magic) = self
            .memory
            .data_mut(&mut self.store)
            .get_mut(at..at.saturating_add(4))
        {
            magic.fill(0);
        }
        decoded.map_err(EvalError::Decode)?;
        combine_in_place(decision, context);
        Ok(())
    }
}

fn out_of_bounds(func: &str, addr: u32, len: usize) -> EvalError {
    EvalError::Protocol(format!(
        "`{func}` returned {addr}, but {len} bytes there do not fit in memory"
    ))
}

/// Names why a call into the module failed: fuel, memory, or another trap (`other` wraps the
/// message of anything else).
fn failure(
    error: wasmtime::Error,
    store: &Store<Limiter>,
    limits: EvalLimits,
    other: fn(String) -> EvalError,
) -> EvalError {
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => EvalError::Fuel {
            limit: limits.fuel.unwrap_or(0),
        },
        Some(Trap::Interrupt) => EvalError::Time { limit: limits.time },
        // A module traps when `memory.grow` fails (docs/abi.md); the limiter saw why.
        _ if store.data().denied => EvalError::Memory {
            limit: limits.memory_bytes,
        },
        Some(trap) => EvalError::Trap(trap.to_string()),
        None => other(error.to_string()),
    }
}
