/**
 * The check of production's GroupHand in the group simulation (hand-oracle.ts), one defect each: the simulation's
 * members hold and settle through GroupHand, and these are what it must never do.
 */
import { describe, expect, test } from "bun:test";
import { HandOracle } from "./hand-oracle.ts";
import { violationOf as fails } from "./seed-runs.ts";

describe("group hand oracle, one defect each", () => {
  test("a copy of a delivery held is handed over again; another attempt, or one after its answer, is not a copy", () => {
    const o = new HandOracle("m1");
    o.handed(4, 1);
    expect(fails(() => o.handed(4, 1))).toBe("group: client hand");
    expect(fails(() => o.handed(4, 2))).toBe("no violation");
    o.answered([{ key: 4, attempt: 2 }]);
    expect(fails(() => o.handed(4, 2))).toBe("no violation");
  });

  test("a settle goes out for a delivery replaced by a later attempt, or settled and answered already", () => {
    const o = new HandOracle("m1");
    o.handed(7, 1);
    o.handed(8, 1);
    expect(fails(() => o.sending("ack", [{ key: 7, attempt: 1 }]))).toBe("no violation");
    o.handed(7, 2);
    expect(
      fails(() =>
        o.sending("ack", [
          { key: 8, attempt: 1 },
          { key: 7, attempt: 1 },
        ]),
      ),
    ).toBe("group: client hand");
    // the answer to the settle of attempt 1 does not let go of attempt 2
    o.answered([{ key: 7, attempt: 1 }]);
    expect(fails(() => o.sending("nak", [{ key: 7, attempt: 2 }]))).toBe("no violation");
    o.answered([{ key: 7, attempt: 2 }]);
    expect(fails(() => o.sending("nak", [{ key: 7, attempt: 2 }]))).toBe("group: client hand");
  });
});
