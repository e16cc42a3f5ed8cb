import type { Entry, HardState, Snapshot } from "./log-types.ts";
import type { Message } from "./messages.ts";

/**
 * One batch of work for the driver, in this order: persist `snapshot` (install it in storage and
 * restore the state machine from it), `entries` (discarding stored entries at or after the first
 * one's index) and `hardState`; then send `messages`; then apply `committed` in order; then call
 * advance(ready). Nothing in a Ready may be dropped once messages were sent.
 */
export interface Ready {
  /** Present only when term, vote or commit changed since the last Ready. */
  hardState: HardState | undefined;
  entries: Entry[];
  /** A snapshot received from the leader. */
  snapshot: Snapshot | undefined;
  messages: Message[];
  committed: Entry[];
}
