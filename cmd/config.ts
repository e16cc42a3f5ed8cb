import { type ArgsDef, defineCommand } from "citty";
import { checkTables, type FlagDefs, readConfigFile } from "../src/config/config-file.ts";
import { explainSource, resolveSettings, type Source } from "../src/config/settings.ts";
import {
  ByteSizeSchema,
  HostSchema,
  HttpPortSchema,
  PortSchema,
  PositiveCountSchema,
} from "../src/util/config-values.ts";
import { brokerConfigFromArgs } from "./broker.ts";
import { parseFlag, usageError } from "./cli-runner.ts";
import { setUpLogging } from "./common-args.ts";

/** The commands that read a config file, each with its own table. */
const COMMANDS: Record<string, () => Promise<{ args?: unknown }>> = {
  broker: () => import("./broker.ts").then((m) => m.default),
  join: () => import("./join.ts").then((m) => m.default),
  manager: () => import("./manager.ts").then((m) => m.default),
  up: () => import("./up.ts").then((m) => m.default),
};

/** The values of manager's and up's flags, checked as those commands check them when they start. */
const FLAG_SCHEMAS = {
  host: HostSchema,
  port: PortSchema,
  "manager-port": PortSchema,
  "base-port": PortSchema,
  "http-port": HttpPortSchema,
  "http-base-port": HttpPortSchema,
  nodes: PositiveCountSchema,
  "max-connections": PositiveCountSchema,
  "max-frame": ByteSizeSchema,
} as const;

/** Validates one command's resolved settings the way the command would; a bad value is a usage error naming the flag. */
function validate(command: string, values: Map<string, string | boolean | undefined>): void {
  const args = Object.fromEntries([...values].filter(([, x]) => x !== undefined));
  if (command === "broker" || command === "join") brokerConfigFromArgs(args, command === "join");
  for (const [name, schema] of Object.entries(FLAG_SCHEMAS)) {
    const value = values.get(name);
    if (typeof value === "string") parseFlag(name, schema, value);
  }
  // throws on a bad level or format; the logging it configures is never used by this command
  setUpLogging(args as { "log-level"?: string; "log-format"?: string });
}

function describe(source: Source | undefined): string {
  switch (source?.kind) {
    case "flag":
      return "flag";
    case "env":
      return source.name;
    case "file":
      return `${source.path}${source.line === undefined ? "" : `:${source.line}`}`;
    default:
      return "default";
  }
}

const check = defineCommand({
  meta: {
    name: "check",
    description: "Validate a config file and print the settings each command would run with (file, MQRAFT_*, defaults)",
  },
  args: {
    config: { type: "string", description: "The TOML file to check (else $MQRAFT_CONFIG)" },
    json: { type: "boolean", description: "Print one JSON object per command" },
  } satisfies ArgsDef,
  async run({ args }) {
    const path = args.config ?? process.env.MQRAFT_CONFIG;
    if (path === undefined || path === "") throw usageError("config check needs --config FILE");
    const file = readConfigFile(path);
    const defs: Record<string, FlagDefs> = {};
    for (const [name, load] of Object.entries(COMMANDS)) defs[name] = (await load()).args as FlagDefs;
    checkTables(file, defs);
    // Tables given, or every command when the file has only top-level keys.
    const tables = Object.keys(defs).filter((c) => c in file.data);
    for (const command of tables.length > 0 ? tables : Object.keys(defs)) {
      const resolved = resolveSettings(command, defs[command] as FlagDefs, ["--config", path], process.env);
      try {
        validate(command, resolved.values);
      } catch (e) {
        throw e instanceof Error ? usageError(`[${command}] ${explainSource(e.message, resolved.sources)}`) : e;
      }
      const settings = [...resolved.values].filter(([, value]) => value !== undefined);
      if (args.json) {
        console.log(JSON.stringify({ command, settings: Object.fromEntries(settings) }));
        continue;
      }
      console.log(`[${command}]`);
      for (const [name, value] of settings)
        console.log(`  ${name} = ${JSON.stringify(value)}  # ${describe(resolved.sources.get(name))}`);
    }
  },
});

export default defineCommand({
  meta: { name: "config", description: "Config files: mqraft config check --config mqraft.toml" },
  subCommands: { check },
});
