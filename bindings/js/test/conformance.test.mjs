// Every decide case through the JS host: the decision must print exactly as decision.json
// (the file the reference interpreter and the wasmtime host are checked against), and facts
// that do not fit the schema must be refused with the words of error.txt.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { FactsError, Policy } from "../index.js";
import { casesDir, moduleBytes } from "../tools/modules.mjs";

const cases = readdirSync(casesDir).filter((name) => existsSync(join(casesDir, name, "facts.json")));

test("there are decide cases of both kinds", () => {
  const decisions = cases.filter((c) => existsSync(join(casesDir, c, "decision.json")));
  const errors = cases.filter((c) => existsSync(join(casesDir, c, "error.txt")));
  assert.ok(decisions.length >= 10, `${decisions.length} decision cases`);
  assert.ok(errors.length >= 5, `${errors.length} error cases`);
});

for (const name of cases) {
  const dir = join(casesDir, name);
  const facts = readFileSync(join(dir, "facts.json"), "utf8");
  if (existsSync(join(dir, "decision.json"))) {
    test(`decide/${name}`, async () => {
      const policy = await Policy.load(moduleBytes(name));
      const want = readFileSync(join(dir, "decision.json"), "utf8").trimEnd();
      // Twice: the second decision reuses the instance.
      for (let round = 0; round < 2; round++) {
        const got = JSON.stringify(policy.evaluateJson(facts), null, 2);
        assert.equal(got, want);
      }
    });
  } else if (existsSync(join(dir, "error.txt"))) {
    test(`decide/${name} is refused`, async () => {
      const policy = await Policy.load(moduleBytes(name));
      const want = readFileSync(join(dir, "error.txt"), "utf8").trim();
      assert.throws(
        () => policy.evaluateJson(facts),
        (e) => e instanceof FactsError && e.message === want,
      );
      // The policy keeps working.
      assert.equal(policy.evaluate({}).outcome, "allow");
    });
  }
}
