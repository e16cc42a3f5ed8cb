import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runMqraft } from "../support/binary.ts";

/** docs/cli.md and --help must not drift apart: every command has a section, every flag is named in it. */

const DOC = readFileSync(join(ROOT, "docs", "cli.md"), "utf8");

/** The text under `### mqraft <cmd>` (or `#### mqraft <cmd>`) up to the next heading of that level or above. */
function section(command: string): string | undefined {
  const lines = DOC.split("\n");
  const start = lines.findIndex((l) => /^#{3,4} mqraft /.test(l) && l.replace(/^#+ /, "") === `mqraft ${command}`);
  if (start === -1) return undefined;
  const level = (lines[start] as string).indexOf(" ");
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(" ") <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end).join("\n");
}

async function help(args: string[]): Promise<string> {
  const r = await runMqraft([...args, "--help"], { env: { NO_COLOR: "1" } });
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Command names listed under COMMANDS in a usage text. */
function subcommands(usage: string): string[] {
  const at = usage.indexOf("COMMANDS");
  if (at === -1) return [];
  return usage
    .slice(at)
    .split("\n")
    .slice(1)
    .map((l) => /^\s+([a-z][a-z0-9-]*)\s{2,}/.exec(l)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Flags listed under OPTIONS. */
function flags(usage: string): string[] {
  return [...usage.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1] as string);
}

async function everyCommand(): Promise<string[][]> {
  const out: string[][] = [];
  const walk = async (path: string[]): Promise<void> => {
    const subs = subcommands(await help(path));
    if (subs.length === 0 && path.length > 0) out.push(path);
    for (const sub of subs) await walk([...path, sub]);
    if (subs.length > 0 && path.length > 0) out.push(path);
  };
  await walk([]);
  return out;
}

describe("docs/cli.md is in step with --help", () => {
  test("every command has a section, and every flag its --help lists is named in it", async () => {
    const problems: string[] = [];
    for (const path of await everyCommand()) {
      const name = path.join(" ");
      const text = section(name);
      if (text === undefined) {
        problems.push(`no "### mqraft ${name}" section`);
        continue;
      }
      // a mode of a group (bench pub) may rely on its group's flag table
      const scope = path.length > 1 ? `${text}\n${section(path[0] as string) ?? ""}` : text;
      for (const flag of flags(await help(path))) {
        if (!scope.includes(`\`${flag}\``)) problems.push(`mqraft ${name}: ${flag} is not in its section`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("every section is a command that exists", async () => {
    const commands = new Set((await everyCommand()).map((p) => p.join(" ")));
    const documented = [...DOC.matchAll(/^#{3,4} mqraft (.+)$/gm)].map((m) => m[1] as string);
    expect(documented.filter((c) => !commands.has(c))).toEqual([]);
  });
});
