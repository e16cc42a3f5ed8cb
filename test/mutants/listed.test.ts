import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MUTANTS } from "./mutants.ts";

const DOC = readFileSync(join(import.meta.dir, "..", "..", "docs", "testing.md"), "utf8");

test("every planted bug has a name of its own and is listed in docs/testing.md", () => {
  const names = MUTANTS.map((m) => m.name);
  expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  expect(names.filter((n) => !DOC.includes(`\`${n}\``))).toEqual([]);
});
