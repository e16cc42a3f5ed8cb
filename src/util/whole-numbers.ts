import * as v from "valibot";

/**
 * An array of at most `max` whole numbers of at least `min`, checked in one pass. A group-ack carries up to 1,000
 * offsets and as many attempts, parsed on the wire and again on every replica's apply: valibot's per-element pipes
 * (number, safeInteger, minValue) cost more there than settling the acks themselves.
 */
export function wholeNumbersSchema(min: 0 | 1, max: number) {
  return v.custom<number[]>(
    (x) => Array.isArray(x) && x.length <= max && x.every((n) => Number.isSafeInteger(n) && n >= min),
    `expected a list of at most ${max} whole numbers of at least ${min}`,
  );
}
