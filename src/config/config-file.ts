import { readFileSync } from "node:fs";
import * as v from "valibot";
import { MqraftError } from "../util/errors.ts";

/** A flag definition as citty declares it (only what the loader reads). */
export interface FlagDef {
  type?: string;
  description?: string;
  default?: unknown;
  alias?: string | string[];
}
export type FlagDefs = Readonly<Record<string, FlagDef>>;

/** One parsed file: its tables of settings, and where each key sits (for error messages). */
export interface ConfigFile {
  path: string;
  data: Record<string, unknown>;
  /** "table.key" (or "key" at the top) -> 1-based line. */
  lines: Map<string, number>;
}

/** Reads and parses a TOML file; an unreadable or malformed file is a BAD_CONFIG error naming the file and line. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new MqraftError("BAD_CONFIG", `${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  let data: unknown;
  try {
    data = Bun.TOML.parse(text);
  } catch (e) {
    const line = errorLine(text);
    const reason = (e instanceof Error ? e.message : String(e)).replace(/^TOML Parse error: /, "");
    throw new MqraftError("BAD_CONFIG", `${path}${line === undefined ? "" : `:${line}`}: not valid TOML: ${reason}`);
  }
  return { path, data: data as Record<string, unknown>, lines: keyLines(text) };
}

/**
 * The line of a syntax error: Bun's parser reports none (its error's `line` is the caller's), so the file is parsed
 * line by line further until it first fails with the whole file's error. Config files are short.
 */
function errorLine(text: string): number | undefined {
  const lines = text.split("\n");
  const reason = tomlError(text);
  for (let n = 1; n <= lines.length; n++) {
    if (tomlError(`${lines.slice(0, n).join("\n")}\n`) === reason) return n;
  }
  return undefined;
}

function tomlError(text: string): string | undefined {
  try {
    Bun.TOML.parse(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Where each key of a plain TOML file is written: `[table]` headers and `key = value` lines. Bun's
 * parser reports no positions; this covers what docs/configuration.md shows (no inline or dotted tables).
 */
function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table = "";
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9_-]+)\s*\]/.exec(line);
    if (header) {
      table = header[1] as string;
      lines.set(table, i + 1);
      continue;
    }
    const key = /^"?([A-Za-z0-9_-]+)"?\s*=/.exec(line);
    if (key) lines.set(table === "" ? (key[1] as string) : `${table}.${key[1]}`, i + 1);
  }
  return lines;
}

/** A TOML value for a flag: strings, and numbers where a flag takes a number; booleans for boolean flags. */
function valueSchema(def: FlagDef) {
  if (def.type === "boolean") return v.boolean("expected true or false");
  return v.pipe(
    v.union([v.string(), v.number()], "expected a string or a number"),
    v.transform((x) => String(x)),
  );
}

/** Flags a file or the environment may not set. */
const NOT_SETTABLE = new Set(["config", "help"]);

function tableSchema(defs: FlagDefs) {
  const entries = Object.entries(defs).filter(([name, def]) => def.type !== "positional" && !NOT_SETTABLE.has(name));
  return v.strictObject(
    Object.fromEntries(entries.map(([name, def]) => [name, v.optional(valueSchema(def))])),
    () => `unknown key (expected one of: ${entries.map(([n]) => n).join(", ")})`,
  );
}

/**
 * The settings of `command` in a file: its `[command]` table over the top-level keys (which apply to every command
 * that has the flag). Validated with valibot; an error names the file, the line and the key.
 */
export function fileSettings(file: ConfigFile, command: string, defs: FlagDefs): Record<string, string | boolean> {
  const top: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file.data)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) continue;
    if (key in defs) top[key] = value;
  }
  const table = file.data[command];
  if (table !== undefined && (typeof table !== "object" || table === null || Array.isArray(table)))
    throw configError(file, command, `expected a table [${command}]`);
  const merged = { ...top, ...(table as Record<string, unknown> | undefined) };
  const result = v.safeParse(tableSchema(defs), merged);
  if (!result.success) {
    const issue = result.issues[0];
    const key = issue.path?.[0]?.key as string | undefined;
    const where = key === undefined ? command : key in (table as object) ? `${command}.${key}` : key;
    throw configError(file, where, issue.message);
  }
  return Object.fromEntries(Object.entries(result.output).filter(([, x]) => x !== undefined)) as Record<
    string,
    string | boolean
  >;
}

/** Every table of a file names a command that takes a config, and every top-level key is a flag of one. */
export function checkTables(file: ConfigFile, commands: Readonly<Record<string, FlagDefs>>): void {
  for (const [key, value] of Object.entries(file.data)) {
    const isTable = typeof value === "object" && value !== null && !Array.isArray(value);
    if (isTable && !(key in commands))
      throw configError(file, key, `unknown table [${key}] (expected one of: ${Object.keys(commands).join(", ")})`);
    if (!isTable && !Object.values(commands).some((defs) => key in defs && !NOT_SETTABLE.has(key)))
      throw configError(file, key, "unknown key: no command takes this flag");
  }
}

export function configError(file: ConfigFile, key: string, message: string): MqraftError {
  const line = file.lines.get(key);
  return new MqraftError("BAD_CONFIG", `${file.path}${line === undefined ? "" : `:${line}`}: ${key}: ${message}`);
}
