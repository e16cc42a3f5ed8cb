import { afterEach, describe, expect, test } from "bun:test";
import type { BrokerState } from "../../src/broker/state-machine.ts";
import type { ClientInbound } from "../../src/wire/index.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";
import { LocalBroker } from "./local-broker.ts";

let broker: LocalBroker | undefined;
afterEach(async () => {
  await broker?.destroy();
  broker = undefined;
});

const stateOf = (b: LocalBroker): BrokerState => (b.node as unknown as { broker: { state: BrokerState } }).broker.state;

/** Sends one request over a raw connection and returns its answer. */
async function request(address: string, message: Record<string, unknown>): Promise<ClientInbound> {
  const { connection, received } = await openClient(address);
  try {
    connection.send({ ...message, id: 1 });
    return await waitFor("the answer", () => received.find((m) => "id" in m && m.id === 1));
  } finally {
    connection.close();
  }
}

const publish = (address: string) =>
  request(address, { type: "publish", topic: "t", data: new TextEncoder().encode("x") });

describe("retention is a replicated setting, not each leader's flags", () => {
  test("a leader started with other --retain flags does not change the cluster's policy; a retention request does", async () => {
    broker = await LocalBroker.start({ retention: { maxMessages: 5 } });
    await publish(broker.address);
    await waitFor("the first leader's flags to be the policy", () =>
      stateOf(broker!).retention().maxMessages === 5 ? true : undefined,
    );
    await broker.stop();
    // the same data folder led by a broker with other flags, as after a leader change to a differently started broker
    (broker.config.retention as { maxMessages?: number }).maxMessages = 100;
    await broker.restart();
    // a leader proposes its flags right after it has applied what its predecessors committed, before these publishes
    for (let i = 0; i < 3; i++) expect(await publish(broker.address)).toMatchObject({ type: "published" });
    expect(stateOf(broker).retention()).toEqual({ maxMessages: 5 });
    expect(await request(broker.address, { type: "retention", retention: { maxAgeMs: 60_000 } })).toEqual({
      type: "ok",
      id: 1,
    });
    expect(stateOf(broker).retention()).toEqual({ maxAgeMs: 60_000 });
  });
});
