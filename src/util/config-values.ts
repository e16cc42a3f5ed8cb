import * as v from "valibot";

/**
 * Schemas for every value a person types (flags, environment) or a config carries. Each turns a
 * string into a typed value or fails with a message that names what was expected.
 */

const INT = /^\d+$/;

export const PortSchema = v.pipe(
  v.string(),
  v.regex(INT, "expected a port number from 1 to 65535"),
  v.transform(Number),
  v.integer(),
  v.minValue(1, "expected a port number from 1 to 65535"),
  v.maxValue(65535, "expected a port number from 1 to 65535"),
);

/** A port for an optional listener: 0 turns it off. */
export const HttpPortSchema = v.pipe(
  v.string(),
  v.regex(INT, "expected a port number from 0 (off) to 65535"),
  v.transform(Number),
  v.maxValue(65535, "expected a port number from 0 (off) to 65535"),
);

/** Node ids are small positive integers (0 means "none" inside Raft). */
export const NodeIdSchema = v.pipe(
  v.string(),
  v.regex(INT, "expected a node id: a whole number from 1 to 1000000"),
  v.transform(Number),
  v.minValue(1, "expected a node id: a whole number from 1 to 1000000"),
  v.maxValue(1_000_000, "expected a node id: a whole number from 1 to 1000000"),
);

export const HostSchema = v.pipe(
  v.string(),
  v.minLength(1, "expected a host name or IP address"),
  v.maxLength(253, "host name too long"),
  v.regex(/^[A-Za-z0-9._\-:[\]]+$/, "expected a host name or IP address"),
);

export const CountSchema = v.pipe(
  v.string(),
  v.regex(INT, "expected a whole number"),
  v.transform(Number),
  v.safeInteger("number too large"),
);

export const PositiveCountSchema = v.pipe(CountSchema, v.minValue(1, "expected a whole number of at least 1"));

/** "host:port"; IPv6 hosts go in brackets: "[::1]:8000". */
export const AddressSchema = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d+$/, 'expected host:port, like "127.0.0.1:8000"'),
  v.check((s) => {
    const port = Number(s.slice(s.lastIndexOf(":") + 1));
    return port >= 1 && port <= 65535;
  }, "port must be from 1 to 65535"),
);
export type Address = v.InferOutput<typeof AddressSchema>;

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(address.slice(at + 1)) };
}

/** "h:p,h:p" — clients' list of brokers or managers to try. */
export const AddressListSchema = v.pipe(
  v.string(),
  v.transform((s) =>
    s
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  ),
  v.minLength(1, 'expected one or more host:port, separated by commas, like "127.0.0.1:8888"'),
  v.array(AddressSchema),
);

/** "1=h:p,2=h:p" — the initial members of a cluster. Ids and addresses must be unique. */
export const PeersSchema = v.pipe(
  v.string(),
  v.transform((s) =>
    s
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  ),
  v.minLength(1, 'expected id=host:port pairs, like "1=127.0.0.1:8000,2=127.0.0.1:8001"'),
  v.array(
    v.pipe(
      v.string(),
      v.regex(/^\d+=.+$/, 'expected id=host:port pairs, like "1=127.0.0.1:8000,2=127.0.0.1:8001"'),
      v.transform((pair) => {
        const eq = pair.indexOf("=");
        return { id: pair.slice(0, eq), address: pair.slice(eq + 1) };
      }),
      v.object({ id: NodeIdSchema, address: AddressSchema }),
    ),
  ),
  v.check((peers) => new Set(peers.map((p) => p.id)).size === peers.length, "each id may appear only once"),
  v.check((peers) => new Set(peers.map((p) => p.address)).size === peers.length, "each address may appear only once"),
);
export type Peers = v.InferOutput<typeof PeersSchema>;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "30s", "5m", "2h", "7d"; a bare number is milliseconds. Result in milliseconds. */
export const DurationSchema = v.pipe(
  v.string(),
  v.regex(/^\d+(\.\d+)?(ms|s|m|h|d)?$/, 'expected a duration like "500ms", "30s", "5m", "2h" or "7d"'),
  v.transform((s) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s) as RegExpExecArray;
    return Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? "ms"] as number));
  }),
  v.safeInteger("duration too large"),
);

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** "512", "64KiB", "10MB", "1g" (binary units). Result in bytes. */
export const ByteSizeSchema = v.pipe(
  v.string(),
  v.regex(/^\d+(\.\d+)?\s*([kmg]i?b?|b)?$/i, 'expected a size like "4096", "64KiB", "10MB" or "1GB"'),
  v.transform((s) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s) as RegExpExecArray;
    return Math.round(Number(match[1]) * (SIZE_UNITS[(match[2] ?? "").toLowerCase()] as number));
  }),
  v.safeInteger("size too large"),
);

/** The first issue of a failed parse, as one readable line. */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "invalid value";
  return issue.message;
}
