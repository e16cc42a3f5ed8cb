import { expect, test } from "bun:test";
import { dirname, join, normalize } from "node:path";
import { readRepoFile, repoFiles } from "./repo-files.ts";

/** docs/design.md's layers: what each may import of mqraft's own code (imports point down only). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  cmd: [
    "src/client",
    "src/auth",
    "src/manager",
    "src/node",
    "src/http",
    "src/config",
    "src/broker",
    "src/raft",
    "src/storage",
    "src/wire",
    "src/metrics",
    "src/util",
  ],
  "src/client": ["src/wire", "src/util"],
  "src/manager": ["src/auth", "src/http", "src/wire", "src/metrics", "src/util"],
  "src/node": ["src/auth", "src/http", "src/broker", "src/raft", "src/storage", "src/wire", "src/metrics", "src/util"],
  "src/http": ["src/metrics", "src/util"],
  "src/broker": ["src/util"],
  "src/raft": ["src/util"],
  "src/storage": ["src/raft", "src/metrics", "src/util"],
  "src/auth": ["src/wire", "src/util"],
  "src/wire": ["src/util"],
  "src/metrics": ["src/util"],
  "src/config": ["src/util"],
  "src/util": [],
};

const layerOf = (file: string): string | undefined =>
  Object.keys(MAY_IMPORT).find((layer) => file === layer || file.startsWith(`${layer}/`));

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

test("every module of cmd/ and src/ imports only from its own layer and the layers docs/design.md puts below it", () => {
  const wrong: string[] = [];
  const files = repoFiles("{src,cmd}/**/*.ts");
  expect(files.length).toBeGreaterThan(100);
  for (const file of files) {
    const layer = layerOf(file)!;
    for (const match of readRepoFile(file).matchAll(IMPORT)) {
      const spec = (match[1] ?? match[2])!;
      if (!spec.startsWith(".")) continue;
      const target = normalize(join(dirname(file), spec));
      const targetLayer = layerOf(target);
      // the version comes from package.json
      if (targetLayer === layer || target === "package.json") continue;
      if (targetLayer === undefined || !MAY_IMPORT[layer]!.includes(targetLayer)) {
        wrong.push(`${file} imports ${spec} (${targetLayer ?? target})`);
      }
    }
  }
  expect(wrong).toEqual([]);
});

test("the pure layers (Raft core, state machine) import no runtime I/O module", () => {
  const wrong: string[] = [];
  for (const file of repoFiles("src/{raft,broker}/**/*.ts")) {
    for (const match of readRepoFile(file).matchAll(IMPORT)) {
      const spec = (match[1] ?? match[2])!;
      if (/^(node:|bun$|fs$|net$)/.test(spec)) wrong.push(`${file} imports ${spec}`);
    }
  }
  expect(wrong).toEqual([]);
});
