// Globs of `glob` parameters compiled to the DFA tables of docs/abi.md ("Patterns").
//
// The semantics are those documented in `blastwall_abi::glob`: a pattern is tokenised,
// normalised into segments, and matches a normalised path when the regular expression the
// documentation gives matches it whole. Here that expression is built directly as an automaton
// over bytes (a path is valid UTF-8), determinised by subset construction and minimised, so
// that the table has the shape the Rust host writes: state 0 dead, one absorbing matching
// state, classes merged.

/** The longest pattern accepted, in bytes. */
export const MAX_PATTERN_LEN = 4096;
/** The most states a table may have. */
export const MAX_STATES = 10000;
/** The most states the unminimised automaton may have before the pattern is refused. */
const MAX_EXPLORED = 2 * MAX_STATES;
/** How many globs of a list are joined into one table at most (as the Rust host). */
const UNION_GROUP = 16;
/** The most unminimised states a union of several globs may reach before it is halved. */
const MAX_UNION_EXPLORED = 2000;

const KIND_GLOB = 1;

/** A pattern that is not a valid glob; `message` is the Rust host's text for it. */
export class GlobError extends Error {}

/** A pattern whose table would be too large. */
export class PatternTooLarge extends Error {}

/** Building a list's tables would take more than `MAX_WORK` steps; the message is the
 * pattern, or the patterns of the union being built. */
export class PatternTooCostly extends Error {}

/** The most steps building the tables of one list may take, counted as the Rust host counts
 * them (docs/abi.md, Patterns). */
export const MAX_WORK = 50_000_000;

const utf8 = new TextEncoder();

function cp(c) {
  return String.fromCodePoint(c);
}

/**
 * Tokenise and normalise a pattern.
 * @param {string} pattern
 * @returns {{dirOnly: boolean, segments: Array<"any" | Array<object>>}}
 */
export function parseGlob(pattern) {
  const bytes = utf8.encode(pattern).length;
  if (bytes > MAX_PATTERN_LEN) {
    throw new GlobError(
      `glob of ${bytes} bytes is longer than the limit of ${MAX_PATTERN_LEN} bytes`,
    );
  }
  if (pattern.includes("\0")) {
    throw new GlobError(`glob \`${pattern.replaceAll("\0", "\\0")}\` contains a nul byte`);
  }
  if (pattern === "") throw new GlobError("empty glob");
  const chars = Array.from(pattern, (c) => c.codePointAt(0));
  const unclosed = () => new GlobError(`unclosed \`[\` in glob \`${pattern}\``);
  const trailing = () => new GlobError(`trailing \`\\\` in glob \`${pattern}\``);
  const SLASH = 0x2f;
  // Tokens: {t: "sep"} | {t: "char", c} | {t: "star"} | {t: "any"} | {t: "class", negated, ranges}
  const tokens = [];
  let i = 0;
  // One class member: a character, escaped or not; `/` and the end make the class unclosed.
  const member = () => {
    let c = chars[i];
    if (c === undefined || c === SLASH) throw unclosed();
    if (c === 0x5c) {
      i++;
      c = chars[i];
      if (c === undefined) throw trailing();
      if (c === SLASH) throw unclosed();
    }
    i++;
    return c;
  };
  while (i < chars.length) {
    const c = chars[i++];
    if (c === SLASH) tokens.push({ t: "sep" });
    else if (c === 0x2a) tokens.push({ t: "star" });
    else if (c === 0x3f) tokens.push({ t: "any" });
    else if (c === 0x5c) {
      const e = chars[i++];
      if (e === undefined) throw trailing();
      tokens.push(e === SLASH ? { t: "sep" } : { t: "char", c: e });
    } else if (c === 0x5b) {
      const negated = chars[i] === 0x21 || chars[i] === 0x5e;
      if (negated) i++;
      const ranges = [];
      for (;;) {
        if (chars[i] === 0x5d) {
          i++;
          break;
        }
        const lo = member();
        const isRange = chars[i] === 0x2d && chars[i + 1] !== undefined && chars[i + 1] !== 0x5d;
        if (!isRange) {
          ranges.push([lo, lo]);
          continue;
        }
        i++;
        const hi = member();
        if (hi < lo) {
          throw new GlobError(`reversed range \`${cp(lo)}-${cp(hi)}\` in glob \`${pattern}\``);
        }
        ranges.push([lo, hi]);
      }
      if (ranges.length === 0) {
        throw new GlobError(`empty character class in glob \`${pattern}\``);
      }
      tokens.push({ t: "class", negated, ranges: mergeRanges(ranges) });
    } else tokens.push({ t: "char", c });
  }

  let start = 0;
  while (start < tokens.length && tokens[start].t === "sep") start++;
  let end = tokens.length;
  while (end > start && tokens[end - 1].t === "sep") end--;
  if (start === end) throw new GlobError(`glob \`${pattern}\` has no path segments`);
  const dirOnly = end < tokens.length;
  const body = tokens.slice(start, end);
  const anchored = start > 0 || body.some((t) => t.t === "sep");

  const raw = [[]];
  for (const t of body) {
    if (t.t === "sep") raw.push([]);
    else raw[raw.length - 1].push(t);
  }
  const segments = anchored ? [] : ["any"];
  for (const seg of raw) {
    if (seg.length === 0) continue;
    const s = buildSegment(seg);
    if (s === "any" && segments[segments.length - 1] === "any") continue;
    segments.push(s);
  }
  return { dirOnly, segments };
}

