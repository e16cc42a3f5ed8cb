import { expect, test } from "bun:test";
import { brokerMetricsText } from "../../src/metrics/broker-metrics.ts";
import { EventLoopLag } from "../../src/metrics/process-metrics.ts";
import { type BrokerParts, brokerHttpSource } from "../../src/node/broker-http-source.ts";
import { PendingProposals } from "../../src/node/pending-proposals.ts";
import { PublishBatcher, type PublishSink } from "../../src/node/publish-batcher.ts";
import { EntryKind } from "../../src/raft/log-types.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { recordSize } from "../../src/storage/record-codec.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { Scrape } from "../support/prometheus.ts";

test("/metrics reports what each bounded in-memory structure holds: the log's tail caches, publishes in flight, a transfer being received, bytes queued to clients and peers", async () => {
  const store = await LogStore.open({ fs: new SimFs(), dir: "/data" });
  try {
    store.append(
      Array.from({ length: 3 }, (_, i) => ({
        index: i + 1,
        term: 1,
        kind: EntryKind.Normal,
        data: new Uint8Array(1000),
      })),
    );
    const pending = new PendingProposals();
    let index = 0;
    const batcher = new PublishBatcher(
      () => ({ index: ++index, term: 1 }),
      pending,
      () => 0,
      () => {},
    );
    const sink: PublishSink = { publishSettled() {} };
    for (let id = 1; id <= 4; id++) batcher.add({ topic: "t", data: new Uint8Array(100) }, sink, id, 100);
    batcher.flush();
    const parts = {
      id: 1,
      store,
      broker: () => ({
        batcher,
        pending,
        state: { dedupUse: { producers: 2, seqs: 7 } },
        groups: { decodedEntries: { size: { entries: 2, bytes: 5000 } } },
      }),
      snapshotReceiver: { receiving: 4096 },
      // the sums a listener and the peer network give (test/wire/connection-memory.test.ts checks those)
      listener: () => ({
        memoryUse: () => ({ connections: 3, queuedBytes: 700, receivingBytes: 50 }),
      }),
      peers: () => ({
        memoryUse: () => ({ connections: 4, queuedBytes: 9000, receivingBytes: 6 }),
      }),
      outputBuffers: { use: { buffers: 3, bytes: 12288 } },
    } as unknown as BrokerParts;
    const source = brokerHttpSource(parts);
    const scrape = () => {
      // the memory families from the broker's own parts; the rest of the page is not this test's
      const s = new Scrape(brokerMetricsText({ ...source, ...QUIET }, new EventLoopLag()));
      const of = (structure: string) => [
        s.value("mqraft_memory_items", { structure }),
        s.value("mqraft_memory_bytes", { structure }),
      ];
      return {
        recent: of("recent_entries"),
        mirrored: s.value("mqraft_memory_items", { structure: "tail_mirror" }),
        writeBuffer: of("write_buffer"),
        inFlight: of("publishes_in_flight"),
        proposals: of("proposals_pending"),
        decoded: of("group_entries_decoded"),
        receiving: of("snapshot_receiving"),
        dedup: [...of("dedup_window"), s.value("mqraft_memory_items", { structure: "dedup_producers" })],
        toClients: of("client_send_queue"),
        toPeers: of("peer_send_queue"),
        frames: of("frames_receiving"),
        kept: of("output_buffers_kept"),
      };
    };
    expect(scrape()).toEqual({
      recent: [3, 3000],
      mirrored: 3 * recordSize(1000),
      // the records were encoded into a buffer of the first size, 64 KiB, kept for the next write
      writeBuffer: [1, 64 * 1024],
      inFlight: [4, 400],
      proposals: [1, 0],
      decoded: [2, 5000],
      receiving: [1, 4096],
      dedup: [7, 140, 2],
      toClients: [3, 700],
      toPeers: [4, 9000],
      frames: [7, 56],
      kept: [3, 12288],
    });
    pending.applied(1, 1, [{ type: "publish", topic: "t", offset: 0 }]);
    expect(scrape().inFlight).toEqual([0, 0]);
  } finally {
    await store.close();
  }
});

const QUIET = {
  raft: () => ({ role: "leader", term: 1, leader: 1, commit: 0, applied: 0, lastIndex: 0, peers: [] }),
  leaderChanges: () => 0,
  topics: () => [],
  durables: () => [],
  subscriptions: () => 0,
  connections: () => 0,
  delivered: () => 0,
};
