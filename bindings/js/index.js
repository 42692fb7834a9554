// The JavaScript host of blastwall policy modules, written from docs/abi.md.
//
// Load a module compiled by `blastwall build`, encode facts from plain objects by the layout
// descriptor in its metadata, evaluate with the standard `WebAssembly` API, and combine the
// findings into the same `Decision` as the Rust host. No dependencies; runs in Node.js 20+ and
// browsers.

import { Encoder, FactsError, compareBytes, identity } from "./src/encode.js";
import { JsonFloat, parseJson } from "./src/json.js";

export { FactsError, parseJson, JsonFloat };

/** The ABI version this host speaks. */
export const ABI_VERSION = 5;

/** The first four bytes of every result, `bwrs`, as a little-endian u32. */
const RESULT_MAGIC = 0x73727762;
const ABSENT = 0xffffffff;
const FINDING_LEN = 48;
const OUTCOMES = ["allow", "warn", "review", "deny"];

/** A module that cannot be loaded: not WebAssembly, not a policy, another ABI version. */
export class LoadError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "LoadError";
  }
}

/** A decision that could not be made: the module trapped or broke the contract. */
export class EvalError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "EvalError";
  }
}

const REQUIRED = [
  ["memory", "memory", "a memory"],
  ["bw_abi_version", "function", "a function () -> (i32)", 0],
  ["bw_reserve", "function", "a function (i32) -> (i32)", 1],
  ["bw_input", "function", "a function (i32) -> (i32)", 1],
  ["bw_evaluate", "function", "a function (i32) -> (i32)", 1],
];

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Read and check the metadata of a compiled module.
 * @param {WebAssembly.Module} module
 */
function readMetadata(module) {
  const sections = WebAssembly.Module.customSections(module, "blastwall");
  if (sections.length === 0) {
    throw new LoadError("the module has no `blastwall` metadata section; was it compiled by blastwall?");
  }
  if (sections.length > 1) throw new LoadError("the module has more than one `blastwall` metadata section");
  let meta;
  try {
    meta = parseJson(strictUtf8.decode(sections[0]));
  } catch (e) {
    throw new LoadError(`the \`blastwall\` metadata section is not valid metadata: ${e.message}`, { cause: e });
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    throw new LoadError("the `blastwall` metadata section is not valid metadata: not a JSON object");
  }
  // Metadata of another ABI version may have another shape: its version is checked first.
  if (meta.abi !== ABI_VERSION) {
    throw new LoadError(
      `the module speaks blastwall ABI version ${String(meta.abi)}, but this host speaks version ${ABI_VERSION}`,
    );
  }
  const bad = (what) => new LoadError(`the \`blastwall\` metadata section is not valid metadata: ${what}`);
  if (!Array.isArray(meta.rules)) throw bad("`rules` is not a list");
  if (!Array.isArray(meta.params)) throw bad("`params` is not a list");
  for (const p of meta.params) {
    if (typeof p?.name !== "string" || typeof p.type !== "string") throw bad("a parameter has no name or type");
  }
  const layout = meta.layout;
  if (layout !== null && typeof layout === "object" && layout.records !== null && typeof layout.records === "object") {
    for (const [name, fields] of Object.entries(layout.records)) {
      if (!Array.isArray(fields)) throw bad(`the fields of \`${name}\` are not a list`);
      if (fields.some((f) => typeof f?.name !== "string")) throw bad(`a field of \`${name}\` has no name`);
    }
  }
  for (const r of meta.rules) {
    if (typeof r?.name !== "string" || typeof r.source !== "string") throw bad("a rule has no name or source");
    if (!["hard", "soft", "advisory"].includes(r.level)) throw bad(`rule \`${r.name}\` has the level ${r.level}`);
    if (!["deny", "warn", "review"].includes(r.effect)) throw bad(`rule \`${r.name}\` has the effect ${r.effect}`);
  }
  return meta;
}

