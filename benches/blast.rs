//! The graph walk: every node that depends on one start node, to depth 5, on generated
//! topologies of 1k, 10k and 100k nodes with 10 edges per node, by the compiled module (facts
//! and graph index already encoded) and by a hand-written Rust breadth-first search over the
//! same arrays (docs/abi.md, "Topology"). Both return the reached nodes with their depth,
//! nearest first, then by name. Target: module ≤ 2× native at 100k nodes. See
//! `benches/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const EDGES_PER_NODE: usize = 10;
const DEPTH: u32 = 5;

const POLICY: &str = r#"
rule reaches_anything {
    when count(dependents(topology, change.services, depth: 5)) > 0
    warn "the change has dependents"
}
"#;

/// The same walk, listing the names it reached: checks the order, not timed.
const LISTING: &str = r#"
rule list_dependents {
    let hit = dependents(topology, change.services, depth: 5)
    when count(hit) > 0
    warn "{join([r.name for r in hit], \",\")}"
}
"#;

fn module_policy(engine: &blastwall_runtime::Engine, text: &str) -> blastwall_runtime::Policy {
    let checked = blastwall_check::check(vec![blastwall_check::SourceFile {
        path: "blast.bw".into(),
        text: text.into(),
    }]);
    let wasm = blastwall_compile::compile(&checked.policy.unwrap()).unwrap();
    engine.load(&wasm).unwrap().policy()
}

/// A generated topology: node `i` is named by a hash of `i` (so name order is not index
/// order) and depends on 10 distinct other nodes drawn by a fixed xorshift generator.
struct Graph {
    names: Vec<String>,
    deps: Vec<Vec<u32>>,
}

fn generate(n: usize) -> Graph {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names = (0..n)
        .map(|i| {
            format!(
                "svc-{:016x}",
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            )
        })
        .collect();
    let deps = (0..n)
        .map(|i| {
            let mut d: Vec<u32> = Vec::with_capacity(EDGES_PER_NODE);
            while d.len() < EDGES_PER_NODE {
                let j = (next() % n as u64) as u32;
                if j as usize != i && !d.contains(&j) {
                    d.push(j);
                }
            }
            d
        })
        .collect();
    Graph { names, deps }
}

impl Graph {
    fn facts(&self) -> Value {
        let nodes: Vec<Value> = self
            .names
            .iter()
            .zip(&self.deps)
            .map(|(name, deps)| {
                let deps: Vec<&str> = deps
                    .iter()
                    .map(|&j| self.names[j as usize].as_str())
                    .collect();
                json!({"name": name, "depends_on": deps})
            })
            .collect();
        json!({"change": {"services": [self.names[0]]}, "topology": {"nodes": nodes}})
    }
}

/// The arrays of the graph index a host encodes (docs/abi.md, "Topology"), for the reverse
/// direction the walk follows, and the node fields a `Reached` record copies.
struct Index {
    names: Vec<String>,
    kinds: Vec<String>,
    tiers: Vec<i64>,
    owners: Vec<String>,
    by_name: Vec<u32>,
    rev_start: Vec<u32>,
    rev: Vec<u32>,
}

impl Index {
    fn new(g: &Graph) -> Index {
        let n = g.names.len();
        let mut by_name: Vec<u32> = (0..n as u32).collect();
        by_name.sort_by(|&a, &b| g.names[a as usize].cmp(&g.names[b as usize]));
        // Reverse edges, for each node in increasing order of the dependent's index.
        let mut rev_start = vec![0u32; n + 1];
        for deps in &g.deps {
            for &j in deps {
                rev_start[j as usize + 1] += 1;
            }
        }
        for i in 0..n {
            rev_start[i + 1] += rev_start[i];
        }
        let mut fill = rev_start.clone();
        let mut rev = vec![0u32; rev_start[n] as usize];
        for (i, deps) in g.deps.iter().enumerate() {
            for &j in deps {
                rev[fill[j as usize] as usize] = i as u32;
                fill[j as usize] += 1;
            }
        }
        Index {
            names: g.names.clone(),
            kinds: vec!["service".to_string(); n],
            tiers: vec![3; n],
            owners: vec![String::new(); n],
            by_name,
            rev_start,
            rev,
        }
    }
}

/// A reached node, as the module's `Reached` record holds it.
#[derive(Debug, PartialEq, Eq)]
struct Reached<'a> {
    name: &'a str,
    kind: &'a str,
    tier: i64,
    owner: &'a str,
    depth: u32,
}

