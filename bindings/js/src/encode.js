// Facts → the input a module reads (docs/abi.md, "The input").
//
// The encoder knows every field's shape and default from the layout descriptor alone and
// validates as strictly as the Rust host, with the same error texts and paths: a misspelt fact
// never reads as a default, whether or not the policy reads it. Encoding is one walk over the
// facts: a record, list or config record reserves its slots first and fills them as its
// members are encoded; strings and nested values go after it.

import { JsonFloat, formatFloat } from "./json.js";
import {
  GlobError,
  PatternTooCostly,
  PatternTooLarge,
  compileGlobList,
  MAX_STATES,
  MAX_WORK,
  entrySize,
  tableLength,
} from "./glob.js";

/** Facts that do not fit the schema. `path` is where (`change.files[3].path`), or "". */
export class FactsError extends Error {
  constructor(path, reason) {
    super(path ? `\`${path}\`: ${reason}` : reason);
    this.name = "FactsError";
    this.path = path;
    this.reason = reason;
  }
}

const HEADER_LEN = 24;
const GRAPH_SLOTS = 7;
const DOCUMENTS = ["change", "plan", "action", "topology"];
const TOP_LEVEL = [...DOCUMENTS, "config", "overrides"];
const ABSENT = 0xffffffff;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const utf8 = new TextEncoder();

/** The growing input buffer; byte 0 is at address `base`. */
class Out {
  constructor() {
    this.buf = new Uint8Array(4096);
    this.dv = new DataView(this.buf.buffer);
    this.len = 0;
    this.base = 0;
  }

  reset(base) {
    this.base = base;
    this.len = 0;
  }

  ensure(extra) {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  addr() {
    return this.base + this.len;
  }

  /** Reserve `n` zeroed slots, 8-byte aligned; returns their offset in the buffer. */
  reserve(n) {
    const pad = (8 - (this.len & 7)) & 7;
    const bytes = pad + n * 8;
    this.ensure(bytes);
    this.buf.fill(0, this.len, this.len + bytes);
    this.len += bytes;
    return this.len - n * 8;
  }

  put(off, lo, hi) {
    this.dv.setUint32(off, lo, true);
    this.dv.setUint32(off + 4, hi, true);
  }

  /** Write a string's bytes; writes its slot at `dst`. */
  str(dst, s) {
    const at = this.len;
    const n = s.length;
    // Most strings are short ASCII: copy them by hand, and let the encoder do the rest.
    this.ensure(n * 3);
    const buf = this.buf;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    let len = i;
    if (i < n) {
      len += utf8.encodeInto(s.slice(i), buf.subarray(at + i)).written;
    }
    this.len += len;
    this.put(dst, this.base + at, len);
  }

  /** Write `u32`s, 8-byte aligned; returns their address. */
  u32s(xs) {
    const pad = (8 - (this.len & 7)) & 7;
    this.ensure(pad + xs.length * 4);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
    const at = this.addr();
    for (const x of xs) {
      this.dv.setUint32(this.len, x, true);
      this.len += 4;
    }
    return at;
  }

  /** Append raw bytes, first aligning to 8; returns their address. */
  bytes(b) {
    const pad = (8 - (this.len & 7)) & 7;
    this.ensure(pad + b.length);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
    const at = this.addr();
    this.buf.set(b, this.len);
    this.len += b.length;
    return at;
  }

  finish() {
    if (this.base + this.len > 2 ** 32) {
      throw new FactsError(
        "",
        `the encoded facts take ${this.len} bytes, more than fit in a module's memory`,
      );
    }
    return this.buf.subarray(0, this.len);
  }
}

function kind(v) {
  if (v === null || v === undefined) return "`null`";
  switch (typeof v) {
    case "boolean":
      return "a boolean";
    case "number":
    case "bigint":
      return "a number";
    case "string":
      return "a string";
    case "object":
      if (Array.isArray(v)) return "a list";
      if (v instanceof JsonFloat) return "a number";
      return "an object";
    default:
      return `a ${typeof v}`;
  }
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof JsonFloat);
}

/** The members of an object that are set (a member whose value is `undefined` is omitted). */
function members(v) {
  return Object.keys(v).filter((k) => v[k] !== undefined);
}

/** A cheap typo test (the Rust host's, so both suggest the same names): same first letter
 * and lengths within two, or one is a prefix. Lengths are in UTF-8 bytes. */
