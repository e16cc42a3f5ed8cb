import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRANSPORT_CASES } from "./transport.case.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-transport-node-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the client transport on Node (node:net): the same framing and backpressure cases pass", async () => {
  const node = Bun.which("node");
  if (node === null) throw new Error("node is not on the PATH: the client library must be tested on Node");
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, "transport-runner.ts")],
    target: "node",
    format: "esm",
    outdir: dir,
    naming: "runner.mjs",
  });
  expect(built.success).toBe(true);
  const run = Bun.spawn([node, join(dir, "runner.mjs")], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => run.kill("SIGKILL"), 150_000);
  const [out, err, code] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
    run.exited,
  ]);
  clearTimeout(timer);
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  const report = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    runtime: string;
    results: Record<string, unknown>;
  };
  expect(report.runtime).toStartWith("node v");
  const all = Object.fromEntries(Object.keys(TRANSPORT_CASES).map((name) => [name, null]));
  expect(report.results).toEqual(all);
}, 180_000);
