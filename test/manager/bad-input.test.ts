import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClusterManager } from "../../src/manager/index.ts";
import { waitFor } from "../support/wait.ts";
import { FakeBrokers } from "./fake-brokers.ts";
import {
  answerTo,
  captureLogs,
  openRaw,
  type RawConnection,
  reportAndWait,
  startManager,
  welcomeFrom,
} from "./helpers.ts";
import { frame, frames, sendRaw } from "./raw-bytes.ts";

const MAX_CONNECTIONS = 100;
let logs: ReturnType<typeof captureLogs>;
let brokers: FakeBrokers;
let manager: ClusterManager;
let reporter: RawConnection;

beforeAll(async () => {
  logs = captureLogs();
  brokers = FakeBrokers.start(1);
  // the default hello deadline: 300 connections opened at once on a loaded machine may take longer than a short one
  // to say hello, and would be closed with TIMEOUT instead of served (the hello deadline has its own manager below)
  manager = startManager({ maxConnections: MAX_CONNECTIONS });
  reporter = await reportAndWait(manager, brokers.report());
});
afterAll(() => {
  reporter.connection.close();
  manager.stop();
  brokers.stop();
  logs.restore();
});

const hello = { type: "hello", version: 1, role: "client" };
const peerHello = { type: "hello", version: 1, role: "peer", id: 1 };
const report = { type: "report", nodeId: 1, term: 1, leader: 1, members: [] };

