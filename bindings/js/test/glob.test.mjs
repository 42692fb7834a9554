// The glob compiler: tables that accept exactly the normalised paths the documented semantics
// (`blastwall_abi::glob`) match, and the Rust host's error texts for invalid patterns.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  PatternTooCostly,
  PatternTooLarge,
  compileGlobList,
  parseGlob,
  passesFilters,
  walk,
} from "../src/glob.js";

const utf8 = new TextEncoder();

/**
 * The walk of docs/abi.md on a path over a list of tables: the literal filters on the path as
 * given, then the walk of the path normalised.
 */
function matches(tables, path) {
  const norm = path.split("/").filter((s) => s !== "" && s !== ".").join("/");
  if (norm === "") return false;
  const bytes = utf8.encode(norm);
  for (const t of tables) {
    if (t.kind === 0) throw new Error(t.text);
    if (passesFilters(t, utf8.encode(path)) && walk(t, bytes)) return true;
  }
  return false;
}

/** The mask of docs/abi.md ("Literal filters") as a BigInt, transcribed from the page. */
function mask(text) {
  const b = utf8.encode(text);
  let m = 0n;
  for (let i = 1; i < b.length; i++) {
    const p = BigInt(b[i - 1] + 256 * b[i]);
    m |= 1n << (((p * 0x9e3779b1n) % (1n << 32n)) >> 26n);
  }
  return m;
}

const big = ([lo, hi]) => BigInt(lo) | (BigInt(hi) << 32n);

test("literal filters: the masks of the globs' literals, ascending, minus those holding another", () => {
  const [md] = compileGlobList(["*.md"]);
  assert.deepEqual(md.filters.map(big), [mask(".md")]);
  const [union] = compileGlobList(["**/tests/**", "**/tests/unit/**", "*.md", "docs/**"]);
  const want = [mask("tests"), mask(".md"), mask("docs")].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(union.filters.map(big), want);
  // A glob without a pair of adjacent literal bytes leaves its union unfiltered.
  for (const list of [["*"], ["a/b"], ["*.md", "?"], ["[ab]c/*"]]) {
    for (const t of compileGlobList(list)) assert.deepEqual(t.filters, [], JSON.stringify(list));
  }
  // A non-ASCII character alone is two bytes, so one pair.
  assert.deepEqual(compileGlobList(["é"])[0].filters.map(big), [mask("é")]);
});

test("literal filters skip paths that lack a list's literals and keep those that match", () => {
  const tables = compileGlobList(["**/migrations/**", "*.tf", "CODEOWNERS"]);
  for (const path of ["db/migrations/0001.sql", "./db//migrations/./x", "infra/main.tf", "a.tf/in", ".github/CODEOWNERS"]) {
    assert.ok(tables.every((t) => t.kind !== 1 || t.filters.length > 0));
    assert.ok(matches(tables, path), path);
    assert.ok(tables.some((t) => passesFilters(t, utf8.encode(path))), path);
  }
  for (const path of ["services/cart/src/file1.rs", "web/src/checkout/file2.rs", "x"]) {
    assert.ok(!tables.some((t) => passesFilters(t, utf8.encode(path))), path);
  }
});

/** A direct, exponential transcription of the documented semantics, for small inputs. */
function reference(glob, path) {
  const parts = (ps, t) => {
    if (ps.length === 0) return t.length === 0;
    const [p, ...rest] = ps;
    if (p.t === "star") {
      for (let k = 0; k <= t.length; k++) if (parts(rest, t.slice(k))) return true;
      return false;
    }
    if (t.length === 0) return false;
    const c = t[0];
    if (p.t === "char" && c !== p.c) return false;
    if (p.t === "class" && p.ranges.some(([lo, hi]) => lo <= c && c <= hi) === p.negated) return false;
    return parts(rest, t.slice(1));
  };
  const covers = (segs, s) => {
    if (segs.length === 0) return s.length === 0;
    const [p, ...rest] = segs;
    if (p === "any") {
      for (let k = rest.length === 0 ? 1 : 0; k <= s.length; k++) if (covers(rest, s.slice(k))) return true;
      return false;
    }
    if (s.length === 0) return false;
    const chars = Array.from(s[0], (ch) => ch.codePointAt(0));
    return parts(p, chars) && covers(rest, s.slice(1));
  };
  const s = path.split("/").filter((x) => x !== "" && x !== ".");
  const max = glob.dirOnly ? s.length - 1 : s.length;
  for (let k = 1; k <= max; k++) if (covers(glob.segments, s.slice(0, k))) return true;
  return false;
}

