// The shipped rules' module in the JS host: the example an editor extension copies, and the
// same decisions as the Rust host on the typical change and on agent actions.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Policy } from "../index.js";
import { modulesDir, moduleBytes } from "../tools/modules.mjs";
import { typicalChange } from "../tools/typical.mjs";

const example = join(dirname(fileURLToPath(import.meta.url)), "../examples/agent-hook.mjs");

// Classified as `blastwall check --action` classifies them: a raw command is refused here.
const actions = [
  {
    command: "rm -rf build",
    commands: [{ program: "rm", args: ["-rf", "build"], classes: ["recursive_delete"] }],
    classes: ["recursive_delete"],
  },
  { command: "ls -la", commands: [{ program: "ls", args: ["-la"] }] },
  {
    command: "kubectl delete ns payments",
    commands: [{ program: "kubectl", args: ["delete", "ns", "payments"], classes: ["kubectl_delete", "kubectl_delete_namespace"], env: "production" }],
    env: "production",
    classes: ["kubectl_delete", "kubectl_delete_namespace"],
  },
  { command: "echo 'x", parse_error: "unbalanced single quote" },
  { source: "mcp", tool: "mcp__github__delete_repository" },
];

test("the agent-hook example decides and prints outcomes and messages", () => {
  const wasm = join(modulesDir(), "shipped.wasm");
  const one = spawnSync(process.execPath, [example, wasm, JSON.stringify(actions[0])], { encoding: "utf8" });
  assert.equal(one.status, 1, one.stderr);
  assert.equal(
    one.stdout,
    "review\n  review agent_destructive_command: agent command `rm -rf build` is destructive (recursive_delete); a person must confirm it (confirm: any)\n",
  );
  const input = [...actions.map((a) => JSON.stringify(a)), '{"comand": "ls"}', '{"command": "true"}', '{"command": "true", "commands": [{"program": "true"}]}'].join("\n");
  const many = spawnSync(process.execPath, [example, wasm], { input, encoding: "utf8" });
  assert.equal(many.status, 3, many.stderr);
  const outcomes = many.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("  "));
  assert.deepEqual(outcomes, [
    "review",
    "allow",
    "deny",
    "deny",
    "review",
    "error: `action.comand`: unknown field `comand` in `Action`; did you mean `command`?",
    "error: `action.commands`: the action's command is not classified, and this host cannot classify it: run `blastwall check --action` on the action (or the `blastwall` crate, which classifies it) and pass the action document it builds, with `commands`, `classes`, `env` and `parse_error`",
    "allow",
  ]);
  assert.match(many.stdout, /agent command could not be understood: unbalanced single quote/);
});

test("an action whose command is not classified is refused, never decided", async () => {
  const policy = await Policy.load(moduleBytes("shipped"));
  for (const action of [
    { command: "terraform destroy -auto-approve", cwd: "/srv/infra/envs/production" },
    { command: "rm -rf build", classes: ["recursive_delete"] },
    { command: "kubectl delete ns prod", commands: [], env: "production" },
    { command: "dropdb app", commands: null },
  ]) {
    assert.throws(
      () => policy.evaluate({ action }),
      (e) => e.name === "FactsError" && e.path === "action.commands" && /blastwall check --action/.test(e.message),
      JSON.stringify(action),
    );
    assert.throws(() => policy.evaluateJson(JSON.stringify({ action })), (e) => e.path === "action.commands");
  }
  // Classified actions, tool calls and blank commands are decided; the policy keeps working.
  for (const action of [...actions, { command: "   " }, { tool: "Read" }]) {
    assert.ok(["allow", "review", "deny"].includes(policy.evaluate({ action }).outcome), JSON.stringify(action));
  }
  assert.equal(policy.evaluate({ action: actions[2] }).outcome, "deny");
});

test("actions are refused exactly when the Rust entries would classify them", async () => {
  // The golden list the Rust tests check `classify_action` against (tests/production.rs).
  const golden = join(dirname(fileURLToPath(import.meta.url)), "../../../tests/production/needs-classifying.json");
  const policy = await Policy.load(moduleBytes("shipped"));
  for (const { action, needs } of JSON.parse(readFileSync(golden, "utf8"))) {
    let refused = false;
    try {
      policy.evaluate({ action });
    } catch (e) {
      assert.equal(e.path, "action.commands", e.message);
      refused = true;
    }
    assert.equal(refused, needs, JSON.stringify(action));
  }
});

