import type { Prng } from "../../src/util/prng.ts";
import { encodeValue, PROTOCOL_VERSION } from "../../src/wire/index.ts";

/**
 * What the fuzzer sends on one connection: frames made from a seeded PRNG, of six kinds (random bytes, mutated valid
 * frames, well-formed CBOR messages with fields of the wrong type, huge declared lengths, deep nesting, streams cut
 * off mid-frame). Most connections start with a valid hello, so that what follows reaches the request handlers and
 * not only the handshake.
 */

export type Port = "broker" | "manager";
export const FRAME_KINDS = ["random", "mutated", "wrong-types", "huge-length", "deep-nesting", "truncated"] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export interface Script {
  /** The bytes to send, in the pieces to write them in. */
  chunks: Uint8Array[];
  /** Fuzzed frames in it, by kind (the hello that opens most scripts is not counted). */
  frames: Map<FrameKind, number>;
}

/**
 * Message types sent with plausible fields. Requests that an admin may legitimately use to drop messages or
 * change the cluster (retention, purge, leave, transfer, join, users, durable removal and seek) are left out: the
 * run checks afterwards that no acknowledged message changed, and those would change them by design.
 */
const BROKER_TYPES = [
  "publish",
  "register",
  "subscribe",
  "ack",
  "unsubscribe",
  "status",
  "readIndex",
  "list-topics",
  "list-durables",
  "proof",
  "error",
];
const MANAGER_TYPES = ["publish", "register", "subscribe", "ack", "unsubscribe", "status", "report", "proof", "error"];

/** Letters for made-up strings: lower-case only, so never the run's check topic (which has a dash). */
const LETTERS = "abcdefghijklmnopqrstuvwxyz";
/**
 * Names (topics, durable subscriptions, producers) come from a small pool: what the broker keeps per name is state
 * it must keep, and the run measures what it keeps beyond that.
 */
const NAMES = ["a", "b", "orders", "orders.eu", "x.y.z", "constructor", "__proto__", "prototype"];

export function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length >>> 0, false);
  return bytes;
}

export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out.set(header(body.length));
  out.set(body, 4);
  return out;
}

function randomBytes(prng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = prng.int(0, 255);
  return out;
}

function word(prng: Prng): string {
  let s = "";
  for (let i = prng.int(1, 8); i > 0; i--) s += prng.pick([...LETTERS]);
  return s;
}

