/**
 * The lines of a byte stream as they arrive, without their "\n": split on bytes, not text, so that any payload
 * short of a newline goes through unchanged. A last line without "\n" counts; an empty stream has no lines.
 */
export async function* byteLines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // the start of a line that spans chunks, kept as pieces so a long line costs one copy
  let carry: Uint8Array[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, start)) {
      carry.push(chunk.subarray(start, at));
      yield join(carry);
      carry = [];
      start = at + 1;
    }
    // copied: the stream may reuse its chunk
    if (start < chunk.length) carry.push(chunk.slice(start));
  }
  if (carry.length > 0) yield join(carry);
}

function join(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