// The table of `blastwall_abi::glob`'s tests.
const CASES = [
        // Unanchored: matches at any depth, and everything under a match.
        [
            "docs",
            [
                "docs",
                "docs/a/b.md",
                "a/docs/x",
                "a/b/docs",
                "/docs",
                "./docs/x",
            ],
            ["doc", "docsx", "xdocs/a", "a/mydocs", "Docs"],
        ],
        // Leading `/` anchors.
        [
            "/deps/cares",
            ["deps/cares", "deps/cares/src/x.c", "/deps/cares/x"],
            ["deps/caress", "x/deps/cares", "deps", "deps/care"],
        ],
        // A `/` in the middle anchors too.
        [
            "src/*",
            ["src/a.rs", "src/sub/b.rs", "src/.hidden"],
            ["src", "x/src/a.rs", "srcs/a.rs"],
        ],
        // Trailing `/`: directory only, still unanchored.
        [
            "build/",
            ["build/x", "a/build/x/y"],
            ["build", "a/build", "builds/x"],
        ],
        ["*", ["a", "a/b", ".x", "a.b/c"], ["", "/", ".", "./"]],
        ["?", ["a", "a/b", "x/y/z"], ["ab", "ab/cd"]],
        ["a?c", ["abc", "a.c", "x/a-c"], ["ac", "abbc", "a/c"]],
        [
            "*.rs",
            ["lib.rs", "src/lib.rs", ".rs", "x.rs/y"],
            ["lib.rsx", "lib_rs"],
        ],
        [
            "a*b*c",
            ["abc", "aXbYc", "abbbc", "acbc"],
            ["ab", "acb", "a/b/c"],
        ],
        // Classes.
        [
            "[abc].txt",
            ["a.txt", "c.txt", "d/b.txt"],
            ["d.txt", "ab.txt", ".txt"],
        ],
        ["[a-c]x", ["ax", "bx", "cx"], ["dx", "Ax", "x"]],
        ["[!a-c]x", ["dx", "Ax", "-x"], ["ax", "bx", "x"]],
        ["[^a-c]x", ["dx"], ["ax"]],
        ["[-a]", ["-", "a"], ["b"]],
        ["[a-]", ["-", "a"], ["b"]],
        ["[[]", ["["], ["]"]],
        ["[\\]]", ["]"], ["\\"]],
        ["[\\!a]", ["!", "a"], ["b"]],
        ["[é-ë]", ["é", "ê", "ë"], ["e", "ì"]],
        // Escapes.
        ["\\*", ["*", "a/*"], ["a", "**"]],
        ["\\?", ["?"], ["a"]],
        ["\\[a]", ["[a]"], ["a"]],
        ["a\\\\b", ["a\\b"], ["ab", "a/b"]],
        ["\\#x", ["#x"], ["x"]],
        // `**`.
        [
            "**/foo",
            ["foo", "a/foo", "a/b/foo", "foo/x"],
            ["xfoo", "a/xfoo"],
        ],
        [
            "a/**/b",
            ["a/b", "a/x/b", "a/x/y/b", "a/b/c"],
            ["b", "x/a/b", "a/xb", "ab"],
        ],
        ["a/**", ["a/x", "a/x/y"], ["a", "b/a/x", "ab/x"]],
        ["/**", ["a", "a/b"], [""]],
        ["**", ["a", "a/b"], [""]],
        ["**/", ["a/b", "a/b/c"], ["a"]],
        ["a/**/", ["a/b/c"], ["a/b", "a"]],
        ["a/**/**/b", ["a/b", "a/x/b", "a/x/y/b"], ["b"]],
        // `**` that is not a whole segment is a star.
        ["a**b", ["ab", "axxb", "q/ab"], ["a/b", "a/x/b"]],
        ["**a", ["a", "xa", "q/xa"], ["ab"]],
        ["/x/***", ["x/a", "x/a/b"], ["x"]],
        // Case sensitivity and chars.
        ["README", ["README"], ["readme", "ReadMe"]],
        ["?.md", ["é.md", "日.md"], ["ab.md", ".md"]],
        // Consecutive slashes.
        ["a//b", ["a/b", "a/b/c"], ["b", "x/a/b"]],
        ["//a", ["a"], ["x/a"]],
        ["a//", ["a/x", "x/a/y"], ["a"]],
        // Path normalisation.
        [
            "a/b",
            ["a//b", "/a/b", "./a/b", "a/./b", "a/b/"],
            ["a/../a/b", "aa/b"],
        ],
        // A `!` means nothing special.
        ["!x", ["!x"], ["x", "y"]],
        // CODEOWNERS examples.
        [
            "*.gyp",
            ["node.gyp", "deps/v8/v8.gyp", "tools/x.gyp/y"],
            ["node.gypi", "gyp", "x.gyp.bak"],
        ],
        [
            "/doc/contributing/**/*",
            ["doc/contributing/a.md", "doc/contributing/x/y/z.md"],
            ["doc/contributing", "doc/a.md", "x/doc/contributing/a.md"],
        ],
        [
            "**/*genobject*",
            [
                "genobject.h",
                "Objects/genobject.c",
                "Include/internal/pycore_genobject.h",
            ],
            ["Objects/gen_object.c", "Objects/genobjec.c"],
        ],
        [
            "Lib/test/test_*time.py",
            ["Lib/test/test_time.py", "Lib/test/test_datetime.py"],
            [
                "Lib/test/sub/test_time.py",
                "x/Lib/test/test_time.py",
                "Lib/test/test_time.pyc",
                "Lib/test/test_timer.py",
            ],
        ],
        [
            "Modules/**/clinic/",
            [
                "Modules/clinic/a.c.h",
                "Modules/_io/clinic/x.h",
                "Modules/a/b/clinic/x/y.h",
            ],
            ["Modules/clinic", "Modules/a/clinic", "x/Modules/clinic/a.h"],
        ],
        [
            "/vcpkg*.json",
            ["vcpkg.json", "vcpkg-configuration.json"],
            ["sub/vcpkg.json", "vcpkg.jsonc", "xvcpkg.json"],
        ],
        [
            "/eeschema/connection_graph.*",
            [
                "eeschema/connection_graph.cpp",
                "eeschema/connection_graph.h",
            ],
            [
                "eeschema/sub/connection_graph.cpp",
                "x/eeschema/connection_graph.cpp",
                "eeschema/connection_graph",
            ],
        ],
        [
            "/docs/**/api-reference/peripherals/usb*/",
            [
                "docs/en/api-reference/peripherals/usb_host/index.rst",
                "docs/api-reference/peripherals/usb/x",
                "docs/zh_CN/a/api-reference/peripherals/usb_device/b/c.rst",
            ],
            [
                "docs/en/api-reference/peripherals/usb_host.rst",
                "docs/en/api-reference/peripherals/usb_host",
                "x/docs/en/api-reference/peripherals/usb/y",
                "docs/en/api-reference/peripherals/uart/y",
            ],
        ],
        [
            "/.*",
            [".github/CODEOWNERS", ".gitignore", ".x/y/z"],
            ["a/.gitignore", "github/.x"],
        ],
        // The policy example.
        [
            "services/*/src/**",
            ["services/cart/src/lib.rs", "services/cart/src/a/b.rs"],
            [
                "services/cart/src",
                "services/cart/tests/x.rs",
                "services/src/x.rs",
                "x/services/cart/src/lib.rs",
            ],
        ],
];

