#!/usr/bin/env node
// Per-decision cost of the JS host: the shipped rules' module deciding on the typical change
// of `benches/typical/mod.rs` (20 files, 3 approvals, a 50-node topology), from a plain object
// (validate, encode, evaluate, decode, combine) and from JSON text, and with the topology
// kept in the instance (`Policy.load(bytes, { topology })`) and the change alone in the facts.
// Compare with the wasmtime host's `shipped/module_json` and
// `shipped/module_json_resident_topology` in docs/performance.md. Last, the time to load the
// module with every glob parameter given in `config` (its default), which compiles each list
// in JavaScript, against loading it without.
//
//   blastwall build -o rules.wasm && node bindings/js/bench.mjs rules.wasm

import { readFileSync } from "node:fs";

import { Policy } from "./index.js";
import { typicalChange } from "./tools/typical.mjs";

const path = process.argv[2];
if (!path) {
  console.error("usage: bench.mjs RULES.wasm");
  process.exit(2);
}
const policy = await Policy.load(readFileSync(path));
const facts = typicalChange();
const text = JSON.stringify(facts);
const decision = policy.evaluate(facts);
if (decision.findings.length === 0) throw new Error("the typical change should have findings");

/** Median ns per call over `rounds` rounds of `n` calls, after a warm-up. */
function measure(f, n = 2000, rounds = 15) {
  for (let i = 0; i < 5 * n; i++) f();
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    times.push(Number(process.hrtime.bigint() - t0) / n);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const { topology, ...changeOnly } = facts;
const kept = await Policy.load(readFileSync(path), { topology });
if (JSON.stringify(kept.evaluate(changeOnly)) !== JSON.stringify(decision)) {
  throw new Error("the kept topology should decide as the facts' own");
}

const obj = measure(() => policy.evaluate(facts));
const json = measure(() => policy.evaluateJson(text));
const resident = measure(() => kept.evaluate(changeOnly));
console.log(`node ${process.version}, outcome ${decision.outcome}, ${decision.findings.length} findings`);
console.log(`evaluate(object)   ${obj.toFixed(0)} ns/decision`);
console.log(`evaluateJson(text) ${json.toFixed(0)} ns/decision`);
console.log(`evaluate(change), topology kept ${resident.toFixed(0)} ns/decision`);

// Loading, once per round: without a config, and with every glob parameter set to its default
// (the module's metadata says which), so that each list is compiled here.
const bytes = readFileSync(path);
const globs = Object.fromEntries(policy.metadata.params.filter((p) => p.glob).map((p) => [p.name, p.default]));
const loadMs = async (options) => {
  const times = [];
  for (let r = 0; r < 9; r++) {
    const t0 = process.hrtime.bigint();
    await Policy.load(bytes, options);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
};
const plain = await loadMs({});
const withGlobs = await loadMs({ config: globs });
console.log(`load ${plain.toFixed(1)} ms; with the ${Object.keys(globs).length} glob parameters given ${withGlobs.toFixed(1)} ms`);