/** Check that the module imports nothing and exports what docs/abi.md requires. */
function checkInterface(module) {
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > 0) {
    const i = imports[0];
    throw new LoadError(`the module imports \`${i.module}::${i.name}\`, but a policy module must import nothing`);
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const [name, kind, expected] of REQUIRED) {
    const found = exports.get(name);
    if (found === undefined) throw new LoadError(`the module does not export \`${name}\``);
    if (found !== kind) throw new LoadError(`the module exports \`${name}\` as a ${found}, but the ABI wants ${expected}`);
  }
}

/**
 * A compiled policy, ready to decide. Make one with `Policy.load`; it keeps one instance of
 * the module and replaces it after a trap.
 */
/**
 * Refuse an action whose command the action adapter has not classified.
 *
 * Rules read an action's `commands`, `classes` and `env`, which the Rust action adapter finds in
 * its `command`; the Rust entries (`blastwall eval`, the `blastwall` crate) run that adapter over
 * a raw command before deciding. This host cannot, and deciding on the command text alone would
 * allow anything. So an action is refused when its `command` is a non-blank string and it has
 * no `commands` (absent, `null` or `[]`) and no `parse_error` — the same test the Rust entries
 * use to decide that an action needs classifying (docs/facts.md, "Raw commands").
 */
function refuseUnclassified(facts) {
  if (facts === null || typeof facts !== "object" || Array.isArray(facts)) return;
  const action = facts.action;
  if (action === null || typeof action !== "object" || Array.isArray(action)) return;
  const { command, commands, parse_error: parseError } = action;
  if (typeof command !== "string" || command.trim() === "") return;
  const hasCommands = commands !== undefined && commands !== null && !(Array.isArray(commands) && commands.length === 0);
  const hasParseError = parseError !== undefined && parseError !== null;
  if (hasCommands || hasParseError) return;
  throw new FactsError(
    "action.commands",
    "the action's command is not classified, and this host cannot classify it: run " +
      "`blastwall check --action` on the action (or the `blastwall` crate, which classifies it) " +
      "and pass the action document it builds, with `commands`, `classes`, `env` and `parse_error`",
  );
}

export class Policy {
  #module;
  #encoder;
  /**
   * What each instance keeps in reserved memory, or null: `{ len, encode(addr), what,
   * placed }`, where `placed` is the encoding made by the first instance (`{ addr, bytes }`,
   * and for the topology the addresses of its record and graph index).
   */
  #config;
  #topology;
  #instance = null;

  /** @private Use `Policy.load`. */
  constructor(module, metadata, encoder, config, topology) {
    this.#module = module;
    this.metadata = metadata;
    this.#encoder = encoder;
    this.#config = config;
    this.#topology = topology;
  }

