/**
 * Test-only, compiled out of the release (`make build` defines MQRAFT_TEST_HOOKS as "off"): with
 * MQRAFT_TEST_GC_SIGNAL=1, SIGUSR2 runs a full collection and prints the live heap's size. A leak test then compares
 * what is alive, not how much garbage a busy process has not collected yet (its RSS right after a burst).
 */
import { heapStats } from "bun:jsc";

export const TEST_GC_ENV = process.env.MQRAFT_TEST_HOOKS === "off" ? "" : "MQRAFT_TEST_GC_SIGNAL";
/** The line SIGUSR2 prints, followed by the live heap's bytes (array buffers included). */
export const TEST_GC_LINE = "test hook: live heap after a full collection:";

export function installTestGc(): void {
  if (process.env.MQRAFT_TEST_HOOKS === "off" || process.env[TEST_GC_ENV] !== "1") return;
  process.on("SIGUSR2", () => {
    Bun.gc(true);
    const { heapSize, extraMemorySize } = heapStats();
    process.stderr.write(`${TEST_GC_LINE} ${heapSize + extraMemorySize}\n`);
  });
}
