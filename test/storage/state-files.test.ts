import { describe, expect, test } from "bun:test";
import { sealParts } from "../../src/storage/sealed-file.ts";
import {
  decodeDamage,
  decodeHardState,
  decodeSnapshot,
  encodeDamage,
  encodeHardState,
  encodeSnapshot,
} from "../../src/storage/state-files.ts";
import { encode } from "../../src/util/cbor-x.ts";

const join = (parts: Uint8Array[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));

describe("state files", () => {
  test("hard state, snapshot and damage marker round-trip", () => {
    expect(decodeHardState("hs", join(encodeHardState({ term: 9, vote: 2, commit: 41 })))).toEqual({
      term: 9,
      vote: 2,
      commit: 41,
    });
    const meta = {
      index: 12,
      term: 3,
      membership: { voters: [1, 2], learners: [], addresses: { "1": "a:1", "2": "b:2" } },
    };
    const snap = decodeSnapshot("snap", join(encodeSnapshot({ meta, data: new Uint8Array([5, 6, 7]) })));
    expect({ meta: snap.meta, data: [...snap.data] }).toEqual({ meta, data: [5, 6, 7] });
    const damage = {
      fromIndex: 4,
      untilIndex: 9,
      file: "/d/log/x.seg",
      offset: 63,
      reason: "record checksum mismatch",
    };
    expect(decodeDamage("dm", join(encodeDamage(damage)))).toEqual(damage);
  });

  test("a file of another kind, or cut short, is refused with the file named", () => {
    const hs = join(encodeHardState({ term: 1, vote: 0, commit: 0 }));
    expect(() => decodeSnapshot("/d/snapshot", hs)).toThrow("/d/snapshot is damaged: wrong magic number");
    expect(() => decodeHardState("/d/hardstate", hs.subarray(0, hs.length - 1))).toThrow(
      "/d/hardstate is damaged: holds",
    );
  });

  test("a sound envelope around a body of the wrong shape is corruption", () => {
    const magic = new DataView(join(encodeHardState({ term: 1, vote: 0, commit: 0 })).buffer).getUint32(0);
    const bad = join(sealParts(magic, [encode({ term: -1, vote: 0, commit: 0 })]));
    expect(() => decodeHardState("/d/hardstate", bad)).toThrow("/d/hardstate is damaged:");
    const notCbor = join(sealParts(magic, [new Uint8Array([0xff, 0xff])]));
    expect(() => decodeHardState("/d/hardstate", notCbor)).toThrow("/d/hardstate is damaged:");
  });
});
