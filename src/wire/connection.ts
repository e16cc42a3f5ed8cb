import { AssertionError } from "../util/assert.ts";
import { describeError, MqraftError } from "../util/errors.ts";
import { FrameDecoder, NEED_MORE } from "./frame-decoder.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-format.ts";
import { errorMessage } from "./messages/error.ts";
import type { MessageParser } from "./messages/parse.ts";
import { OutgoingQueue } from "./outgoing-queue.ts";
import type { SocketLike } from "./transport.ts";

export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LOW_WATER_BYTES = 1024 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

export interface ConnectionOptions<In> {
  /** Turns each decoded value into a message, or a BAD_MESSAGE error that closes the connection. */
  parse: MessageParser<In>;
  /** Largest frame body accepted or sent. */
  maxFrameBytes?: number;
  /** Outgoing bytes the peer has not taken; going over closes the connection with SLOW_CONSUMER. */
  maxQueuedBytes?: number;
  /** `writable()` resolves once the outgoing queue is at or below this. */
  lowWaterBytes?: number;
  /** How long `close()` waits for queued frames to go out and the peer to close before cutting the connection. */
  closeTimeoutMs?: number;
  /**
   * A received publish's payload is a view into the received bytes instead of a copy, so it keeps them alive while
   * it is held: for a broker, which copies it into a log entry at the end of the turn (the copy was 6 to 15 % of a leader's time).
   */
  publishViews?: boolean;
}

/** What a Bun socket carries in its `data` slot: the connection wrapping it, once it is open. */
export interface SocketSlot {
  connection: Connection<unknown, unknown> | undefined;
  /** With TLS, until the handshake ends: cuts a socket whose handshake takes too long. */
  handshakeDeadline?: ReturnType<typeof setTimeout>;
}

type State = "open" | "closing" | "closed";

const ignore = (): void => {};

/**
 * What a connection holds: bytes queued to send, bytes of frames being received. The output buffers kept for reuse
 * are the process's, not a connection's (outgoing-queue.ts).
 */
export interface ConnectionMemory {
  queuedBytes: number;
  receivingBytes: number;
}

/** The sum of `use` over `connections`. */
export function sumMemory(connections: Iterable<{ readonly memoryUse: ConnectionMemory }>): ConnectionMemory & {
  connections: number;
} {
  const sum = { connections: 0, queuedBytes: 0, receivingBytes: 0 };
  for (const c of connections) {
    const m = c.memoryUse;
    sum.connections++;
    sum.queuedBytes += m.queuedBytes;
    sum.receivingBytes += m.receivingBytes;
  }
  return sum;
}

/**
 * Frames and messages over one TCP socket (a Bun socket, or node:net's through node-socket.ts), accepted or connected. Incoming bytes are decoded and parsed before
 * `onMessage` sees them; bad input is answered with an error frame and a close, never an exception into Bun.
 * Outgoing messages are encoded at `send()` and written together at the end of the current turn.
 */
export class Connection<In, Out = unknown> {
  /** Each valid incoming message, in order. An exception thrown here closes the connection with INTERNAL. */
  onMessage: (message: In) => void = ignore;
  /** Once, when the socket is closed: null after a `close()` without error, else why it ended. */
  onClose: (reason: MqraftError | null) => void = ignore;
  /** Settles like `onClose`. */
  readonly closed: Promise<MqraftError | null>;
  readonly remoteAddress: string;
  readonly maxQueuedBytes: number;
  readonly lowWaterBytes: number;
  /** The largest frame body this connection sends, and accepts unless limitIncomingFrames lowered that. */
  readonly maxFrameBytes: number;

