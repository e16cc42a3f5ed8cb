import * as v from "valibot";
import { NodeIdSchema } from "./fields.ts";

/**
 * Broker → manager: the leader's view of the cluster, sent every 250 ms on a connection opened with
 * `hello {role: "peer", id}`. The manager keeps no state of its own: these reports are where it learns
 * which brokers exist and which one leads. It answers nothing (an `error` and a close for bad input).
 */

const WholeSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

export const ReportMemberSchema = v.object({
  id: NodeIdSchema,
  /** "host:port" where the broker serves clients and peers. */
  address: v.pipe(v.string(), v.maxLength(300)),
  voter: v.boolean(),
  /** Whether the reporting leader hears from it. */
  reachable: v.boolean(),
});

export const ReportSchema = v.object({
  type: v.literal("report"),
  /** The broker sending the report. */
  nodeId: NodeIdSchema,
  term: WholeSchema,
  /** The leader the sender knows of, 0 if none. */
  leader: WholeSchema,
  members: v.pipe(v.array(ReportMemberSchema), v.maxLength(10_000)),
});

export type ReportMember = v.InferOutput<typeof ReportMemberSchema>;
export type Report = v.InferOutput<typeof ReportSchema>;
/** What a broker hands its reporter; the reporter adds `type` and its own `nodeId`. */
export type ManagerReport = Omit<Report, "type" | "nodeId">;