  /**
   * Load a module written by `blastwall build`.
   * @param {Uint8Array | ArrayBuffer | WebAssembly.Module} source
   * @param {{config?: Record<string, unknown>, topology?: Record<string, unknown>}} [options]
   *   `config`: parameter values instead of the defaults compiled into the module;
   *   `topology`: a topology document kept in the instance for facts that have none of their
   *   own. Each is checked and encoded once, into the instance's reserved memory.
   * @returns {Promise<Policy>}
   */
  static async load(source, options = {}) {
    let module;
    if (source instanceof WebAssembly.Module) {
      module = source;
    } else {
      if (!(source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
        throw new LoadError("not a valid policy module: expected a Uint8Array, an ArrayBuffer or a WebAssembly.Module");
      }
      try {
        module = await WebAssembly.compile(source);
      } catch (e) {
        throw new LoadError(`not a valid policy module: ${e.message}`, { cause: e });
      }
    }
    checkInterface(module);
    const metadata = readMetadata(module);
    let encoder;
    try {
      encoder = new Encoder(metadata);
    } catch (e) {
      throw new LoadError(e.message, { cause: e });
    }
    let config = null;
    if (options.config !== undefined) {
      // Encoding at address 0 checks the values and measures them; the encoding at the
      // instance's real address is made when the first instance reserves it.
      const values = options.config;
      const encode = (addr) => ({ bytes: encoder.encodeConfig(values, addr) });
      config = { len: encode(0).bytes.length, encode, what: "the parameters encode", placed: null };
    }
    let topology = null;
    if (options.topology !== undefined) {
      const value = options.topology;
      const encode = (addr) => encoder.encodeTopology(value, addr);
      topology = { len: encode(0).bytes.length, encode, what: "the topology encodes", placed: null };
    }
    const policy = new Policy(module, metadata, encoder, config, topology);
    // Make the first instance now, so that a module that traps at once fails to load.
    policy.#instantiate();
    return policy;
  }

  /**
   * Decide on `facts`: an object with any of `change`, `plan`, `action`, `topology`, `config`
   * and `overrides`. Integers may be numbers (safe integers) or bigints.
   * @returns {Decision}
   */
  evaluate(facts) {
    refuseUnclassified(facts);
    const inst = this.#instance ?? this.#instantiate();
    const reserved = {
      config: this.#config?.placed?.addr ?? 0,
      topology: this.#topology?.placed?.topology ?? 0,
      graph: this.#topology?.placed?.graph ?? 0,
    };
    const { bytes, context } = this.#encoder.encode(facts, inst.base, reserved);
    let findings;
    try {
      const addr = inst.input(bytes.length) >>> 0;
      if (addr !== inst.base) {
        throw new EvalError(`\`bw_input\` returned ${addr}, but ${inst.base} before`);
      }
      const memory = new Uint8Array(inst.memory.buffer);
      if (addr + bytes.length > memory.length) {
        throw new EvalError(`\`bw_input\` returned ${addr}, but ${bytes.length} bytes there do not fit in memory`);
      }
      memory.set(bytes, addr);
      const result = inst.evaluate(addr) >>> 0;
      try {
        findings = decodeFindings(inst.memory.buffer, result, this.metadata);
      } finally {
        // A result is read once: its magic is cleared, so that a module that returns this
        // address again without writing a new result is refused, not taken to repeat this
        // decision.
        if (result + 4 <= inst.memory.buffer.byteLength) {
          new DataView(inst.memory.buffer).setUint32(result, 0, true);
        }
      }
    } catch (e) {
      // A trapped or misbehaving instance may be in any state: the next decision gets a
      // fresh one.
      this.#instance = null;
      if (e instanceof EvalError) throw e;
      throw new EvalError(`the module trapped: ${e.message}`, { cause: e });
    }
    return combine(findings, context);
  }

  /** Like `evaluate`, on JSON text; integers keep every digit. */
  evaluateJson(text) {
    let facts;
    try {
      facts = parseJson(text);
    } catch (e) {
      throw new FactsError("", `the facts are not JSON: ${e.message}`);
    }
    return this.evaluate(facts);
  }

  #instantiate() {
    let instance;
    let inst;
    try {
      instance = new WebAssembly.Instance(this.#module, {});
      const x = instance.exports;
      inst = { memory: x.memory, input: x.bw_input, evaluate: x.bw_evaluate, base: 0 };
      const version = x.bw_abi_version();
      if (version !== ABI_VERSION) {
        throw new EvalError(`\`bw_abi_version\` returned ${version}, but the metadata says ${ABI_VERSION}`);
      }
      // Parameters first, then the topology: every instance reserves them in this order and
      // so gets the same addresses.
      for (const kept of [this.#config, this.#topology]) {
        if (!kept) continue;
        const addr = x.bw_reserve(kept.len) >>> 0;
        if (!kept.placed) {
          const placed = kept.encode(addr);
          if (placed.bytes.length !== kept.len) {
            throw new EvalError(`${kept.what} to ${placed.bytes.length} bytes at address ${addr} but ${kept.len} at 0`);
          }
          kept.placed = { addr, ...placed };
        } else if (kept.placed.addr !== addr) {
          throw new EvalError(`\`bw_reserve\` returned ${addr} in a fresh instance, ${kept.placed.addr} in the first`);
        }
        const memory = new Uint8Array(x.memory.buffer);
        const bytes = kept.placed.bytes;
        if (addr + bytes.length > memory.length) {
          throw new EvalError(`\`bw_reserve\` returned ${addr}, but ${bytes.length} bytes there do not fit in memory`);
        }
        memory.set(bytes, addr);
      }
      inst.base = x.bw_input(0) >>> 0;
      if (inst.base % 8 !== 0) throw new EvalError(`\`bw_input\` returned ${inst.base}, which is not 8-byte aligned`);
    } catch (e) {
      if (e instanceof EvalError || e instanceof FactsError) throw e;
      throw new EvalError(`cannot instantiate the module: ${e.message}`, { cause: e });
    }
    this.#instance = inst;
    return inst;
  }
}

/**
 * Read the findings of the result at `result`, checking every address against the memory.
 * @param {ArrayBuffer} buffer
 */
function decodeFindings(buffer, result, meta) {
  const mem = new Uint8Array(buffer);
  const dv = new DataView(buffer);
  const size = mem.length;
  const check = (addr, len) => {
    if (addr + len > size) {
      throw new EvalError(
        `the result refers to ${len} bytes at 0x${addr.toString(16)}, outside the module's memory of ${size} bytes`,
      );
    }
  };
  const u32 = (addr) => {
    check(addr, 4);
    return dv.getUint32(addr, true);
  };
  const str = (lo, hi, i, what) => {
    check(lo, hi);
    try {
      return strictUtf8.decode(mem.subarray(lo, lo + hi));
    } catch {
      throw new EvalError(`finding ${i}: the ${what} is not UTF-8`);
    }
  };
  // Memory the module never wrote (zeros, a result address of 0 or 8) must not read as a
  // result with no findings: an allow.
  const magic = u32(result);
  if (magic !== RESULT_MAGIC) {
    throw new EvalError(
      `the result does not start with the result magic \`bwrs\` (found 0x${magic.toString(16).padStart(8, "0")}): the module wrote no result there`,
    );
  }
  const version = u32(result + 4);
  if (version !== ABI_VERSION) {
    throw new EvalError(`the result is of ABI version ${version}, but this host reads version ${ABI_VERSION}`);
  }
  const status = u32(result + 8);
  if (status !== 0) throw new EvalError(`the module returned the status ${status}`);
  const count = u32(result + 12);
  const at = u32(result + 16);
  check(at, count * FINDING_LEN);
  const findings = [];
  for (let i = 0; i < count; i++) {
    const base = at + i * FINDING_LEN;
    const lo = (k) => dv.getUint32(base + 8 * k, true);
    const hi = (k) => dv.getUint32(base + 8 * k + 4, true);
    const index = lo(0);
    const flag = hi(0);
    const rule = meta.rules[index];
    if (!rule) throw new EvalError(`finding ${i} names rule ${index}, but the policy has ${meta.rules.length} rules`);
    const text = str(lo(1), hi(1), i, "message");
    if (flag === 0) {
      const f = {
        rule: rule.name,
        level: rule.level,
        effect: rule.effect,
        message: text,
        source: rule.source,
      };
      if (!(lo(2) === ABSENT && hi(2) === ABSENT)) f.about = str(lo(2), hi(2), i, "subject");
      if (rule.effect === "review") {
        if (lo(3) === ABSENT && hi(3) === ABSENT) throw new EvalError(`finding ${i}: the group is missing`);
        f.from = str(lo(3), hi(3), i, "group");
        const n = dv.getBigInt64(base + 32, true);
        if (n < 1n || n > 100n) throw new EvalError(`finding ${i}: the review count ${n} is out of range`);
        f.count = Number(n);
      }
      const omitted = dv.getBigInt64(base + 40, true);
      if (omitted < 0n) throw new EvalError(`finding ${i}: the number of omitted findings ${omitted} is out of range`);
      if (omitted > 0n) f.omitted = omitted > 0xffffffffn ? 0xffffffff : Number(omitted);
      findings.push(f);
    } else if (flag === 1) {
      findings.push({
        rule: rule.name,
        level: rule.level,
        effect: rule.level === "advisory" ? "warn" : "deny",
        message: `rule \`${rule.name}\` failed: ${text}`,
        source: rule.source,
        error: true,
      });
    } else {
      throw new EvalError(`finding ${i} has the flag ${flag}`);
    }
  }
  return findings;
}

/** Separates the groups of a review any one of several groups can give (docs/abi.md). */
const GROUP_SEPARATOR = "\n";

/** The groups of a review's `from`: trimmed of ASCII whitespace, blank ones left out. */
function reviewGroups(from) {
  return from
    .split(GROUP_SEPARATOR)
    .map((g) => g.replace(/^[ \t\n\f\r]+|[ \t\n\f\r]+$/g, ""))
    .filter((g) => g !== "");
}

/** The one spelling of an "any of" group, as `canonical_group` in blastwall-abi writes it. */
function canonicalGroup(from) {
  const groups = reviewGroups(from)
    .map(identity)
    .filter((g) => g !== "")
    .map((g) => (g === "any" || g.includes("@") ? g : "@" + g));
  groups.sort(compareBytes);
  return groups.filter((g, i) => i === 0 || g !== groups[i - 1]).join(GROUP_SEPARATOR);
}

/** How many approvers count for `group` (`any` counts everyone; a group of several lines,
 * anyone in one of them). */
function have(approvers, group) {
  if (group.includes(GROUP_SEPARATOR)) {
    const gs = reviewGroups(group)
      .map(identity)
      .filter((g) => g !== "");
    let n = 0;
    for (const [by, teams] of approvers) {
      if (gs.some((g) => g === "any" || by === g || teams.includes(g))) n++;
    }
    return n;
  }
  const g = identity(group);
  let n = 0;
  for (const [by, teams] of approvers) {
    if (g === "any" || by === g || teams.includes(g)) n++;
  }
  return n;
}

/**
 * Apply overrides, merge reviews and decide the outcome (docs/abi.md, "The result"). Key
 * order follows the Rust host's Decision JSON: `omitted` comes last in a finding, after
 * `overridden` and `error`.
 */
function combine(raw, ctx) {
  const findings = raw.map((g) => {
    const f =
      typeof g.from === "string" && g.from.includes(GROUP_SEPARATOR)
        ? { ...g, from: canonicalGroup(g.from) }
        : g;
    let o;
    if (f.level === "soft" && !f.error) o = ctx.overrides.find((x) => x.rule === f.rule);
    if (!o) return f;
    const { omitted, ...rest } = f;
    const out = { ...rest, overridden: { by: o.by, reason: o.reason } };
    if (omitted !== undefined) out.omitted = omitted;
    return out;
  });
  const reviews = [];
  for (const f of findings) {
    if (f.effect !== "review" || f.overridden || f.error) continue;
    const from = f.from ?? "any";
    const needed = f.count ?? 1;
    const r = reviews.find((x) => x.from === from);
    if (r) r.needed = Math.max(r.needed, needed);
    else reviews.push({ from, needed, have: have(ctx.approvers, from), satisfied: false });
  }
  for (const r of reviews) r.satisfied = r.have >= r.needed;
  let outcome = 0;
  for (const f of findings) {
    if (f.overridden) continue;
    let raised;
    if (f.effect === "deny") raised = 3;
    else if (f.effect === "warn") raised = 1;
    else {
      const from = f.from ?? "any";
      raised = reviews.some((r) => r.from === from && r.satisfied) ? 0 : 2;
    }
    if (f.level === "advisory") raised = Math.min(raised, 1);
    outcome = Math.max(outcome, raised);
  }
  return { outcome: OUTCOMES[outcome], findings, reviews };
}
