#!/usr/bin/env node
// Decide on an agent's proposed shell command with the shipped rules, as an editor extension
// would: load the module once, then decide on each proposal.
//
//   blastwall build -o rules.wasm            # the shipped rules, compiled once
//   blastwall check --action hook.json --format json | jq -c .facts.action > action.json
//   node agent-hook.mjs rules.wasm "$(cat action.json)"
//   node agent-hook.mjs rules.wasm < actions.ndjson      # one action per line
//
// Each proposal is the standard `action` document (docs/facts.md, `Action`): the command, and
// what the action adapter found in it — `commands`, `classes`, `env`, `parse_error`. This host
// cannot run that adapter, so an action with a `command` but no `commands` (and no
// `parse_error`) is refused with an error, never decided: classify it with `blastwall check
// --action` (or decide in Rust, with the `blastwall` crate, which classifies it). Prints the
// outcome and each finding's message; exits 2 when a proposal is denied, 1 when one needs a
// person's confirmation, 3 on an error, 0 otherwise.

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import { Policy } from "../index.js";

const [modulePath, actionText] = process.argv.slice(2);
if (!modulePath) {
  console.error("usage: agent-hook.mjs RULES.wasm [ACTION_JSON]  (else one action per line on stdin)");
  process.exit(3);
}

// Loading compiles the module; do it once and keep the policy for every decision.
const policy = await Policy.load(readFileSync(modulePath));

const EXIT = { allow: 0, warn: 0, review: 1, deny: 2 };

/** Decide on one action document; returns the exit code its outcome maps to. */
function decide(text) {
  let decision;
  try {
    decision = policy.evaluate({ action: JSON.parse(text) });
  } catch (e) {
    // Bad facts (or a trap) are the host's error, never a decision; the policy keeps working.
    console.log(`error: ${e.message}`);
    return 3;
  }
  console.log(decision.outcome);
  for (const f of decision.findings) {
    const who = f.from ? ` (confirm: ${f.from})` : "";
    const lifted = f.overridden ? ` [overridden by ${f.overridden.by}]` : "";
    console.log(`  ${f.effect} ${f.rule}: ${f.message}${who}${lifted}`);
  }
  return EXIT[decision.outcome];
}

if (actionText !== undefined) {
  process.exitCode = decide(actionText);
} else {
  let worst = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== "") worst = Math.max(worst, decide(line));
  }
  process.exitCode = worst;
}
