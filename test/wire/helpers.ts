import { expect } from "bun:test";
import type { Socket } from "bun";
import { FrameDecoder, NEED_MORE } from "../../src/wire/frame-decoder.ts";

/** Waits until `condition()` holds, polling each event-loop turn; fails with `describe()` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, describe: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Settles with the promise's value, or fails after `timeoutMs` saying what was awaited. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A plain Bun socket that writes raw bytes and collects the frames it receives, to play a misbehaving peer. */
export interface RawPeer {
  readonly socket: Socket<undefined>;
  readonly values: unknown[];
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

export async function rawConnect(port: number): Promise<RawPeer> {
  const frames = new FrameDecoder();
  const values: unknown[] = [];
  let closed = false;
  const { promise, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      binaryType: "uint8array",
      data(_socket, chunk: Uint8Array) {
        frames.push(chunk);
        for (let value = frames.next(); value !== NEED_MORE; value = frames.next()) values.push(value);
      },
      close() {
        closed = true;
        resolve();
      },
    },
  });
  return { socket, values, closed: promise, isClosed: () => closed };
}

/** The 4-byte big-endian length header of a frame. */
export function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function expectErrorCode(value: unknown, code: string): void {
  expect(value).toMatchObject({ type: "error", code });
}
