import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository's root, whatever the checkout is called. */
export const REPO = join(import.meta.dir, "..", "..");

/** Folders that are not the repository's own text: installed, built or scratch. */
const SKIPPED = /^(node_modules|dist|\.tmp|\.git|mqraft-data)(\/|$)/;

/** The repository's files matching `pattern` (a glob relative to the root), skipping installed and built ones. */
export function repoFiles(pattern: string): string[] {
  const files: string[] = [];
  for (const file of new Bun.Glob(pattern).scanSync({ cwd: REPO, dot: true })) {
    if (!SKIPPED.test(file) && !file.includes("/node_modules/")) files.push(file);
  }
  return files.sort();
}

export function readRepoFile(file: string): string {
  return readFileSync(join(REPO, file), "utf8");
}