/** Any value of the protocol's CBOR subset, nested a little. */
function anyValue(prng: Prng, depth = 0): unknown {
  switch (prng.int(0, depth > 2 ? 7 : 10)) {
    case 0:
      return prng.int(0, 2 ** 31);
    case 1:
      return -prng.int(0, 1000);
    case 2:
      return prng.pick([0.5, Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 60, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return word(prng);
    case 4:
      return prng.pick([
        "",
        "constructor",
        "__proto__",
        "prototype",
        "earliest",
        "latest",
        "é",
        "\u0000",
        "a".repeat(300),
      ]);
    case 5:
      return prng.chance(0.5);
    case 6:
      return null;
    case 7:
      return randomBytes(prng, prng.int(0, 64));
    case 8:
      return Array.from({ length: prng.int(0, 4) }, () => anyValue(prng, depth + 1));
    case 9:
      return [[word(prng), prng.int(0, 100)]];
    default: {
      const object: Record<string, unknown> = {};
      for (let i = prng.int(0, 3); i > 0; i--)
        object[prng.pick(["topic", "id", "type", word(prng)])] = anyValue(prng, depth + 1);
      return object;
    }
  }
}

/** A message of a known type whose fields are plausible, or (often) of the wrong type, missing or extra. */
function message(prng: Prng, port: Port): Record<string, unknown> {
  const type = prng.pick(port === "broker" ? BROKER_TYPES : MANAGER_TYPES);
  const name = (): string => prng.pick(NAMES);
  const plausible: Record<string, unknown> = {
    type,
    id: prng.int(0, 1000),
    topic: name(),
    topics: [name()],
    data: randomBytes(prng, prng.int(0, 32)),
    from: prng.pick(["earliest", "latest", prng.int(0, 5)]),
    durable: name(),
    offset: prng.int(0, 10),
    subscription: prng.int(0, 5),
    producer: name(),
    seq: prng.int(0, 10),
    nodeId: prng.int(1, 5),
    positions: [[name(), prng.int(0, 5)]],
  };
  const out: Record<string, unknown> = { type };
  for (const [key, value] of Object.entries(plausible)) {
    if (key === "type" || prng.chance(0.3)) continue;
    out[key] = prng.chance(0.25) ? anyValue(prng) : value;
  }
  if (prng.chance(0.1)) out[word(prng)] = anyValue(prng);
  return out;
}

function hello(prng: Prng, port: Port): Uint8Array {
  const role = port === "manager" && prng.chance(0.2) ? "peer" : prng.chance(0.1) ? "manager" : "client";
  return frame(
    encodeValue({ type: "hello", version: PROTOCOL_VERSION, role, ...(role === "peer" ? { id: prng.int(1, 9) } : {}) }),
  );
}

function fuzzedFrame(prng: Prng, port: Port, kind: FrameKind): Uint8Array {
  switch (kind) {
    case "random": {
      const body = randomBytes(prng, prng.int(0, 200));
      return prng.chance(0.5) ? frame(body) : body;
    }
    case "mutated": {
      const bytes = frame(encodeValue(message(prng, port)));
      for (let i = prng.int(1, 4); i > 0; i--) {
        const at = prng.int(0, bytes.length - 1);
        bytes[at] = prng.chance(0.5) ? prng.int(0, 255) : (bytes[at] as number) ^ (1 << prng.int(0, 7));
      }
      return bytes;
    }
    case "wrong-types":
      return frame(encodeValue(prng.chance(0.8) ? message(prng, port) : anyValue(prng)));
    case "huge-length": {
      // a length near the limit or far beyond it, then a few bytes of a body that never completes
      const length = prng.pick([2 ** 32 - 1, 2 ** 31, 16 * 2 ** 20 + 1, 64 * 1024 + 1, prng.int(1, 2 ** 32 - 1)]);
      return Uint8Array.from([...header(length), ...randomBytes(prng, prng.int(0, 16))]);
    }
    case "deep-nesting": {
      const depth = prng.pick([65, 100, 1000, 20_000]);
      const body = new Uint8Array(depth + 1).fill(prng.chance(0.5) ? 0x81 : 0xa1);
      body[depth] = 0x00;
      if (body[0] === 0xa1) for (let i = 1; i < depth; i += 2) body[i] = 0x61; // maps: a key "?" then the next level
      return frame(body);
    }
    case "truncated": {
      const whole = frame(encodeValue(message(prng, port)));
      return whole.subarray(0, prng.int(1, whole.length - 1));
    }
    default:
      return kind satisfies never;
  }
}

/** Kinds that end what the server can read of a connection: nothing sent after them is looked at. */
const FINAL: ReadonlySet<FrameKind> = new Set(["random", "huge-length", "deep-nesting", "truncated"]);

/**
 * One connection's script of up to `budget` fuzzed frames: usually a valid hello, then messages of plausible shape
 * (answered with an error naming the request, the connection kept) until a frame that ends it.
 */
export function script(prng: Prng, port: Port, budget: number): Script {
  const chunks: Uint8Array[] = [];
  const frames = new Map<FrameKind, number>();
  if (prng.chance(0.85)) chunks.push(hello(prng, port));
  const count = Math.min(budget, prng.int(1, 24));
  for (let i = 0; i < count; i++) {
    // mostly messages a session reads on; now and then one that ends the connection
    const kind: FrameKind = prng.chance(0.75) ? "wrong-types" : prng.pick(FRAME_KINDS);
    chunks.push(fuzzedFrame(prng, port, kind));
    frames.set(kind, (frames.get(kind) ?? 0) + 1);
    if (FINAL.has(kind)) break;
  }
  return { chunks: prng.chance(0.3) ? split(prng, chunks) : [concat(chunks)], frames };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The same bytes cut at random places: the server must reassemble frames from any split. */
function split(prng: Prng, chunks: Uint8Array[]): Uint8Array[] {
  const all = concat(chunks);
  const out: Uint8Array[] = [];
  for (let at = 0; at < all.length; ) {
    const n = prng.int(1, Math.max(1, Math.min(64, all.length - at)));
    out.push(all.subarray(at, at + n));
    at += n;
  }
  return out;
}