function mergeRanges(ranges) {
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = [];
  for (const [lo, hi] of ranges) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** A segment: "any" for `**`, else its parts (literal characters, stars, `?`, classes). */
function buildSegment(tokens) {
  if (tokens.length === 2 && tokens[0].t === "star" && tokens[1].t === "star") return "any";
  const parts = [];
  for (const t of tokens) {
    if (t.t === "star") {
      if (parts[parts.length - 1]?.t !== "star") parts.push(t);
    } else parts.push(t);
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------
// A nondeterministic automaton over bytes. A state is an index; `edges[s]` lists
// [lo, hi, target] byte ranges and `eps[s]` the states reached without reading.

class Nfa {
  constructor() {
    this.edges = [];
    this.eps = [];
  }

  state() {
    this.edges.push([]);
    this.eps.push([]);
    return this.edges.length - 1;
  }

  edge(from, lo, hi, to) {
    this.edges[from].push([lo, hi, to]);
  }

  /** Bytes in `ranges` from `from` to a new state, which is returned. */
  set(from, ranges) {
    const to = this.state();
    for (const [lo, hi] of ranges) this.edge(from, lo, hi, to);
    return to;
  }

  /** Zero or more bytes in `ranges`, from `from`; returns the state after them. */
  many(from, ranges) {
    const loop = this.state();
    this.eps[from].push(loop);
    for (const [lo, hi] of ranges) this.edge(loop, lo, hi, loop);
    return loop;
  }

  /** One or more bytes in `ranges`. */
  some(from, ranges) {
    return this.many(this.set(from, ranges), ranges);
  }

  /** One of the UTF-8 byte sequences; returns the state after it. */
  sequences(from, seqs) {
    const to = this.state();
    for (const seq of seqs) {
      let s = from;
      seq.forEach(([lo, hi], k) => {
        const t = k === seq.length - 1 ? to : this.state();
        this.edge(s, lo, hi, t);
        s = t;
      });
    }
    return to;
  }
}

const NOT_SLASH = [
  [0x00, 0x2e],
  [0x30, 0xff],
];
const ANY_BYTE = [[0x00, 0xff]];
/** A byte that starts a character and is not `/`. */
const LEAD = [
  [0x00, 0x2e],
  [0x30, 0x7f],
  [0xc0, 0xff],
];
const CONTINUATION = [[0x80, 0xbf]];

/** The byte sequences of the scalar values `lo..=hi`, as lists of byte ranges. */
function utf8Sequences(lo, hi) {
  const out = [];
  const stack = [[lo, hi]];
  const len = (c) => (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
  const enc = (c) => {
    if (c < 0x80) return [c];
    if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 0x3f)];
    if (c < 0x10000) return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
    return [
      0xf0 | (c >> 18),
      0x80 | ((c >> 12) & 0x3f),
      0x80 | ((c >> 6) & 0x3f),
      0x80 | (c & 0x3f),
    ];
  };
  outer: while (stack.length > 0) {
    let [s, e] = stack.pop();
    // Surrogates are not scalar values.
    if (s <= 0xdfff && e >= 0xd800) {
      if (e > 0xdfff) stack.push([0xe000, e]);
      if (s < 0xd800) stack.push([s, 0xd7ff]);
      continue;
    }
    if (s > e) continue;
    for (const max of [0x7f, 0x7ff, 0xffff]) {
      if (s <= max && e > max) {
        stack.push([max + 1, e], [s, max]);
        continue outer;
      }
    }
    const n = len(s);
    for (let k = 1; k < n; k++) {
      const m = (1 << (6 * k)) - 1;
      if ((s & ~m) !== (e & ~m)) {
        if ((s & m) !== 0) {
          stack.push([(s | m) + 1, e], [s, s | m]);
          continue outer;
        }
        if ((e & m) !== m) {
          stack.push([e & ~m, e], [s, (e & ~m) - 1]);
          continue outer;
        }
      }
    }
    const a = enc(s);
    const b = enc(e);
    out.push(a.map((x, k) => [x, b[k]]));
  }
  return out;
}

/** The scalar values a class matches, excluding `/`, as ranges. */
function classRanges(negated, ranges) {
  // A class matches within one path segment, so never `/`, even when a range spans it.
  let rs = ranges.flatMap(([lo, hi]) =>
    lo <= 0x2f && 0x2f <= hi
      ? [
          [lo, 0x2e],
          [0x30, hi],
        ].filter(([a, b]) => a <= b)
      : [[lo, hi]],
  );
  if (negated) {
    rs = [];
    let next = 0;
    for (const [lo, hi] of mergeRanges([...ranges.map((r) => [...r]), [0x2f, 0x2f]])) {
      if (lo > next) rs.push([next, lo - 1]);
      next = hi + 1;
    }
    if (next <= 0x10ffff) rs.push([next, 0x10ffff]);
  }
  return rs;
}

/** Add a glob's automaton from `start`; returns its accepting state. */
function addGlob(nfa, glob, start) {
  const { segments, dirOnly } = glob;
  let s = start;
  segments.forEach((seg, k) => {
    const last = k === segments.length - 1;
    if (seg === "any") {
      if (last) {
        // [^/]+(/[^/]+)*
        s = nfa.some(s, NOT_SLASH);
        const again = nfa.set(s, [[0x2f, 0x2f]]);
        const after = nfa.some(again, NOT_SLASH);
        nfa.eps[after].push(s);
      } else {
        // ([^/]+/)*
        const loop = nfa.state();
        nfa.eps[s].push(loop);
        const seg1 = nfa.some(loop, NOT_SLASH);
        nfa.edge(seg1, 0x2f, 0x2f, loop);
        s = loop;
      }
      return;
    }
    for (const part of seg) {
      if (part.t === "char") {
        for (const b of utf8.encode(cp(part.c))) s = nfa.set(s, [[b, b]]);
      } else if (part.t === "star") {
        s = nfa.many(s, NOT_SLASH);
      } else if (part.t === "any") {
        s = nfa.many(nfa.set(s, LEAD), CONTINUATION);
      } else {
        const seqs = [];
        for (const [lo, hi] of classRanges(part.negated, part.ranges)) {
          seqs.push(...utf8Sequences(lo, hi));
        }
        s = nfa.sequences(s, seqs);
      }
    }
    if (!last) s = nfa.set(s, [[0x2f, 0x2f]]);
  });
  if (dirOnly) {
    // /.+
    s = nfa.some(nfa.set(s, [[0x2f, 0x2f]]), ANY_BYTE);
  } else {
    // (/.*)?
    const tail = nfa.many(nfa.set(s, [[0x2f, 0x2f]]), ANY_BYTE);
    const done = nfa.state();
    nfa.eps[s].push(done);
    nfa.eps[tail].push(done);
    s = done;
  }
  return s;
}

const DEAD = 0;
const MATCH = 1;

/**
 * Which states every input matches from (as the Rust host finds them): start from the states
 * whose closure accepts and keep, until nothing changes, those whose closure's edges into kept
 * states cover every byte. So `(/.*)?` after a whole glob, or `*delete*` once `delete` is
 * read, is found to match whatever follows.
 */
function universalStates(nfa, closures, accepts) {
  const n = closures.length;
  const universal = new Array(n);
  for (let q = 0; q < n; q++) universal[q] = closures[q].some((s) => accepts.has(s));
  for (let changed = true; changed; ) {
    changed = false;
    for (let q = 0; q < n; q++) {
      if (!universal[q]) continue;
      const covered = [];
      for (const s of closures[q]) {
        for (const [lo, hi, t] of nfa.edges[s]) {
          if (closures[t].some((r) => universal[r])) covered.push([lo, hi]);
        }
      }
      covered.sort((a, b) => a[0] - b[0]);
      let upTo = 0;
      for (const [lo, hi] of covered) {
        if (lo > upTo) break;
        upTo = Math.max(upTo, hi + 1);
      }
      if (upTo < 256) {
        universal[q] = false;
        changed = true;
      }
    }
  }
  return universal;
}

/**
 * Compile globs (already parsed) into one table matching their union; `label` names them in
 * the error when the table would be too large (past `limit` unminimised states, or past
 * `MAX_STATES`) or too costly (when `budget.left`, shared by a list's tables, runs out).
 */
function compileUnion(globs, label, limit, budget) {
  const nfa = new Nfa();
  const start = nfa.state();
  const accepts = new Set();
  for (const g of globs) {
    const s = nfa.state();
    nfa.eps[start].push(s);
    accepts.add(addGlob(nfa, g, s));
  }
  // Byte classes: contiguous ranges of bytes no edge tells apart, in byte order.
  const cut = new Uint8Array(257);
  cut[0] = 1;
  cut[256] = 1;
  for (const es of nfa.edges) {
    for (const [lo, hi] of es) {
      cut[lo] = 1;
      cut[hi + 1] = 1;
    }
  }
  const rawClass = new Uint8Array(256);
  const reps = [];
  for (let b = 0; b < 256; b++) {
    if (cut[b]) reps.push(b);
    rawClass[b] = reps.length - 1;
  }
  const k = reps.length;

  // The closure of every state under ε-moves, sorted.
  const n = nfa.edges.length;
  const closures = new Array(n);
  for (let q = 0; q < n; q++) {
    const stack = [q];
    const seen = new Set(stack);
    while (stack.length > 0) {
      const s = stack.pop();
      for (const t of nfa.eps[s]) {
        if (!seen.has(t)) {
          seen.add(t);
          stack.push(t);
        }
      }
    }
    closures[q] = Int32Array.from(seen).sort();
  }
  const universal = universalStates(nfa, closures, accepts);
  const ids = new Map();
  const queue = [];
  // Steps, as the Rust host counts them: each set looked up by its size, and for each
  // explored set each member's edges by the states they reach times the classes they span.
  const spend = (steps) => {
    budget.left -= steps;
    if (budget.left < 0) throw new PatternTooCostly(label);
  };
  const idOf = (set) => {
    spend(set.length);
    if (set.length === 0) return DEAD;
    // A set holding a state every continuation from which matches is the matching state: the
    // walk stops there, so its other members need not be followed (as in the Rust host).
    for (const q of set) if (universal[q]) return MATCH;
    const key = set.join(",");
    let id = ids.get(key);
    if (id === undefined) {
      if (ids.size >= limit) throw new PatternTooLarge(label);
      id = ids.size + 2;
      ids.set(key, id);
      queue.push(set);
    }
    return id;
  };
  const startId = idOf(closures[start]);
  // Rows of the dead and the matching state; the matching state absorbs everything.
  const next = [];
  for (let c = 0; c < k; c++) next.push(DEAD);
  for (let c = 0; c < k; c++) next.push(MATCH);
  const finals = [false, true];
  const targets = Array.from({ length: k }, () => []);
  for (let q = 0; q < queue.length; q++) {
    const set = queue[q];
    let accept = false;
    for (const s of set) {
      if (accepts.has(s)) accept = true;
      for (const [lo, hi, t] of nfa.edges[s]) {
        const reached = closures[t];
        spend(reached.length * (rawClass[hi] - rawClass[lo] + 1));
        for (let c = rawClass[lo]; c <= rawClass[hi]; c++) {
          for (const r of reached) targets[c].push(r);
        }
      }
    }
    for (let c = 0; c < k; c++) {
      const ts = targets[c];
      ts.sort((a, b) => a - b);
      let m = 0;
      for (let i = 0; i < ts.length; i++) if (i === 0 || ts[i] !== ts[i - 1]) ts[m++] = ts[i];
      ts.length = m;
      next.push(idOf(ts.slice()));
      ts.length = 0;
    }
    finals.push(accept);
  }
  const table = minimise({ n: finals.length, k, next, finals, rawClass, start: startId }, label);
  table.filters = unionFilters(globs);
  return table;
}

// ---------------------------------------------------------------------------------------------
// Literal filters (docs/abi.md, Patterns; `blastwall_abi::dfa::filter`). A mask is a `u64`
// kept as two `u32` halves, `[lo, hi]`.

/**
 * Adds to `mask` the bit of each pair of adjacent bytes of `bytes`: the pair read as a
 * little-endian `u16` `p`, bit `(p × 0x9E3779B1 mod 2³²) >> 26`.
 */
export function pairMask(bytes, mask = [0, 0]) {
  for (let i = 1; i < bytes.length; i++) {
    const k = Math.imul(bytes[i - 1] | (bytes[i] << 8), 0x9e3779b1) >>> 26;
    if (k < 32) mask[0] = (mask[0] | (1 << k)) >>> 0;
    else mask[1] = (mask[1] | (1 << (k - 32))) >>> 0;
  }
  return mask;
}

/** The mask of a glob: the pairs inside each of its literal parts (runs of characters). */
function globMask(glob) {
  const mask = [0, 0];
  for (const seg of glob.segments) {
    if (seg === "any") continue;
    let run = [];
    const flush = () => {
      if (run.length > 0) pairMask(utf8.encode(String.fromCodePoint(...run)), mask);
      run = [];
    };
    for (const part of seg) {
      if (part.t === "char") run.push(part.c);
      else flush();
    }
    flush();
  }
  return mask;
}

/** Whether mask `a` holds every bit of mask `b`. */
const holds = (a, b) => ((a[0] & b[0]) >>> 0) === b[0] && ((a[1] & b[1]) >>> 0) === b[1];

/**
 * The filters of the union of `globs`: none when a glob has no pair (every subject is walked);
 * else the globs' masks, ascending, without those that hold another.
 */
function unionFilters(globs) {
  const masks = globs.map(globMask);
  if (masks.some(([lo, hi]) => lo === 0 && hi === 0)) return [];
  masks.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const distinct = masks.filter((m, i) => i === 0 || m[0] !== masks[i - 1][0] || m[1] !== masks[i - 1][1]);
  return distinct.filter((m) => !distinct.some((o) => o !== m && holds(m, o)));
}

/** Whether a subject's bytes may match a table: its mask holds one of the table's filters. */
export function passesFilters(table, bytes) {
  if (table.filters.length === 0) return true;
  const mask = pairMask(bytes);
  return table.filters.some((f) => holds(mask, f));
}

/**
 * The minimal table accepting the same inputs under the walk of docs/abi.md: states are
 * equivalent when the same inputs lead them to a state whose end-of-input step matches.
 */
function minimise(raw, label) {
  const { n, k, next, finals, rawClass } = raw;
  // Moore's partition refinement.
  let block = new Int32Array(n);
  for (let s = 0; s < n; s++) block[s] = finals[s] ? 1 : 0;
  let count = new Set(block).size;
  for (;;) {
    const sig = new Map();
    const nb = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      let key = `${block[s]}`;
      for (let c = 0; c < k; c++) key += `,${block[next[s * k + c]]}`;
      let b = sig.get(key);
      if (b === undefined) {
        b = sig.size;
        sig.set(key, b);
      }
      nb[s] = b;
    }
    block = nb;
    if (sig.size === count) break;
    count = sig.size;
  }
  const member = new Map();
  for (let s = 0; s < n; s++) if (!member.has(block[s])) member.set(block[s], s);
  const deadBlock = block[DEAD];
  const matchBlock = block[MATCH];
  const row = (b) => {
    const s = member.get(b);
    return next.slice(s * k, (s + 1) * k);
  };
  const eoiBlock = (b) => (finals[member.get(b)] ? matchBlock : deadBlock);

  // Number the blocks: the dead one 0, the others in the order a breadth-first walk from the
  // start finds them.
  const number = new Map([[deadBlock, 0]]);
  const order = [deadBlock];
  const visit = (b) => {
    if (!number.has(b)) {
      number.set(b, order.length);
      order.push(b);
    }
    return number.get(b);
  };
  const start = visit(block[raw.start]);
  for (let q = 1; q < order.length; q++) {
    const b = order[q];
    for (const t of row(b)) visit(block[t]);
    visit(eoiBlock(b));
  }
  if (order.length > MAX_STATES) throw new PatternTooLarge(label);

  // Merge the classes whose columns agree, numbering them by their first byte.
  const merged = new Map();
  const ofRaw = new Map();
  const repRaw = [];
  const classes = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) {
    const r = rawClass[byte];
    let c = ofRaw.get(r);
    if (c === undefined) {
      const column = order.map((b) => number.get(block[row(b)[r]])).join(",");
      c = merged.get(column);
      if (c === undefined) {
        c = merged.size;
        merged.set(column, c);
        repRaw.push(r);
      }
      ofRaw.set(r, c);
    }
    classes[byte] = c;
  }
  const c = repRaw.length;
  const s = order.length;
  const table = {
    kind: KIND_GLOB,
    classes,
    nclasses: c,
    nstates: s,
    start,
    next: new Uint32Array(s * c),
    eoi: new Uint32Array(s),
    accept: new Uint8Array(s),
  };
  order.forEach((b, i) => {
    const r = row(b);
    repRaw.forEach((raw, j) => {
      table.next[i * c + j] = number.get(block[r[raw]]);
    });
    table.eoi[i] = number.get(eoiBlock(b));
    table.accept[i] = b === matchBlock ? 1 : 0;
  });
  return table;
}

