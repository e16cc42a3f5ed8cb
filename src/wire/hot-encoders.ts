import type { CborWriter } from "../util/cbor-writer.ts";
import { MqraftError } from "../util/errors.ts";
import { isHeaders } from "../util/message-headers.ts";
import { isName, isTopic } from "../util/name-bytes.ts";
import { GroupRunPush } from "./group-run-push.ts";
import { type FieldKind, HOT_SCHEMAS, HOT_TABLES, type Table, TYPE_KEY } from "./hot-fields.ts";
import { createMessageParser, type MessageParser } from "./messages/parse.ts";

/**
 * Hand-written CBOR for the hot messages (hot-fields.ts), written straight into the outgoing batch: the bytes
 * cbor-x gives the message as its schema parses it (the schema's fields in the schema's order, any other property
 * left out), without cbor-x's intermediate buffer (a new one for each large append) and copy. The fields and how each
 * is checked come from the schemas' tables. A hot message its schema refuses cannot be sent: `encodeHot` throws
 * BAD_MESSAGE naming the field, as a receiver would answer it.
 */

type Fields = Record<string, unknown>;

/** The check and the writer of one table, compiled from it. */
interface Compiled {
  /** Whether `m` is valid for the table, as its schema would find it. */
  check(m: Fields): boolean;
  /** Writes a checked `m`. */
  write(w: CborWriter, m: Fields): void;
  /** Writes `m` if it is valid and returns true; false, nothing written, if not: `check` and `write` in one pass. */
  encode(w: CborWriter, m: Fields): boolean;
}

/**
 * Each table turned into straight-line code when this module loads: reading a message's fields by constant names
 * keeps the property loads monomorphic, which a loop over the table (one load site for every field) did not; the
 * loop cost 15 to 60 % of the hand-written encoders' speed.
 */
function compile(t: Table): Compiled {
  const keys: Uint8Array[] = [];
  const subs: Compiled[] = [];
  const reads: string[] = [];
  const checks: string[] = [];
  const writes: string[] = [];
  const counted: string[] = [];
  let fixed = 0;
  if (t.typeBytes !== undefined) {
    keys.push(TYPE_KEY, t.typeBytes);
    writes.push("w.raw(K[0]); w.raw(K[1]);");
    fixed++;
  }
  t.fields.forEach((f, i) => {
    const x = `x${i}`;
    const key = JSON.stringify(f.key);
    const k = keys.push(f.keyBytes) - 1;
    reads.push(`const ${x} = m[${key}];`);
    const ok = validExpression(f.kind, x, subs);
    const write = `w.raw(K[${k}]); ${writeStatement(f.kind, x, subs)}`;
    if (f.required) {
      checks.push(`if (!(${ok})) return false;`);
      writes.push(write);
      fixed++;
    } else {
      checks.push(`if (${x} !== undefined && !(${ok})) return false;`);
      // an optional field present as undefined stays in the parsed message, and cbor-x writes it
      const present = `p${i}`;
      reads.push(`const ${present} = ${x} !== undefined ? 1 : ${key} in m ? 2 : 0;`);
      writes.push(
        `if (${present} === 1) { ${write} } else if (${present} === 2) { w.raw(K[${k}]); w.undefinedValue(); }`,
      );
      counted.push(`(${present} === 0 ? 0 : 1)`);
    }
  });
  const check = `return function check(m) { ${reads.filter((r) => r.startsWith("const x")).join(" ")} ${checks.join(" ")} return true; };`;
  const write = `return function write(w, m) { ${reads.join(" ")} w.mapHeader(${[fixed, ...counted].join(" + ")}); ${writes.join(" ")} };`;
  const encode = `return function encode(w, m) { ${reads.join(" ")} ${checks.join(" ")} w.mapHeader(${[fixed, ...counted].join(" + ")}); ${writes.join(" ")} return true; };`;
  const make = (body: string) =>
    new Function("isName", "isTopic", "isHeaders", "everyItem", "K", "S", body)(
      isName,
      isTopic,
      isHeaders,
      everyItem,
      keys,
      subs,
    );
  return { check: make(check), write: make(write), encode: make(encode) };
}

