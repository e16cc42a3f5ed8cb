import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { Scrape } from "../support/prometheus.ts";
import { waitFor } from "../support/wait.ts";

const PUBLISHES = 1000;
const TOPIC = "observed";

/** Every metric the issue names, and its Prometheus type. */
const REQUIRED: Record<string, string> = {
  mqraft_raft_term: "GAUGE",
  mqraft_raft_role: "GAUGE",
  mqraft_raft_commit_index: "GAUGE",
  mqraft_raft_applied_index: "GAUGE",
  mqraft_raft_leader_changes_total: "COUNTER",
  mqraft_follower_lag_entries: "GAUGE",
  mqraft_publish_total: "COUNTER",
  mqraft_delivered_total: "COUNTER",
  mqraft_publish_ack_seconds: "HISTOGRAM",
  mqraft_fsync_seconds: "HISTOGRAM",
  mqraft_append_batch_entries: "HISTOGRAM",
  mqraft_snapshot_seconds: "HISTOGRAM",
  mqraft_log_bytes: "GAUGE",
  mqraft_topics: "GAUGE",
  mqraft_topic_messages: "GAUGE",
  mqraft_subscriptions: "GAUGE",
  mqraft_client_connections: "GAUGE",
  process_resident_memory_bytes: "GAUGE",
  mqraft_event_loop_lag_seconds: "GAUGE",
};

