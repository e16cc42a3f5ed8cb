import { asciiText } from "../util/cbor-writer.ts";
import { isHeaders } from "../util/message-headers.ts";
import { MAX_NAME_LENGTH, NAME_PATTERN } from "../util/names.ts";
import { isTopicName } from "../util/topic-name.ts";
import { DeliverySchema, PublishedSchema, PublishSchema } from "./messages/client.ts";
import { GroupMessageSchema, GroupMessagesSchema, GroupRunSchema } from "./messages/group.ts";
import { RaftAppendSchema } from "./messages/raft.ts";

/**
 * The field tables of the hot messages — sent or received once per published message, or carrying every entry to
 * every follower — derived from their valibot schemas when this module loads. The hand-written encoders and decoders
 * (hot-encoders.ts, hot-decoders.ts) read these tables, so the schemas stay the one definition of the protocol: a
 * field added to one of these schemas is written and read at once, and a field of a kind the hot codecs cannot
 * handle stops the program at start-up instead of being silently skipped.
 */

/** What the hot codecs know how to write and check, each exactly as the schema checks it. */
export type FieldKind =
  /** A number, safe integer, at least 0. */
  | { readonly is: "whole" }
  /** A name of names.ts: 1 to MAX_NAME_LENGTH characters matching NAME_PATTERN (ASCII only). */
  | { readonly is: "name" }
  /** A topic name of topic-name.ts (UTF-8), checked by its one `check` action, isTopicName. */
  | { readonly is: "topic" }
  /** An instance of Uint8Array. */
  | { readonly is: "bytes" }
  | { readonly is: "boolean" }
  /** One of a few whole numbers (a picklist). */
  | { readonly is: "choice"; readonly options: readonly number[] }
  /** Message headers: an array of [key, value] text pairs that isHeaders accepts (a v.custom of it). */
  | { readonly is: "headers" }
  /** An array of objects of one table. */
  | { readonly is: "list"; readonly item: Table };

export interface Field {
  readonly key: string;
  /** The key as a CBOR text string. */
  readonly keyBytes: Uint8Array;
  readonly required: boolean;
  readonly kind: FieldKind;
}

export interface Table {
  /** The message's `type` literal (written first, as the schemas declare it first); undefined for a nested object. */
  readonly type: string | undefined;
  /** `type` as a CBOR text string. */
  readonly typeBytes: Uint8Array | undefined;
  /** The fields other than `type`, in the schema's order: the order cbor-x writes a parsed message in. */
  readonly fields: readonly Field[];
  readonly required: number;
}

/** `type`, the first key of every message, as a CBOR text string. */
export const TYPE_KEY = asciiText("type");

/** Fields per table at most: the decoder keeps the ones it has seen as bits of one number. */
const MAX_FIELDS = 30;

/** The parts of a valibot schema object that the derivation reads. */
interface SchemaNode {
  readonly type: string;
  readonly pipe?: readonly SchemaNode[];
  readonly requirement?: unknown;
  readonly wrapped?: SchemaNode;
  readonly default?: unknown;
  readonly entries?: Readonly<Record<string, SchemaNode>>;
  readonly item?: SchemaNode;
  readonly options?: readonly unknown[];
  readonly literal?: unknown;
  readonly class?: unknown;
}

function unsupported(where: string, why: string): never {
  throw new Error(
    `hot codec tables: ${where}: ${why}; extend src/wire/hot-fields.ts or take the message off the hot path`,
  );
}

/** The actions of a pipe after its first schema, by type; anything but the given types is unsupported. */
function actions(node: SchemaNode, where: string, allowed: readonly string[]): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const action of node.pipe?.slice(1) ?? []) {
    if (!allowed.includes(action.type) || found.has(action.type)) unsupported(where, `pipe action ${action.type}`);
    found.set(action.type, action.requirement);
  }
  return found;
}

