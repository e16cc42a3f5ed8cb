/**
 * Scenario scripts of the Raft core (test/raft/scenarios/*.txt, the language in scenario-script.ts): each is run
 * and its output compared with what the file holds. `UPDATE=1 bun test test/raft/scenarios.test.ts` rewrites the
 * files with the output produced; read the diff before committing it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatScript, parseScript, runScript } from "./scenario-script.ts";

const DIR = join(import.meta.dir, "scenarios");

describe("Raft scenarios", () => {
  for (const name of readdirSync(DIR)
    .filter((f) => f.endsWith(".txt"))
    .sort()) {
    test(name, () => {
      const path = join(DIR, name);
      const written = readFileSync(path, "utf8");
      const produced = formatScript(runScript(parseScript(written)));
      if (process.env.UPDATE === "1") writeFileSync(path, produced);
      else expect(produced).toBe(written);
    });
  }
});
