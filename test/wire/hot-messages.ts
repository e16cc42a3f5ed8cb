import type { Prng } from "../../src/util/prng.ts";

/**
 * Seeded hot messages for the differential tests of hot-encoders.ts and hot-decoders.ts: a valid message of each hot
 * type, written here by hand (not from the codecs' tables), then as often as not damaged — a field removed, set to
 * undefined or to a value from a pool of every kind, a property added, the keys shuffled. The schema decides which
 * of them are valid.
 */

export const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

/** An empty append, and one of two entries (the second of `bytes` bytes) at indexes beyond 2^32. */
export function appends(bytes: number): Record<string, unknown>[] {
  return [
    { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [], commit: 0 },
    {
      type: "append",
      from: 1,
      to: 3,
      term: 70_000,
      index: 2 ** 33,
      logTerm: 5,
      entries: [
        { index: 2 ** 33 + 1, term: 70_000, kind: 0, data: data(0) },
        { index: 2 ** 33 + 2, term: 70_000, kind: 1, data: data(bytes) },
      ],
      commit: 2 ** 33,
    },
  ];
}

const NAMES = ["t", "a/b.c:d-e_f", "x".repeat(255), "orders.eu"];
const WHOLES = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1];

/** Values of every kind, valid and not, for any field. */
const POOL: unknown[] = [
  ...WHOLES,
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  ...NAMES,
  "",
  "bad topic",
  "é",
  "温度/センサー",
  "a*b",
  "a\u200bb",
  "温".repeat(86),
  "\ud800",
  "x".repeat(256),
  data(0),
  data(3),
  Buffer.from([1, 2, 3]),
  new Uint16Array(2),
  true,
  false,
  null,
  undefined,
  [],
  {},
  [
    ["content-type", "text/plain"],
    ["k", "温度"],
  ],
  [["Key", "v"]],
  [["k", "a\u0007"]],
  [["k"]],
  [[1, "v"]],
  Array.from({ length: 33 }, () => ["k", "v"]),
  [{ index: 1, term: 1, kind: 0, data: data(1) }],
  [{ index: 1, term: 1, kind: 2, data: data(1) }],
  [{ index: 1, term: 1, data: data(1) }],
];

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[Math.floor(prng.next() * items.length)]!;
}

function entry(prng: Prng): Record<string, unknown> {
  return {
    index: pick(prng, WHOLES),
    term: pick(prng, WHOLES),
    kind: pick(prng, [0, 1]),
    data: data(prng.next() * 40),
  };
}

/** A message of a consumer group's push, with each optional field present or not. */
function groupItem(prng: Prng): Record<string, unknown> {
  const maybe = (key: string, value: unknown): Record<string, unknown> => (prng.next() < 0.5 ? { [key]: value } : {});
  return {
    topic: pick(prng, NAMES),
    offset: pick(prng, WHOLES),
    attempt: pick(prng, WHOLES),
    data: data(prng.next() * 300),
    ...maybe("time", pick(prng, WHOLES)),
    ...maybe("headers", [["k", "v"]]),
    ...maybe("key", pick(prng, WHOLES)),
  };
}

/** A valid message of `type`, with each optional field present or not. */
function valid(prng: Prng, type: string): Record<string, unknown> {
  const maybe = (key: string, value: unknown): Record<string, unknown> => (prng.next() < 0.5 ? { [key]: value } : {});
  switch (type) {
    case "publish":
      return {
        type,
        id: pick(prng, WHOLES),
        topic: pick(prng, NAMES),
        data: data(prng.next() * 300),
        ...maybe("producer", pick(prng, NAMES)),
        ...maybe("seq", pick(prng, WHOLES)),
      };
    case "published":
      return {
        type,
        id: pick(prng, WHOLES),
        topic: pick(prng, NAMES),
        offset: pick(prng, WHOLES),
        ...maybe("duplicate", prng.next() < 0.5),
      };
    case "message":
      return {
        type,
        subscription: pick(prng, WHOLES),
        topic: pick(prng, NAMES),
        offset: pick(prng, WHOLES),
        data: data(prng.next() * 300),
      };
    case "append":
      return {
        type,
        from: pick(prng, WHOLES),
        to: pick(prng, WHOLES),
        term: pick(prng, WHOLES),
        index: pick(prng, WHOLES),
        logTerm: pick(prng, WHOLES),
        entries: Array.from({ length: Math.floor(prng.next() * 4) }, () => entry(prng)),
        commit: pick(prng, WHOLES),
      };
    case "group-message":
      return { type, subscription: pick(prng, WHOLES), ...groupItem(prng) };
    case "group-messages":
      return {
        type,
        subscription: pick(prng, WHOLES),
        messages: Array.from({ length: Math.floor(prng.next() * 4) }, () => groupItem(prng)),
      };
    case "group-run":
      return {
        type,
        subscription: pick(prng, WHOLES),
        topic: pick(prng, NAMES),
        offset: pick(prng, WHOLES),
        attempt: pick(prng, WHOLES),
        messages: Array.from({ length: Math.floor(prng.next() * 4) }, () => ({
          data: data(prng.next() * 300),
          ...maybe("time", pick(prng, WHOLES)),
          ...maybe("headers", [["k", "v"]]),
        })),
      };
    default:
      throw new Error(`no generator for ${type}`);
  }
}

export const HOT_TYPES = [
  "publish",
  "published",
  "message",
  "append",
  "group-message",
  "group-messages",
  "group-run",
] as const;

/** A message of one of the hot types: valid about half the time. */
export function hotMessage(prng: Prng): Record<string, unknown> {
  const message = valid(prng, pick(prng, HOT_TYPES));
  const damages = prng.next() < 0.5 ? 0 : 1 + Math.floor(prng.next() * 2);
  const keys = Object.keys(message).filter((k) => k !== "type");
  for (let d = 0; d < damages; d++) {
    const key = pick(prng, keys);
    const roll = prng.next();
    if (roll < 0.2) delete message[key];
    else if (roll < 0.3) message[key] = undefined;
    else if (roll < 0.4) message[pick(prng, ["extra", "duplicate", "seq", "index"])] = pick(prng, POOL);
    else if (roll < 0.5 && Array.isArray(message.entries) && message.entries.length > 0) {
      const e = pick(prng, message.entries as Record<string, unknown>[]);
      e[pick(prng, ["index", "term", "kind", "data", "extra"])] = pick(prng, POOL);
    } else message[key] = pick(prng, POOL);
  }
  if (prng.next() < 0.2) {
    // the same properties in another order
    const entries = Object.entries(message);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(prng.next() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    return Object.fromEntries(entries);
  }
  return message;
}
