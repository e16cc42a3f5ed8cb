import type { HistoryLine } from "./history.ts";

export type ViolationKind =
  | "lost"
  | "phantom"
  | "moved"
  | "duplicate-offset"
  | "duplicate-value"
  | "subscriber-gap"
  | "sequential-order"
  | "producer-order"
  | "offset-hole"
  | "realtime-order"
  | "divergent-brokers"
  | "no-drain"
  | "drain-timeout"
  | "unavailable-after-heal"
  | "durable-position";

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

export interface CheckReport {
  attempted: number;
  acknowledged: number;
  failed: number;
  unknown: number;
  /** Unknown publishes that the drains show were stored after all. */
  unknownStored: number;
  reads: number;
  /** Acks of durable subscriptions the cluster confirmed. */
  durableAcks: number;
  faults: number;
  /** Faults by the nemesis's kind. */
  faultKinds: Record<string, number>;
  violations: Violation[];
}

export interface CheckOptions {
  /** Longest time from the heal to the first publish acknowledged after it. */
  recoveryBoundMs: number;
}

type Outcome = "ok" | "fail" | "info" | "pending";

interface Publish {
  process: string;
  sequential: boolean;
  topic: string;
  value: string;
  outcome: Outcome;
  endedAt: number;
  ackedOffset?: number;
  /** The largest offset acknowledged in this topic before this publish was invoked. */
  floor: number;
}

const key = (topic: string, value: string): string => `${topic}\u0000${value}`;

/** Checks a chaos run's history against what the broker promises: every violation found, and the counts for the summary. */
export function checkHistory(history: readonly HistoryLine[], options: CheckOptions): CheckReport {
  const violations: Violation[] = [];
  const flag = (kind: ViolationKind, detail: string) => violations.push({ kind, detail });
  const publishes = collectPublishes(history, flag);
  const drains = history.filter((l): l is Extract<HistoryLine, { type: "drain" }> => l.type === "drain");
  const final = checkDrains(drains, flag);
  const offsetOf = (p: Publish) => p.ackedOffset ?? final.get(p.topic)?.get(p.value);

  for (const p of publishes.values()) {
    const stored = final.get(p.topic)?.get(p.value);
    if (p.outcome === "ok" && stored === undefined)
      flag(
        "lost",
        `${p.topic} ${JSON.stringify(p.value)} acknowledged at offset ${p.ackedOffset} by ${p.process}, absent from the drains`,
      );
    if (p.outcome === "ok" && stored !== undefined && stored !== p.ackedOffset)
      flag(
        "moved",
        `${p.topic} ${JSON.stringify(p.value)} acknowledged at offset ${p.ackedOffset}, drained at ${stored}`,
      );
    if (p.outcome === "fail" && stored !== undefined)
      flag("phantom", `${p.topic} ${JSON.stringify(p.value)} failed definitely, yet drained at offset ${stored}`);
    const offset = offsetOf(p);
    if (offset !== undefined && offset <= p.floor)
      flag(
        "realtime-order",
        `${p.topic} ${JSON.stringify(p.value)} at offset ${offset}, though offset ${p.floor} was acknowledged before it was published`,
      );
  }
  for (const [topic, values] of final) {
    for (const [value, offset] of values) {
      if (!publishes.has(key(topic, value)))
        flag("phantom", `${topic} offset ${offset} holds ${JSON.stringify(value)}, which nobody published`);
    }
  }
  checkSequential(publishes, offsetOf, flag);
  checkObservations(history, publishes, flag);
  checkRecovery(history, options, flag);
  checkDurablePositions(history, flag);

  const all = [...publishes.values()];
  const unknown = all.filter((p) => p.outcome === "info" || p.outcome === "pending");
  return {
    attempted: all.length,
    acknowledged: all.filter((p) => p.outcome === "ok").length,
    failed: all.filter((p) => p.outcome === "fail").length,
    unknown: unknown.length,
    unknownStored: unknown.filter((p) => final.get(p.topic)?.has(p.value)).length,
    reads: history.filter((l) => l.type === "read").length,
    durableAcks: history.filter((l) => l.type === "dack").length,
    faults: history.filter((l) => l.type === "fault").length,
    faultKinds: countKinds(history),
    violations,
  };
}

