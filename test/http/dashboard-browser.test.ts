/// <reference lib="dom" />
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ManagerProcess } from "../manager/manager-process.ts";
import { ROOT, runMqraft } from "../support/binary.ts";
import { launchChromium, noBrowserReason } from "../support/browser.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";

const skip = noBrowserReason();
if (skip !== undefined) console.log(`skipping the dashboard browser test: ${skip}`);

const SCREENSHOT = join(ROOT, ".tmp", "dashboard.png");

describe.skipIf(skip !== undefined)("the manager's dashboard in headless Chromium", () => {
  let cluster: TestCluster | undefined;
  let manager: ManagerProcess | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  afterAll(async () => {
    await browser?.close();
    await manager?.stop();
    await cluster?.destroy();
  });

  test("shows three nodes and the leader; after the leader is killed, the new leader and the election within 5 s", async () => {
    const [managerPort, managerHttp, ...brokerHttp] = await freePorts(5);
    cluster = await TestCluster.create({
      argsFor: (id) => ["--manager", `127.0.0.1:${managerPort}`, "--http-port", String(brokerHttp[id - 1])],
    });
    manager = new ManagerProcess(managerPort as number, join(cluster.dir, "manager.log"), [
      "--http-port",
      String(managerHttp),
    ]);
    manager.start();
    const leader = await cluster.waitForLeader();
    const pub = await runMqraft(["pub", "dashboard-topic", "--server", cluster.addresses.join(",")], {
      stdin: "one\ntwo\nthree\n",
    });
    expect(pub.code).toBe(0);

    browser = await launchChromium();
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${managerHttp}/`);
    await page.waitForFunction(
      (id) =>
        document.querySelectorAll("[data-node-id]").length === 3 &&
        document.querySelector(`[data-node-id="${id}"]`)?.getAttribute("data-role") === "leader" &&
        document.getElementById("leader")?.textContent === `node ${id}`,
      leader,
      { timeout: 15_000 },
    );
    await page.waitForSelector("#topics td:text('dashboard-topic')", { timeout: 5_000 });

    await cluster.stop(leader, "SIGKILL");
    // the deadline the issue sets: new leader and its timeline entry shown within 5 s of the kill
    const seen = await page.waitForFunction(
      (old) => {
        const shown = document.getElementById("leader")?.textContent ?? "";
        const id = Number(shown.replace("node ", ""));
        if (!id || id === old) return undefined;
        const election = [...document.querySelectorAll('.event[data-kind="election"]')].some((e) =>
          e.textContent?.includes(`New leader node ${id} `),
        );
        const card = document.querySelector(`[data-node-id="${id}"]`)?.getAttribute("data-role");
        return election && card === "leader" ? { leader: id } : undefined;
      },
      leader,
      { timeout: 5_000 },
    );
    const { leader: next } = (await seen.jsonValue()) as { leader: number };
    expect(next).not.toBe(leader);
    mkdirSync(join(ROOT, ".tmp"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`dashboard screenshot: ${SCREENSHOT}`);
  }, 90_000);
});
