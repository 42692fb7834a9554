// Where the tests find modules compiled by the Rust compiler: `BLASTWALL_MODULES`, a folder
// written by `build-cases.sh`, or else `BLASTWALL_BIN`, a `blastwall` binary this helper runs
// `build-cases.sh` with, into a temporary folder. Nothing is fetched.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const buildScript = resolve(here, "../test/build-cases.sh");

/** The repository's root. */
export const root = resolve(here, "../../..");

/** The decide cases' folder. */
export const casesDir = join(root, "tests/cases/decide");

let dir = null;

/** The folder holding NAME.wasm for every decide case and shipped.wasm. */
export function modulesDir() {
  if (dir) return dir;
  if (process.env.BLASTWALL_MODULES) {
    dir = resolve(process.env.BLASTWALL_MODULES);
    return dir;
  }
  const bin = process.env.BLASTWALL_BIN;
  if (!bin) {
    throw new Error(
      "the JS tests need modules compiled by blastwall: set BLASTWALL_MODULES to a folder " +
        "written by bindings/js/test/build-cases.sh, or BLASTWALL_BIN to a blastwall binary",
    );
  }
  dir = mkdtempSync(join(tmpdir(), "blastwall-js-"));
  const made = dir;
  process.on("exit", () => rmSync(made, { recursive: true, force: true }));
  execFileSync(buildScript, [resolve(bin), dir], { stdio: ["ignore", "ignore", "inherit"] });
  return dir;
}

/** The bytes of a compiled module by name (`shipped`, or a decide case). */
export function moduleBytes(name) {
  return readFileSync(join(modulesDir(), `${name}.wasm`));
}
