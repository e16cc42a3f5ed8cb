import * as v from "valibot";
import { NodeIdSchema } from "./fields.ts";

/**
 * Membership requests, served by the leader (another broker answers NOT_LEADER with the leader's
 * address; a manager forwards them). Each is answered with `ok` once its configuration entry is
 * committed, or with `error` carrying the request's id.
 */
const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const AddressSchema = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, "expected host:port"),
);

/** Add broker `nodeId`, listening at `address`, as a learner; the leader promotes it to voter once it has caught up. */
export const JoinSchema = v.object({
  type: v.literal("join"),
  id: RequestIdSchema,
  nodeId: NodeIdSchema,
  address: AddressSchema,
});

/** Remove broker `nodeId` from the cluster; it stops serving and exits. */
export const LeaveSchema = v.object({ type: v.literal("leave"), id: RequestIdSchema, nodeId: NodeIdSchema });

/** Hand leadership to voter `to`; answered once `to` leads. */
export const TransferSchema = v.object({ type: v.literal("transfer"), id: RequestIdSchema, to: NodeIdSchema });

export type Join = v.InferOutput<typeof JoinSchema>;
export type Leave = v.InferOutput<typeof LeaveSchema>;
export type Transfer = v.InferOutput<typeof TransferSchema>;
