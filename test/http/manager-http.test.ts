import { afterAll, expect, test } from "bun:test";
import { createServer } from "node:net";
import { ClusterManager } from "../../src/manager/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { freePorts } from "../support/ports.ts";

const started: ClusterManager[] = [];
afterAll(() => {
  for (const m of started) m.stop();
});

test("a manager whose HTTP port is taken fails to start with UNAVAILABLE and leaves its client port free", async () => {
  const [port] = await freePorts(1);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const busy = (taken.address() as import("node:net").AddressInfo).port;
  try {
    let error: unknown;
    try {
      started.push(ClusterManager.start({ host: "127.0.0.1", port: port as number, httpPort: busy }));
    } catch (e) {
      error = e;
    }
    expect(isMqraftError(error, "UNAVAILABLE") && error.message).toContain(`cannot serve HTTP on 127.0.0.1:${busy}`);
    // the client port was released: a manager can take it now
    const again = ClusterManager.start({ host: "127.0.0.1", port: port as number });
    started.push(again);
    expect(again.port).toBe(port as number);
  } finally {
    taken.close();
  }
});

test("the manager's /readyz is 503 until a leader reports, /healthz 200, /metrics and / are served", async () => {
  const [httpPort] = await freePorts(1);
  const m = ClusterManager.start({ host: "127.0.0.1", port: 0, httpPort });
  started.push(m);
  const base = `http://127.0.0.1:${m.httpPort}`;
  const ready = await fetch(`${base}/readyz`);
  expect([ready.status, await ready.json()]).toEqual([503, { ready: false, reason: "no leader has reported" }]);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toContain("# TYPE mqraft_manager_leader gauge\nmqraft_manager_leader 0\n");
  const page = await fetch(`${base}/`);
  expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
  expect(await page.text()).toContain("<title>mqraft dashboard</title>");
});
