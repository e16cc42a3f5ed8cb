import * as v from "valibot";
import { Encoder } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { type HeaderPairs, HeadersSchema } from "../util/message-headers.ts";
import { PositiveNumberSchema, ProducerIdSchema, TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { encodePlain } from "../util/plain-cbor.ts";
import { NOT_PLAIN, readPlain } from "../util/plain-cbor-reader.ts";
import { unsupportedEntry } from "./command-versions.ts";
import {
  AckCommandSchema,
  BytesSchema,
  type Command,
  ConfigCommandSchema,
  type PublishMessage,
  PurgeCommandSchema,
  RegisterCommandSchema,
  SeekCommandSchema,
  SubscribeCommandSchema,
  TickCommandSchema,
  TimeSchema,
  UnsubscribeCommandSchema,
} from "./commands.ts";
import { GROUP_COMMAND_SCHEMAS } from "./groups/group-commands.ts";
import { encodePublishEntry, readPublishEntry } from "./publish-entry-codec.ts";
import { USER_COMMAND_SCHEMAS } from "./users-commands.ts";

/**
 * The bytes of a command. A CBOR map `{type, time, ...}` as in commands.ts, except that each
 * publish message is a tuple `[topic, data]` or `[topic, data, producer, seq]`: tuples decode
 * about 2.4 times faster than maps and are ~15% smaller for 128-byte payloads, and publish is the
 * hot path on every replica.
 */

// Records and shared structures would make the bytes depend on encoder state; a plain Uint8Array must stay an untagged byte string.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

const ShortWireMessageSchema = v.strictTuple([TopicSchema, BytesSchema]);
const LongWireMessageSchema = v.strictTuple([TopicSchema, BytesSchema, ProducerIdSchema, WholeNumberSchema]);
const FencedWireMessageSchema = v.strictTuple([
  TopicSchema,
  BytesSchema,
  ProducerIdSchema,
  WholeNumberSchema,
  PositiveNumberSchema,
]);
const LowWireMessageSchema = v.pipe(
  v.strictTuple([
    TopicSchema,
    BytesSchema,
    ProducerIdSchema,
    WholeNumberSchema,
    PositiveNumberSchema,
    WholeNumberSchema,
  ]),
  v.check((m) => m[5] <= m[3], "low: must be at most seq"),
);
/** What a message carries besides its payload and producer fields: the last item of the 3- and 7-item forms. */
const ExtrasSchema = v.strictObject({ headers: v.optional(HeadersSchema), ttl: v.optional(PositiveNumberSchema) });
export type MessageExtras = v.InferOutput<typeof ExtrasSchema>;
const ShortExtrasWireMessageSchema = v.strictTuple([TopicSchema, BytesSchema, ExtrasSchema]);
const LongExtrasWireMessageSchema = v.pipe(
  v.strictTuple([
    TopicSchema,
    BytesSchema,
    ProducerIdSchema,
    WholeNumberSchema,
    v.nullable(PositiveNumberSchema),
    v.nullable(WholeNumberSchema),
    ExtrasSchema,
  ]),
  v.check((m) => m[5] === null || (m[4] !== null && m[5] <= m[3]), "low: needs epoch and is at most seq"),
);
const WIRE_MESSAGE_FIELDS = ["topic", "data", "producer", "seq", "epoch", "low"];
export type WireMessage =
  | v.InferOutput<typeof ShortWireMessageSchema>
  | v.InferOutput<typeof LongWireMessageSchema>
  | v.InferOutput<typeof FencedWireMessageSchema>
  | v.InferOutput<typeof LowWireMessageSchema>
  | v.InferOutput<typeof ShortExtrasWireMessageSchema>
  | v.InferOutput<typeof LongExtrasWireMessageSchema>;

/** The envelope of a publish; its messages are checked one by one so that one bad message refuses only itself. */
const WirePublishSchema = v.object({ type: v.literal("publish"), time: TimeSchema, messages: v.array(v.unknown()) });

const WireCommandSchema = v.variant("type", [
  WirePublishSchema,
  SubscribeCommandSchema,
  UnsubscribeCommandSchema,
  SeekCommandSchema,
  AckCommandSchema,
  ConfigCommandSchema,
  RegisterCommandSchema,
  PurgeCommandSchema,
  TickCommandSchema,
  ...GROUP_COMMAND_SCHEMAS,
  ...USER_COMMAND_SCHEMAS,
]);
export type WireCommand = v.InferOutput<typeof WireCommandSchema>;

/**
 * The variant's option for each `type` it has once. Run as a whole, the variant checks the discriminator of each
 * option in turn, building an issue for each that does not match: on every replica, for every command but a publish
 * (which publish-entry-codec.ts reads), that cost more than checking the command (a group's acks: ~0.2 ms an entry).
 */
const OPTION_BY_TYPE: ReadonlyMap<unknown, v.GenericSchema> = (() => {
  const byType = new Map<unknown, v.GenericSchema>();
  const shared = new Set<unknown>();
  for (const option of WireCommandSchema.options) {
    const type = option.entries.type.literal;
    if (byType.has(type)) shared.add(type);
    else byType.set(type, option as v.GenericSchema);
  }
  // a type with two options is left to the variant, which keeps the first that validates
  for (const type of shared) byType.delete(type);
  return byType;
})();

function optionFor(raw: unknown): v.GenericSchema | undefined {
  return typeof raw === "object" && raw !== null ? OPTION_BY_TYPE.get((raw as { type?: unknown }).type) : undefined;
}

/**
 * `checked`: every message of a publish is already a valid WireMessage (read by publish-entry-codec.ts). `newer`: a
 * command of a newer build, which this one must not apply (command-versions.ts).
 */
export type DecodedEntry =
  | { ok: true; command: WireCommand; checked?: boolean }
  | { ok: false; message: string; newer?: true };

export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (issue === undefined) return "invalid command";
  const path = v.getDotPath(issue);
  return path === null ? issue.message : `${path}: ${issue.message}`;
}

