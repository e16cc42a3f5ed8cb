import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { defineCommand } from "citty";
import { restoreSnapshot } from "../src/node/snapshot-restore.ts";
import { StreamChecksum } from "../src/node/snapshot-stream.ts";
import { PeersSchema } from "../src/util/config-values.ts";
import { MqraftError } from "../src/util/errors.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { parseFlag, usageError } from "./cli-runner.ts";

const save = defineCommand({
  meta: {
    name: "save",
    description:
      "Save the leader's state and retained messages, at an index it applied, to a file (read a chunk at a time)",
  },
  args: { file: { type: "positional", description: "The file to write", required: true }, ...adminArgs },
  async run({ args }) {
    const file = args.file;
    if (file === undefined || file === "") throw usageError("a file to save to is needed");
    const partial = `${file}.part`;
    const fd = openSync(partial, "w");
    let saved: { index: number; term: number; bytes: number } | undefined;
    try {
      saved = await withClient(args, async (client) => {
        const checksum = new StreamChecksum();
        let offset = 0;
        let index: number | undefined;
        for (;;) {
          const chunk = await client.snapshotChunk(offset, index);
          if (chunk.offset !== offset || (index !== undefined && chunk.index !== index))
            throw new MqraftError("BAD_MESSAGE", `the leader answered offset ${chunk.offset} of ${chunk.index}`);
          index ??= chunk.index;
          writeSync(fd, chunk.data);
          checksum.update(chunk.data);
          offset += chunk.data.length;
          if (chunk.done) {
            if (!checksum.matches())
              throw new MqraftError("CORRUPT", "the snapshot read from the leader does not match its checksum");
            return { index: chunk.index, term: chunk.term, bytes: offset };
          }
        }
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      if (saved === undefined) rmSync(partial, { force: true });
    }
    renameSync(partial, file);
    const { index, term, bytes } = saved;
    print([
      args.json
        ? JSON.stringify({ file, index, term, bytes })
        : `saved the snapshot at index ${index} (term ${term}, ${bytes} bytes) to ${file}`,
    ]);
  },
});

const restore = defineCommand({
  meta: {
    name: "restore",
    description: "Prepare a new data folder from a saved snapshot, for a broker of the cluster --peers names",
  },
  args: {
    file: { type: "positional", description: "The saved snapshot", required: true },
    data: { type: "string", description: "The data folder to create (must be absent or empty)", required: true },
    peers: {
      type: "string",
      description: "The new cluster: 1=host:port,2=host:port,... (restore the same file for each of its brokers)",
      required: true,
    },
    json: { type: "boolean", description: "Print one JSON object" },
  },
  async run({ args }) {
    if (args.file === undefined || args.file === "") throw usageError("a snapshot file is needed");
    if (args.data === undefined || args.data === "") throw usageError("--data is needed: the folder to create");
    const peers = parseFlag("peers", PeersSchema, args.peers);
    const restored = await restoreSnapshot(args.file, args.data, peers);
    const line = peers.map((p) => `${p.id}=${p.address}`).join(",");
    print([
      args.json
        ? JSON.stringify({ data: args.data, ...restored })
        : `restored the snapshot at index ${restored.index} (${restored.topics} topic${restored.topics === 1 ? "" : "s"}, ${restored.messages} message${restored.messages === 1 ? "" : "s"}) into ${args.data}; start its broker with: mqraft broker --data ${args.data} --peers ${line} --id <its id> --port <its port>`,
    ]);
  },
});

export default defineCommand({
  meta: { name: "snapshot", description: "Snapshots: snapshot save <file>, snapshot restore <file> --data <dir>" },
  subCommands: { save, restore },
});
