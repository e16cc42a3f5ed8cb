/**
 * Raft messages between simulated brokers cross the real wire encoding: a CBOR frame, fed to the
 * frame decoder in arbitrary pieces, then the valibot schema of the side that receives it (the
 * lower id dials, so a message to a higher id arrives on an accepted connection, one to a lower id
 * on a dialed one, as in production). A message that does not survive the trip unchanged (a field
 * the schema refuses or silently strips) is a violation.
 */
import { isRaftMessage, toRaftMessage } from "../../../src/node/peer-messages.ts";
import type { Message } from "../../../src/raft/index.ts";
import { describeError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import {
  ClientInboundSchema,
  createMessageParser,
  encodeFrame,
  FrameDecoder,
  NEED_MORE,
  ServerInboundSchema,
} from "../../../src/wire/index.ts";
import { Violation } from "../invariants.ts";

const parseAccepted = createMessageParser(ServerInboundSchema);
const parseDialed = createMessageParser(ClientInboundSchema);

export function encodePeerMessage(m: Message): Uint8Array {
  // A fresh copy: the frame must not share memory with the sender's log entries.
  return encodeFrame(m).slice();
}

export function decodePeerMessage(sent: Message, frame: Uint8Array, prng: Prng): Message {
  const { from, to } = sent;
  const decoder = new FrameDecoder();
  const cut = prng.int(0, frame.length);
  decoder.push(frame.subarray(0, cut));
  decoder.push(frame.subarray(cut));
  let value: unknown;
  try {
    value = decoder.next();
  } catch (e) {
    throw new Violation("wire", `a frame from node ${from} to ${to} does not decode: ${describeError(e)}`);
  }
  if (value === NEED_MORE)
    throw new Violation("wire", `a frame of ${frame.length} bytes from node ${from} to ${to} decodes as incomplete`);
  const parsed = (from < to ? parseAccepted : parseDialed)(value);
  if (parsed instanceof Error)
    throw new Violation("wire", `a message from node ${from} to ${to} fails its schema: ${parsed.message}`);
  if (!isRaftMessage(parsed))
    throw new Violation("wire", `a Raft message from node ${from} to ${to} arrives as ${parsed.type}`);
  const received = toRaftMessage(parsed);
  const difference = differs(sent, received, sent.type);
  if (difference !== undefined)
    throw new Violation("wire", `a ${sent.type} from node ${from} to ${to} changes on the wire at ${difference}`);
  return received;
}

/** The path of the first difference between two plain values (absent and undefined fields are alike), if any. */
function differs(a: unknown, b: unknown, path: string): string | undefined {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return path;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${path}[${i}]`;
    return undefined;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return path;
    for (let i = 0; i < a.length; i++) {
      const d = differs(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    for (const key in x) {
      const d = differs(x[key], y[key], `${path}.${key}`);
      if (d !== undefined) return d;
    }
    for (const key in y) if (!(key in x) && y[key] !== undefined) return `${path}.${key}`;
    return undefined;
  }
  return Object.is(a, b) ? undefined : path;
}