test("the shipped rules decide as the Rust host does", { skip: !process.env.BLASTWALL_BIN && "needs BLASTWALL_BIN" }, async () => {
  const policy = await Policy.load(moduleBytes("shipped"));
  const dir = mkdtempSync(join(tmpdir(), "blastwall-js-shipped-"));
  try {
    const all = [typicalChange(), ...actions.map((action) => ({ action }))];
    all.push({ ...typicalChange(), overrides: [{ rule: "large_change", by: "lead", reason: "release" }] });
    for (const [i, facts] of all.entries()) {
      const file = join(dir, `${i}.json`);
      writeFileSync(file, JSON.stringify(facts));
      const run = spawnSync(process.env.BLASTWALL_BIN, ["eval", join(modulesDir(), "shipped.wasm"), "-i", file, "--format", "json"], {
        encoding: "utf8",
      });
      assert.ok([0, 1, 2].includes(run.status), run.stderr);
      const want = JSON.parse(run.stdout);
      assert.deepEqual(policy.evaluate(facts), want, `facts ${i}`);
    }
    // The typical change is not a trivial decision.
    assert.ok(policy.evaluate(typicalChange()).findings.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a topology kept in the instance decides as one in the facts", { skip: !process.env.BLASTWALL_BIN && "needs BLASTWALL_BIN" }, async () => {
  const facts = typicalChange();
  const { topology, ...rest } = facts;
  const plain = await Policy.load(moduleBytes("shipped"));
  const resident = await Policy.load(moduleBytes("shipped"), { topology });
  const want = plain.evaluate(facts);
  assert.ok(want.findings.some((f) => f.rule === "blast_radius_review"), JSON.stringify(want));
  // Repeatedly, on the same instance: the module leaves the kept topology as it found it.
  for (let i = 0; i < 3; i++) assert.deepEqual(resident.evaluate(rest), want);
  // The facts' own topology replaces the kept one.
  const lone = { nodes: [{ name: "svc-3", tier: 3, owner: "@org/x" }] };
  assert.deepEqual(resident.evaluate({ ...rest, topology: lone }), plain.evaluate({ ...rest, topology: lone }));
  // With parameters too, both in reserved memory.
  const config = { blast_depth: 1 };
  const both = await Policy.load(moduleBytes("shipped"), { config, topology });
  assert.deepEqual(both.evaluate(rest), plain.evaluate({ ...facts, config }));
  // A topology that does not fit the schema is refused when the policy is loaded.
  await assert.rejects(
    Policy.load(moduleBytes("shipped"), { topology: { nodes: [{ name: "a", tier: "one" }] } }),
    (e) => e.path === "topology.nodes[0].tier",
  );
});

test("a decision does not depend on when the encoder's buffer grows", { skip: !process.env.BLASTWALL_BIN && "needs BLASTWALL_BIN" }, async () => {
  // The first encoding of a fresh policy grows its buffer somewhere; an address written while
  // the buffer was being replaced was once lost (the graph index's, a `config` after the
  // topology's). Every size of topology, with and without a config after it, must decide on
  // the first call as on the second.
  const module = await WebAssembly.compile(moduleBytes("shipped"));
  let compared = 0;
  for (let n = 1; n <= 120; n += 1) {
    const nodes = Array.from({ length: n }, (_, i) => ({
      name: `service-number-${i}`,
      tier: 1 + (i % 3),
      owner: `@org/team-${i % 5}`,
      depends_on: i === 0 ? [] : [`service-number-${i - 1}`],
    }));
    for (const facts of [
      { change: { services: ["service-number-0"] }, topology: { nodes } },
      { change: { services: ["service-number-0"] }, topology: { nodes }, config: { blast_depth: 2, max_dependents: 1 } },
    ]) {
      const policy = await Policy.load(module);
      const first = policy.evaluate(facts);
      assert.deepEqual(first, policy.evaluate(facts), `${n} nodes, ${Object.keys(facts)}`);
      compared += 1;
    }
  }
  assert.equal(compared, 240);
});
