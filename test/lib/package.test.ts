import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";

/**
 * The library as someone else gets it: `npm pack`, the tarball installed into a scratch project outside the
 * repository, and docs/client.md's first example — compiled with tsc against the package's own .d.ts and run under
 * Node, and run as it is under Bun — publishing and subscribing against a real three-broker cluster.
 */

let cluster: TestCluster;
const scratch = mkdtempSync(join(tmpdir(), "mqraft-package-"));

beforeAll(async () => {
  cluster = await TestCluster.create({ nodes: 3 });
  await cluster.waitForLeader();
});
afterAll(async () => {
  await cluster?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** The first TypeScript block of docs/client.md. */
function firstExample(): string {
  const doc = readFileSync(join(ROOT, "docs", "client.md"), "utf8");
  const match = /```ts\n([\s\S]*?)```/.exec(doc);
  if (match === null) throw new Error("docs/client.md has no ```ts example");
  return match[1]!;
}

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 120_000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}:\n${out}\n${err}`);
  return out;
}

test("npm pack, install into a project outside the repository, and the example publishes and subscribes under Node and Bun", async () => {
  expect(existsSync(join(ROOT, "dist", "lib", "index.js"))).toBe(true);
  const packed = JSON.parse(await run(["npm", "pack", "--json", "--pack-destination", scratch], ROOT)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = join(scratch, packed[0]!.filename);
  const shipped = packed[0]!.files.map((f) => f.path);
  expect(shipped).toContain("dist/lib/index.js");
  expect(shipped).toContain("dist/lib/client/index.d.ts");
  expect(shipped.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).toEqual([]);

  const project = join(scratch, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "uses-mqraft", private: true, type: "module" }));
  // @types/node as a TypeScript user on Node has it; the version this repository already installed (bun's types use it)
  const typesNode = JSON.parse(
    readFileSync(join(ROOT, "node_modules", "@types", "node", "package.json"), "utf8"),
  ).version;
  const install = ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=optional"];
  await run([...install, tarball, `@types/node@${typesNode}`], project);
  writeFileSync(join(project, "example.ts"), firstExample());
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: true,
        types: ["node"],
        lib: ["ES2022", "DOM"],
        outDir: "out",
      },
      files: ["example.ts"],
    }),
  );
  // the types are checked against what the package ships, not against this repository's sources
  await run([join(ROOT, "node_modules", ".bin", "tsc"), "-p", "."], project);

  const env = { MQRAFT_SERVER: cluster.addresses.join(",") };
  const node = Bun.which("node");
  if (node === null) throw new Error("node is not on the PATH");
  const underNode = await run([node, join("out", "example.js")], project, env);
  expect(underNode.trim().split("\n")).toEqual(["greetings 0: hello from mqraft"]);
  const underBun = await run([process.execPath, "example.ts"], project, env);
  expect(underBun.trim().split("\n")).toEqual(["greetings 0: hello from mqraft", "greetings 1: hello from mqraft"]);
}, 240_000);
