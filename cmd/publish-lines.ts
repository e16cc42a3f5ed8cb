import type { PublishResult } from "../src/client/index.ts";

/** Input lines read ahead of their acknowledgements, at most: bounds memory when stdin is faster than the cluster. */
const MAX_WAITING = 5_000;

/**
 * Publishes each line as soon as it is read, many in flight, and hands each acknowledgement to `print` in input
 * order, as soon as it and every earlier one are acknowledged (so a person typing lines sees each ack at once).
 * Resolves with the number published once the input has ended and all are acknowledged; rejects with the first
 * failure in input order, without waiting for the input to end.
 */
export async function publishLines(
  lines: AsyncIterable<Uint8Array>,
  publish: (data: Uint8Array) => Promise<PublishResult>,
  print: (result: PublishResult) => void | Promise<void>,
  maxWaiting = MAX_WAITING,
): Promise<number> {
  const waiting: Promise<PublishResult>[] = [];
  let inputEnded = false;
  let printed = 0;
  let published = 0;
  let printerWakeup: (() => void) | undefined;
  let readerWakeup: (() => void) | undefined;
  const wakePrinter = (): void => {
    printerWakeup?.();
    printerWakeup = undefined;
  };
  const wakeReader = (): void => {
    readerWakeup?.();
    readerWakeup = undefined;
  };

  const printer = (async () => {
    for (;;) {
      const next = waiting.shift();
      if (next !== undefined) {
        await print(await next);
        printed++;
        wakeReader();
        continue;
      }
      if (inputEnded) return printed;
      await new Promise<void>((resolve) => (printerWakeup = resolve));
    }
  })();

  const reader = (async () => {
    for await (const line of lines) {
      const result = publish(line);
      // observed by the printer later, in order; until then a failure must not count as unhandled
      result.catch(() => {});
      waiting.push(result);
      published++;
      wakePrinter();
      while (published - printed >= maxWaiting) await new Promise<void>((resolve) => (readerWakeup = resolve));
    }
    inputEnded = true;
    wakePrinter();
  })();

  // the printer may fail first, while the reader still waits for input nobody will publish
  reader.catch(() => {});
  await Promise.race([printer, reader]);
  await reader;
  return await printer;
}