function similar(a, b) {
  const ba = utf8.encode(a);
  const bb = utf8.encode(b);
  return (
    (Math.abs(ba.length - bb.length) <= 2 &&
      firstByte(ba) === firstByte(bb) &&
      commonChars(a, b) + 2 >= Math.max(ba.length, bb.length)) ||
    (ba.length >= 3 && b.startsWith(a))
  );
}

/** The first byte when it is a whole character, else null (Rust's `s.get(..1)`). */
function firstByte(bytes) {
  if (bytes.length === 0 || (bytes.length > 1 && (bytes[1] & 0xc0) === 0x80)) return null;
  return bytes[0];
}

function commonChars(a, b) {
  const pool = Array.from(b);
  let n = 0;
  for (const c of a) {
    const i = pool.indexOf(c);
    if (i >= 0) {
      pool[i] = pool[pool.length - 1];
      pool.pop();
      n++;
    }
  }
  return n;
}

/** The first two bytes of `key` when they end on a character boundary, else all of it
 * (Rust's `key.get(..2).unwrap_or(key)`). */
function prefix2(key) {
  const b = utf8.encode(key);
  if (b.length < 2 || (b.length > 2 && (b[2] & 0xc0) === 0x80)) return key;
  return new TextDecoder().decode(b.subarray(0, 2));
}

/** Rust's `str::trim` (Unicode `White_Space`), which is not JavaScript's `trim`. */
const RUST_WHITESPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/**
 * A login or group as it compares: without surrounding ASCII whitespace, without one leading
 * `@`, ASCII-lowercased.
 */