/** CBOR and envelope check of a committed entry's data. Never throws: a bad entry must not stop a replica. */
export function decodeWire(bytes: Uint8Array): DecodedEntry {
  const publish = readPublishEntry(bytes);
  if (publish !== undefined)
    return { ok: true, command: { type: "publish", time: publish.time, messages: publish.messages }, checked: true };
  // a group's acks are plain data, read by hand as cbor-x reads them (plain-cbor-reader.ts)
  let raw = readPlain(bytes);
  try {
    if (raw === NOT_PLAIN) raw = cbor.decode(bytes);
  } catch (e) {
    return { ok: false, message: `not CBOR: ${e instanceof Error ? e.message : String(e)}` };
  }
  return parseEnvelope(raw);
}

/**
 * Checks a decoded command, except for the messages of a publish (checked one by one with
 * parseWireMessage or PublishMessageSchema, so that one bad message refuses only itself).
 */
export function parseEnvelope(raw: unknown): DecodedEntry {
  const newer = unsupportedEntry(raw);
  if (newer !== undefined) return { ok: false, message: newer, newer: true };
  const option = optionFor(raw);
  // an option of the variant gives the variant's output type for the input it accepts
  const parsed = option === undefined ? v.safeParse(WireCommandSchema, raw) : v.safeParse(option, raw);
  return parsed.success
    ? { ok: true, command: parsed.output as WireCommand }
    : { ok: false, message: describeIssues(parsed.issues) };
}

/** One publish message as it appears on the wire, checked; a string is the reason it is refused. */
export function parseWireMessage(raw: unknown): WireMessage | string {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 7)
    return "expected [topic, data, extras?], [topic, data, producer, seq], [topic, data, producer, seq, epoch, low?] or [topic, data, producer, seq, epoch|null, low|null, extras]";
  const schema =
    raw.length === 2
      ? ShortWireMessageSchema
      : raw.length === 3
        ? ShortExtrasWireMessageSchema
        : raw.length === 4
          ? LongWireMessageSchema
          : raw.length === 5
            ? FencedWireMessageSchema
            : raw.length === 6
              ? LowWireMessageSchema
              : LongExtrasWireMessageSchema;
  const parsed = v.safeParse(schema, raw);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const item = issue?.path?.[0]?.key;
  const field =
    typeof item === "number"
      ? raw.length === 3 && item === 2
        ? "extras"
        : (WIRE_MESSAGE_FIELDS[item] ?? "extras")
      : undefined;
  return field === undefined ? describeIssues(parsed.issues) : `${field}: ${issue?.message}`;
}

function fromWire(m: WireMessage): PublishMessage {
  if (m.length === 2) return { topic: m[0], data: m[1] };
  if (m.length === 3) return { topic: m[0], data: m[1], ...m[2] };
  if (m.length === 7) {
    const message: PublishMessage = { topic: m[0], data: m[1], producer: m[2], seq: m[3], ...m[6] };
    if (m[4] !== null) message.epoch = m[4];
    if (m[5] !== null) message.low = m[5];
    return message;
  }
  if (m.length === 4) return { topic: m[0], data: m[1], producer: m[2], seq: m[3] };
  if (m.length === 5) return { topic: m[0], data: m[1], producer: m[2], seq: m[3], epoch: m[4] };
  return { topic: m[0], data: m[1], producer: m[2], seq: m[3], epoch: m[4], low: m[5] };
}

