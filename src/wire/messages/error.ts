import * as v from "valibot";
import { ERROR_CODES, MqraftError } from "../../util/errors.ts";

/** Sent before a connection is closed because of a failure, or as the answer to a request that failed. */
export const ErrorMessageSchema = v.object({
  type: v.literal("error"),
  code: v.picklist(ERROR_CODES),
  message: v.string(),
  /** The request this answers, when it answers one (the connection stays open). */
  id: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  /** With NOT_LEADER: where the leader listens, so that the client can go there. */
  leader: v.optional(v.string()),
});
export type ErrorMessage = v.InferOutput<typeof ErrorMessageSchema>;

export function errorMessage(error: MqraftError): ErrorMessage {
  return { type: "error", code: error.code, message: error.message };
}

export function errorFromMessage(message: ErrorMessage): MqraftError {
  return new MqraftError(message.code, message.message);
}
