/** Polls `probe` until it returns a value other than undefined, or fails with what it last saw. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what}; last error: ${String(last)}`,
      );
    }
    await Bun.sleep(opts.intervalMs ?? 50);
  }
}