  private state: State = "open";
  private reason: MqraftError | null = null;
  private readonly frames: FrameDecoder;
  private readonly queue: OutgoingQueue;
  private readonly parse: MessageParser<In>;
  private readonly closeTimeoutMs: number;
  private readonly settleClosed: (reason: MqraftError | null) => void;
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flushNow();
  };
  private readonly lingerExpired = (): void => this.socket.terminate();
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private flushScheduled = false;
  private shutDown = false;
  private socketError: Error | undefined;
  private readingPaused = false;
  private delivering = false;
  private writableWaiter: PromiseWithResolvers<void> | undefined;

  constructor(
    private readonly socket: SocketLike,
    options: ConnectionOptions<In>,
  ) {
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxFrameBytes = maxFrameBytes;
    this.parse = options.parse;
    this.frames = new FrameDecoder(maxFrameBytes, options.publishViews ?? false);
    this.queue = new OutgoingQueue(socket, maxFrameBytes);
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.lowWaterBytes = options.lowWaterBytes ?? Math.min(DEFAULT_LOW_WATER_BYTES, this.maxQueuedBytes / 4);
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    const { promise, resolve } = Promise.withResolvers<MqraftError | null>();
    this.closed = promise;
    this.settleClosed = resolve;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Outgoing bytes the socket has not taken yet. */
  get queuedBytes(): number {
    return this.queue.queuedBytes;
  }

  /** What this connection holds in memory (docs/memory.md), for /metrics. */
  get memoryUse(): ConnectionMemory {
    return { queuedBytes: this.queue.queuedBytes, receivingBytes: this.frames.bufferedBytes };
  }

  /**
   * Queues one message; it is written with everything else sent in this turn. Returns false if the connection is
   * closing or closed, or if this message took the queue over `maxQueuedBytes` (the connection is then closed with
   * SLOW_CONSUMER). Throws FRAME_TOO_LARGE for a message over the frame limit, leaving the connection as it was.
   */
  send(message: Out): boolean {
    if (this.state !== "open") return false;
    this.queue.append(message);
    if (this.queue.queuedBytes > this.maxQueuedBytes) {
      this.abort(
        new MqraftError(
          "SLOW_CONSUMER",
          `${this.remoteAddress} did not read fast enough: over ${this.maxQueuedBytes} bytes waiting to be sent`,
        ),
      );
      return false;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
    return true;
  }

  /** Writes what is queued now instead of at the end of the turn. */
  flush(): void {
    this.flushNow();
  }

  /** Resolves once the outgoing queue is at or below `lowWaterBytes`; rejects if the connection closes first. */
  writable(): Promise<void> {
    if (this.state !== "open") return Promise.reject(this.closedError());
    if (this.queue.queuedBytes <= this.lowWaterBytes) return Promise.resolve();
    this.writableWaiter ??= Promise.withResolvers<void>();
    return this.writableWaiter.promise;
  }

  /**
   * The largest frame body accepted from now on (at most the limit the connection was made with, which still bounds
   * what it sends): a server takes only small frames from a peer that has not said who it is yet.
   */
  limitIncomingFrames(maxFrameBytes: number): void {
    this.frames.maxFrameBytes = Math.min(maxFrameBytes, this.maxFrameBytes);
  }

  /** Stops delivering messages and reading from the socket, so the peer's writes back up. */
  pause(): void {
    if (this.readingPaused || this.state !== "open") return;
    this.readingPaused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.socket.resume();
    if (!this.delivering && this.state === "open") this.deliver();
  }

  /**
   * Stops reading, sends what is queued, then `error` as an error frame if given, and closes. A peer that does not
   * take the bytes and close within `closeTimeoutMs` is cut off.
   */
  close(error?: MqraftError): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.reason = error ?? null;
    if (error !== undefined) this.queue.append(errorMessage(error));
    this.startClosing();
  }

  /** Called by the socket handler for each received chunk. */
  handleData(chunk: Uint8Array): void {
    if (this.state !== "open") return;
    this.frames.push(chunk);
    if (!this.readingPaused && !this.delivering) this.deliver();
  }

  /** Called by the socket handler when the socket can take more bytes. */
  handleDrain(): void {
    if (this.state === "closed") return;
    if (!this.queue.drain()) return;
    this.afterWrite();
  }

  /** Called by the socket handler when Bun reports a socket error: the socket is cut, and `handleClose` follows. */
  handleError(error: Error): void {
    this.socketError ??= error;
    this.socket.terminate();
  }

  /** Called by the socket handler once the socket is closed, whoever closed it. */
  handleClose(closeError: Error | undefined): void {
    if (this.state === "closed") return;
    const error = closeError ?? this.socketError;
    const peerClosed = this.state === "open";
    this.state = "closed";
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.queue.clear();
    if (peerClosed) {
      this.reason = new MqraftError(
        "CONNECTION_CLOSED",
        error === undefined
          ? `connection closed by ${this.remoteAddress}`
          : `connection to ${this.remoteAddress} failed: ${error.message}`,
        { cause: error },
      );
    }
    this.writableWaiter?.reject(this.closedError());
    this.writableWaiter = undefined;
    this.settleClosed(this.reason);
    try {
      this.onClose(this.reason);
    } catch (e) {
      // a bug in the application's handler: surface it as an uncaught error, outside Bun's socket callback
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private deliver(): void {
    this.delivering = true;
    try {
      while (!this.readingPaused && this.state === "open") {
        let value: unknown;
        try {
          value = this.frames.next();
        } catch (e) {
          this.close(e instanceof MqraftError ? e : new MqraftError("BAD_FRAME", describeError(e), { cause: e }));
          return;
        }
        if (value === NEED_MORE) return;
        const message =
          this.frames.hot && this.parse.hot !== undefined
            ? this.parse.hot(value as { type?: unknown })
            : this.parse(value);
        if (message instanceof MqraftError) {
          this.close(message);
          return;
        }
        try {
          this.onMessage(message);
        } catch (e) {
          this.close(new MqraftError("INTERNAL", `message handler failed: ${describeError(e)}`, { cause: e }));
          // A broken invariant is a bug in mqraft, and going on may lose or fork committed data (src/util/assert.ts):
          // thrown again outside the socket's callback, which would catch it, it stops the process as uncaught.
          if (e instanceof AssertionError)
            queueMicrotask(() => {
              throw e;
            });
          return;
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  private flushNow(): void {
    if (this.state === "closed") return;
    if (!this.queue.flush()) return;
    this.afterWrite();
  }

  private afterWrite(): void {
    if (this.state === "closing") {
      if (this.queue.queuedBytes === 0 && !this.shutDown) {
        this.shutDown = true;
        this.socket.shutdown();
      }
      return;
    }
    if (this.writableWaiter !== undefined && this.queue.queuedBytes <= this.lowWaterBytes) {
      this.writableWaiter.resolve();
      this.writableWaiter = undefined;
    }
  }

  /** The peer stopped reading: whatever is half written cannot be completed, so only a clean stream gets the error. */
  private abort(error: MqraftError): void {
    this.state = "closing";
    this.reason = error;
    if (this.queue.blocked) {
      this.queue.clear();
      this.socket.terminate();
      return;
    }
    this.queue.clear();
    this.queue.append(errorMessage(error));
    this.startClosing();
  }

  private startClosing(): void {
    // keep reading (and discarding) so that the peer's close is seen and no unread bytes turn the close into a reset
    if (this.readingPaused) {
      this.readingPaused = false;
      this.socket.resume();
    }
    this.lingerTimer = setTimeout(this.lingerExpired, this.closeTimeoutMs);
    this.flushNow();
  }

  private closedError(): MqraftError {
    return this.reason ?? new MqraftError("CONNECTION_CLOSED", `connection to ${this.remoteAddress} is closed`);
  }
}
