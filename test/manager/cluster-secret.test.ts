import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefusalLog } from "../../src/auth/refusal-log.ts";
import { readSecretFile } from "../../src/auth/secret-file.ts";
import type { ClusterManager } from "../../src/manager/index.ts";
import { ManagerReporter } from "../../src/node/manager-reporter.ts";
import { createLogger } from "../../src/util/log.ts";
import type { ManagerReport } from "../../src/wire/index.ts";
import { waitFor } from "../support/wait.ts";
import { captureLogs, openRaw, startManager, welcomeFrom } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-manager-secret-"));
const GOOD = join(dir, "good");
const WRONG = join(dir, "wrong");
writeFileSync(GOOD, "the cluster's secret", { mode: 0o600 });
writeFileSync(WRONG, "someone else's secret", { mode: 0o600 });

const logs = captureLogs("debug");
const managers: ClusterManager[] = [];
const reporters: ManagerReporter[] = [];
afterEach(() => {
  for (const r of reporters.splice(0)) r.stop();
  for (const m of managers.splice(0)) m.stop();
});
afterAll(() => {
  logs.restore();
  rmSync(dir, { recursive: true, force: true });
});

const cluster: ManagerReport = {
  term: 3,
  leader: 2,
  members: [
    { id: 1, address: "127.0.0.1:8000", voter: true, reachable: true },
    { id: 2, address: "127.0.0.1:8001", voter: true, reachable: true },
  ],
};

function reporter(address: string, secretFile: string): ManagerReporter {
  const log = createLogger(() => "Broker 8001 LEADER");
  const r = new ManagerReporter([address], 2, () => cluster, log, 20);
  r.clusterAuth = { secret: readSecretFile(secretFile), refusals: new RefusalLog(log) };
  reporters.push(r);
  r.start();
  return r;
}

test("a manager with the cluster secret takes no report from a node without it, and learns the cluster from one with it", async () => {
  const m = startManager({ clusterSecretFile: GOOD });
  managers.push(m);

  // a broker's hello without the challenge, with a report right behind it
  const bare = await openRaw(m.address, 2);
  bare.connection.send({ type: "report", nodeId: 2, ...cluster });
  const refusal = await waitFor("the refusal", () => bare.received.find((r) => r.type === "error"));
  expect(refusal).toMatchObject({ code: "UNAUTHENTICATED" });

  // a broker with a wrong secret: the manager's proof does not hold for it, so it sends no report at all
  reporter(m.address, WRONG);
  await waitFor("the wrong-secret broker to give up on the manager", () =>
    logs.lines.some((l) => l.includes("refused this broker's reports: UNAUTHENTICATED: manager does not hold"))
      ? true
      : undefined,
  );
  expect((await welcomeFrom(m.address)).members).toEqual([]);
  expect(logs.lines.filter((l) => l.includes("Refused a broker's reports")).length).toBe(1);

  reporter(m.address, GOOD);
  await waitFor("the manager to learn the cluster from the broker with the secret", async () =>
    (await welcomeFrom(m.address)).leader === 2 ? true : undefined,
  );
});

test("a missing or open secret file stops the manager at start with an error naming the file", () => {
  const open = join(dir, "open");
  writeFileSync(open, "x", { mode: 0o644 });
  expect(() => startManager({ clusterSecretFile: open })).toThrow(
    `cluster secret file ${open} is accessible to others`,
  );
  expect(() => startManager({ clusterSecretFile: join(dir, "none") })).toThrow("no such file");
});
