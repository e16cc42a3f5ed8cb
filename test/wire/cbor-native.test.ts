import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isCborNativeAccelerationEnabled } from "../../src/wire/cbor.ts";

// cbor-x's native addon crashes Bun (docs/platform.md): these fail if its native path is ever active.

const repo = join(import.meta.dir, "..", "..");

/** Runs `code` in a fresh Bun process whose environment does not disable the addon; returns its stdout. */
function runWithoutEnvGuard(code: string): string {
  const env = { ...process.env };
  delete env.CBOR_NATIVE_ACCELERATION_DISABLED;
  const result = Bun.spawnSync([process.execPath, "-e", code], { cwd: repo, env, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`child exited with ${result.exitCode}: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

function addonInstalled(): boolean {
  try {
    Bun.resolveSync("cbor-extract", join(repo, "node_modules", "cbor-x"));
    return true;
  } catch {
    return false;
  }
}

describe("cbor-x native acceleration", () => {
  test("is off in this process", () => {
    expect(isCborNativeAccelerationEnabled()).toBe(false);
  });

  test("is off through src/wire/cbor.ts even when the environment does not set the variable", () => {
    const out = runWithoutEnvGuard(
      `const m = await import(${JSON.stringify(join(repo, "src/wire/cbor.ts"))}); console.log(m.isCborNativeAccelerationEnabled());`,
    );
    expect(out).toBe("false");
  });

  test("every module that encodes CBOR reaches cbor-x only through src/util/cbor-x.ts", async () => {
    const direct: string[] = [];
    for await (const file of new Bun.Glob("{src,cmd}/**/*.ts").scan({ cwd: repo })) {
      if (file === "src/util/cbor-x.ts") continue;
      if (/from\s+["']cbor-x["']/.test(await Bun.file(join(repo, file)).text())) direct.push(file);
    }
    expect(direct).toEqual([]);
  });

  test("is off when the broker's command codec is the first thing loaded, without the variable", () => {
    const out = runWithoutEnvGuard(
      `await import(${JSON.stringify(join(repo, "src/broker/command-codec.ts"))}); const m = await import(${JSON.stringify(join(repo, "src/util/cbor-x.ts"))}); console.log(m.isNativeAccelerationEnabled);`,
    );
    expect(out).toBe("false");
  });

  // the check above only means something if the addon would load without the guard
  test.skipIf(!addonInstalled())("would be on without the guard, as the addon is installed", () => {
    const out = runWithoutEnvGuard(`const m = await import("cbor-x"); console.log(m.isNativeAccelerationEnabled);`);
    expect(out).toBe("true");
  });
});
