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

test("every planted bug's text is still in its file, once: a code change must move the mutant with it", () => {
  const root = join(import.meta.dir, "..", "..");
  const stale = MUTANTS.filter((m) => {
    const text = readFileSync(join(root, m.file), "utf8");
    const at = text.indexOf(m.find);
    return at < 0 || text.indexOf(m.find, at + 1) >= 0;
  }).map((m) => `${m.name} (${m.file})`);
  expect(stale).toEqual([]);
});
