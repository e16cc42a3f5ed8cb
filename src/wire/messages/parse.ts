import * as v from "valibot";
import { MqraftError } from "../../util/errors.ts";
import { HOT_SCHEMAS } from "../hot-fields.ts";
import { MessageSchema } from "./unions.ts";

const MAX_REASON_LENGTH = 300;
const PARSE_CONFIG = { abortEarly: true } as const;

type AnySchema = v.GenericSchema<unknown, unknown>;

/**
 * A function from a decoded value to a typed message, or to MqraftError BAD_MESSAGE naming the bad field. `hot`
 * takes a message read by hot-decoders.ts, already checked against its type's schema: it is accepted as it is when
 * this side receives that type with that same schema, and parsed like any other value otherwise.
 */
export type MessageParser<T> = ((value: unknown) => T | MqraftError) & {
  hot?: (message: { type?: unknown }) => T | MqraftError;
};

/**
 * Validates with `schema`. A `v.variant` on `type` is not run as a whole: running it tries the options one by one,
 * and each option whose `type` does not match builds an issue (with its message) before the right one is found,
 * which made validation the largest cost of a broker. The one option whose literal matches is looked up instead;
 * only a value without a known `type` goes through the whole variant, for the same error it would give.
 */
export function createMessageParser<S extends AnySchema>(schema: S): MessageParser<v.InferOutput<S>> {
  const byType = optionsByType(schema);
  const parse: MessageParser<v.InferOutput<S>> = (value) => {
    const option = byType === undefined ? undefined : optionFor(byType, value);
    const result = v.safeParse(option ?? schema, value, PARSE_CONFIG);
    if (result.success) return result.output as v.InferOutput<S>;
    return new MqraftError("BAD_MESSAGE", describeIssue(value, result.issues[0]));
  };
  parse.hot = (message) => {
    const type = message.type;
    const checked =
      typeof type === "string" && byType?.get(type) !== undefined && byType.get(type) === HOT_SCHEMAS[type];
    return checked ? (message as v.InferOutput<S>) : parse(message);
  };
  return parse;
}

/** Any message of the protocol. */
export const parseMessage = createMessageParser(MessageSchema);

function optionFor(byType: Map<string, AnySchema>, value: unknown): AnySchema | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" ? byType.get(type) : undefined;
}

/** The options of a variant on `type` whose `type` entry is a string literal, by that literal. */
function optionsByType(schema: AnySchema): Map<string, AnySchema> | undefined {
  const variant = schema as unknown as { type: string; key?: unknown; options?: readonly unknown[] };
  if (variant.type !== "variant" || variant.key !== "type" || variant.options === undefined) return undefined;
  const byType = new Map<string, AnySchema>();
  const shared = new Set<string>();
  for (const option of variant.options) {
    const entry = (option as { type?: string; entries?: { type?: { type?: string; literal?: unknown } } }).entries
      ?.type;
    if (
      (option as { type?: string }).type !== "object" ||
      entry?.type !== "literal" ||
      typeof entry.literal !== "string"
    )
      return undefined;
    // a variant keeps the first option of a type that validates; a type with two options is left to the variant
    if (byType.has(entry.literal)) shared.add(entry.literal);
    else byType.set(entry.literal, option as AnySchema);
  }
  for (const type of shared) byType.delete(type);
  return byType;
}

function describeIssue(value: unknown, issue: v.BaseIssue<unknown>): string {
  const type =
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
      ? (value as { type: string }).type
      : undefined;
  const path = v.getDotPath(issue);
  // valibot lists every type it expected before what it got, which a long union pushes past the length limit
  if (path === "type" && issue.kind === "schema")
    return `type: ${clip(issue.received)} is not a message type this side receives`;
  const where = path === null ? (type === undefined ? "message" : `${type} message`) : path;
  const subject = type === undefined || path === "type" || path === null ? where : `${type}.${where}`;
  return clip(`${subject}: ${issue.message}`);
}

/** The issue quotes the received value, which a peer controls: keep the error frame small. */
function clip(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH)}…`;
}