/** An invalid pattern: matching against it fails the rule with `text`. */
function invalid(text) {
  return { kind: 0, text };
}

/**
 * Compile the patterns of a parameter's value into few tables that keep its meaning, as the
 * Rust host does: the valid patterns before the first invalid one in unions of up to sixteen,
 * split in halves while a union is too large (past 2,000 unminimised states), then the invalid
 * one; later patterns are never reached. Throws `PatternTooLarge` (its message: the pattern)
 * when one pattern alone is, and `PatternTooCostly` when the list's tables together would take
 * more than `MAX_WORK` steps to build.
 * @param {string[]} patterns
 */
export function compileGlobList(patterns) {
  const globs = [];
  let bad = null;
  for (const p of patterns) {
    try {
      globs.push({ text: p, ...parseGlob(p) });
    } catch (e) {
      if (!(e instanceof GlobError)) throw e;
      bad = invalid(`invalid glob \`${p}\`: ${e.message}`);
      break;
    }
  }
  const out = [];
  // One budget for the whole list.
  const budget = { left: MAX_WORK };
  const unions = (group) => {
    if (group.length === 0) return;
    if (group.length === 1) {
      out.push(compileUnion(group, group[0].text, MAX_EXPLORED, budget));
      return;
    }
    let union;
    try {
      union = compileUnion(group, group.map((g) => g.text).join(", "), MAX_UNION_EXPLORED, budget);
    } catch (e) {
      if (!(e instanceof PatternTooLarge)) throw e;
      const half = group.length >> 1;
      unions(group.slice(0, half));
      unions(group.slice(half));
      return;
    }
    // A union stops following its other globs once one matches whatever follows, so a glob
    // too large alone may sit in a small union (`**` beside it); each is held to the limit by
    // itself, so that no grouping decides whether a list is refused (docs/abi.md, Patterns).
    for (const g of group) compileUnion([g], g.text, MAX_EXPLORED, budget);
    out.push(union);
  };
  for (let i = 0; i < globs.length; i += UNION_GROUP) unions(globs.slice(i, i + UNION_GROUP));
  if (bad) out.push(bad);
  return out;
}

/** The walk of docs/abi.md over `bytes` (a normalised path's). For tests. */
export function walk(table, bytes) {
  const c = table.nclasses;
  let state = table.start;
  for (const b of bytes) {
    state = table.next[state * c + table.classes[b]];
    if (table.accept[state] === 1) return true;
    if (state === 0) return false;
  }
  return table.accept[table.eoi[state]] === 1;
}

/**
 * Bytes per entry of an encoded table's `next` and `eoi` (docs/abi.md, Patterns): 2 when the
 * last row's offset with 2-byte entries, `2 × c × (s − 1)` (which leaves bit 0 free), and the
 * number of states are below 2¹⁶, else 4 — as the Rust host chooses.
 */
export function entrySize(t) {
  return Math.max(2 * t.nclasses * Math.max(t.nstates - 1, 0), t.nstates) < 65536 ? 2 : 4;
}

/** Bytes of an encoded table, not counting an invalid pattern's text. */
export function tableLength(t) {
  if (t.kind === 0) return 24;
  const w = entrySize(t);
  return 280 + 8 * t.filters.length + w * t.nstates * t.nclasses + (w + 1) * t.nstates;
}
