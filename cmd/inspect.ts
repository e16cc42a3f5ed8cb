import { existsSync, statSync } from "node:fs";
import { defineCommand } from "citty";
import { inspectDataFolder } from "../src/storage/inspect.ts";
import { MqraftError } from "../src/util/errors.ts";
import { usageError } from "./cli-runner.ts";

export default defineCommand({
  meta: {
    name: "inspect",
    description: "Print a broker's data folder: segments and their index ranges, hard state, snapshot, bad records",
  },
  args: {
    folder: { type: "positional", description: "The data folder (a broker's --data)", required: true },
  },
  run({ args }) {
    const folder = args.folder;
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw usageError(`inspect: ${folder} is not a folder`);
    const report = inspectDataFolder(folder);
    for (const line of report.lines) console.log(line);
    if (!report.healthy) throw new MqraftError("CORRUPT", `${folder} has damage (see above)`);
  },
});
