// Bad input (modules and facts), traps, parameters and integers: a thrown Error naming the
// problem, and the loaded policy keeps working afterwards.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { ABI_VERSION, EvalError, FactsError, LoadError, Policy } from "../index.js";
import { moduleBytes } from "../tools/modules.mjs";

const utf8 = new TextEncoder();

/** Replace the first occurrence of `from` by `to` (same length) in a module's bytes. */
function patch(bytes, from, to) {
  assert.equal(from.length, to.length);
  const text = Buffer.from(bytes).toString("latin1");
  const at = text.indexOf(from);
  assert.ok(at >= 0, `no \`${from}\` in the module`);
  const out = Uint8Array.from(bytes);
  out.set(utf8.encode(to), at);
  return out;
}

const leb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const section = (id, body) => [id, ...leb(body.length), ...body];
const name = (s) => [...leb(utf8.encode(s).length), ...utf8.encode(s)];

/** `bwrs`, the first bytes of every result (docs/abi.md, "The result"). */
const RESULT_MAGIC = 0x73727762;

/**
 * A hand-made module with the ABI's exports: its input is at 1024, and `bw_evaluate` traps
 * when the header gives a `change`, else returns an empty result at 256. `imports` adds an
 * import. `result` forges the result: `0` or `8` return that address, where the module wrote
 * nothing; `unwritten` returns 600, which it never wrote either; `stale` writes a result only
 * in its first decision and returns the same address in every later one.
 */
function tinyModule(metadata, { imports = false, result = "written" } = {}) {
  const types = section(1, [2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f]);
  const imp = imports ? section(2, [1, ...name("env"), ...name("now"), 0x00, 0]) : [];
  const funcs = section(3, [4, 0, 1, 1, 1]);
  const memory = section(5, [1, 0, 1]);
  const base = imports ? 1 : 0;
  const exp = (n, kind, index) => [...name(n), kind, index];
  const exports = section(7, [
    5,
    ...exp("memory", 2, 0),
    ...exp("bw_abi_version", 0, base),
    ...exp("bw_reserve", 0, base + 1),
    ...exp("bw_input", 0, base + 2),
    ...exp("bw_evaluate", 0, base + 3),
  ]);
  const body = (code) => [...leb(code.length + 1), 0, ...code];
  const i32 = (v) => [0x41, ...leb(v)];
  const c = (v) => [0x41, ...sleb(v)];
  const store = (offset) => [0x36, 2, ...leb(offset)];
  const write = [...c(256), ...c(RESULT_MAGIC), ...store(0), ...c(256), ...c(ABI_VERSION), ...store(4)];
  const returns = {
    written: [...write, ...c(256)],
    0: c(0),
    8: c(8),
    unwritten: c(600),
    // if (load(300) == 0) { write; store(300, 1) } return 256
    stale: [...c(300), 0x28, 2, 0, 0x45, 0x04, 0x40, ...write, ...c(300), ...c(1), ...store(0), 0x0b, ...c(256)],
  }[result];
  const evaluate = [0x20, 0, 0x28, 2, 0, 0x04, 0x40, 0x00, 0x0b, ...returns, 0x0b];
  const code = section(10, [
    4,
    ...body([...i32(ABI_VERSION), 0x0b]),
    ...body([...i32(512), 0x0b]),
    ...body([...i32(1024), 0x0b]),
    ...body(evaluate),
  ]);
  const meta = section(0, [...name("blastwall"), ...utf8.encode(JSON.stringify(metadata))]);
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imp, ...funcs, ...memory, ...exports, ...code, ...meta]);
}

async function metadataOf(caseName) {
  return (await Policy.load(moduleBytes(caseName))).metadata;
}

test("a module of another ABI version is refused", async () => {
  const bytes = patch(moduleBytes("graph"), `"abi":${ABI_VERSION}`, '"abi":7');
  await assert.rejects(Policy.load(bytes), {
    name: "LoadError",
    message: `the module speaks blastwall ABI version 7, but this host speaks version ${ABI_VERSION}`,
  });
});

test("what is not a policy module is refused", async () => {
  await assert.rejects(Policy.load(utf8.encode("not a module")), (e) => {
    assert.ok(e instanceof LoadError);
    assert.match(e.message, /^not a valid policy module: /);
    return true;
  });
  await assert.rejects(Policy.load("policy.wasm"), /expected a Uint8Array/);
  const meta = await metadataOf("graph");
  await assert.rejects(Policy.load(tinyModule(meta, { imports: true })), {
    message: "the module imports `env::now`, but a policy module must import nothing",
  });
  const noMeta = patch(tinyModule(meta), "blastwall", "blastwalk");
  await assert.rejects(Policy.load(noMeta), /has no `blastwall` metadata section/);
  const noEval = patch(tinyModule(meta), "bw_evaluate", "bw_evaluatf");
  await assert.rejects(Policy.load(noEval), { message: "the module does not export `bw_evaluate`" });
  const badJson = patch(moduleBytes("graph"), `"abi":${ABI_VERSION}`, `"abi"!${ABI_VERSION}`);
  await assert.rejects(Policy.load(badJson), /metadata section is not valid metadata/);
});