describe("bad input on the manager port gets an error frame and a close", () => {
  const cases: [string, () => Uint8Array, string, string?][] = [
    ["plain-text garbage", () => new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "FRAME_TOO_LARGE"],
    ["an oversized length", () => new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]), "FRAME_TOO_LARGE"],
    ["a frame that is not CBOR", () => frame(new Uint8Array([0xff, 0xfe, 0xfd])), "BAD_FRAME"],
    // under the 64 KiB a frame may have before the hello, so that the nesting is what is refused
    ["a CBOR nesting bomb", () => frame(new Uint8Array(60_000).fill(0x81)), "BAD_FRAME"],
    ["an unknown message type", () => frames({ type: "launch", id: 1 }), "BAD_MESSAGE", "launch"],
    ["a hello of the wrong shape", () => frames({ type: "hello", version: "one" }), "BAD_MESSAGE", "hello.version"],
    ["a hello with an unsupported version", () => frames({ type: "hello", version: 99 }), "UNSUPPORTED_VERSION"],
    ["a hello sent twice", () => frames(hello, hello), "BAD_MESSAGE", "hello sent twice"],
    [
      "a publish before hello",
      () => frames({ type: "publish", id: 1, topic: "t", data: new Uint8Array(1) }),
      "BAD_MESSAGE",
      "expected hello first",
    ],
    [
      "a publish with a bad topic name",
      () => frames(hello, { type: "publish", id: 1, topic: "bad topic!", data: new Uint8Array(1) }),
      "BAD_MESSAGE",
      "publish.topic",
    ],
    [
      "a Raft message (the manager takes none)",
      () => frames(hello, { type: "timeoutNow", from: 1, to: 2, term: 99 }),
      "BAD_MESSAGE",
    ],
    ["a report from a client", () => frames(hello, report), "BAD_MESSAGE", "report is sent by brokers"],
    [
      "a peer hello without the broker's id",
      () => frames({ type: "hello", version: 1, role: "peer" }),
      "BAD_MESSAGE",
      "must carry the broker's id",
    ],
    [
      "a report under another broker's id",
      () => frames(peerHello, { ...report, nodeId: 2 }),
      "BAD_MESSAGE",
      "differs from the hello's id",
    ],
    [
      "a report of the wrong shape",
      () => frames(peerHello, { ...report, members: [{ id: 0, address: 5 }] }),
      "BAD_MESSAGE",
      "report.members",
    ],
    [
      "a request on a broker's connection",
      () => frames(peerHello, { type: "status", id: 1 }),
      "BAD_MESSAGE",
      "sends reports, not status",
    ],
  ];

  for (const [name, bytes, code, text] of cases) {
    test(`${name}: ${code}`, async () => {
      const { answers, closed } = await sendRaw(manager.port, bytes());
      const error = answers.find((a) => a.type === "error");
      expect({ code: error?.code, closed }).toEqual({ code, closed: true });
      if (text !== undefined) expect(String(error?.message)).toContain(text);
    });
  }

  test("a connection that never says hello is closed with TIMEOUT", async () => {
    const quick = startManager({ helloTimeoutMs: 300 });
    try {
      const { answers, closed } = await sendRaw(quick.port, new Uint8Array(0), 3000);
      expect({ code: answers[0]?.code, closed }).toEqual({ code: "TIMEOUT", closed: true });
    } finally {
      quick.stop();
    }
  });

  test("a stream request is refused with its id and the connection stays open for the next request", async () => {
    const c = await openRaw(manager.address);
    try {
      c.connection.send({ type: "subscribe", id: 1, topics: ["t"], from: "earliest" });
      c.connection.send({ type: "ack", id: 2, durable: "d", topic: "t", offset: 0 });
      c.connection.send({ type: "unsubscribe", id: 3, subscription: 1 });
      c.connection.send({ type: "status", id: 4 });
      const subscribe = await answerTo(c, 1);
      expect(subscribe).toMatchObject({ type: "error", id: 1, code: "REFUSED" });
      expect((subscribe as { message: string }).message).toBe(
        "subscribe to a broker; the manager's welcome lists them",
      );
      expect(await answerTo(c, 2)).toMatchObject({ type: "error", id: 2, code: "REFUSED" });
      expect(await answerTo(c, 3)).toMatchObject({ type: "error", id: 3, code: "REFUSED" });
      expect(await answerTo(c, 4)).toMatchObject({ type: "status", id: 4, leader: 1 });
      expect(c.connection.isOpen).toBe(true);
    } finally {
      c.connection.close();
    }
  });

  test(`a flood of 3 × ${MAX_CONNECTIONS} connections against a cap of ${MAX_CONNECTIONS}: those within the cap are served, the rest refused with REFUSED and closed; afterwards new ones are served`, async () => {
    await waitFor("only the reporter's connection to be open", () =>
      manager.openConnections === 1 ? true : undefined,
    );
    const flood = await Promise.all(Array.from({ length: 3 * MAX_CONNECTIONS }, () => openRaw(manager.address)));
    try {
      const outcome = () => {
        const served = flood.filter((c) => c.received.some((m) => m.type === "welcome")).length;
        const refused = flood.filter((c) => c.received.some((m) => m.type === "error" && m.code === "REFUSED")).length;
        return { served, refused };
      };
      await waitFor("every flood connection to be answered", () => {
        const { served, refused } = outcome();
        if (served + refused === flood.length) return true;
        const open = flood.filter((c) => c.connection.isOpen).length;
        throw new Error(`${served} served, ${refused} refused of ${flood.length}; ${open} still open`);
      });
      // the reporter's connection counts too
      expect(outcome()).toEqual({ served: MAX_CONNECTIONS - 1, refused: 2 * MAX_CONNECTIONS + 1 });
      await waitFor("the refused connections to be closed", () =>
        flood.filter((c) => !c.connection.isOpen).length === 2 * MAX_CONNECTIONS + 1 ? true : undefined,
      );
    } finally {
      for (const c of flood) c.connection.close();
    }
    await waitFor("a new connection to be served once the flood is gone", async () =>
      (await welcomeFrom(manager.address)).leader === 1 ? true : undefined,
    );
  });

  test("after all of that the manager still forwards", async () => {
    const c = await openRaw(manager.address);
    try {
      c.connection.send({
        type: "publish",
        id: 7,
        topic: "after-bad-input",
        data: new TextEncoder().encode("still here"),
      });
      expect(await answerTo(c, 7)).toEqual({ type: "published", id: 7, topic: "after-bad-input", offset: 0 });
    } finally {
      c.connection.close();
    }
  });
});
