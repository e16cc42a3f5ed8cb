import type { Prng } from "../../src/util/prng.ts";
import type { ClientTls } from "../../src/wire/index.ts";
import { script } from "./frames.ts";
import { type Port, play } from "./fuzz-run.ts";

/**
 * What a TLS port is sent before any handshake completes: bytes that are not TLS, and TLS that is broken. A real
 * ClientHello, recorded once, is the base of the structure-aware kinds, so that they get past the first bytes the
 * TLS library checks and into the parsing of extensions, cipher lists and lengths.
 */
export const GARBAGE_KINDS = ["random", "mutated-hello", "truncated-hello", "record-header", "clear-frames"] as const;
export type GarbageKind = (typeof GARBAGE_KINDS)[number];

export interface HandshakeResult {
  connections: number;
  byKind: Record<GarbageKind, number>;
  /** Connections the server did not close within the linger time of the fuzzer's close. */
  lingered: number;
}

/** The first flight a TLS client with `tls` sends: its ClientHello, as it went over the wire. */
export async function recordClientHello(tls: ClientTls): Promise<Uint8Array> {
  const got = Promise.withResolvers<Uint8Array>();
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (_s, chunk) => got.resolve(new Uint8Array(chunk)) },
  });
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: listener.port,
    tls: { ...tls, rejectUnauthorized: false },
    socket: { data: () => {}, error: () => {} },
  });
  try {
    return await got.promise;
  } finally {
    client.terminate();
    listener.stop(true);
  }
}

function randomBytes(prng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = prng.int(0, 255);
  return out;
}

/** One connection's garbage of `kind`, as the pieces to write. */
export function garbage(prng: Prng, kind: GarbageKind, clientHello: Uint8Array, port: Port): Uint8Array[] {
  switch (kind) {
    case "random":
      return [randomBytes(prng, prng.int(1, 2048))];
    case "mutated-hello": {
      const bytes = clientHello.slice();
      for (let i = prng.int(1, 8); i > 0; i--) {
        const at = prng.int(0, bytes.length - 1);
        bytes[at] = prng.chance(0.5) ? prng.int(0, 255) : (bytes[at] as number) ^ (1 << prng.int(0, 7));
      }
      return [bytes];
    }
    case "truncated-hello":
      return [clientHello.subarray(0, prng.int(1, clientHello.length - 1))];
    case "record-header": {
      // a handshake record (type 22) of any version and declared length, with a body of random bytes
      const length = prng.pick([0, 1, 0x4000, 0x4001, 0xffff, prng.int(0, 0xffff)]);
      return [
        Uint8Array.from([22, 3, prng.int(0, 4), length >> 8, length & 0xff]),
        randomBytes(prng, prng.int(0, 512)),
      ];
    }
    case "clear-frames":
      // what a client that forgot --tls-ca sends: protocol frames in clear text
      return script(prng, port, 8).chunks;
    default:
      return kind satisfies never;
  }
}

/** `connections` connections of handshake garbage to the TLS port at `address`, `concurrency` at a time. */
export async function fuzzHandshakes(
  address: string,
  port: Port,
  prng: Prng,
  connections: number,
  clientHello: Uint8Array,
  concurrency = 8,
): Promise<HandshakeResult> {
  const byKind = Object.fromEntries(GARBAGE_KINDS.map((k) => [k, 0])) as Record<GarbageKind, number>;
  let started = 0;
  let lingered = 0;
  const worker = async (): Promise<void> => {
    while (started < connections) {
      started++;
      const kind = prng.pick(GARBAGE_KINDS);
      byKind[kind]++;
      if (!(await play(address, garbage(prng, kind, clientHello, port)))) lingered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { connections: started, byKind, lingered };
}
