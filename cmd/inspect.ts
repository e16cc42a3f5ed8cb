import { existsSync, statSync } from "node:fs";
import { defineCommand } from "citty";
import { inspectDataFolder } from "../src/storage/inspect.ts";
import { dataLayout } from "../src/storage/layout.ts";
import { MqraftError } from "../src/util/errors.ts";
import { usageError } from "./cli-runner.ts";

/** A folder a broker has used holds at least one of these; one with none is some other folder. */
function looksLikeDataFolder(folder: string): boolean {
  const layout = dataLayout(folder);
  return [layout.lock, layout.hardState, layout.snapshot, layout.logDir].some((path) => existsSync(path));
}

export default defineCommand({
  meta: {
    name: "inspect",
    description: "Print a broker's data folder: segments and their index ranges, hard state, snapshot, bad records",
  },
  args: {
    folder: { type: "positional", description: "The data folder (a broker's --data)", required: true },
    json: { type: "boolean", description: 'Print one JSON object: {"folder","healthy","lines"}' },
  },
  run({ args }) {
    const folder = args.folder;
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw usageError(`inspect: ${folder} is not a folder`);
    if (!looksLikeDataFolder(folder))
      throw usageError(`inspect: ${folder} is not an mqraft data folder (no LOCK, hardstate, snapshot or log/ in it)`);
    const report = inspectDataFolder(folder);
    if (args.json) console.log(JSON.stringify({ folder, healthy: report.healthy, lines: report.lines }));
    else for (const line of report.lines) console.log(line);
    if (!report.healthy) throw new MqraftError("CORRUPT", `${folder} has damage (see above)`);
  },
});
