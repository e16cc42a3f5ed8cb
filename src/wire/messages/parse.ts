import * as v from "valibot";
import { MqraftError } from "../../util/errors.ts";
import { MessageSchema } from "./unions.ts";

const MAX_REASON_LENGTH = 300;

type AnySchema = v.GenericSchema<unknown, unknown>;

/** A function from a decoded value to a typed message, or to MqraftError BAD_MESSAGE naming the bad field. */
export type MessageParser<T> = (value: unknown) => T | MqraftError;

export function createMessageParser<S extends AnySchema>(schema: S): MessageParser<v.InferOutput<S>> {
  return (value) => {
    const result = v.safeParse(schema, value, { abortEarly: true });
    if (result.success) return result.output;
    return new MqraftError("BAD_MESSAGE", describeIssue(value, result.issues[0]));
  };
}

/** Any message of the protocol. */
export const parseMessage = createMessageParser(MessageSchema);

function describeIssue(value: unknown, issue: v.BaseIssue<unknown>): string {
  const type =
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
      ? (value as { type: string }).type
      : undefined;
  const path = v.getDotPath(issue);
  const where = path === null ? (type === undefined ? "message" : `${type} message`) : path;
  const subject = type === undefined || path === "type" || path === null ? where : `${type}.${where}`;
  const text = `${subject}: ${issue.message}`;
  // the issue quotes the received value, which a peer controls: keep the error frame small
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH)}…`;
}
