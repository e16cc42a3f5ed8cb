/**
 * What a simulated member's GroupHand (production's, src/client/group-hand.ts) promises its user, kept apart from it
 * to check it: a delivery is handed over once while it is held (the copy a new leader sends again is dropped), and no
 * settle goes out for a delivery the member no longer holds (settled already, or replaced by a later attempt): it is
 * refused in the client. The member drives the hand; this only watches what comes out of it.
 */
import type { Delivery } from "../../../src/client/group-settles.ts";
import { fail } from "./broker-checker.ts";

export class HandOracle {
  /** offset -> attempt of what the hand handed over and has no answered settle of. */
  private readonly held = new Map<number, number>();

  constructor(private readonly member: string) {}

  /** The hand handed delivery `attempt` of `key` to the member's user. */
  handed(key: number, attempt: number): void {
    if (this.held.get(key) === attempt)
      fail("group: client hand", `${this.member} was handed delivery ${attempt} of offset ${key} twice, holding it`);
    this.held.set(key, attempt);
  }

  /** The hand sends a request of settles (the first time: a resend after a lost answer is the same request). */
  sending(kind: string, deliveries: readonly Delivery[]): void {
    for (const { key, attempt } of deliveries)
      if (this.held.get(key) !== attempt)
        fail(
          "group: client hand",
          `${this.member} sent a ${kind} of delivery ${attempt} of offset ${key}, holding ${this.held.get(key) ?? "none"} of it`,
        );
  }

  /** The broker answered a request (settled or refused): those deliveries are no longer held. */
  answered(deliveries: readonly Delivery[]): void {
    for (const { key, attempt } of deliveries) if (this.held.get(key) === attempt) this.held.delete(key);
  }
}
