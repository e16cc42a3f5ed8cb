import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import * as v from "valibot";
import { explainSource, resolveSettings, type Source } from "../src/config/settings.ts";
import { firstIssue } from "../src/util/config-values.ts";
import { describeError, isMqraftError, MqraftError } from "../src/util/errors.ts";

/** Exit codes of docs/design.md: 0 success, 1 runtime failure, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function usageError(message: string): MqraftError {
  return new MqraftError("BAD_USAGE", message);
}

/** Validates one flag value with its schema; a bad value is a usage error naming the flag. */
export function parseFlag<S extends v.GenericSchema<string, unknown>>(
  name: string,
  schema: S,
  raw: string | boolean | undefined,
): v.InferOutput<S> {
  if (typeof raw !== "string") throw usageError(`--${name} needs a value`);
  const result = v.safeParse(schema, raw);
  if (!result.success) throw usageError(`--${name} ${JSON.stringify(raw)}: ${firstIssue(result.issues)}`);
  return result.output;
}

/** Like parseFlag, for an optional flag. */
export function parseOptionalFlag<S extends v.GenericSchema<string, unknown>>(
  name: string,
  schema: S,
  raw: string | boolean | undefined,
): v.InferOutput<S> | undefined {
  return raw === undefined ? undefined : parseFlag(name, schema, raw);
}

type AnyCommand = CommandDef<ArgsDef>;
const resolve = async <T>(value: T | Promise<T> | (() => T) | (() => Promise<T>)): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

/** Follows positional words down the tree of subcommands: `bench pub t` → [bench pub, bench, path, rest]. */
async function resolveCommand(
  root: AnyCommand,
  argv: string[],
): Promise<{ cmd: AnyCommand; parent: AnyCommand | undefined; path: string[]; rest: string[] }> {
  let cmd = root;
  let parent: AnyCommand | undefined;
  const path: string[] = [];
  let rest = argv;
  for (;;) {
    const subs = cmd.subCommands ? await resolve(cmd.subCommands) : undefined;
    const word = rest[0];
    if (!subs || word === undefined || word.startsWith("-")) break;
    const next = subs[word];
    if (!next) throw usageError(`unknown command "${[...path, word].join(" ")}" (see mqraft --help)`);
    parent = cmd;
    cmd = (await resolve(next)) as AnyCommand;
    path.push(word);
    rest = rest.slice(1);
  }
  return { cmd, parent, path, rest };
}

/** citty accepts any flag; a production CLI names a typo instead of ignoring it. */
async function rejectUnknownFlags(cmd: AnyCommand, rest: string[], path: string[]): Promise<void> {
  const args = cmd.args ? await resolve(cmd.args) : {};
  const known = new Set<string>(["help", "h"]);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    known.add(name);
    const aliases = "alias" in def ? def.alias : undefined;
    for (const alias of [aliases ?? []].flat()) known.add(alias);
    if (def.type === "boolean") known.add(`no-${name}`);
  }
  for (const token of rest) {
    if (token === "--") break;
    const match = /^--?([A-Za-z][\w-]*)/.exec(token);
    if (match && !known.has(match[1] as string)) {
      throw usageError(
        `unknown flag ${token.split("=")[0]} for "mqraft ${path.join(" ")}" (see mqraft ${path.join(" ")} --help)`,
      );
    }
  }
}

/** Runs the CLI and returns the exit code; never throws. */
export async function runCli(root: AnyCommand, argv: string[]): Promise<number> {
  let sources: Map<string, Source> | undefined;
  try {
    if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
      const meta = await resolve(root.meta);
      console.log(meta?.version ?? "unknown");
      return EXIT_OK;
    }
    const { cmd, parent, path, rest } = await resolveCommand(root, argv);
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
      console.log(await renderUsage(cmd, parent));
      return EXIT_OK;
    }
    if (!cmd.run)
      throw usageError(`"mqraft ${path.join(" ")}" needs a subcommand (see mqraft ${path.join(" ")} --help)`);
    await rejectUnknownFlags(cmd, rest, path);
    // Commands that take --config also read MQRAFT_<FLAG> and the file (src/config/settings.ts).
    const defs = cmd.args ? await resolve(cmd.args) : {};
    const resolved = "config" in defs ? resolveSettings(path.join(" "), defs, rest, process.env) : undefined;
    sources = resolved?.sources;
    await runCommand(cmd, { rawArgs: resolved?.rawArgs ?? rest });
    return EXIT_OK;
  } catch (e) {
    if (
      isMqraftError(e, "BAD_USAGE") ||
      isMqraftError(e, "BAD_CONFIG") ||
      (e instanceof Error && e.name === "CLIError")
    ) {
      console.error(`mqraft: ${explainSource(stripAnsi(e.message), sources)}`);
      return EXIT_USAGE;
    }
    console.error(`mqraft: ${isMqraftError(e) ? describeError(e) : `internal error: ${describeError(e)}`}`);
    return EXIT_FAILURE;
  }
}

function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the colour codes this strips
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}
