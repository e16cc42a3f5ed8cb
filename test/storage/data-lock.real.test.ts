import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { inspectDataFolder } from "../../src/storage/inspect.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { RealFs } from "../../src/storage/real-fs.ts";

const HOLDER = join(import.meta.dir, "store-holder.ts");
const children: Subprocess<"ignore", "pipe", "inherit">[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill(9);
    await c.exited;
  }
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "mqraft-lock-"));
  folders.push(root);
  return join(root, "node1");
}

/** Starts a holder process and returns it with its first line of output. */
async function startHolder(
  dir: string,
  count: number,
): Promise<{ child: Subprocess<"ignore", "pipe", "inherit">; line: string }> {
  const child = Bun.spawn([process.execPath, HOLDER, dir, String(count)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, CBOR_NATIVE_ACCELERATION_DISABLED: "true" },
  });
  children.push(child);
  const reader = child.stdout.getReader();
  // Killing the child ends its stdout, which ends the wait below if the line never comes.
  const timer = setTimeout(() => child.kill(9), 10_000);
  let text = "";
  try {
    while (!text.includes("\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (!text.includes("\n")) throw new Error(`holder exited or hung without a line of output (got "${text}")`);
  return { child, line: text.trim() };
}

describe("data-folder lock across processes (real fs)", () => {
  test("a second process on a folder in use fails with LOCKED naming the folder and the holder", async () => {
    const dir = await folder();
    const store = await LogStore.open({ fs: new RealFs(), dir });
    try {
      const { child, line } = await startHolder(dir, 1);
      expect(line).toBe(`error LOCKED: data folder ${dir} is in use by process ${process.pid}`);
      expect(await child.exited).toBe(1);
    } finally {
      await store.close();
    }
  });

  test("after kill -9 of the holder its lock is taken over and everything it synced is there", async () => {
    const dir = await folder();
    const { child, line } = await startHolder(dir, 5);
    expect(line).toBe("ready 5");
    expect(inspectDataFolder(dir).lines).toContain(`lock: held by running process ${child.pid}`);
    await expect(LogStore.open({ fs: new RealFs(), dir })).rejects.toThrow(`is in use by process ${child.pid}`);
    child.kill(9);
    await child.exited;
    const store = await LogStore.open({ fs: new RealFs(), dir });
    try {
      expect([store.firstIndex(), store.lastIndex(), store.term(5)]).toEqual([1, 5, 1]);
    } finally {
      await store.close();
    }
  });
});