/** Whether every item of `a` is an object `check` accepts; a hole is an undefined item, as valibot reads it. */
function everyItem(a: unknown[], check: (m: Fields) => boolean): boolean {
  for (let i = 0; i < a.length; i++) {
    const item = a[i];
    if (typeof item !== "object" || item === null || !check(item as Fields)) return false;
  }
  return true;
}

function validExpression(kind: FieldKind, x: string, subs: Compiled[]): string {
  switch (kind.is) {
    case "whole":
      return `Number.isSafeInteger(${x}) && ${x} >= 0`;
    case "name":
      return `typeof ${x} === "string" && isName(${x})`;
    case "topic":
      return `typeof ${x} === "string" && isTopic(${x})`;
    case "headers":
      return `isHeaders(${x})`;
    case "bytes":
      return `${x} instanceof Uint8Array`;
    case "boolean":
      return `typeof ${x} === "boolean"`;
    case "choice":
      return kind.options.map((o) => `${x} === ${o}`).join(" || ");
    case "list": {
      const j = subs.push(compile(kind.item)) - 1;
      return `Array.isArray(${x}) && everyItem(${x}, S[${j}].check)`;
    }
    default: {
      const unknownKind: never = kind;
      throw new Error(`hot encoder: field kind ${JSON.stringify(unknownKind)}`);
    }
  }
}

function writeStatement(kind: FieldKind, x: string, subs: Compiled[]): string {
  switch (kind.is) {
    case "whole":
    case "choice":
      return `w.whole(${x});`;
    case "name":
      return `w.ascii(${x});`;
    case "topic":
      return `w.text(${x});`;
    case "headers":
      return `w.head(4, ${x}.length); for (const [k, v] of ${x}) { w.head(4, 2); w.text(k); w.text(v); }`;
    case "bytes":
      return `w.bytes(${x});`;
    case "boolean":
      return `w.simple(${x});`;
    case "list": {
      // the item's table was compiled just before, by validExpression
      const j = subs.length - 1;
      return `w.head(4, ${x}.length); for (let i = 0; i < ${x}.length; i++) S[${j}].write(w, ${x}[i]);`;
    }
    default: {
      const unknownKind: never = kind;
      throw new Error(`hot encoder: field kind ${JSON.stringify(unknownKind)}`);
    }
  }
}

const COMPILED = new Map([...HOT_TABLES].map(([type, table]) => [type, compile(table)]));

/**
 * Writes `value` if it is a hot message and returns true; returns false (nothing written) for any other message.
 * Throws MqraftError BAD_MESSAGE, nothing written, for a hot message that its schema refuses.
 */
export function encodeHot(w: CborWriter, value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const type = (value as Fields).type;
  if (typeof type !== "string") return false;
  const compiled = COMPILED.get(type);
  if (compiled === undefined) return false;
  // a leader's group-run push writes itself, the same bytes as its table's encoder (group-run-push.ts)
  if (value instanceof GroupRunPush) {
    value.write(w);
    return true;
  }
  if (!compiled.encode(w, value as Fields)) throw refusal(type, value);
  return true;
}

const parsers = new Map<string, MessageParser<unknown>>();

/** Why the schema refuses `value`, worded as a receiver would word it. */
function refusal(type: string, value: unknown): MqraftError {
  let parse = parsers.get(type);
  if (parse === undefined) {
    parse = createMessageParser(HOT_SCHEMAS[type] as Parameters<typeof createMessageParser>[0]);
    parsers.set(type, parse);
  }
  const result = parse(value);
  // the table checks exactly what the schema checks: a message one accepts and the other refuses is a bug here
  if (!(result instanceof MqraftError)) throw new Error(`hot encoder refused a ${type} message its schema accepts`);
  return new MqraftError("BAD_MESSAGE", `cannot send ${result.message}`);
}
