import { afterAll, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { frame, frames, sendRaw } from "../manager/raw-bytes.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";

/**
 * One broker with small limits, so that each can be reached quickly; --max-pending is the least --max-frame allows,
 * and --hello-timeout a fifth of its default.
 */
const cluster = await TestCluster.create({
  nodes: 1,
  argsFor: () => ["--max-connections", "6", "--max-frame", "1MiB", "--max-pending", "5MiB", "--hello-timeout", "1s"],
});
afterAll(() => cluster.destroy());
const broker = () => cluster.broker(1);
const hello = { type: "hello", version: 1, role: "client" };

test("a connection that says no hello within --hello-timeout is closed with TIMEOUT", async () => {
  await cluster.waitForLeader();
  const silent = await sendRaw(broker().port, new Uint8Array(0), 8_000);
  expect(silent).toEqual({
    answers: [
      expect.objectContaining({
        type: "error",
        code: "TIMEOUT",
        message: "no hello (with its proof or token checked) within 1000 ms",
      }),
    ],
    closed: true,
  });
});

test("a frame over 64 KiB before the hello is refused from its header; after the hello the frame limit is --max-frame", async () => {
  // only the header of a 100 KiB frame: the broker must not wait for (or buffer) the body to refuse it
  const early = await sendRaw(broker().port, Uint8Array.from([0, 1, 0x86, 0xa0]));
  expect(early).toEqual({
    answers: [expect.objectContaining({ type: "error", code: "FRAME_TOO_LARGE" })],
    closed: true,
  });
  const data = new Uint8Array(100 * 1024).fill(7);
  const late = await sendRaw(broker().port, frames(hello, { type: "publish", id: 1, topic: "big", data }), 3_000, 2);
  expect(late.answers.map((a) => a.type)).toEqual(["welcome", "published"]);
});

test("past --max-connections a new connection is refused with REFUSED; the open ones go on", async () => {
  const open = await Promise.all(Array.from({ length: 6 }, () => openClient(broker().address)));
  await waitFor("six welcomes", () => (open.every((c) => c.received[0]?.type === "welcome") ? true : undefined));
  const seventh = await sendRaw(broker().port, frames(hello));
  expect(seventh).toEqual({ answers: [expect.objectContaining({ type: "error", code: "REFUSED" })], closed: true });
  const first = open[0] as (typeof open)[number];
  first.connection.send({ type: "status", id: 1 });
  await waitFor("a status answer on an open connection", () => first.received.find((m) => m.type === "status"));
  for (const c of open) c.connection.close();
  await waitFor("the connections to close", () => (open.every((c) => !c.connection.isOpen) ? true : undefined));
});

test("one connection may have 1,000 subscriptions; the next is refused with REFUSED and the connection stays", async () => {
  const { connection, received } = await waitFor("a connection under the limit", async () => {
    const c = await openClient(broker().address);
    await waitFor("welcome", () => c.received[0]);
    if (c.received[0]?.type === "welcome") return c;
    c.connection.close();
    return undefined;
  });
  for (let id = 1; id <= 1_001; id++) connection.send({ type: "subscribe", id, topics: [`t${id}`], from: "latest" });
  const answers = await waitFor(
    "1,001 answers",
    () => {
      const a = received.filter((m) => m.type === "subscribed" || m.type === "error");
      return a.length >= 1_001 ? a : undefined;
    },
    { timeoutMs: 30_000 },
  );
  const refused = answers.filter((m) => m.type === "error");
  expect(refused).toEqual([expect.objectContaining({ id: 1_001, code: "REFUSED" })]);
  connection.send({ type: "status", id: 2_000 });
  await waitFor("status on the same connection", () => received.find((m) => m.type === "status"));
  connection.close();
});

test("a client that does not read what it asked for is disconnected once --max-pending bytes wait; others are served", async () => {
  // 100,000 status requests (about 2 MB) whose answers (over 20 MB) it never reads
  const requests = Buffer.concat([
    frames(hello),
    ...Array.from({ length: 100_000 }, (_, id) =>
      frame(
        new Uint8Array([
          0xa2,
          0x64,
          ...Buffer.from("type"),
          0x66,
          ...Buffer.from("status"),
          0x62,
          ...Buffer.from("id"),
          0x1a,
          id >>> 24,
          (id >>> 16) & 255,
          (id >>> 8) & 255,
          id & 255,
        ]),
      ),
    ),
  ]);
  const closed = await new Promise<boolean>((resolve) => {
    const socket = netConnect(broker().port, "127.0.0.1", () => {
      socket.pause();
      socket.write(requests);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 20_000);
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  expect(closed).toBe(true);
  await waitFor("the broker to log the slow consumer", () =>
    cluster.log(1).includes("Disconnected a slow consumer") ? true : undefined,
  );
  const other = await sendRaw(broker().port, frames(hello, { type: "status", id: 1 }), 3_000, 2);
  expect(other.answers.map((a) => a.type)).toEqual(["welcome", "status"]);
});
