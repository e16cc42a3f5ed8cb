import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, requireBinary } from "../support/binary.ts";

test("make install PREFIX=… puts a working mqraft in PREFIX/bin, and `mqraft` there runs", () => {
  const version = Bun.spawnSync([requireBinary(), "--version"]).stdout.toString().trim();
  const prefix = mkdtempSync(join(tmpdir(), "mqraft-install-"));
  try {
    const make = Bun.spawnSync(["make", "--no-print-directory", "install", `PREFIX=${prefix}`], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect({ code: make.exitCode, stderr: make.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    const installed = join(prefix, "bin", "mqraft");
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const run = Bun.spawnSync(["mqraft", "--version"], {
      env: { ...process.env, PATH: `${join(prefix, "bin")}:${process.env.PATH ?? ""}` },
    });
    expect({ code: run.exitCode, out: run.stdout.toString().trim() }).toEqual({ code: 0, out: version });
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});