/// Breadth-first from the named start nodes to `depth`, then the reached nodes ordered by
/// distance and name: a count per distance, then one pass over the nodes in name order.
fn dependents<'a>(ix: &'a Index, start: &[&str], depth: u32) -> Vec<Reached<'a>> {
    let n = ix.names.len();
    let mut dist = vec![u32::MAX; n];
    let mut queue: Vec<u32> = Vec::with_capacity(n);
    for s in start {
        if let Ok(k) = ix
            .by_name
            .binary_search_by(|&i| ix.names[i as usize].as_str().cmp(s))
        {
            let i = ix.by_name[k];
            if dist[i as usize] == u32::MAX {
                dist[i as usize] = 0;
                queue.push(i);
            }
        }
    }
    let mut head = 0;
    while head < queue.len() {
        let i = queue[head] as usize;
        head += 1;
        let d = dist[i];
        if d >= depth {
            continue;
        }
        for &j in &ix.rev[ix.rev_start[i] as usize..ix.rev_start[i + 1] as usize] {
            if dist[j as usize] == u32::MAX {
                dist[j as usize] = d + 1;
                queue.push(j);
            }
        }
    }
    let mut first = vec![0usize; depth as usize + 2];
    for &i in &queue {
        let d = dist[i as usize];
        if d > 0 {
            first[d as usize + 1] += 1;
        }
    }
    for d in 1..first.len() - 1 {
        first[d + 1] += first[d];
    }
    let reached = queue.len() - queue.iter().filter(|&&i| dist[i as usize] == 0).count();
    let mut out: Vec<Option<Reached<'a>>> = (0..reached).map(|_| None).collect();
    for &i in &ix.by_name {
        let i = i as usize;
        let d = dist[i];
        if d > 0 && d != u32::MAX {
            out[first[d as usize]] = Some(Reached {
                name: &ix.names[i],
                kind: &ix.kinds[i],
                tier: ix.tiers[i],
                owner: &ix.owners[i],
                depth: d,
            });
            first[d as usize] += 1;
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

fn blast(c: &mut Criterion) {
    let engine =
        blastwall_runtime::Engine::new(blastwall_runtime::EngineConfig::default()).unwrap();
    let policy = module_policy(&engine, POLICY);
    // Untimed: on the smallest graph, the module's walk lists exactly what the native one
    // returns, in the same order.
    let listing = module_policy(&engine, LISTING);
    let small = generate(1_000);
    let listed = listing.evaluate_json(&small.facts()).unwrap();
    let small_ix = Index::new(&small);
    let native: Vec<&str> = dependents(&small_ix, &[&small.names[0]], DEPTH)
        .iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(listed.findings[0].message, native.join(","));

    let mut g = c.benchmark_group("blast");
    for n in [1_000, 10_000, 100_000] {
        let graph = generate(n);
        let json = graph.facts();
        let ix = Index::new(&graph);
        let mut session = policy.session().unwrap();
        let encoded = session.encode(&json).unwrap();

        let decision = session.evaluate_encoded(&encoded).unwrap();
        assert_eq!(decision.findings.len(), 1);
        let reached = dependents(&ix, &[&graph.names[0]], DEPTH);
        assert!(!reached.is_empty());

        g.bench_with_input(BenchmarkId::new("module", n), &encoded, |b, encoded| {
            b.iter(|| session.evaluate_encoded(black_box(encoded)).unwrap())
        });
        // The topology kept in the instance (`Policy::with_topology`): each decision copies
        // only the change.
        let resident = policy.with_topology(&json["topology"]).unwrap();
        let mut resident_session = resident.session().unwrap();
        let change_only = resident_session
            .encode(&json!({"change": json["change"]}))
            .unwrap();
        assert_eq!(
            resident_session.evaluate_encoded(&change_only).unwrap(),
            decision
        );
        g.bench_with_input(
            BenchmarkId::new("module_resident", n),
            &change_only,
            |b, encoded| {
                b.iter(|| {
                    resident_session
                        .evaluate_encoded(black_box(encoded))
                        .unwrap()
                })
            },
        );
        drop(json);
        g.bench_with_input(BenchmarkId::new("native", n), &ix, |b, ix| {
            b.iter(|| dependents(black_box(ix), &[&graph.names[0]], DEPTH).len())
        });
    }
    g.finish();
}

criterion_group!(benches, blast);
criterion_main!(benches);
