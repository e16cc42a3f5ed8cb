import { describe, expect, test } from "bun:test";
import { TRANSPORT_CASES } from "./transport.case.ts";

describe("the client transport on Bun (Bun.connect)", () => {
  for (const [name, run] of Object.entries(TRANSPORT_CASES)) {
    test(name, async () => {
      expect(await run()).toBeUndefined();
    }, 90_000);
  }
});