function collectPublishes(
  history: readonly HistoryLine[],
  flag: (k: ViolationKind, d: string) => void,
): Map<string, Publish> {
  const publishes = new Map<string, Publish>();
  const acked = new Map<string, number>();
  for (const line of history) {
    if (line.type === "invoke") {
      const k = key(line.topic, line.value);
      if (publishes.has(k))
        flag(
          "duplicate-value",
          `${line.topic} ${JSON.stringify(line.value)} was published twice: values must be unique`,
        );
      publishes.set(k, {
        process: line.process,
        sequential: line.sequential,
        topic: line.topic,
        value: line.value,
        outcome: "pending",
        endedAt: Infinity,
        floor: acked.get(line.topic) ?? -1,
      });
    } else if (line.type === "ok" || line.type === "fail" || line.type === "info") {
      const p = publishes.get(key(line.topic, line.value));
      if (p === undefined)
        throw new Error(
          `history: ${line.type} of ${line.topic} ${JSON.stringify(line.value)} with no invoke before it`,
        );
      p.outcome = line.type;
      p.endedAt = line.time;
      if (line.type === "ok") {
        p.ackedOffset = line.offset;
        acked.set(line.topic, Math.max(acked.get(line.topic) ?? -1, line.offset));
      }
    }
  }
  return publishes;
}

/** Every broker must hold the same sequence, offsets from 0 with no hole; returns it per topic as value → offset. */
function checkDrains(
  drains: readonly Extract<HistoryLine, { type: "drain" }>[],
  flag: (k: ViolationKind, d: string) => void,
): Map<string, Map<string, number>> {
  const final = new Map<string, Map<string, number>>();
  const byTopic = Map.groupBy(drains, (d) => d.topic);
  for (const [topic, perBroker] of byTopic) {
    const reference = perBroker[0];
    if (reference === undefined) continue;
    for (const d of perBroker) {
      const hole = d.messages.findIndex((m, i) => m.offset !== i);
      if (hole >= 0)
        flag("offset-hole", `broker ${d.broker} ${topic}: offset ${d.messages[hole]?.offset} at position ${hole}`);
      const differs = d.messages.findIndex((m, i) => reference.messages[i]?.value !== m.value);
      if (differs >= 0 || d.messages.length !== reference.messages.length) {
        const at = differs >= 0 ? differs : Math.min(d.messages.length, reference.messages.length);
        flag(
          "divergent-brokers",
          `${topic}: broker ${d.broker} holds ${d.messages.length} messages, broker ${reference.broker} ${reference.messages.length}; first difference at offset ${at}`,
        );
      }
    }
    const values = new Map<string, number>();
    const reported = new Set<string>();
    for (const m of perBroker.flatMap((d) => d.messages)) {
      const seen = values.get(m.value);
      const pair = `${m.value}\u0000${m.offset}`;
      if (seen !== undefined && seen !== m.offset && !reported.has(pair)) {
        reported.add(pair);
        flag("duplicate-offset", `${topic} ${JSON.stringify(m.value)} is stored at offsets ${seen} and ${m.offset}`);
      }
      if (seen === undefined) values.set(m.value, m.offset);
    }
    final.set(topic, values);
  }
  if (drains.length === 0) flag("no-drain", "the history holds no drain: nothing can be checked for loss");
  return final;
}

/**
 * A sequential writer's values, and a pipelined writer's (one client: each connection keeps the order it sent in, and
 * a reconnect resends the unacknowledged in order), are stored at offsets that grow in the order they were invoked.
 */
function checkSequential(
  publishes: Map<string, Publish>,
  offsetOf: (p: Publish) => number | undefined,
  flag: (k: ViolationKind, d: string) => void,
): void {
  // the map holds the publishes in invocation order
  const lanes = Map.groupBy(publishes.values(), (p) => `${p.process} ${p.topic}`);
  for (const [lane, list] of lanes) {
    let last: { value: string; offset: number } | undefined;
    for (const p of list) {
      const offset = offsetOf(p);
      if (offset === undefined) continue;
      if (last !== undefined && offset <= last.offset)
        flag(
          p.sequential ? "sequential-order" : "producer-order",
          `${lane}: ${JSON.stringify(p.value)} at offset ${offset} after ${JSON.stringify(last.value)} at ${last.offset}`,
        );
      last = { value: p.value, offset };
    }
  }
}

