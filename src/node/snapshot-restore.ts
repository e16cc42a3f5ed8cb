import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { BrokerState } from "../broker/state-machine.ts";
import type { Membership } from "../raft/index.ts";
import { errnoCode } from "../storage/fs.ts";
import { LogStore } from "../storage/log-store.ts";
import { RealFs } from "../storage/real-fs.ts";
import { MqraftError } from "../util/errors.ts";
import type { BrokerConfig } from "./broker-config.ts";
import { saveFoundingPeers } from "./founding-peers.ts";
import { decodeStream } from "./snapshot-stream.ts";

export interface Restored {
  index: number;
  term: number;
  topics: number;
  messages: number;
}

/**
 * `mqraft snapshot restore`: a new data folder holding a saved snapshot (docs/snapshots.md) as if its broker had
 * installed it from a leader: the state, the retained log entries, and a term at least the snapshot's. The cluster
 * it belongs to is `peers`, not the one the snapshot was saved from: every broker of the new cluster is restored
 * from the same file with the same peers, and starts with `mqraft broker --peers` as they are.
 */
export async function restoreSnapshot(file: string, dataDir: string, peers: BrokerConfig["peers"]): Promise<Restored> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new MqraftError("NOT_FOUND", `cannot read ${file}: ${errnoCode(e) ?? String(e)}`);
  }
  const stream = decodeStream(bytes, `snapshot file ${file}`);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new MqraftError("REFUSED", `${dataDir} is not empty: restore prepares a new data folder`);
  mkdirSync(dataDir, { recursive: true });
  const membership: Membership = {
    voters: peers.map((p) => p.id),
    learners: [],
    addresses: Object.fromEntries(peers.map((p) => [String(p.id), p.address])),
  };
  const meta = { ...stream.meta, membership };
  const store = await LogStore.open({ fs: new RealFs(), dir: dataDir, repair: false });
  try {
    await store.installSnapshot({ meta, data: stream.state }, { prevTerm: stream.prevTerm, entries: stream.entries });
    store.saveHardState({ term: meta.term, vote: 0, commit: meta.index });
    await store.sync();
  } finally {
    await store.close();
  }
  await saveFoundingPeers(dataDir, peers);
  const state = BrokerState.restore(stream.state);
  const topics = state.topics();
  const messages = topics.reduce((n, t) => n + (state.topicInfo(t)?.messages ?? 0), 0);
  return { index: meta.index, term: meta.term, topics: topics.length, messages };
}
