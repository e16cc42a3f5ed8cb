import { existsSync } from "node:fs";
import { join } from "node:path";

/** The compiled binary that `make test` builds first; tests of real processes run it. */
export const ROOT = join(import.meta.dir, "..", "..");
export const MQRAFT_BIN = process.env.MQRAFT_BIN ?? join(ROOT, "dist", "mqraft");

/** The same program built with the test-only switches of src/node/test-durability.ts; the release binary has none. */
export const MQRAFT_TEST_BIN = process.env.MQRAFT_TEST_BIN ?? join(ROOT, "dist", "mqraft-test");

export function requireBinary(): string {
  if (!existsSync(MQRAFT_BIN)) throw new Error(`${MQRAFT_BIN} is missing: run "make build" (make test does it first)`);
  return MQRAFT_BIN;
}

/** For tests that use the test-only switches (power cuts): dist/mqraft-test. */
export function requireTestBinary(): string {
  if (!existsSync(MQRAFT_TEST_BIN)) {
    throw new Error(`${MQRAFT_TEST_BIN} is missing: run "make dist/mqraft-test" (make test does it first)`);
  }
  return MQRAFT_TEST_BIN;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion with a deadline; a hung command fails the test instead of the suite. */
export async function runMqraft(
  args: string[],
  opts: { timeoutMs?: number; stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const proc = Bun.spawn([requireBinary(), ...args], {
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 15_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
