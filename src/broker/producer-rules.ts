import type { DedupWindow } from "./dedup-window.ts";
import { type ProducerWindow, SEQS_PER_PRODUCER } from "./producer-window.ts";
import { type ApplyResult, type ErrorResult, type PublishResult, refusal } from "./results.ts";

/**
 * The rules a producer's publish and register follow (docs/state-machine.md, "Dedup window"): fencing by epoch,
 * registered producers' seqs in order, duplicates answered with the original's offset.
 */

/**
 * What becomes of a publish under `window`'s producer before it is stored: a refusal, the original's result for a
 * duplicate, or undefined when it is a new message to store. `topicName` names a topic by id.
 */
export function admitPublish(
  dedup: DedupWindow,
  window: ProducerWindow,
  epoch: number | undefined,
  seq: number,
  low: number | undefined,
  topicName: (id: number) => string,
): PublishResult | ErrorResult | undefined {
  const refused = epoch === undefined ? unregistered(window) : inOrder(dedup, window, epoch, seq, low);
  if (refused !== undefined) return refused;
  const at = window.find(seq);
  if (at >= 0) {
    const topic = topicName(window.topicId[at] as number);
    return { type: "publish", topic, offset: window.offset[at] as number, duplicate: true };
  }
  if (seq < window.nextSeq) {
    return refusal(
      "REFUSED",
      `producer ${window.id} seq ${seq} is below its next seq ${window.nextSeq}: stored already (its offset no longer remembered; the dedup window keeps ${SEQS_PER_PRODUCER} seqs per producer), or given up by the client`,
    );
  }
  return undefined;
}

/** A publish without an epoch under a producer id that has registered is an older incarnation. */
function unregistered(window: ProducerWindow): ErrorResult | undefined {
  if (window.epoch === 0) return undefined;
  return refusal("FENCED", `producer ${window.id} has registered (epoch ${window.epoch}); publish with its epoch`);
}

/**
 * A registered producer's seqs are stored in order, each the last stored + 1, so that a publish
 * refused on its way (a leadership transfer, a lost connection) cannot be overtaken by a later
 * one: the later ones are refused too, and the client resends them in order. An epoch newer than
 * the one remembered (the producer was forgotten meanwhile) starts afresh at `low`, the oldest seq
 * the client still waits for (so a later seq that arrives first is refused as for any hole), or,
 * from a client that sends no `low`, at whatever seq comes first.
 * Returns the refusal, or undefined when the publish may go on (as a new message or a duplicate).
 */
function inOrder(
  dedup: DedupWindow,
  window: ProducerWindow,
  epoch: number,
  seq: number,
  low: number | undefined,
): ErrorResult | undefined {
  if (epoch < window.epoch) {
    return refusal(
      "FENCED",
      `producer ${window.id} epoch ${epoch} was replaced by epoch ${window.epoch}: another client registered this producer id`,
    );
  }
  if (epoch > window.epoch) dedup.restart(window, epoch, low ?? seq);
  // the client acknowledged or gave up every seq below `low`: none of them is awaited any more
  if (low !== undefined && low > window.nextSeq) window.nextSeq = low;
  if (seq > window.nextSeq) {
    return refusal(
      "OUT_OF_ORDER",
      `producer ${window.id} epoch ${epoch}: seq ${seq} is ahead of the next one, ${window.nextSeq}; resend from there`,
    );
  }
  return undefined;
}

/**
 * A new epoch (the register's log index), unless `session` is the one that registered the current epoch: that
 * register is a retry of the client's own (the first attempt held up on its way and applied after the one that
 * answered), and fencing the client with its own retry would fail everything it publishes. With `ordered` (a
 * register of command version 3), a session that says it started before the current epoch's session did is an older
 * incarnation registering late (its process gone): it is refused instead of fencing the newer one.
 */
export function registerProducer(
  dedup: DedupWindow,
  index: number,
  producer: string,
  session: string | undefined,
  now: number,
  ordered = false,
): ApplyResult | ErrorResult {
  const window = dedup.touch(producer, now);
  if (session !== undefined && window.epoch > 0 && window.session === session)
    return { type: "register", producer, epoch: window.epoch };
  if (ordered && window.epoch > 0 && startedBefore(session, window.session))
    return refusal(
      "FENCED",
      `producer ${producer}: session ${session} started before ${window.session}, which registered epoch ${window.epoch}: an older incarnation registering late`,
    );
  // the incarnation the current one replaced, registering late (its process gone, or its register held up on the
  // way): a new epoch would fence the newer incarnation with the older one's request
  if (session !== undefined && window.replacedSession === session)
    return refusal("FENCED", `producer ${producer}: session ${session} was replaced by a later registration`);
  window.replacedSession = window.epoch > 0 ? window.session : undefined;
  dedup.restart(window, index, 0, session);
  return { type: "register", producer, epoch: index };
}

/**
 * The start time a session carries as its first part (`<ms since 1970>.<random>`, as the client library makes it), or
 * undefined for a session without one (older clients: a random token).
 */
export function sessionStart(session: string | undefined): number | undefined {
  const m = session === undefined ? null : /^(\d{1,15})\./.exec(session);
  return m === null ? undefined : Number(m[1]);
}

/** Both sessions carry a start time and `session`'s is the earlier: it belongs to an older incarnation. */
function startedBefore(session: string | undefined, current: string | undefined): boolean {
  const a = sessionStart(session);
  const b = sessionStart(current);
  return a !== undefined && b !== undefined && a < b;
}
