import { describe, expect, test } from "bun:test";
import { runMqraft } from "../support/binary.ts";

describe("mqraft binary: help, version, usage errors", () => {
  test("--version prints the package version", async () => {
    const pkg = await Bun.file(new URL("../../package.json", import.meta.url)).json();
    const r = await runMqraft(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test("--help lists usage and exits 0", async () => {
    const r = await runMqraft(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("USAGE");
    expect(r.stdout).toContain("mqraft");
  });

  test("an unknown command exits 2 with one line naming it", async () => {
    const r = await runMqraft(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('"frobnicate"');
  });
});