/** One value per (topic, offset) across acknowledgements and reads; each subscriber sees contiguous offsets. */
function checkObservations(
  history: readonly HistoryLine[],
  publishes: Map<string, Publish>,
  flag: (k: ViolationKind, d: string) => void,
): void {
  const atOffset = new Map<string, string>();
  const observe = (topic: string, offset: number, value: string, who: string) => {
    const k = `${topic}\u0000${offset}`;
    const seen = atOffset.get(k);
    if (seen === undefined) atOffset.set(k, value);
    else if (seen !== value)
      flag(
        "duplicate-offset",
        `${topic} offset ${offset}: ${JSON.stringify(seen)} and ${JSON.stringify(value)} (${who})`,
      );
  };
  for (const p of publishes.values())
    if (p.ackedOffset !== undefined) observe(p.topic, p.ackedOffset, p.value, `acknowledged to ${p.process}`);
  const next = new Map<string, number>();
  for (const line of history) {
    if (line.type === "subscribe") {
      const lane = `${line.process} ${line.topic}`;
      const expected = next.get(lane);
      if (expected !== undefined && line.from !== expected)
        flag("subscriber-gap", `${lane}: resumed from ${line.from}, expected ${expected}`);
      next.set(lane, line.from);
    }
    if (line.type === "drain")
      for (const m of line.messages) observe(line.topic, m.offset, m.value, `drained from broker ${line.broker}`);
    if (line.type !== "read") continue;
    observe(line.topic, line.offset, line.value, `read by ${line.process}`);
    const lane = `${line.process} ${line.topic}`;
    const expected = next.get(lane);
    if (expected !== undefined && line.offset !== expected)
      flag("subscriber-gap", `${lane}: expected offset ${expected}, read ${line.offset}`);
    next.set(lane, line.offset + 1);
    const p = publishes.get(key(line.topic, line.value));
    if (p === undefined)
      flag("phantom", `${lane} read ${JSON.stringify(line.value)} at ${line.offset}, which nobody published`);
    else if (p.outcome === "fail")
      flag("phantom", `${lane} read ${JSON.stringify(line.value)}, whose publish failed definitely`);
  }
}

function checkRecovery(
  history: readonly HistoryLine[],
  options: CheckOptions,
  flag: (k: ViolationKind, d: string) => void,
): void {
  const heal = history.find((l) => l.type === "heal");
  if (heal === undefined) return;
  const invokedAfter = new Set(
    history
      .filter((l) => l.type === "invoke" && l.time >= heal.time)
      .map((l) => (l.type === "invoke" ? key(l.topic, l.value) : "")),
  );
  const firstOk = history.find((l) => l.type === "ok" && invokedAfter.has(key(l.topic, l.value)));
  if (firstOk === undefined) flag("unavailable-after-heal", "no publish invoked after the heal was acknowledged");
  else if (firstOk.time - heal.time > options.recoveryBoundMs)
    flag(
      "unavailable-after-heal",
      `the first publish after the heal was acknowledged ${Math.round(firstOk.time - heal.time)} ms later, over the ${options.recoveryBoundMs} ms bound`,
    );
}

/**
 * A client that takes up a durable subscription must start after every ack the cluster confirmed before (the
 * position never goes back) and at most one past the highest ack sent (it never skips a message nobody acked).
 */
function checkDurablePositions(history: readonly HistoryLine[], flag: (k: ViolationKind, d: string) => void): void {
  const confirmed = new Map<string, number>();
  const sent = new Map<string, number>();
  for (const line of history) {
    if (line.type !== "dack" && line.type !== "dack-invoke" && line.type !== "dresume") continue;
    const lane = `${line.process} ${line.topic}`;
    if (line.type === "dack") confirmed.set(lane, Math.max(confirmed.get(lane) ?? -1, line.offset));
    else if (line.type === "dack-invoke") sent.set(lane, Math.max(sent.get(lane) ?? -1, line.offset));
    else {
      const low = (confirmed.get(lane) ?? -1) + 1;
      const high = Math.max(sent.get(lane) ?? -1, low - 1) + 1;
      if (line.position < low)
        flag(
          "durable-position",
          `${lane}: resumed at ${line.position}, though the ack of offset ${low - 1} was confirmed before`,
        );
      if (line.position > high)
        flag(
          "durable-position",
          `${lane}: resumed at ${line.position}, past ${high}: offsets nobody acked were skipped`,
        );
    }
  }
}

function countKinds(history: readonly HistoryLine[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of history)
    if (line.type === "fault" && line.kind !== undefined) counts[line.kind] = (counts[line.kind] ?? 0) + 1;
  return counts;
}

/** The one line a run prints. */
export function summarize(report: CheckReport): string {
  const availability = report.attempted === 0 ? 0 : report.acknowledged / report.attempted;
  const kinds = [...new Set(report.violations.map((v) => v.kind))].join(",");
  return [
    report.violations.length === 0 ? "PASS" : "FAIL",
    `faults=${report.faults}`,
    `attempted=${report.attempted}`,
    `acknowledged=${report.acknowledged}`,
    `failed=${report.failed}`,
    `unknown=${report.unknown}`,
    `unknown-stored=${report.unknownStored}`,
    `reads=${report.reads}`,
    `durable-acks=${report.durableAcks}`,
    `availability=${availability.toFixed(3)}`,
    `violations=${report.violations.length}${kinds ? ` (${kinds})` : ""}`,
  ].join(" ");
}
