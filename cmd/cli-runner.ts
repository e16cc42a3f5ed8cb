import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import * as v from "valibot";
import { explainSource, resolveSettings, type Source } from "../src/config/settings.ts";
import { firstIssue } from "../src/util/config-values.ts";
import { describeError, isMqraftError, MqraftError } from "../src/util/errors.ts";
import { guardStdout, isClosedOutputError } from "./stdout-watch.ts";

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
    if (!next) {
      const guess = closest(word, Object.keys(subs));
      const where = path.length === 0 ? "mqraft --help" : `mqraft ${path.join(" ")} --help`;
      throw usageError(
        `unknown command "${[...path, word].join(" ")}"${guess === undefined ? "" : `; did you mean "${[...path, guess].join(" ")}"?`} (see ${where})`,
      );
    }
    parent = cmd;
    cmd = (await resolve(next)) as AnyCommand;
    path.push(word);
    rest = rest.slice(1);
  }
  return { cmd, parent, path, rest };
}

/** The name within two edits of `word` (a typo), if there is one. */
function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = editDistance(word, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * citty's usage, fit for where it goes: without colour when stdout is not a terminal or NO_COLOR is set, never
 * with trailing spaces, and a positional that takes several values shown as `<NAME>...`.
 */
async function usage(cmd: AnyCommand, parent: AnyCommand | undefined): Promise<string> {
  let text = await renderUsage(cmd, parent);
  const colour = process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "";
  if (!colour) text = stripAnsi(text);
  const args = cmd.args ? await resolve(cmd.args) : {};
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional" && "valueHint" in def && String(def.valueHint).endsWith("..."))
      text = text.replaceAll(`<${name.toUpperCase()}>`, `<${name.toUpperCase()}>...`);
  }
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
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
  guardStdout();
  let sources: Map<string, Source> | undefined;
  try {
    // what follows "--" is data (`pub t -- --help` publishes "--help"), never a flag of the CLI's own
    const end = argv.indexOf("--");
    const flags = end === -1 ? argv : argv.slice(0, end);
    if (flags.length === 1 && ["--version", "-v", "-V", "version"].includes(flags[0] as string)) {
      const meta = await resolve(root.meta);
      console.log(meta?.version ?? "unknown");
      return EXIT_OK;
    }
    if (argv[0] === "help") {
      const { cmd, parent } = await resolveCommand(root, argv.slice(1));
      console.log(await usage(cmd, parent));
      return EXIT_OK;
    }
    const { cmd, parent, path, rest } = await resolveCommand(root, argv);
    if (argv.length === 0 || flags.includes("--help") || flags.includes("-h")) {
      console.log(await usage(cmd, parent));
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
    // the reader of stdout left (`| head -1`): what it wanted it has, as with cat
    if (isClosedOutputError(e)) return EXIT_OK;
    if (e instanceof ExitError) {
      if (e.message !== "") console.error(`mqraft: ${e.message}`);
      return e.exitCode;
    }
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

/** A command that finished with an exit code of its own (status: 1 without a leader, 3 with a voter unreachable). */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message = "",
  ) {
    super(message);
  }
}

function stripAnsi(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the colour codes this strips
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}
