import { connect as netConnect } from "node:net";
import { encodeValue, FrameDecoder, NEED_MORE } from "../../src/wire/index.ts";

/** One frame around `body`. */
export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** Frames of these messages, back to back. */
export function frames(...messages: unknown[]): Uint8Array {
  return Buffer.concat(messages.map((m) => frame(encodeValue(m))));
}

/**
 * Writes raw bytes to a port and returns the frames it answered (decoded) and whether it closed within `timeoutMs`.
 * With `answersWanted`, it stops listening (closed: false) once that many frames came: for a connection the server
 * keeps open, instead of waiting out the timeout.
 */
export function sendRaw(
  port: number,
  bytes: Uint8Array,
  timeoutMs = 3000,
  answersWanted = Number.POSITIVE_INFINITY,
): Promise<{ answers: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder(1 << 20);
    const answers: Record<string, unknown>[] = [];
    const socket = netConnect(port, "127.0.0.1", () => socket.write(bytes));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(new Uint8Array(chunk));
      for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next())
        answers.push(value as Record<string, unknown>);
      if (answers.length >= answersWanted) finish(false);
    });
    socket.on("error", () => {});
    socket.on("close", () => finish(true));
  });
}