test("the documented examples", () => {
  for (const [pattern, yes, no] of CASES) {
    const tables = compileGlobList([pattern]);
    for (const path of yes) assert.ok(matches(tables, path), `\`${pattern}\` should match \`${path}\``);
    for (const path of no) assert.ok(!matches(tables, path), `\`${pattern}\` should not match \`${path}\``);
  }
});

test("tables agree with the documented semantics, alone and in unions", () => {
  const pieces = ["a", "b", "*", "?", "[ab]", "[!a]", "**", "a*", "*b", "?a", "é", "[!é]", "[à-ë]"];
  const names = ["a", "b", "ab", "aa", "c", "é", "ê", "日"];
  const patterns = [];
  for (const x of pieces) {
    for (const lead of ["", "/"]) {
      for (const trail of ["", "/"]) {
        patterns.push(`${lead}${x}${trail}`);
        for (const y of pieces) {
          patterns.push(`${lead}${x}/${y}${trail}`, `${lead}${x}${y}${trail}`);
          for (const z of ["a", "**", "*"]) patterns.push(`${lead}${x}/${y}/${z}${trail}`);
        }
      }
    }
  }
  let paths = [...names];
  for (let depth = 0; depth < 2; depth++) {
    const longer = [];
    for (const p of paths) if (p.split("/").length === depth + 1) for (const n of names) longer.push(`${p}/${n}`);
    paths = paths.concat(longer);
  }
  paths.push("", "/", ".", "./a", "a//b/", "a/./b");
  let checked = 0;
  for (const pattern of patterns) {
    const glob = parseGlob(pattern);
    const tables = compileGlobList([pattern]);
    assert.equal(tables.length, 1);
    for (const path of paths) {
      assert.equal(matches(tables, path), reference(glob, path), `\`${pattern}\` against \`${path}\``);
      checked++;
    }
  }
  assert.ok(checked > 100000, `${checked}`);
  // Unions of four patterns: a path matches the union when it matches any of them.
  for (let i = 0; i + 4 <= patterns.length; i += 97) {
    const group = patterns.slice(i, i + 4);
    const tables = compileGlobList(group);
    assert.equal(tables.length, 1, group.join(", "));
    const globs = group.map(parseGlob);
    for (const path of paths) {
      assert.equal(matches(tables, path), globs.some((g) => reference(g, path)), `${group} against \`${path}\``);
    }
  }
});

