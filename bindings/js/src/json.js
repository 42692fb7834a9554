// A JSON parser that keeps every integer exact.
//
// `JSON.parse` reads numbers as doubles, so `9223372036854775807` (a parameter default the
// metadata may carry) or a large fact would silently change. This parser returns an integer
// literal as a `number` when it is a safe integer and as a `bigint` otherwise, and a literal
// written with a fraction or an exponent as a `JsonFloat`, which the encoder refuses wherever
// an integer is expected, as the Rust host refuses `1.0`. Objects have no prototype, so a key
// `__proto__` is an ordinary member.

/** A number written with a fraction or an exponent. */
export class JsonFloat {
  /** @param {number} value */
  constructor(value) {
    this.value = value;
  }

  toString() {
    return formatFloat(this.value);
  }
}

/**
 * A double as the Rust host prints it in messages: shortest round-trip digits, in exponent
 * form (`1e+16`, `1.5e-7`) from 1e16 and below 1e-5, else plain with `.0` on integral values.
 * @param {number} v
 */
export function formatFloat(v) {
  if (!Number.isFinite(v)) return String(v);
  const [m, ex] = v.toExponential().split("e");
  const e = Number(ex);
  if (e >= 16 || e < -5) return `${m}e${e >= 0 ? "+" : "-"}${Math.abs(e)}`;
  const s = String(v);
  return Number.isInteger(v) ? `${s}.0` : s;
}

const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/**
 * Parse JSON text. Throws a `SyntaxError` naming the offset of the first problem.
 * @param {string} text
 * @returns {unknown}
 */
export function parseJson(text) {
  let i = 0;
  const n = text.length;
  const fail = (what) => {
    throw new SyntaxError(`invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const string = () => {
    // At the opening quote.
    i++;
    let out = "";
    let start = i;
    for (;;) {
      if (i >= n) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      i++;
      const e = text[i++];
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default: fail("bad escape");
      }
      start = i;
    }
  };
  const number = () => {
    const m = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) fail("bad number");
    i = m.lastIndex;
    const lit = r[0];
    if (r[1] === undefined && r[2] === undefined) {
      const v = Number(lit);
      if (Number.isSafeInteger(v)) return v;
      const b = BigInt(lit);
      // Beyond 64 bits the Rust reader falls back to a double.
      if (b >= I64_MIN && b <= U64_MAX) return b;
      return new JsonFloat(v);
    }
    const v = Number(lit);
    return Number.isInteger(v) ? new JsonFloat(v) : v;
  };
  const value = (depth) => {
    if (depth > 512) fail("nested too deeply");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = Object.create(null);
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = string();
        ws();
        if (text[i] !== ":") fail("expected `:`");
        i++;
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected `,` or `}`");
      }
    }
    if (c === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected `,` or `]`");
      }
    }
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    if (text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    return fail("expected a value");
  };
  const v = value(0);
  ws();
  if (i < n) fail("trailing characters");
  return v;
}
