import { type FieldKind, HOT_TABLES, type Table } from "./hot-fields.ts";

/** The keys of a `group-run` push as CBOR text strings, its fields in the schema's order. */
export interface RunLayout {
  /** The push's `type`, "group-run". */
  TYPE: Uint8Array;
  /** subscription, topic, offset, attempt, messages. */
  RUN_KEYS: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  DATA_KEY: Uint8Array;
  TIME_KEY: Uint8Array;
  HEADERS_KEY: Uint8Array;
}

/**
 * The keys of a `group-run` push as the run reader (hot-decoders.ts) and the leader's writer (group-run-push.ts) take
 * them, checked against the schema's table when the module loads: a field added to, removed from or moved in
 * GroupRunSchema stops the program at start-up instead of being read or written wrong.
 */
export const RUN_LAYOUT: RunLayout = runLayout();

function runLayout(): RunLayout {
  const run = HOT_TABLES.get("group-run");
  const messages = run?.fields[4];
  if (run === undefined || messages?.kind.is !== "list") throw new Error(`run reader: ${describe(run)}`);
  expect(run, [
    ["subscription", "whole", true],
    ["topic", "topic", true],
    ["offset", "whole", true],
    ["attempt", "whole", true],
    ["messages", "list", true],
  ]);
  const item = messages.kind.item;
  expect(item, [
    ["data", "bytes", true],
    ["time", "whole", false],
    ["headers", "headers", false],
  ]);
  const [data, time, headers] = item.fields.map((f) => f.keyBytes) as [Uint8Array, Uint8Array, Uint8Array];
  const keys = run.fields.map((f) => f.keyBytes) as unknown as RunLayout["RUN_KEYS"];
  return { TYPE: run.typeBytes as Uint8Array, RUN_KEYS: keys, DATA_KEY: data, TIME_KEY: time, HEADERS_KEY: headers };
}

function expect(table: Table, fields: readonly [string, FieldKind["is"], boolean][]): void {
  const found = table.fields.map((f): [string, FieldKind["is"], boolean] => [f.key, f.kind.is, f.required]);
  if (JSON.stringify(found) !== JSON.stringify(fields))
    throw new Error(
      `run reader: the schema has ${describe(table)}; extend src/wire/run-layout.ts, readRun and GroupRunPush`,
    );
}

function describe(table: Table | undefined): string {
  return table === undefined
    ? "no group-run table"
    : table.fields.map((f) => `${f.key}: ${f.required ? "" : "optional "}${f.kind.is}`).join(", ");
}
