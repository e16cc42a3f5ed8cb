import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefusalLog } from "../../src/auth/refusal-log.ts";
import { readSecretFile, writeNewSecretFile } from "../../src/auth/secret-file.ts";
import { MqraftError } from "../../src/util/errors.ts";
import type { Logger } from "../../src/util/log.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-secret-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(path: string): MqraftError {
  try {
    readSecretFile(path);
  } catch (e) {
    if (e instanceof MqraftError) return e;
    throw e;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe("secret file", () => {
  test("a new secret is 32 bytes with mode 0600, read back as written", () => {
    const path = join(dir, "new");
    writeNewSecretFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readSecretFile(path).length).toBe(32);
    expect(() => writeNewSecretFile(path)).toThrow();
  });

  test("every new secret reads back whole: its last byte is never a line end, which reading drops", () => {
    // a random last byte is \n or \r one time in 128: over 2,000 secrets that is about 16 of them
    const short: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const path = join(dir, `new-${i}`);
      writeNewSecretFile(path);
      const length = readSecretFile(path).length;
      if (length !== 32) short.push(length);
    }
    expect(short).toEqual([]);
  });

  test("missing, empty and readable by others are BAD_CONFIG naming the file", () => {
    const missing = refusal(join(dir, "missing"));
    expect([missing.code, missing.message]).toEqual([
      "BAD_CONFIG",
      `cluster secret file ${join(dir, "missing")}: no such file`,
    ]);
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n", { mode: 0o600 });
    expect(refusal(empty).message).toBe(`cluster secret file ${empty} is empty`);
    const open = join(dir, "open");
    writeFileSync(open, "secret", { mode: 0o600 });
    chmodSync(open, 0o644);
    expect(refusal(open).message).toContain(`cluster secret file ${open} is accessible to others (mode 644)`);
  });

  test("a trailing line end is not part of the secret", () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    writeFileSync(a, "s3cret\n", { mode: 0o600 });
    writeFileSync(b, "s3cret", { mode: 0o600 });
    expect(readSecretFile(a)).toEqual(readSecretFile(b));
  });
});

describe("refusal log", () => {
  test("logs once a minute per address, whatever the port", () => {
    const lines: string[] = [];
    const log = { warn: (m: string) => lines.push(m) } as unknown as Logger;
    let now = 0;
    const refusals = new RefusalLog(log, () => now);
    expect(refusals.refused("10.0.0.1:5000", "no")).toBe(true);
    expect(refusals.refused("10.0.0.1:5001", "no")).toBe(false);
    expect(refusals.refused("10.0.0.2:5000", "no")).toBe(true);
    now = 59_999;
    expect(refusals.refused("10.0.0.1:5002", "no")).toBe(false);
    now = 60_000;
    expect(refusals.refused("10.0.0.1:5003", "no")).toBe(true);
    expect(lines.length).toBe(3);
  });
});
