import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";

/** Debian's chromium, which the Makefile installs when it can (`make browser`). */
export const CHROMIUM = process.env.MQRAFT_CHROMIUM ?? "/usr/bin/chromium";

/** Why no browser test can run here, or undefined when one can. */
export function noBrowserReason(): string | undefined {
  if (!existsSync(CHROMIUM))
    return `${CHROMIUM} is missing and could not be installed (make browser needs root and apt-get)`;
  return undefined;
}

/** A headless Chromium with a fresh profile; close() also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "mqraft-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
