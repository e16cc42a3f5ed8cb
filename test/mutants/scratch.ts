/**
 * A scratch copy of the repository for planted bugs: the files git tracks (committed or not, as they are in the
 * working tree) copied into a temporary folder, with node_modules linked. A mutant is applied to the copy, tested,
 * and the file restored; the working tree is never touched.
 */
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Mutant } from "./mutants.ts";

export class Scratch {
  private constructor(
    readonly root: string,
    private readonly source: string,
  ) {}

  static create(source: string): Scratch {
    const root = mkdtempSync(join(tmpdir(), "mqraft-mutants-"));
    const listed = Bun.spawnSync(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: source,
    });
    if (listed.exitCode !== 0) throw new Error(`git ls-files failed in ${source}: ${listed.stderr.toString()}`);
    for (const path of listed.stdout.toString().split("\0")) {
      if (path === "") continue;
      mkdirSync(dirname(join(root, path)), { recursive: true });
      try {
        cpSync(join(source, path), join(root, path));
      } catch (e) {
        // a tracked file deleted in the working tree is absent from the copy too
        if ((e as { code?: string }).code !== "ENOENT") throw e;
      }
    }
    symlinkSync(join(source, "node_modules"), join(root, "node_modules"));
    return new Scratch(root, source);
  }

  /**
   * Applies `mutant` to the copy: its `find` text must occur exactly once in the file, else the patch no longer
   * applies (the code it plants into has changed) and that is an error, never a catch. Returns how to undo it.
   */
  apply(mutant: Mutant): () => void {
    const path = join(this.root, mutant.file);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      throw new PatchError(`${mutant.file} does not exist`);
    }
    const at = text.indexOf(mutant.find);
    if (at < 0) throw new PatchError(`its text is no longer in ${mutant.file}`);
    if (text.indexOf(mutant.find, at + 1) >= 0)
      throw new PatchError(`its text occurs more than once in ${mutant.file}`);
    writeFileSync(path, text.slice(0, at) + mutant.replace + text.slice(at + mutant.find.length));
    return () => writeFileSync(path, text);
  }

  /**
   * Builds dist/mqraft in the copy from its (possibly mutated) sources, for tests that run the binary. Built without
   * MQRAFT_TEST_HOOKS="off", it keeps the test-only switches, so it serves as dist/mqraft-test too.
   */
  build(): void {
    const out = join(this.root, "dist", "mqraft");
    const built = Bun.spawnSync(
      [
        join(this.source, "node_modules", ".bin", "bun"),
        "build",
        "--compile",
        "--format=esm",
        "--define",
        'process.env.CBOR_NATIVE_ACCELERATION_DISABLED="true"',
        "cmd/mqraft.ts",
        "--outfile",
        out,
      ],
      { cwd: this.root, stdout: "pipe", stderr: "pipe" },
    );
    if (built.exitCode !== 0) throw new Error(`building the scratch binary failed: ${built.stderr.toString()}`);
    copyFileSync(out, join(this.root, "dist", "mqraft-test"));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export class PatchError extends Error {
  override readonly name = "PatchError";
}