export function identity(s) {
  let a = 0;
  let b = s.length;
  const ws = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
  while (a < b && ws(s.charCodeAt(a))) a++;
  while (b > a && ws(s.charCodeAt(b - 1))) b--;
  if (s.charCodeAt(a) === 0x40 && a < b) a++;
  return s.slice(a, b).replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

const SURROGATE = /[\ud800-\udfff]/;

/** Compare two strings by UTF-8 bytes (code points), not UTF-16 units. */
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF.
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** A parameter type from its text: a scalar, or a list of one (`[str]`); parameters are never
 * lists of lists. */
function paramType(text) {
  const scalar = (t) => (t === "bool" || t === "int" || t === "str" ? { t, text: t } : null);
  const bracketed = typeof text === "string" && text.startsWith("[") && text.endsWith("]");
  const inner = bracketed ? scalar(text.slice(1, -1)) : null;
  const ty = scalar(text) ?? (inner && { t: "list", inner, text });
  if (ty) return ty;
  const shown = String(text);
  const cut = [...shown.slice(0, 80)].slice(0, 40).join("");
  throw new Error(`unknown parameter type \`${cut}${cut.length < shown.length ? "…" : ""}\``);
}

/** Encodes facts for one compiled policy, from its metadata. */
export class Encoder {
  /** @param {any} meta the module's metadata */
  constructor(meta) {
    const layout = meta.layout;
    if (!isObject(layout) || !isObject(layout.records) || !isObject(layout.documents)) {
      throw new Error("the module's layout cannot be used: it has no records or documents");
    }
    this.records = new Map();
    this.enums = new Map();
    for (const name of Object.keys(layout.records)) {
      this.records.set(name, { name, fields: [], index: new Map(), slots: 0 });
    }
    for (const [name, rec] of this.records) {
      const used = new Set();
      const fields = layout.records[name].length;
      for (const f of layout.records[name]) {
        if (f.slot !== null && f.slot !== undefined) {
          if (!Number.isInteger(f.slot) || f.slot < 0 || f.slot >= fields) {
            throw new Error(
              `the module's layout cannot be used: \`${name}\` has ${fields} fields, so a slot must be below ${fields}, not ${f.slot}`,
            );
          }
          if (used.has(f.slot)) {
            throw new Error(`the module's layout cannot be used: fields of \`${name}\` share the slot ${f.slot}`);
          }
          used.add(f.slot);
          rec.slots = Math.max(rec.slots, f.slot + 1);
        }
        const shape = this.shape(f.shape);
        const d = f.default;
        const dflt =
          d === "required" || d === "absent" || d === "record" ? { t: d } : { t: "value", v: d };
        rec.index.set(f.name, rec.fields.length);
        rec.fields.push({
          name: f.name,
          shape,
          dflt,
          fixed: fixedDefault(dflt, shape),
          slot: f.slot ?? null,
        });
      }
    }
    // `overrides` entries are not a document, so the layout does not carry them; their shape
    // is fixed by docs/abi.md.
    this.override = {
      name: "Override",
      fields: ["rule", "by", "reason"].map((name) => ({
        name,
        shape: { t: "str" },
        dflt: { t: "required" },
        fixed: null,
        slot: null,
      })),
      index: new Map([
        ["rule", 0],
        ["by", 1],
        ["reason", 2],
      ]),
      slots: 0,
    };
    this.docs = DOCUMENTS.map((d) => {
      const r = this.records.get(layout.documents[d]);
      if (!r) {
        throw new Error(`the module's layout cannot be used: the layout has no record type for the document \`${d}\``);
      }
      return r;
    });
    this.graph = meta.graph === true;
    this.out = new Out();
    this.path = [];
    this.checkDefaults();
    this.defaults = this.combineDefaults();
    this.params = [];
    this.defaultError = null;
    for (const p of meta.params) {
      const ty = paramType(p.type);
      const glob = p.glob === true;
      if (glob && !(ty.t === "str" || (ty.t === "list" && ty.inner.t === "str"))) {
        throw new Error(`the module's layout cannot be used: the parameter \`${p.name}\` is marked glob but its type is \`${p.type}\``);
      }
      const param = { name: p.name, ty, default: p.default, glob, defaultTables: null };
      try {
        this.path = ["config", p.name];
        this.paramValue(ty, p.default, false, -1);
      } catch (e) {
        if (!(e instanceof FactsError)) throw e;
        this.defaultError ??= e;
      }
      this.params.push(param);
    }
    this.path = [];
  }

  shape(s) {
    if (s === "bool" || s === "int" || s === "str") return { t: s };
    // A count is an `int` that facts may not give negative.
    if (s === "count") return { t: "int", count: true };
    if (isObject(s)) {
      if (s.enum) {
        const key = `${s.enum.name}\0${s.enum.values.join("\0")}`;
        let e = this.enums.get(key);
        if (!e) {
          e = { name: s.enum.name, values: s.enum.values, set: new Set(s.enum.values) };
          this.enums.set(key, e);
        }
        return { t: "enum", e };
      }
      if (s.list !== undefined) return { t: "list", inner: this.shape(s.list) };
      if (s.optional !== undefined) return { t: "opt", inner: this.shape(s.optional) };
      if (typeof s.record === "string") {
        const r = this.records.get(s.record);
        if (!r) {
          throw new Error(`the module's layout cannot be used: unknown record type \`${s.record}\` in the layout`);
        }
        return { t: "record", r };
      }
    }
    throw new Error(`the module's layout cannot be used: unknown shape ${JSON.stringify(s)}`);
  }

  /** Refuse record types that contain themselves or nest deeper than `MAX_NESTING`, and
   * defaults that do not fit their fields. */
  checkDefaults() {
    // Depth-first, on a stack of its own: a chain of record types as long as the metadata can
    // hold must not exhaust the engine's. `depth` holds finished records (a record of scalars
    // is 1; every list, optional and record around a field adds one).
    const depth = new Map();
    const onStack = new Set();
    const shapeDepth = (shape) =>
      shape.t === "record" ? depth.get(shape.r) : shape.t === "list" || shape.t === "opt" ? 1 + shapeDepth(shape.inner) : 0;
    for (const root of this.records.values()) {
      if (depth.has(root)) continue;
      const stack = [[root, 0]];
      onStack.add(root);
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const [r, next] = top;
        if (next < r.fields.length) {
          top[1] = next + 1;
          const inner = recordIn(r.fields[next].shape);
          if (!inner) continue;
          if (onStack.has(inner)) {
            throw new Error(`the module's layout cannot be used: the record type \`${inner.name}\` contains itself`);
          }
          if (!depth.has(inner)) {
            onStack.add(inner);
            stack.push([inner, 0]);
          }
        } else {
          depth.set(r, 1 + r.fields.reduce((m, f) => Math.max(m, shapeDepth(f.shape)), 0));
          onStack.delete(r);
          stack.pop();
        }
      }
    }
    // The deepest, the last of equals in layout order, as the Rust host names it.
    let deepest = null;
    for (const r of this.records.values()) {
      const d = depth.get(r);
      if (!deepest || d >= deepest[1]) deepest = [r, d];
    }
    if (deepest && deepest[1] > MAX_NESTING) {
      throw new Error(
        `the module's layout cannot be used: the record type \`${deepest[0].name}\` nests ${deepest[1]} deep, more than the limit of ${MAX_NESTING}`,
      );
    }
    for (const r of this.records.values()) {
      for (const f of r.fields) {
        const bad = (why) =>
          new Error(`the module's layout cannot be used: the default of \`${r.name}.${f.name}\` is invalid: ${why}`);
        this.path = [];
        try {
          if (f.dflt.t === "absent" && f.shape.t !== "opt") throw bad("the field is not optional");
          if (f.dflt.t === "record") {
            if (!recordInDirect(f.shape)) throw bad("the field is not a record");
            this.value(f.shape, {}, false, -1);
          }
          if (f.dflt.t === "value") this.value(f.shape, f.dflt.v, false, -1);
        } catch (e) {
          if (e instanceof FactsError) throw bad(e.message);
          throw e;
        }
      }
    }
  }

  combineDefaults() {
    const dflt = (rec, field) => {
      const f = rec?.fields[rec.index.get(field)];
      return f && f.dflt.t === "value" ? f.dflt.v : undefined;
    };
    const fieldRecord = (rec, field) => {
      const f = rec?.fields[rec.index.get(field)];
      return f ? recordIn(f.shape) : null;
    };
    const strings = (v) => (Array.isArray(v) ? v.filter((s) => typeof s === "string") : []);
    const [change, , , topology] = this.docs;
    const approval = fieldRecord(change, "approvals");
    const node = fieldRecord(topology, "nodes");
    const author = dflt(change, "author");
    const stale = dflt(approval, "stale");
    const nodes = dflt(topology, "nodes");
    return {
      author: typeof author === "string" ? author : "",
      stale: typeof stale === "boolean" ? stale : false,
      teams: strings(dflt(approval, "teams")),
      nodes: Array.isArray(nodes) ? nodes : [],
      dependsOn: strings(dflt(node, "depends_on")),
    };
  }

  fail(reason) {
    let s = "";
    for (const k of this.path) {
      if (typeof k === "number") s += `[${k}]`;
      else s += s === "" ? k : `.${k}`;
    }
    return new FactsError(s, reason);
  }

  /**
   * Encode `facts` as the input at address `base` (8-byte aligned). `reserved` holds what
   * the host keeps in reserved memory, by address (0 for what it does not keep): `config`,
   * the config record's, and `topology` and `graph`, a topology's and its graph index's. The
   * header points at them unless the facts have a `config` or a `topology` member, which is
   * then encoded into this input. Returns the bytes (valid until the next call) and the
   * context combining needs.
   */
  encode(facts, base, reserved = {}) {
    this.path = [];
    if (!isObject(facts)) throw new FactsError("", `facts must be a JSON object, found ${kind(facts)}`);
    if (this.defaultError) throw this.defaultError;
    const out = this.out;
    out.reset(base);
    out.reserve(HEADER_LEN / 8);
    out.dv.setUint32(12, reserved.topology ?? 0, true);
    out.dv.setUint32(16, reserved.config ?? 0, true);
    out.dv.setUint32(20, reserved.graph ?? 0, true);
    let overrides = [];
    let change = null;
    for (const key of members(facts)) {
      const value = facts[key];
      this.path = [key];
      if (key === "config") {
        if (!isObject(value)) throw this.fail(`expected an object, found ${kind(value)}`);
        // Encoding may grow the buffer and replace `out.dv`: the address is found first.
        const addr = this.config(value);
        out.dv.setUint32(16, addr, true);
      } else if (key === "overrides") {
        overrides = this.overrides(value);
      } else {
        const doc = DOCUMENTS.indexOf(key);
        if (doc < 0) {
          let msg = `unknown document \`${key}\``;
          const p = prefix2(key);
          const s = TOP_LEVEL.find((n) => n.startsWith(p));
          if (s) msg += `; did you mean \`${s}\`?`;
          throw new FactsError(key, msg);
        }
        const addr = this.record(this.docs[doc], value, true, -1);
        out.dv.setUint32(doc * 4, addr, true);
        if (doc === 0) change = value;
        else if (doc === 3) {
          const graph = this.graph ? this.graphIndex(value) : 0;
          out.dv.setUint32(20, graph, true);
        }
      }
    }
    this.path = [];
    const context = this.context(change, overrides);
    return { bytes: out.finish(), context };
  }

  /**
   * Encode a topology document, with its graph index when the module walks the graph, at
   * `base` (8-byte aligned), for reserved memory. Returns a copy of the bytes and the
   * addresses of the record and the index (0 when there is none); the length does not
   * depend on `base`.
   */
  encodeTopology(topology, base) {
    this.path = ["topology"];
    const out = this.out;
    out.reset(base);
    const addr = this.record(this.docs[3], topology, true, -1);
    const graph = this.graph ? this.graphIndex(topology) : 0;
    this.path = [];
    return { bytes: out.finish().slice(), topology: addr, graph };
  }

  /** Encode a config record (parameter name → value) at `base`; returns a copy of the bytes. */
  encodeConfig(config, base) {
    this.path = [];
    if (this.defaultError) throw this.defaultError;
    if (!isObject(config)) throw new FactsError("config", `expected an object, found ${kind(config)}`);
    const out = this.out;
    out.reset(base);
    this.path = ["config"];
    this.config(config);
    this.path = [];
    return out.finish().slice();
  }

  /** The config record: one slot per parameter, then one list of tables per `glob` one. */
  config(given) {
    const out = this.out;
    const params = this.params;
    const globs = params.filter((p) => p.glob).length;
    const off = out.reserve(params.length + globs);
    const addr = out.base + off;
    const values = new Array(params.length);
    for (const name of members(given)) {
      const i = params.findIndex((p) => p.name === name);
      this.path = ["config", name];
      if (i < 0) {
        const names = params.map((p) => p.name);
        throw this.fail(
          names.length === 0
            ? `unknown parameter \`${name}\`: the policy declares none`
            : `unknown parameter \`${name}\`; the policy declares ${names.join(", ")}`,
        );
      }
      this.paramValue(params[i].ty, given[name], true, off + i * 8);
      values[i] = given[name];
    }
    params.forEach((p, i) => {
      if (values[i] === undefined) {
        this.path = ["config", p.name];
        this.paramValue(p.ty, p.default, true, off + i * 8);
      }
    });
    let k = 0;
    params.forEach((p, i) => {
      if (!p.glob) return;
      this.path = ["config", p.name];
      let tables;
      if (values[i] !== undefined) {
        tables = this.compile(p, values[i]);
      } else {
        p.defaultTables ??= this.compile(p, p.default);
        tables = p.defaultTables;
      }
      const addrs = tables.map((t) => this.table(t));
      const list = out.reserve(addrs.length);
      addrs.forEach((a, j) => out.put(list + j * 8, a, 0));
      out.put(off + (params.length + k) * 8, out.base + list, addrs.length);
      k++;
    });
    return addr;
  }

  compile(p, value) {
    const patterns = typeof value === "string" ? [value] : value.filter((v) => typeof v === "string");
    try {
      return compileGlobList(patterns);
    } catch (e) {
      if (e instanceof PatternTooLarge) {
        throw this.fail(`pattern \`${e.message}\` needs a DFA larger than the limit of ${MAX_STATES} states`);
      }
      if (e instanceof PatternTooCostly) {
        throw this.fail(`pattern \`${e.message}\` takes more than the limit of ${MAX_WORK} steps to compile`);
      }
      if (e instanceof GlobError) throw this.fail(e.message);
      throw e;
    }
  }

  /** Write a compiled pattern (docs/abi.md, "Patterns"); returns its address. */
  table(t) {
    const out = this.out;
    if (t.kind === 0) {
      const off = out.reserve(3);
      out.put(off, 0, 0);
      out.put(off + 8, 0, 0);
      out.str(off + 16, t.text);
      return out.base + off;
    }
    const bytes = (t.encoded ??= (() => {
      const b = new Uint8Array(tableLength(t));
      const dv = new DataView(b.buffer);
      dv.setUint32(0, t.kind, true);
      dv.setUint32(4, t.nclasses, true);
      dv.setUint32(8, t.nstates, true);
      dv.setUint32(12, t.start, true);
      // The literal filters and the entry size, then the class map.
      const w = entrySize(t);
      dv.setUint32(16, t.filters.length, true);
      dv.setUint32(20, w, true);
      let at = 24;
      for (const [lo, hi] of t.filters) {
        dv.setUint32(at, lo, true);
        dv.setUint32(at + 4, hi, true);
        at += 8;
      }
      b.set(t.classes, at);
      at += 256;
      // Successors as row byte offsets, bit 0 set for the matching state (docs/abi.md), in
      // entries of `w` bytes.
      const put = w === 2 ? (v) => dv.setUint16(at, v, true) : (v) => dv.setUint32(at, v >>> 0, true);
      const row = w * t.nclasses;
      for (const v of t.next) {
        put((v * row) | t.accept[v]);
        at += w;
      }
      for (const v of t.eoi) {
        put(v);
        at += w;
      }
      b.set(t.accept, at);
      return b;
    })());
    return out.bytes(bytes);
  }

  /** Validate (and with `enc`, encode to `dst`) a parameter value. */
  paramValue(ty, v, enc, dst) {
    const out = this.out;
    if (ty.t === "bool" && typeof v === "boolean") {
      if (enc) out.put(dst, v ? 1 : 0, 0);
    } else if (ty.t === "int" && isNumber(v)) {
      this.int(v, enc, dst);
    } else if (ty.t === "str" && typeof v === "string") {
      if (enc) out.str(dst, v);
    } else if (ty.t === "list" && Array.isArray(v)) {
      const off = enc ? out.reserve(v.length) : -1;
      for (let i = 0; i < v.length; i++) {
        this.path.push(i);
        this.paramValue(ty.inner, v[i], enc, off + i * 8);
        this.path.pop();
      }
      if (enc) out.put(dst, out.base + off, v.length);
    } else {
      throw this.fail(`expected \`${ty.text}\`, found ${kind(v)}`);
    }
  }

  overrides(v) {
    if (!Array.isArray(v)) throw this.fail(`expected a list, found ${kind(v)}`);
    const found = [];
    for (let i = 0; i < v.length; i++) {
      this.path = ["overrides", i];
      const item = v[i];
      this.record(this.override, item, false, -1);
      const { rule, by, reason } = item;
      if (RUST_WHITESPACE.test(by) || RUST_WHITESPACE.test(reason)) {
        throw this.fail("an override must say who (`by`) and why (`reason`)");
      }
      found.push({ rule, by, reason });
    }
    return found;
  }

  /** Validate (and with `enc`, encode) a record; writes its slot at `dst` when encoding and
   * returns its address. */
  record(r, v, enc, dst) {
    if (!isObject(v)) throw this.fail(`expected a \`${r.name}\` object, found ${kind(v)}`);
    const fields = r.fields;
    const given = new Array(fields.length);
    // Members usually come in schema order, so the field after the last one found is tried
    // first.
    let next = 0;
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      const x = v[key];
      if (x === undefined) continue;
      let i = next < fields.length && fields[next].name === key ? next : r.index.get(key);
      if (i === undefined) throw this.unknownField(r, key);
      given[i] = x;
      next = i + 1;
    }
    const out = this.out;
    let off = -1;
    let addr = 0;
    if (enc) {
      off = out.reserve(r.slots);
      addr = out.base + off;
      if (dst >= 0) out.put(dst, addr, 0);
    }
    const path = this.path;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const fenc = enc && f.slot !== null;
      const fdst = fenc ? off + f.slot * 8 : -1;
      const g = given[i];
      path.push(f.name);
      if (g !== undefined) {
        this.value(f.shape, g, fenc, fdst);
      } else if (f.dflt.t === "required") {
        throw this.fail("required field is missing");
      } else if (fenc) {
        // Defaults were validated when the encoder was made: a constant one needs no walk.
        if (f.fixed !== null) out.put(fdst, f.fixed[0], f.fixed[1]);
        else if (f.dflt.t === "record") this.value(f.shape, {}, true, fdst);
        else this.value(f.shape, f.dflt.v, true, fdst);
      }
      path.pop();
    }
    return addr;
  }

  unknownField(r, key) {
    const names = r.fields.map((f) => f.name);
    const close = names.find((n) => similar(key, n));
    const hint = close !== undefined ? `; did you mean \`${close}\`?` : `; \`${r.name}\` has ${names.join(", ")}`;
    this.path.push(key);
    return this.fail(`unknown field \`${key}\` in \`${r.name}\`${hint}`);
  }

  /** Validate (and with `enc`, encode to `dst`) a value of a shape. */
  value(shape, v, enc, dst) {
    const out = this.out;
    if (v === undefined) v = null;
    switch (shape.t) {
      case "opt": {
        if (v === null) {
          if (enc) out.put(dst, ABSENT, ABSENT);
          return;
        }
        const inner = shape.inner;
        if (enc && (inner.t === "int" || inner.t === "bool")) {
          // A present `int?` or `bool?` is boxed: every 64-bit value is a valid `int`, so
          // none is left to mean absent.
          const box = out.reserve(1);
          this.value(inner, v, true, box);
          out.put(dst, out.base + box, 0);
          return;
        }
        this.value(inner, v, enc, dst);
        return;
      }
      case "bool":
        if (typeof v === "boolean") {
          if (enc) out.put(dst, v ? 1 : 0, 0);
          return;
        }
        break;
      case "int":
        if (isNumber(v)) {
          this.int(v, enc, dst);
          if (shape.count && (typeof v === "bigint" ? v < 0n : Number(v) < 0)) {
            throw this.fail(`expected a non-negative integer, found \`${v}\``);
          }
          return;
        }
        break;
      case "str":
        if (typeof v === "string") {
          if (enc) out.str(dst, v);
          return;
        }
        break;
      case "enum":
        if (typeof v === "string") {
          const e = shape.e;
          if (!e.set.has(v)) {
            throw this.fail(`\`${v}\` is not a value of \`${e.name}\`; expected one of ${e.values.join(", ")}`);
          }
          if (enc) out.str(dst, v);
          return;
        }
        break;
      case "list":
        if (Array.isArray(v)) {
          const n = v.length;
          const off = enc ? out.reserve(n) : -1;
          const path = this.path;
          for (let i = 0; i < n; i++) {
            path.push(i);
            this.value(shape.inner, v[i], enc, off + i * 8);
            path.pop();
          }
          if (enc) out.put(dst, out.base + off, n);
          return;
        }
        break;
      case "record":
        if (isObject(v)) {
          this.record(shape.r, v, enc, dst);
          return;
        }
        break;
    }
    throw this.fail(`expected ${describe(shape)}, found ${kind(v)}`);
  }

  /** Check an integer (a `number`, `bigint` or parsed float) and encode it to `dst`. */
  int(v, enc, dst) {
    if (typeof v === "number") {
      if (!Number.isInteger(v)) {
        throw this.fail(`expected a 64-bit integer, found \`${formatFloat(v)}\``);
      }
      if (!Number.isSafeInteger(v)) {
        throw this.fail(
          `expected a 64-bit integer, found \`${formatFloat(v)}\`, beyond 2^53 where a JavaScript number may have lost digits; pass a bigint`,
        );
      }
      if (enc) {
        const hi = Math.floor(v / 4294967296);
        this.out.put(dst, v - hi * 4294967296, hi >>> 0);
      }
      return;
    }
    if (typeof v === "bigint") {
      if (v < I64_MIN || v > I64_MAX) throw this.fail(`expected a 64-bit integer, found \`${v}\``);
      if (enc) this.out.dv.setBigInt64(dst, v, true);
      return;
    }
    throw this.fail(`expected a 64-bit integer, found \`${v}\``);
  }

  /** The combining context of validated facts. */
  context(change, overrides) {
    if (!change) return newContext("", "", [], overrides);
    const d = this.defaults;
    const author = typeof change.author === "string" ? change.author : d.author;
    const ai = change.ai;
    const initiator = isObject(ai) && typeof ai.initiator === "string" ? ai.initiator : "";
    const approvals = [];
    if (Array.isArray(change.approvals)) {
      for (const a of change.approvals) {
        if (typeof a.by !== "string") continue;
        const stale = typeof a.stale === "boolean" ? a.stale : d.stale;
        const teams = Array.isArray(a.teams) ? a.teams.filter((t) => typeof t === "string") : d.teams;
        approvals.push([a.by, stale, teams]);
      }
    }
    return newContext(author, initiator, approvals, overrides);
  }

  /** The graph index of a validated topology (docs/abi.md, "Topology"); returns its address. */
  graphIndex(topology) {
    const out = this.out;
    const nodes = Array.isArray(topology.nodes) ? topology.nodes : this.defaults.nodes;
    const n = nodes.length;
    const names = nodes.map((x) => (typeof x.name === "string" ? x.name : ""));
    // Stable: nodes of one name stay in node order.
    // Without surrogates, UTF-16 order is byte order and the built-in comparison will do.
    const cmp = names.some((x) => SURROGATE.test(x)) ? compareBytes : (a, b) => (a < b ? -1 : a > b ? 1 : 0);
    const sorted = names.map((_, i) => i).sort((a, b) => cmp(names[a], names[b]) || a - b);
    // The first node, in node order, whose name an earlier node has.
    let duplicate = -1;
    for (let i = 1; i < n; i++) {
      const b = sorted[i];
      if (names[sorted[i - 1]] === names[b] && (duplicate < 0 || b < duplicate)) duplicate = b;
    }
    const find = (target) => {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmp(names[sorted[mid]], target) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo < n && names[sorted[lo]] === target ? sorted[lo] : -1;
    };
    const fwdStart = [0];
    const fwd = [];
    const revStart = new Array(n + 1).fill(0);
    for (const node of nodes) {
      const deps = Array.isArray(node.depends_on) ? node.depends_on : this.defaults.dependsOn;
      for (const t of deps) {
        if (typeof t !== "string") continue;
        // A name that is no node's is ignored.
        const j = find(t);
        if (j >= 0) {
          fwd.push(j);
          revStart[j + 1]++;
        }
      }
      fwdStart.push(fwd.length);
    }
    // Reverse edges by counting: `revStart` is the prefix sum of in-degrees, and walking the
    // nodes in order fills each node's dependents in increasing order.
    for (let i = 1; i <= n; i++) revStart[i] += revStart[i - 1];
    const fill = revStart.slice();
    const rev = new Array(fwd.length).fill(0);
    for (let i = 0; i < n; i++) {
      for (let e = fwdStart[i]; e < fwdStart[i + 1]; e++) rev[fill[fwd[e]]++] = i;
    }
    const off = out.reserve(GRAPH_SLOTS);
    out.put(off, n, 0);
    out.put(off + 8, out.u32s(sorted), 0);
    out.put(off + 16, out.u32s(fwdStart), 0);
    out.put(off + 24, out.u32s(fwd), 0);
    out.put(off + 32, out.u32s(revStart), 0);
    out.put(off + 40, out.u32s(rev), 0);
    out.str(off + 48, duplicate >= 0 ? `two nodes are named \`${names[duplicate]}\`` : "");
    return out.base + off;
  }
}

