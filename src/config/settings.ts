import { MqraftError } from "../util/errors.ts";
import { type ConfigFile, type FlagDefs, fileSettings, readConfigFile } from "./config-file.ts";

/** Where a setting came from; flags given on the command line win over everything. */
export type Source =
  | { kind: "flag" }
  | { kind: "env"; name: string }
  | { kind: "file"; path: string; key: string; line: number | undefined }
  | { kind: "default" };

export interface Resolved {
  /** The command line with the settings from the environment and the file appended as flags. */
  rawArgs: string[];
  sources: Map<string, Source>;
  /** The values in force: flags, else environment, else file, else the flag's default. */
  values: Map<string, string | boolean | undefined>;
  file: ConfigFile | undefined;
}

/** The flag a command takes to read a config file, for the commands that run long. */
export const configArgs = {
  config: { type: "string", description: "TOML file of settings (flags > MQRAFT_<FLAG> > file > defaults)" },
} as const;

/** MQRAFT_<FLAG>: the flag's name in capitals, dashes as underscores (--http-port: MQRAFT_HTTP_PORT). */
export const envName = (flag: string): string => `MQRAFT_${flag.toUpperCase().replace(/-/g, "_")}`;

const SKIP = new Set(["config", "help"]);

/**
 * Applies the precedence flags > environment > file > defaults for a command that takes --config: every flag not
 * given on the command line but set by MQRAFT_<FLAG> or the file is appended to the command line, so the command
 * parses and validates all of them the same way.
 */
export function resolveSettings(
  command: string,
  defs: FlagDefs,
  rawArgs: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Resolved {
  const given = flagsGiven(rawArgs, defs);
  const configPath = given.get("config") ?? nonEmpty(env[envName("config")]);
  const file = configPath === undefined ? undefined : readConfigFile(configPath);
  const fromFile = file === undefined ? {} : fileSettings(file, command, defs);
  const out = [...rawArgs];
  const sources = new Map<string, Source>();
  const values = new Map<string, string | boolean | undefined>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional" || SKIP.has(name)) continue;
    if (given.has(name)) {
      sources.set(name, { kind: "flag" });
      values.set(name, given.get(name));
      continue;
    }
    const fromEnv = nonEmpty(env[envName(name)]);
    let value: string | boolean | undefined;
    if (fromEnv !== undefined) {
      value = def.type === "boolean" ? envBoolean(envName(name), fromEnv) : fromEnv;
      sources.set(name, { kind: "env", name: envName(name) });
    } else if (name in fromFile && file !== undefined) {
      value = fromFile[name];
      const key = file.lines.has(`${command}.${name}`) ? `${command}.${name}` : name;
      sources.set(name, { kind: "file", path: file.path, key, line: file.lines.get(key) });
    } else {
      sources.set(name, { kind: "default" });
      values.set(name, def.default as string | boolean | undefined);
      continue;
    }
    values.set(name, value);
    if (typeof value === "boolean") out.push(value ? `--${name}` : `--no-${name}`);
    else out.push(`--${name}=${value}`);
  }
  return { rawArgs: out, sources, values, file };
}

/** "--port "70000": expected ..." becomes "... (set by MQRAFT_PORT)" or "(mqraft.toml:4, key broker.port)". */
export function explainSource(message: string, sources: ReadonlyMap<string, Source> | undefined): string {
  const flag = /^--([A-Za-z][\w-]*)/.exec(message)?.[1];
  const source = flag === undefined ? undefined : sources?.get(flag);
  if (source?.kind === "env") return `${message} (set by ${source.name})`;
  if (source?.kind === "file")
    return `${message} (${source.path}${source.line === undefined ? "" : `:${source.line}`}, key ${source.key})`;
  return message;
}

/** The flags on the command line (by their long name) and their values. */
function flagsGiven(rawArgs: readonly string[], defs: FlagDefs): Map<string, string | undefined> {
  const byAlias = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    byAlias.set(name, name);
    for (const alias of [def.alias ?? []].flat()) byAlias.set(alias, name);
  }
  const given = new Map<string, string | undefined>();
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i] as string;
    if (token === "--") break;
    const match = /^--?(no-)?([A-Za-z][\w-]*)(=(.*))?$/.exec(token);
    if (!match) continue;
    const name = byAlias.get(match[2] as string);
    if (name === undefined) continue;
    const inline = match[4];
    const next = rawArgs[i + 1];
    const takesValue = defs[name]?.type === "string" && inline === undefined && next !== undefined;
    given.set(name, inline ?? (takesValue ? next : undefined));
  }
  return given;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

function envBoolean(name: string, value: string): boolean {
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new MqraftError("BAD_CONFIG", `${name}=${JSON.stringify(value)}: expected true or false`);
}