test("a slot past its record's fields is refused when loading", async () => {
  const meta = await metadataOf("graph");
  for (const [record, fields] of Object.entries(meta.layout.records)) {
    const i = fields.findIndex((f) => f.slot !== null);
    if (i < 0) continue;
    for (const slot of [4000000000, -1, 1.5, "0"]) {
      const tampered = structuredClone(meta);
      tampered.layout.records[record][i].slot = slot;
      await assert.rejects(Policy.load(tinyModule(tampered)), {
        name: "LoadError",
        message: `the module's layout cannot be used: \`${record}\` has ${fields.length} fields, so a slot must be below ${fields.length}, not ${slot}`,
      });
    }
    return;
  }
  assert.fail("no encoded field in the layout");
});

test("a trap is an error, and the next decision gets a fresh instance", async () => {
  const policy = await Policy.load(tinyModule(await metadataOf("graph")));
  assert.deepEqual(policy.evaluate({}), { outcome: "allow", findings: [], reviews: [] });
  assert.throws(() => policy.evaluate({ change: {} }), (e) => {
    assert.ok(e instanceof EvalError);
    assert.match(e.message, /^the module trapped: /);
    return true;
  });
  assert.deepEqual(policy.evaluate({}), { outcome: "allow", findings: [], reviews: [] });
});

test("a result the module did not write is an error, never an allow", async () => {
  const meta = await metadataOf("graph");
  const noResult = /^the result does not start with the result magic `bwrs` \(found 0x00000000\): the module wrote no result there$/;
  for (const result of [0, 8, "unwritten"]) {
    const policy = await Policy.load(tinyModule(meta, { result }));
    for (let i = 0; i < 2; i++) {
      assert.throws(() => policy.evaluate({}), (e) => {
        assert.ok(e instanceof EvalError, `${result}: ${e}`);
        assert.match(e.message, noResult);
        return true;
      });
    }
  }
  // The same modules as files, refused by the Rust host too (tests/hostile/README.md).
  for (const name of ["result-0.wasm", "result-8.wasm", "result-unwritten.wasm"]) {
    const bytes = readFileSync(new URL(`../../../tests/hostile/${name}`, import.meta.url));
    const policy = await Policy.load(new Uint8Array(bytes));
    assert.throws(() => policy.evaluate({}), { name: "EvalError", message: noResult }, name);
  }
  // Written once, then returned again: the host read it and cleared its magic.
  const stale = await Policy.load(tinyModule(meta, { result: "stale" }));
  assert.deepEqual(stale.evaluate({}), { outcome: "allow", findings: [], reviews: [] });
  assert.throws(() => stale.evaluate({}), { name: "EvalError", message: noResult });
});

test("facts of the wrong shape are refused and the policy keeps working", async () => {
  const policy = await Policy.load(moduleBytes("witness-per-file"));
  const bad = [
    [null, "facts must be a JSON object, found `null`"],
    [[], "facts must be a JSON object, found a list"],
    [{ change: 5 }, "`change`: expected a `Change` object, found a number"],
    [{ change: { files: {} } }, "`change.files`: expected a list, found an object"],
    [{ change: { files: [{ path: "a", added: 1.5 }] } }, "`change.files[0].added`: expected a 64-bit integer, found `1.5`"],
    [{ change: { files: [{ path: "a", added: 2n ** 63n }] } }, "`change.files[0].added`: expected a 64-bit integer, found `9223372036854775808`"],
    [{ change: { files: [{ path: "a", added: "3" }] } }, "`change.files[0].added`: expected a non-negative integer, found a string"],
    // Line counts are counts: a negative one would cancel other files' lines in a sum.
    [{ change: { files: [{ path: "a", added: -1 }] } }, "`change.files[0].added`: expected a non-negative integer, found `-1`"],
    [{ change: { files: [{ path: "a", removed: -(2n ** 63n) }] } }, "`change.files[0].removed`: expected a non-negative integer, found `-9223372036854775808`"],
    [{ change: { files: [{ path: "a", status: "gone" }] } }, "`change.files[0].status`: `gone` is not a value of `FileStatus`; expected one of added, modified, deleted, renamed, copied, type_changed"],
    [{ change: { fils: [] } }, "`change.fils`: unknown field `fils` in `Change`; did you mean `files`?"],
    [{ change: { files: [{ path: null }] } }, "`change.files[0].path`: expected a string, found `null`"],
    [{ overrides: {} }, "`overrides`: expected a list, found an object"],
    [{ overrides: [{ rule: "r", by: "a", reason: "\u0085" }] }, "`overrides[0]`: an override must say who (`by`) and why (`reason`)"],
    [{ config: [] }, "`config`: expected an object, found a list"],
    [{ plans: {} }, "`plans`: unknown document `plans`; did you mean `plan`?"],
  ];
  for (const [facts, message] of bad) {
    assert.throws(() => policy.evaluate(facts), (e) => e instanceof FactsError && e.message === message, message);
    assert.equal(policy.evaluate({ change: {} }).outcome, "allow");
  }
  // Beyond 2^53 a number may have lost digits: a bigint is asked for.
  assert.throws(() => policy.evaluate({ change: { files: [{ path: "a", added: 2 ** 60 }] } }), /pass a bigint/);
});

