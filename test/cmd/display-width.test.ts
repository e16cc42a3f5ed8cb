import { describe, expect, test } from "bun:test";
import { table } from "../../cmd/client-output.ts";
import { PLAIN, topFrame } from "../../src/manager/top-frame.ts";
import { displayWidth } from "../../src/util/display-width.ts";

describe("display width", () => {
  const cases: [string, string, number][] = [
    ["ASCII", "orders.created", 14],
    ["CJK ideographs and katakana", "温度.センサー", 13],
    ["Hangul syllables", "한국어", 6],
    ["Hangul jamo: a leading consonant and the vowel that joins it", "\u1100\u1161", 2],
    ["fullwidth Latin", "ＡＢ", 4],
    ["halfwidth katakana", "ｶﾀ", 2],
    ["a combining mark takes no column", "q\u0307x", 2],
    ["a zero-width space", "a\u200bb", 2],
    ["an emoji", "👍", 2],
    ["a text pictograph shown as emoji", "❤\ufe0f", 2],
    ["a flag: two regional indicators", "🇯🇵", 2],
    ["a ZWJ family", "👨\u200d👩\u200d👧", 2],
    ["accented Latin", "café", 4],
  ];
  test.each(cases)("%s", (_, text, columns) => {
    expect([text, displayWidth(text)]).toEqual([text, columns]);
  });

  test("table() lines up cells of CJK and combining characters by terminal column", () => {
    const lines = table([
      ["TOPIC", "FIRST"],
      ["温度.センサー", "0"],
      ["q\u0307-readings", "12"],
      ["t", "3"],
    ]);
    expect(lines).toEqual(["TOPIC          FIRST", "温度.センサー  0", "q\u0307-readings     12", "t              3"]);
  });

  test("mqraft top's topic column: the MESSAGES cell starts at one terminal column whatever the name", () => {
    const topics = ["温度.センサー", "q\u0307-readings", "orders"].map((name) => ({
      name,
      messages: 7,
      bytes: 9,
      rate: 0,
    }));
    const frame = topFrame(
      { time: 0, leader: 0, term: 1, nodes: [], history: [], topics, durables: [], events: [] },
      PLAIN,
      Number.POSITIVE_INFINITY,
    );
    const rows = frame.filter((line) => topics.some((t) => line.startsWith(t.name)));
    expect(rows).toHaveLength(3);
    // 40 columns of name, then the count right-aligned in 12
    for (const row of rows) expect([row, displayWidth(row.slice(0, row.indexOf("7") + 1))]).toEqual([row, 52]);
  });
});
