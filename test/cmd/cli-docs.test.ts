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

/** Each command's --help, asked once: both tests read every one of them, and each asking starts the binary. */
const helps = new Map<string, Promise<string>>();
/** Binaries started at once. */
const AT_ONCE = 6;
let running = 0;
const queued: (() => void)[] = [];

async function askHelp(args: string[]): Promise<string> {
  if (running >= AT_ONCE) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    const r = await runMqraft([...args, "--help"], { env: { NO_COLOR: "1" } });
    if (r.code !== 0) throw new Error(`mqraft ${args.join(" ")} --help exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  } finally {
    running--;
    queued.shift()?.();
  }
}

function help(args: string[]): Promise<string> {
  const key = args.join(" ");
  let text = helps.get(key);
  if (text === undefined) {
    text = askHelp(args);
    helps.set(key, text);
  }
  return text;
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

/** Every command path, leaves first within a group, in the order --help lists them; the subcommands asked side by side. */
async function everyCommand(): Promise<string[][]> {
  const walk = async (path: string[]): Promise<string[][]> => {
    const subs = subcommands(await help(path));
    if (subs.length === 0) return path.length > 0 ? [path] : [];
    const below = (await Promise.all(subs.map((sub) => walk([...path, sub])))).flat();
    return path.length > 0 ? [...below, path] : below;
  };
  return walk([]);
}

describe("docs/cli.md is in step with --help", () => {
  test("every command has a section, and every flag its --help lists is named in it", async () => {
    const problems: string[] = [];
    const paths = await everyCommand();
    await Promise.all(paths.map((path) => help(path)));
    for (const path of paths) {
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
