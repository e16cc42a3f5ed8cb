import { splitAddress } from "../../src/util/config-values.ts";
import { createPrng } from "../../src/util/prng.ts";
import { FRAME_KINDS, type FrameKind, type Port, script } from "./frames.ts";

/** How long a connection may stay open after the fuzzer sent everything and closed its side. */
const LINGER_MS = 5_000;

export interface PortResult {
  port: Port;
  frames: number;
  byKind: Record<FrameKind, number>;
  connections: number;
  /** Connections the server did not close within LINGER_MS of the fuzzer's close (each is cut then). */
  lingered: number;
}

/**
 * Sends `frames` fuzzed frames to `address`, `concurrency` connections at a time. The scripts come from one PRNG in
 * order, so a seed gives the same bytes whatever the timing. Rejects if the server stops accepting connections.
 */
export async function fuzzPort(
  address: string,
  port: Port,
  seed: number,
  frames: number,
  concurrency = 16,
): Promise<PortResult> {
  const prng = createPrng(seed);
  const byKind = Object.fromEntries(FRAME_KINDS.map((k) => [k, 0])) as Record<FrameKind, number>;
  let sent = 0;
  let connections = 0;
  let lingered = 0;
  const worker = async (): Promise<void> => {
    while (sent < frames) {
      const s = script(prng, port, frames - sent);
      for (const [kind, n] of s.frames) {
        byKind[kind] += n;
        sent += n;
      }
      connections++;
      if (!(await play(address, s.chunks))) lingered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { port, frames: sent, byKind, connections, lingered };
}

/**
 * One connection: writes the chunks (keeping what the socket did not take, Bun does not queue it), closes its side
 * and waits for the server's close. Resolves false if it had to cut the connection; rejects if nobody accepts it.
 */
async function play(address: string, chunks: Uint8Array[]): Promise<boolean> {
  const { host, port } = splitAddress(address);
  const done = Promise.withResolvers<boolean>();
  let pending = chunks.slice();
  let rest: Uint8Array | undefined;
  const pump = (socket: import("bun").Socket<undefined>): void => {
    for (;;) {
      const next = rest ?? pending.shift();
      rest = undefined;
      if (next === undefined) {
        socket.end();
        return;
      }
      const written = socket.write(next);
      if (written < 0) return; // closed by the server meanwhile
      if (written < next.length) {
        rest = next.subarray(written);
        return;
      }
    }
  };
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      open: (s) => pump(s),
      drain: (s) => pump(s),
      data: () => {},
      close: () => done.resolve(true),
      error: () => done.resolve(true),
      end: (s) => {
        pending = [];
        rest = undefined;
        s.end();
      },
    },
  });
  const timer = setTimeout(() => {
    socket.terminate();
    done.resolve(false);
  }, LINGER_MS);
  const closedByServer = await done.promise;
  clearTimeout(timer);
  return closedByServer;
}
