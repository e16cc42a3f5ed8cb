import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { TopicSchema } from "../../src/util/names.ts";
import { HOT_TABLES, tableOf } from "../../src/wire/hot-fields.ts";
import { PublishSchema } from "../../src/wire/messages/client.ts";

describe("hot codec tables", () => {
  test("derived from the schemas: every field in the schema's order, with what it requires", () => {
    const publish = HOT_TABLES.get("publish")!;
    expect(publish.type).toBe("publish");
    expect(publish.fields.map((f) => [f.key, f.required, f.kind.is])).toEqual([
      ["id", true, "whole"],
      ["topic", true, "topic"],
      ["data", true, "bytes"],
      ["producer", false, "name"],
      ["seq", false, "whole"],
      ["epoch", false, "whole"],
      ["low", false, "whole"],
      ["headers", false, "headers"],
      ["ttl", false, "whole"],
    ]);
    expect(publish.fields.map((f) => f.key)).toEqual(Object.keys(PublishSchema.entries).slice(1));
    const entries = HOT_TABLES.get("append")!.fields.find((f) => f.key === "entries")!;
    expect(entries.kind.is === "list" && entries.kind.item.fields.map((f) => [f.key, f.kind])).toEqual([
      ["index", { is: "whole" }],
      ["term", { is: "whole" }],
      ["kind", { is: "choice", options: [0, 1] }],
      ["data", { is: "bytes" }],
    ]);
  });

  test.each([
    [v.object({ type: v.literal("x"), note: v.string() }), "x.note: a string other than a name"],
    [
      v.object({ type: v.literal("x"), n: v.pipe(v.number(), v.safeInteger(), v.minValue(1)) }),
      "x.n: a number other than a whole one",
    ],
    [v.object({ type: v.literal("x"), n: v.pipe(v.number(), v.integer()) }), "x.n: pipe action integer"],
    [v.object({ type: v.literal("x"), t: v.optional(TopicSchema, "t") }), "x.t: a default"],
    [v.object({ type: v.literal("x"), at: v.date() }), "x.at: a field of type date"],
    [
      v.object({ id: v.pipe(v.number(), v.safeInteger(), v.minValue(0)), type: v.literal("x") }),
      "x: `type` is not the first field",
    ],
    [v.strictObject({ type: v.literal("x") }), "x: not a plain v.object"],
  ])("a schema the hot codecs cannot follow stops the program at start-up (%#)", (schema, why) => {
    expect(() => tableOf(schema, "x")).toThrow(why);
  });
});
