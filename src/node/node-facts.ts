import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };

/** What a broker says about itself in its status row, beyond Raft: what runs, for how long, and its disk use. */
export interface NodeFacts {
  version: string;
  uptimeMs: number;
  diskBytes: number;
}

export function nodeFacts(dataDir: string): NodeFacts {
  return { version: pkg.version, uptimeMs: Math.round(process.uptime() * 1000), diskBytes: folderBytes(dataDir) };
}

/** Bytes of the files in the folder and its subfolders; a file removed while counting counts 0. */
function folderBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      total += st.isDirectory() ? folderBytes(join(dir, name)) : st.size;
    } catch {
      // removed meanwhile (a compacted segment): nothing to count
    }
  }
  return total;
}
