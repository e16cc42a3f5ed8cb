import { splitAddress } from "../../src/util/config-values.ts";
import { createPrng } from "../../src/util/prng.ts";
import type { ClientTls } from "../../src/wire/index.ts";
import { FRAME_KINDS, type FrameKind, type Port, script } from "./frames.ts";

export type { Port };

/** How long a connection may stay open after the fuzzer sent everything and closed its side. */
const LINGER_MS = 5_000;

export interface PortResult {
  port: Port;
  /** The frames went inside TLS sessions (after a completed handshake). */
  tls: boolean;
  /** With TLS: connections whose handshake completed, so that their frames reached the server's decoder. */
  secured: number;
  frames: number;
  byKind: Record<FrameKind, number>;
  connections: number;
  /** Connections the server did not close within LINGER_MS of the fuzzer's close (each is cut then). */
  lingered: number;
}

/**
 * Sends `frames` fuzzed frames to `address`, `concurrency` connections at a time; with `tls`, each connection first
 * completes a TLS handshake and the frames go inside it. The scripts come from one PRNG in order, so a seed gives
 * the same bytes whatever the timing. Rejects if the server stops accepting connections.
 */
export async function fuzzPort(
  address: string,
  port: Port,
  seed: number,
  frames: number,
  concurrency = 16,
  tls?: ClientTls,
): Promise<PortResult> {
  const prng = createPrng(seed);
  const byKind = Object.fromEntries(FRAME_KINDS.map((k) => [k, 0])) as Record<FrameKind, number>;
  let sent = 0;
  let connections = 0;
  let lingered = 0;
  let secured = 0;
  const worker = async (): Promise<void> => {
    while (sent < frames) {
      const s = script(prng, port, frames - sent);
      for (const [kind, n] of s.frames) {
        byKind[kind] += n;
        sent += n;
      }
      connections++;
      if (!(await play(address, s.chunks, tls, () => secured++))) lingered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { port, tls: tls !== undefined, secured, frames: sent, byKind, connections, lingered };
}

/**
 * One connection: writes the chunks (keeping what the socket did not take, Bun does not queue it), closes its side
 * and waits for the server's close. With `tls`, the chunks go once the handshake has completed; a handshake the
 * server refuses ends the connection like a close. Resolves false if it had to cut the connection; rejects if nobody
 * accepts it.
 */
export async function play(
  address: string,
  chunks: Uint8Array[],
  tls?: ClientTls,
  onSecured?: () => void,
): Promise<boolean> {
  const { host, port } = splitAddress(address);
  const done = Promise.withResolvers<boolean>();
  let pending = chunks.slice();
  // a TLS connection carries the chunks once its handshake has completed
  let ready = tls === undefined;
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
    ...(tls === undefined ? {} : { tls }),
    socket: {
      open: (s) => {
        if (ready) pump(s);
      },
      handshake: (s, authorized) => {
        if (!authorized) return s.terminate();
        ready = true;
        onSecured?.();
        pump(s);
      },
      drain: (s) => {
        if (ready) pump(s);
      },
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
