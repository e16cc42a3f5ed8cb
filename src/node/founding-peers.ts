import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RealFs } from "../storage/real-fs.ts";
import { writeFileAtomic } from "../storage/sealed-file.ts";
import type { BrokerConfig } from "./broker-config.ts";

/**
 * The founding configuration a broker wrote into its log, as one canonical line (`1=host:port,2=...`). Brokers send it
 * in their hello and refuse a peer whose line differs: founding entries written from different --peers agree on
 * index and term but not on content, which Raft's log matching assumes never happens. Joined brokers have none.
 */
export type FoundingPeers = string | undefined;

const FILE = "founding-peers";

export function canonicalPeers(peers: BrokerConfig["peers"]): string {
  return peers
    .toSorted((a, b) => a.id - b.id)
    .map((p) => `${p.id}=${p.address}`)
    .join(",");
}

/** Saved (durably) before a fresh broker writes its founding entries; read back on every later start. */
export async function saveFoundingPeers(dataDir: string, peers: BrokerConfig["peers"]): Promise<string> {
  const line = canonicalPeers(peers);
  const fs = new RealFs();
  await writeFileAtomic(fs, dataDir, join(dataDir, FILE), [new TextEncoder().encode(`${line}\n`)]);
  return line;
}

export function loadFoundingPeers(dataDir: string): FoundingPeers {
  const path = join(dataDir, FILE);
  return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
}