function isNumber(v) {
  return typeof v === "number" || typeof v === "bigint" || v instanceof JsonFloat;
}

function describe(shape) {
  switch (shape.t) {
    case "bool":
      return "a boolean";
    case "int":
      return shape.count ? "a non-negative integer" : "an integer";
    case "str":
      return "a string";
    case "enum":
      return `one of ${shape.e.values.join(", ")}`;
    case "list":
      return "a list";
    case "record":
      return `a \`${shape.r.name}\` object`;
    default:
      return describe(shape.inner);
  }
}

/** The slot of a default that is the same in every input, as [lo, hi], or null. */
function fixedDefault(d, shape) {
  if (d.t === "absent") return [ABSENT, ABSENT];
  if (d.t !== "value") return null;
  const v = d.v;
  if (shape.t === "bool" && typeof v === "boolean") return [v ? 1 : 0, 0];
  if (shape.t === "int" && typeof v === "number" && Number.isSafeInteger(v)) {
    const hi = Math.floor(v / 4294967296);
    return [v - hi * 4294967296, hi >>> 0];
  }
  // An empty string or list may have any address; 0 will do.
  if (shape.t === "str" && v === "") return [0, 0];
  if (shape.t === "list" && Array.isArray(v) && v.length === 0) return [0, 0];
  return null;
}

/** How deeply a layout's shapes may nest (docs/abi.md, "The metadata"). */
const MAX_NESTING = 32;

function recordIn(shape) {
  if (shape.t === "record") return shape.r;
  if (shape.t === "list" || shape.t === "opt") return recordIn(shape.inner);
  return null;
}

function recordInDirect(shape) {
  if (shape.t === "record") return shape.r;
  if (shape.t === "opt") return recordInDirect(shape.inner);
  return null;
}

/**
 * The approvers who count, distinct, with their groups, all normalised by `identity`: current
 * approvals by someone other than the change's author and its AI initiator.
 */
function newContext(author, initiator, approvals, overrides) {
  const a = identity(author);
  const ini = identity(initiator);
  const approvers = new Map();
  for (const [by0, stale, teams] of approvals) {
    const by = identity(by0);
    if (stale || by === "" || by === a || by === ini) continue;
    let t = approvers.get(by);
    if (!t) {
      t = [];
      approvers.set(by, t);
    }
    for (const team of teams) t.push(identity(team));
  }
  return { overrides, approvers };
}