test("tables have the shape docs/abi.md gives", () => {
  for (const pattern of ["docs/**", "*.md", "src/[a-c]?/x", "**"]) {
    const [t] = compileGlobList([pattern]);
    assert.equal(t.kind, 1);
    assert.equal(t.next.length, t.nstates * t.nclasses);
    // State 0 is dead; exactly one matching state, which absorbs everything.
    assert.equal(t.accept[0], 0);
    const matching = [...t.accept.keys()].filter((s) => t.accept[s] === 1);
    assert.equal(matching.length, 1, pattern);
    const m = matching[0];
    for (let c = 0; c < t.nclasses; c++) assert.equal(t.next[m * t.nclasses + c], m);
    assert.equal(t.eoi[m], m);
    for (let c = 0; c < t.nclasses; c++) assert.equal(t.next[c], 0);
  }
  // `services/*/src/**` needs few states, as the Rust compiler's minimal table does.
  const [t] = compileGlobList(["services/*/src/**"]);
  assert.ok(t.nstates < 30, `${t.nstates}`);
});

test("lists: unions of sixteen, halved while too large, and an invalid pattern ends the list", () => {
  assert.equal(compileGlobList(["docs/**", "*.md", "**/tests/**", ".github/workflows/*"]).length, 1);
  assert.equal(compileGlobList(["a", "b", "c", "d", "e"]).length, 1);
  assert.equal(compileGlobList(Array.from({ length: 40 }, (_, i) => `d${i}/**`)).length, 3);
  // Each of these needs about 2^11 states alone: too many to join with anything.
  const big = ["a", "b", "c"].map((l) => `*${l}${"?".repeat(10)}`);
  const split = compileGlobList(big);
  assert.equal(split.length, 3);
  for (const [i, path] of ["x/a1234567890", "b1234567890", "y/z/c1234567890"].entries()) {
    assert.ok(matches(split, path), path);
    assert.ok(matches([split[i]], path), path);
  }
  assert.ok(!matches(split, "x/a123456789"));
  assert.equal(compileGlobList([]).length, 0);
  const tables = compileGlobList(["docs/**", "src/[x", "never/**"]);
  assert.equal(tables.length, 2);
  assert.deepEqual(tables[1], { kind: 0, text: "invalid glob `src/[x`: unclosed `[` in glob `src/[x`" });
});