function kindOf(node: SchemaNode, where: string): FieldKind {
  switch (node.type) {
    case "number": {
      const a = actions(node, where, ["safe_integer", "min_value"]);
      if (!a.has("safe_integer") || a.get("min_value") !== 0) unsupported(where, "a number other than a whole one");
      return { is: "whole" };
    }
    case "string": {
      const check = node.pipe?.[1] as (SchemaNode & { requirement?: unknown }) | undefined;
      if (node.pipe?.length === 2 && check?.type === "check" && check.requirement === isTopicName) {
        return { is: "topic" };
      }
      const a = actions(node, where, ["min_length", "max_length", "regex"]);
      const regex = a.get("regex");
      if (a.get("min_length") !== 1 || a.get("max_length") !== MAX_NAME_LENGTH || regex !== NAME_PATTERN) {
        unsupported(where, "a string other than a name");
      }
      return { is: "name" };
    }
    case "instance":
      if (node.class !== Uint8Array || node.pipe !== undefined) unsupported(where, "an instance of another class");
      return { is: "bytes" };
    case "boolean":
      if (node.pipe !== undefined) unsupported(where, "a boolean with a pipe");
      return { is: "boolean" };
    case "picklist": {
      const options = node.options ?? [];
      if (node.pipe !== undefined || !options.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
        unsupported(where, "a picklist of anything but whole numbers");
      }
      return { is: "choice", options: options as number[] };
    }
    case "custom":
      if ((node as SchemaNode & { check?: unknown }).check !== isHeaders || node.pipe !== undefined)
        unsupported(where, "a custom check other than isHeaders");
      return { is: "headers" };
    case "array":
      if (node.pipe !== undefined || node.item === undefined) unsupported(where, "an array with a pipe");
      return { is: "list", item: tableOf(node.item, where) };
    default:
      return unsupported(where, `a field of type ${node.type}`);
  }
}

/** The table of an object schema; throws for anything the hot codecs could not write or check exactly. */
export function tableOf(schema: unknown, where = "message"): Table {
  const node = schema as SchemaNode;
  if (node.type !== "object" || node.entries === undefined || node.pipe !== undefined) {
    unsupported(where, "not a plain v.object");
  }
  let type: string | undefined;
  const fields: Field[] = [];
  const keys = Object.keys(node.entries);
  for (const [i, key] of keys.entries()) {
    let entry = node.entries[key]!;
    if (key === "type" && entry.type === "literal" && typeof entry.literal === "string") {
      if (i !== 0) unsupported(where, "`type` is not the first field");
      type = entry.literal;
      continue;
    }
    const required = entry.type !== "optional";
    if (!required) {
      if (entry.default !== undefined || entry.wrapped === undefined) unsupported(`${where}.${key}`, "a default");
      entry = entry.wrapped;
    }
    fields.push({ key, keyBytes: asciiText(key), required, kind: kindOf(entry, `${where}.${key}`) });
  }
  if (fields.length > MAX_FIELDS) unsupported(where, `more than ${MAX_FIELDS} fields`);
  return {
    type,
    typeBytes: type === undefined ? undefined : asciiText(type),
    fields,
    required: fields.filter((f) => f.required).length,
  };
}

/** The hot messages' schemas, by type. A parser may take a hot-decoded message as valid only for the same schema. */
export const HOT_SCHEMAS: Readonly<Record<string, unknown>> = {
  publish: PublishSchema,
  published: PublishedSchema,
  message: DeliverySchema,
  append: RaftAppendSchema,
  /** A consumer group's delivery to its member (messages/group.ts), once per message too. */
  "group-message": GroupMessageSchema,
  /** Several of them in one push (a member that asked for them). */
  "group-messages": GroupMessagesSchema,
  /** A run of them, the topic and offsets once (a member that asked for runs). */
  "group-run": GroupRunSchema,
};

/** The hot messages' tables, by type. */
export const HOT_TABLES: ReadonlyMap<string, Table> = new Map(
  Object.entries(HOT_SCHEMAS).map(([type, schema]) => {
    const table = tableOf(schema, `${type} message`);
    if (table.type !== type) unsupported(`${type} message`, `its schema's type is ${table.type}`);
    return [type, table];
  }),
);
