/**
 * What a Connection needs of a TCP socket, on either runtime: a Bun socket has it as it is (socket-handler.ts), a
 * node:net socket through node-socket.ts. The semantics are Bun's (docs/platform.md), which are the stricter ones.
 */
export interface SocketLike {
  /**
   * Takes what it can of `bytes` now and returns how many bytes it took, -1 once closed. What it did not take is not
   * queued: the caller writes it again after the next `drain`. `bytes` may be reused once the call returns.
   */
  write(bytes: Uint8Array): number;
  /** Half-close: sends what was taken, then the end of the stream; reading goes on until the peer closes. */
  shutdown(): void;
  /** Closes at once, dropping whatever was not sent. */
  terminate(): void;
  /** Stops reading, so that the peer's writes back up. */
  pause(): void;
  resume(): void;
  readonly remoteAddress: string;
  readonly remotePort: number;
}