describe("a broker's HTTP port", () => {
  let cluster: TestCluster;
  let http: number[];
  const url = (id: number, path: string) => `http://127.0.0.1:${http[id - 1]}${path}`;

  beforeAll(async () => {
    http = await freePorts(3);
    cluster = await TestCluster.create({
      argsFor: (id) => ["--http-port", String(http[id - 1]), "--ready-lag", "100"],
    });
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  test("after 1,000 publishes, /metrics of every broker parses as Prometheus text and its counters agree", async () => {
    const leader = await cluster.waitForLeader();
    const lines = Array.from({ length: PUBLISHES }, (_, i) => `message ${i}`).join("\n");
    const pub = await runMqraft(["pub", TOPIC, "--server", cluster.addresses.join(",")], {
      stdin: `${lines}\n`,
      timeoutMs: 60_000,
    });
    expect({ code: pub.code, stderr: pub.stderr }).toEqual({ code: 0, stderr: "" });
    const follower = cluster.brokers.find((b) => b.id !== leader)!;
    const sub = await runMqraft(
      ["sub", TOPIC, "--from", "earliest", "--count", String(PUBLISHES), "--server", follower.address],
      { timeoutMs: 60_000 },
    );
    expect(sub.code).toBe(0);

    // every broker applies the messages; the scrape is taken once it has
    const scrapes = await Promise.all(
      cluster.brokers.map((b) =>
        waitFor(`broker ${b.id} to report ${PUBLISHES} messages in ${TOPIC}`, async () => {
          const s = await Scrape.of(url(b.id, "/metrics"));
          return s.value("mqraft_topic_messages", { topic: TOPIC }) === PUBLISHES ? s : undefined;
        }),
      ),
    );
    const published = scrapes.map((s) => s.value("mqraft_publish_total", { result: "ok" }));
    const acked = scrapes.map((s) => s.value("mqraft_publish_ack_seconds"));
    const delivered = scrapes.map((s) => s.value("mqraft_delivered_total"));
    const leaderIndex = leader - 1;
    const followerIndex = follower.id - 1;
    expect({ published, acked, delivered }).toEqual({
      published: scrapes.map((_, i) => (i === leaderIndex ? PUBLISHES : 0)),
      acked: scrapes.map((_, i) => (i === leaderIndex ? PUBLISHES : 0)),
      delivered: scrapes.map((_, i) => (i === followerIndex ? PUBLISHES : 0)),
    });
    for (const [i, s] of scrapes.entries()) {
      const types = Object.fromEntries(Object.keys(REQUIRED).map((name) => [name, s.type(name)]));
      expect({ broker: i + 1, types }).toEqual({ broker: i + 1, types: REQUIRED });
      expect({
        broker: i + 1,
        leader: s.value("mqraft_raft_leader"),
        isLeader: s.value("mqraft_raft_role", { role: "leader" }),
        topics: s.value("mqraft_topics"),
        appendsSeen: (s.value("mqraft_append_batch_entries") ?? 0) > 0,
        fsyncsSeen: (s.value("mqraft_fsync_seconds") ?? 0) > 0,
        logBytes: (s.value("mqraft_log_bytes") ?? 0) > 0,
      }).toEqual({
        broker: i + 1,
        leader,
        isLeader: i === leaderIndex ? 1 : 0,
        topics: 1,
        appendsSeen: true,
        fsyncsSeen: true,
        logBytes: true,
      });
    }
    // the leader reports both followers' lag, the followers none
    expect(scrapes[leaderIndex]!.families.get("mqraft_follower_lag_entries")?.metrics.length).toBe(2);
  }, 120_000);

  test("mqraft top --once prints the nodes with the leader marked, the topic and the publish rate, with no colour into a pipe", async () => {
    const leader = await cluster.waitForLeader();
    const top = await runMqraft(["top", "--once", "--server", cluster.addresses.join(",")], { timeoutMs: 30_000 });
    expect({ code: top.code, stderr: top.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = top.stdout.split("\n");
    expect(lines[0]).toStartWith(`mqraft  leader node ${leader}  term `);
    const rows = cluster.brokers.map((b) => lines.find((l) => l.startsWith(`${b.id}`.padEnd(4) + b.address)));
    expect(rows.map((r) => r?.slice(26, 37).trim())).toEqual(
      cluster.brokers.map((b) => (b.id === leader ? "leader" : "follower")),
    );
    expect(lines.some((l) => l.startsWith(TOPIC) && l.includes(String(PUBLISHES)))).toBe(true);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts a colour code
    expect(top.stdout).not.toMatch(/\x1b\[/);
  }, 60_000);

  test.skipIf(Bun.which("script") === null)(
    "mqraft top on a terminal (a pty from script(1)) refreshes with colour until q quits it",
    async () => {
      const command = `${requireBinary()} top --server ${cluster.addresses.join(",")}`;
      const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      });
      try {
        let seen = "";
        const reader = proc.stdout.getReader();
        const frames = await waitFor("two frames of top", async () => {
          const { value } = await reader.read();
          seen += new TextDecoder().decode(value ?? new Uint8Array());
          return seen.split("mqraft  leader").length > 2 ? seen : undefined;
        });
        expect(frames).toContain("\x1b[2J");
        expect(frames).toContain("\x1b[32m");
        proc.stdin.write("q");
        await proc.stdin.flush();
        const code = await waitFor("top to exit after q", () => proc.exitCode ?? undefined, { timeoutMs: 10_000 });
        reader.releaseLock();
        expect(code).toBe(0);
      } finally {
        proc.kill("SIGKILL");
      }
    },
    60_000,
  );

  test("/healthz, /status and a refused method; /readyz goes 503 on a broker cut off from the leader and 200 once it rejoins", async () => {
    const leader = await cluster.waitForLeader();
    const target = cluster.brokers.find((b) => b.id !== leader)!;
    expect((await fetch(url(target.id, "/healthz"))).status).toBe(200);
    const status = (await (await fetch(url(target.id, "/status"))).json()) as { leader: number; nodes: unknown[] };
    expect({ leader: status.leader, nodes: status.nodes.length }).toEqual({ leader, nodes: 3 });
    expect((await fetch(url(target.id, "/metrics"), { method: "POST" })).status).toBe(405);
    await waitFor("/readyz 200 on a follower", async () =>
      (await fetch(url(target.id, "/readyz"))).status === 200 ? true : undefined,
    );

    // the other two brokers stop answering: the target can reach no leader
    const others = cluster.brokers.filter((b) => b.id !== target.id);
    for (const b of others) b.proc!.kill("SIGSTOP");
    try {
      const cut = await waitFor("/readyz 503 on the broker cut off from the leader", async () => {
        const r = await fetch(url(target.id, "/readyz"));
        return r.status === 503 ? ((await r.json()) as { reason: string }) : undefined;
      });
      expect(cut.reason).toBe("no leader known");
      // healthy all the same: the process serves
      expect((await fetch(url(target.id, "/healthz"))).status).toBe(200);
    } finally {
      for (const b of others) b.proc!.kill("SIGCONT");
    }
    await waitFor(
      "/readyz 200 again once the broker rejoins a leader",
      async () => ((await fetch(url(target.id, "/readyz"))).status === 200 ? true : undefined),
      { timeoutMs: 15_000 },
    );
  }, 60_000);
});
