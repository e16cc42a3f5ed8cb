import * as v from "valibot";

/**
 * One line of a chaos run's JSON-lines history. A publish is `invoke`d, then ends `ok` (with its offset), `fail`
 * (definitely not stored) or `info` (unknown: it may or may not have been stored). Subscribers record each `read`,
 * durable consumers their acks and where each new client resumed;
 * the drains at the end record what each broker holds; `heal` marks when the faults stopped.
 */
export const HistoryLineSchema = v.variant("type", [
  v.object({
    type: v.literal("invoke"),
    time: v.number(),
    process: v.string(),
    /** A sequential writer awaits each acknowledgement before it publishes again. */
    sequential: v.boolean(),
    topic: v.string(),
    value: v.string(),
  }),
  v.object({
    type: v.literal("ok"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    value: v.string(),
    offset: v.number(),
  }),
  v.object({
    type: v.literal("fail"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    value: v.string(),
    error: v.string(),
  }),
  v.object({
    type: v.literal("info"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    value: v.string(),
    error: v.string(),
  }),
  v.object({
    type: v.literal("subscribe"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    from: v.number(),
  }),
  v.object({
    type: v.literal("read"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    offset: v.number(),
    value: v.string(),
  }),
  /** A durable subscription's ack of `offset` was sent (`dack-invoke`), and confirmed by the cluster (`dack`). */
  v.object({
    type: v.literal("dack-invoke"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    offset: v.number(),
  }),
  v.object({ type: v.literal("dack"), time: v.number(), process: v.string(), topic: v.string(), offset: v.number() }),
  /** A new client took up durable subscription `process` (name) at `position`, the first offset it will deliver. */
  v.object({
    type: v.literal("dresume"),
    time: v.number(),
    process: v.string(),
    topic: v.string(),
    position: v.number(),
  }),
  /** `kind` names the nemesis's fault kind (nemesis.ts); a fault the run itself causes has none. */
  v.object({ type: v.literal("fault"), time: v.number(), kind: v.optional(v.string()), description: v.string() }),
  v.object({ type: v.literal("heal"), time: v.number() }),
  v.object({
    type: v.literal("drain"),
    time: v.number(),
    broker: v.number(),
    topic: v.string(),
    messages: v.array(v.object({ offset: v.number(), value: v.string() })),
  }),
]);

export type HistoryLine = v.InferOutput<typeof HistoryLineSchema>;

export function parseHistory(text: string): HistoryLine[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const parsed = v.safeParse(HistoryLineSchema, JSON.parse(line));
      if (!parsed.success) throw new Error(`history line ${i + 1} is malformed: ${parsed.issues[0]?.message}: ${line}`);
      return parsed.output;
    });
}
