import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import {
  AddressListSchema,
  ByteSizeSchema,
  DurationSchema,
  NodeIdSchema,
  PeersSchema,
  PortSchema,
  splitAddress,
} from "../../src/util/config-values.ts";

const ok = <S extends v.GenericSchema<string, unknown>>(schema: S, raw: string) => {
  const r = v.safeParse(schema, raw);
  if (!r.success) throw new Error(`expected ${JSON.stringify(raw)} to parse, got: ${r.issues[0]?.message}`);
  return r.output;
};
const bad = (schema: v.GenericSchema<string, unknown>, raw: string) => {
  const r = v.safeParse(schema, raw);
  if (r.success) throw new Error(`expected ${JSON.stringify(raw)} to be refused, got ${JSON.stringify(r.output)}`);
  return r.issues[0]?.message ?? "";
};

describe("flag value schemas", () => {
  test("ports", () => {
    expect(ok(PortSchema, "8000")).toBe(8000);
    expect(bad(PortSchema, "abc")).toContain("port number");
    expect(bad(PortSchema, "0")).toContain("port number");
    expect(bad(PortSchema, "65536")).toContain("port number");
    expect(bad(PortSchema, "-1")).toContain("port number");
  });

  test("node ids", () => {
    expect(ok(NodeIdSchema, "3")).toBe(3);
    expect(bad(NodeIdSchema, "0")).toContain("node id");
    expect(bad(NodeIdSchema, "x")).toContain("node id");
  });

  test("peers: id=host:port pairs, unique ids and addresses", () => {
    expect(ok(PeersSchema, "1=127.0.0.1:8000,2=127.0.0.1:8001")).toEqual([
      { id: 1, address: "127.0.0.1:8000" },
      { id: 2, address: "127.0.0.1:8001" },
    ]);
    expect(bad(PeersSchema, "nonsense")).toContain("id=host:port");
    expect(bad(PeersSchema, "1=127.0.0.1:8000,1=127.0.0.1:8001")).toContain("only once");
    expect(bad(PeersSchema, "1=127.0.0.1:8000,2=127.0.0.1:8000")).toContain("only once");
    expect(bad(PeersSchema, "1=127.0.0.1:99999")).toContain("port");
  });

  test("server lists and addresses", () => {
    expect(ok(AddressListSchema, "127.0.0.1:8888, localhost:8000")).toEqual(["127.0.0.1:8888", "localhost:8000"]);
    expect(ok(AddressListSchema, "[::1]:8000")).toEqual(["[::1]:8000"]);
    expect(splitAddress("[::1]:8000")).toEqual({ host: "::1", port: 8000 });
    expect(bad(AddressListSchema, "")).toContain("host:port");
    expect(bad(AddressListSchema, "localhost")).toContain("host:port");
  });

  test("durations and sizes", () => {
    expect(ok(DurationSchema, "500ms")).toBe(500);
    expect(ok(DurationSchema, "60s")).toBe(60_000);
    expect(ok(DurationSchema, "2h")).toBe(7_200_000);
    expect(ok(DurationSchema, "250")).toBe(250);
    expect(bad(DurationSchema, "soon")).toContain("duration");
    expect(ok(ByteSizeSchema, "64KiB")).toBe(65536);
    expect(ok(ByteSizeSchema, "10MB")).toBe(10 * 1024 * 1024);
    expect(ok(ByteSizeSchema, "4096")).toBe(4096);
    expect(bad(ByteSizeSchema, "lots")).toContain("size");
  });
});
