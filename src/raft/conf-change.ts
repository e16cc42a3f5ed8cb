/**
 * Single-server membership changes and their encoding inside `EntryKind.Config` entries:
 * one op byte, the node id as a big-endian u32, then (addLearner only) the UTF-8 address.
 */
import { MqraftError } from "../util/errors.ts";
import type { NodeId } from "./log-types.ts";

export type ConfChange =
  | { op: "addLearner"; id: NodeId; address: string }
  | { op: "promote"; id: NodeId }
  | { op: "remove"; id: NodeId };

const OP_CODES = { addLearner: 1, promote: 2, remove: 3 } as const;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const address = cc.op === "addLearner" ? utf8.encode(cc.address) : new Uint8Array(0);
  const out = new Uint8Array(5 + address.length);
  out[0] = OP_CODES[cc.op];
  new DataView(out.buffer).setUint32(1, cc.id);
  out.set(address, 5);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 5) throw corrupt(`${data.length} bytes is too short`);
  const id = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  if (id === 0) throw corrupt("node id 0");
  const op = data[0];
  switch (op) {
    case OP_CODES.addLearner:
      return { op: "addLearner", id, address: fromUtf8.decode(data.subarray(5)) };
    case OP_CODES.promote:
    case OP_CODES.remove:
      if (data.length !== 5) throw corrupt(`${data.length - 5} trailing bytes`);
      return { op: op === OP_CODES.promote ? "promote" : "remove", id };
    default:
      throw corrupt(`unknown op ${op}`);
  }
}

function corrupt(why: string): MqraftError {
  return new MqraftError("CORRUPT", `configuration change entry cannot be decoded: ${why}`);
}