export function encodeCommand(command: Command): Uint8Array {
  switch (command.type) {
    case "publish":
      return encodePublishEntry(command.time, command.messages);
    case "subscribe":
      return cbor.encode({
        type: command.type,
        time: command.time,
        name: command.name,
        topics: command.topics,
        from: command.from,
        ...(command.holder === undefined ? {} : { holder: command.holder }),
      });
    case "unsubscribe":
      return cbor.encode({ type: command.type, time: command.time, name: command.name });
    case "seek":
      return cbor.encode({ type: command.type, time: command.time, name: command.name, to: command.to });
    case "ack":
      return cbor.encode({
        type: command.type,
        time: command.time,
        name: command.name,
        topic: command.topic,
        offset: command.offset,
        ...(command.holder === undefined ? {} : { holder: command.holder }),
      });
    case "config":
      return cbor.encode({ type: command.type, time: command.time, retention: command.retention });
    case "register":
      return cbor.encode({
        type: command.type,
        time: command.time,
        producer: command.producer,
        ...(command.session === undefined ? {} : { session: command.session }),
        ...(command.v === undefined ? {} : { v: command.v }),
      });
    case "purge":
      return cbor.encode({ type: command.type, time: command.time, topic: command.topic, keep: command.keep });
    case "tick":
      return cbor.encode({ type: command.type, time: command.time });
    case "group-ack":
      // a group's acks are frequent: written by hand, the bytes cbor-x writes (plain-cbor.ts)
      return encodePlain(command) ?? cbor.encode(command);
    case "group-join":
    case "group-leave":
    case "group-tick":
    case "group-rm":
    case "user-add":
    case "user-remove":
    case "user-rotate":
      // valibot's objects keep only their own keys, so the parsed command is exactly its fields
      return cbor.encode(command);
    default:
      return command satisfies never;
  }
}

/** A whole command, every message checked. Throws MqraftError BAD_MESSAGE when any part is invalid. */
export function decodeCommand(bytes: Uint8Array): Command {
  const decoded = decodeWire(bytes);
  if (!decoded.ok) throw new MqraftError("BAD_MESSAGE", `invalid command: ${decoded.message}`);
  const command = decoded.command;
  if (command.type !== "publish") return command;
  const messages = command.messages.map((raw, slot) => {
    const m = parseWireMessage(raw);
    if (typeof m === "string") throw new MqraftError("BAD_MESSAGE", `invalid command: messages[${slot}]: ${m}`);
    return fromWire(m);
  });
  return { type: "publish", time: command.time, messages };
}

/**
 * The messages of a publish entry, indexed by slot, to read stored messages back from the log.
 * A slot whose message was refused when the entry was applied is undefined (the state machine
 * never gave it an offset). Payloads are views into `data`, not copies.
 */
export function decodeEntryMessages(data: Uint8Array): (PublishMessage | undefined)[] {
  const { messages, checked } = publishEntryOf(data);
  return publishMessagesOf(messages, checked);
}

/** decodeEntryMessages() as the checked wire tuples, with no PublishMessage made per message. */
export function decodeEntryWireMessages(data: Uint8Array): readonly (WireMessage | undefined)[] {
  const { messages, checked } = publishEntryOf(data);
  return wireMessagesOf(messages, checked);
}

function publishEntryOf(data: Uint8Array): { messages: readonly unknown[]; checked: boolean } {
  const decoded = decodeWire(data);
  if (!decoded.ok) throw new MqraftError("BAD_MESSAGE", `not a publish entry: ${decoded.message}`);
  if (decoded.command.type !== "publish")
    throw new MqraftError("BAD_MESSAGE", `not a publish entry: a ${decoded.command.type} command`);
  return { messages: decoded.command.messages, checked: decoded.checked === true };
}

/**
 * publishMessagesOf() as the wire tuples themselves: `checked` ones are taken as they are (no copy, no object per
 * message), others checked one by one (a refused one is undefined).
 */
export function wireMessagesOf(messages: readonly unknown[], checked: boolean): readonly (WireMessage | undefined)[] {
  if (checked) return messages as readonly WireMessage[];
  return messages.map((raw) => {
    const m = parseWireMessage(raw);
    return typeof m === "string" ? undefined : m;
  });
}

/** The headers of a message in its wire form (the extras of the 3- and 7-item forms). */
export function wireHeaders(m: WireMessage): HeaderPairs | undefined {
  return m.length === 3 ? m[2].headers : m.length === 7 ? m[6].headers : undefined;
}

/** decodeEntryMessages() of an entry decoded already: its messages as decodeWire gave them (`checked` or not). */
export function publishMessagesOf(messages: readonly unknown[], checked: boolean): (PublishMessage | undefined)[] {
  return messages.map((raw) => {
    const m = checked ? (raw as WireMessage) : parseWireMessage(raw);
    return typeof m === "string" ? undefined : fromWire(m);
  });
}
