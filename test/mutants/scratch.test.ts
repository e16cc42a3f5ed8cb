import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Mutant } from "./mutants.ts";
import { PatchError, Scratch } from "./scratch.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FILE = "src/raft/quorum.ts";
const scratch = Scratch.create(ROOT);
afterAll(() => scratch.remove());

const mutant = (find: string, replace = "/* planted */"): Mutant => ({
  name: "test",
  breaks: "nothing",
  file: FILE,
  find,
  replace,
  test: [],
});

test("a patch changes the scratch copy only, and undoing it restores the file", () => {
  const original = readFileSync(join(ROOT, FILE), "utf8");
  const undo = scratch.apply(mutant("export function majority("));
  expect(readFileSync(join(scratch.root, FILE), "utf8")).toContain("/* planted */");
  expect(readFileSync(join(ROOT, FILE), "utf8")).toBe(original);
  undo();
  expect(readFileSync(join(scratch.root, FILE), "utf8")).toBe(original);
});

test("a patch whose text is gone, or occurs twice, is an error, not a planted bug", () => {
  expect(() => scratch.apply(mutant("text that is nowhere in the file"))).toThrow(PatchError);
  expect(() => scratch.apply(mutant("return"))).toThrow(/occurs more than once/);
  expect(() => scratch.apply({ ...mutant("x"), file: "src/no-such-file.ts" })).toThrow(/does not exist/);
});