test("integers: numbers, bigints and JSON text keep every digit", async () => {
  const policy = await Policy.load(moduleBytes("witness-per-file"));
  const big = { path: "big.rs", added: 2n ** 62n };
  const d = policy.evaluate({ change: { files: [big, { path: "none.rs", added: 0 }] } });
  assert.equal(d.findings[0].message, `big.rs adds ${2n ** 62n} lines`);
  const j = policy.evaluateJson('{"change": {"files": [{"path": "x", "added": 9007199254740993}]}}');
  assert.equal(j.findings[0].message, "x adds 9007199254740993 lines");
  assert.throws(() => policy.evaluateJson('{"change": {"files": [{"path": "x", "added": 1.0}]}}'), {
    message: "`change.files[0].added`: expected a 64-bit integer, found `1.0`",
  });
  assert.throws(() => policy.evaluateJson("{"), /the facts are not JSON/);
});

test("parameters given when loading, or in the facts, decide alike", async () => {
  const bytes = moduleBytes("strings-sets-regex");
  const facts = {
    action: {
      command: "cat README",
      commands: [{ program: "cat", args: ["README"] }],
      arguments: [
        { key: "a", value: "README" },
        { key: "b", value: "docs/x.md" },
      ],
    },
  };
  const config = { protected: ["README", "docs/"] };
  const loaded = await Policy.load(bytes, { config });
  const inFacts = await Policy.load(bytes);
  const a = loaded.evaluate(facts);
  const b = inFacts.evaluate({ ...facts, config });
  assert.deepEqual(a, b);
  assert.deepEqual(
    a.findings.map((f) => f.message),
    ["a = README is protected", "b = docs/x.md is protected"],
  );
  // The defaults still apply without a config.
  assert.equal(inFacts.evaluate(facts).findings.length, 0);
  // Bad parameters are refused when loading.
  await assert.rejects(Policy.load(bytes, { config: { protected: "x" } }), {
    message: "`config.protected`: expected `[str]`, found a string",
  });
  await assert.rejects(Policy.load(bytes, { config: { protectd: [] } }), {
    message: "`config.protectd`: unknown parameter `protectd`; the policy declares prod, protected",
  });
});

test("parameter types are scalars or lists of them, however deeply bracketed", async () => {
  const meta = await metadataOf("graph");
  assert.ok(meta.params.length > 0, "the case has parameters");
  for (const [type, shown] of [
    ["[[str]]", "[[str]]"],
    ["[".repeat(200000) + "int" + "]".repeat(200000), "[".repeat(40) + "…"],
  ]) {
    const tampered = structuredClone(meta);
    tampered.params[0].type = type;
    await assert.rejects(Policy.load(tinyModule(tampered)), (e) => {
      assert.ok(e instanceof LoadError, String(e));
      assert.ok(e.message.includes(`unknown parameter type \`${shown}\``), e.message);
      return true;
    });
  }
});

test("record types that nest too deeply are refused, however long the chain", async () => {
  const meta = await metadataOf("graph");
  const chain = (links) => {
    const tampered = structuredClone(meta);
    const records = tampered.layout.records;
    records.Node.push({ name: "next", shape: { record: "R0" }, default: "record", slot: null });
    for (let i = 0; i < links; i++) {
      const fields = [{ name: "a", shape: "int", default: 0, slot: null }];
      if (i + 1 < links) {
        fields.push({ name: "next", shape: { optional: { record: `R${i + 1}` } }, default: "absent", slot: null });
      }
      records[`R${i}`] = fields;
    }
    // Keep the layout's order (by name), as the compiler writes it.
    tampered.layout.records = Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1)));
    return Policy.load(tinyModule(tampered));
  };
  await chain(15);
  await assert.rejects(chain(16), {
    name: "LoadError",
    message: "the module's layout cannot be used: the record type `Topology` nests 34 deep, more than the limit of 32",
  });
  await assert.rejects(chain(200000), /nests \d+ deep, more than the limit of 32/);
});

test("metadata of the wrong shape is refused with what is wrong, never a TypeError", async () => {
  const meta = await metadataOf("graph");
  const record = Object.keys(meta.layout.records)[0];
  const cases = [
    [(m) => (m.layout.records[record] = 5), `the fields of \`${record}\` are not a list`],
    [(m) => (m.layout.records[record][0] = null), `a field of \`${record}\` has no name`],
    [(m) => (m.params = [null]), "a parameter has no name or type"],
    [(m) => (m.params = [{ name: "x" }]), "a parameter has no name or type"],
    [(m) => (m.rules = [7]), "a rule has no name or source"],
  ];
  for (const [tamper, why] of cases) {
    const tampered = structuredClone(meta);
    tamper(tampered);
    await assert.rejects(Policy.load(tinyModule(tampered)), {
      name: "LoadError",
      message: `the \`blastwall\` metadata section is not valid metadata: ${why}`,
    });
  }
});