test("a pattern too large alone is refused whatever it is grouped with", () => {
  const big = `*a${"?".repeat(14)}`;
  const refused = (list) =>
    assert.throws(() => compileGlobList(list), (e) => e instanceof PatternTooLarge && e.message === big, JSON.stringify(list));
  refused([big]);
  refused(["a/**", big]);
  // The union with `**` would match every path in a few states; it is refused all the same.
  refused(["**", big]);
  // After an invalid pattern nothing is compiled.
  assert.equal(compileGlobList(["[z-a]", big]).length, 1);
});

test("a class never matches `/`, even when one of its ranges spans it", () => {
  for (const pattern of ["a[+-1]b", "a[!x]b", "a[!+-1]b"]) {
    const tables = compileGlobList([pattern]);
    assert.ok(!matches(tables, "a/b"), pattern);
  }
  const tables = compileGlobList(["a[+-1]b"]);
  for (const path of ["a+b", "a.b", "a0b", "a1b"]) assert.ok(matches(tables, path), path);
  assert.ok(!matches(tables, "a2b"));
});

test("invalid patterns have the Rust host's texts", () => {
  const cases = [
    ["", "empty glob"],
    ["//", "glob `//` has no path segments"],
    ["src/[ab", "unclosed `[` in glob `src/[ab`"],
    ["[ab/c]", "unclosed `[` in glob `[ab/c]`"],
    ["[a\\/]", "unclosed `[` in glob `[a\\/]`"],
    ["[a-", "unclosed `[` in glob `[a-`"],
    ["a[]", "empty character class in glob `a[]`"],
    ["[!]x]", "empty character class in glob `[!]x]`"],
    ["a\\", "trailing `\\` in glob `a\\`"],
    ["[a\\", "trailing `\\` in glob `[a\\`"],
    ["[z-a]", "reversed range `z-a` in glob `[z-a]`"],
    ["a\0b", "glob `a\\0b` contains a nul byte"],
    ["a".repeat(4097), "glob of 4097 bytes is longer than the limit of 4096 bytes"],
  ];
  for (const [pattern, text] of cases) {
    const [t] = compileGlobList([pattern]);
    assert.deepEqual(t, { kind: 0, text: `invalid glob \`${pattern}\`: ${text}` });
  }
  assert.equal(compileGlobList(["a".repeat(4096)])[0].kind, 1);
});

test("a list too costly to compile is refused; long lists of the usual globs are not", () => {
  // As tests/conformance.rs: ten `*a*b*c…` globs of a thousand letters have small automata
  // whose states are large sets.
  let seed = 7;
  const letter = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return String.fromCharCode(97 + ((seed >>> 16) % 8));
  };
  const costly = Array.from({ length: 10 }, () => `*${Array.from({ length: 1000 }, letter).join("*")}*`);
  assert.throws(() => compileGlobList(costly), PatternTooCostly);
  const usual = Array.from({ length: 500 }, (_, i) =>
    [`services/svc${i}/**`, `**/dir${i}/**`, `*.ext${i}`, `apps/*/src${i}/*.rs`][i % 4],
  );
  assert.ok(compileGlobList(usual).length > 0);
});
