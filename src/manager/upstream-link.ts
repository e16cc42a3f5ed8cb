import { openNodeLink } from "../auth/dial-handshake.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { MANAGER_IDENTITY } from "../auth/peer-proof.ts";
import { splitAddress } from "../util/config-values.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  encodeValue,
  type Hello,
  type ManagerInbound,
  PROTOCOL_VERSION,
  type Proof,
} from "../wire/index.ts";

/** The one-shot requests a manager forwards to the leader. */
export type ForwardedRequest = Extract<
  ManagerInbound,
  { type: "publish" | "register" | "status" | "join" | "leave" | "transfer" }
>;
/** What a broker answers them with. */
export type UpstreamAnswer = Extract<ClientInbound, { type: "published" | "registered" | "ok" | "status" | "error" }>;

export interface UpstreamHandlers<T> {
  /** The broker's answer to the request sent with `token` (its `id` is the one the link sent). */
  answer(token: T, answer: UpstreamAnswer): void;
  /** The request sent with `token` will get no answer: the connection failed or closed before one came. */
  lost(token: T, reason: MqraftError): void;
}

const parse = createMessageParser(ClientInboundSchema);
/** Below this many bytes of payload a publish cannot come near a broker's frame limit: skip encoding it to check. */
const FRAME_SLACK_BYTES = 64 * 1024;

/**
 * The manager's own client connection to one broker, shared by every request it forwards there. Requests sent
 * before the broker's welcome wait for it (the welcome says how large a frame the broker takes); each answer is
 * matched to its request by id. When the connection ends, every request without an answer is reported lost.
 */
export class UpstreamLink<T> {
  private connection: Connection<ClientInbound, Hello | Proof | ForwardedRequest> | undefined;
  private state: "connecting" | "ready" | "closed" = "connecting";
  private readonly queued: { message: ForwardedRequest; token: T }[] = [];
  private readonly waiting = new Map<number, T>();
  private brokerMaxFrameBytes: number | undefined;
  /** With a cluster secret, the link proves it before the broker takes a request (auth/peer-handshake.ts). */
  private readonly auth: ClusterAuth | undefined;
  /** The token of the client whose requests go over this link (docs/security.md); the broker checks it. */
  readonly userToken: string | undefined;

  constructor(
    readonly address: string,
    private readonly handlers: UpstreamHandlers<T>,
    options: { connectTimeoutMs: number; maxFrameBytes: number; auth?: ClusterAuth; userToken?: string },
    private readonly onClosed: (link: UpstreamLink<T>) => void,
  ) {
    this.auth = options.auth;
    this.userToken = options.userToken;
    void this.open(options.connectTimeoutMs, options.maxFrameBytes);
  }

  get isClosed(): boolean {
    return this.state === "closed";
  }

  /** Requests sent or queued here that have no answer yet. */
  get pending(): number {
    return this.waiting.size + this.queued.length;
  }

  /** Sends `message` (its `id` must be unique on this link); the answer or the loss comes later, never inside this call. */
  send(message: ForwardedRequest, token: T): void {
    if (this.state === "closed") {
      queueMicrotask(() =>
        this.handlers.lost(token, new MqraftError("CONNECTION_CLOSED", `the connection to ${this.address} is closed`)),
      );
    } else if (this.state === "connecting") {
      this.queued.push({ message, token });
    } else this.sendNow(message, token);
  }

  close(reason?: MqraftError): void {
    if (this.state === "closed") return;
    if (this.connection !== undefined) this.connection.close();
    else this.closed(reason ?? new MqraftError("CONNECTION_CLOSED", `the connection to ${this.address} was closed`));
  }

  private async open(connectTimeoutMs: number, maxFrameBytes: number): Promise<void> {
    const { host, port } = splitAddress(this.address);
    const attempt = connect<ClientInbound, Hello | Proof | ForwardedRequest>({ host, port, parse, maxFrameBytes });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MqraftError("TIMEOUT", `${this.address} did not accept a connection within ${connectTimeoutMs} ms`),
          ),
        connectTimeoutMs,
      );
    });
    let connection: Connection<ClientInbound, Hello | Proof | ForwardedRequest>;
    try {
      connection = await Promise.race([attempt, timeout]);
    } catch (e) {
      void attempt.then(
        (late) => late.close(),
        () => {},
      );
      this.closed(isMqraftError(e) ? e : new MqraftError("UNAVAILABLE", describeError(e)));
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.state === "closed") {
      connection.close();
      return;
    }
    this.connection = connection;
    const welcomeTimer = setTimeout(
      () =>
        connection.close(
          new MqraftError("TIMEOUT", `${this.address} did not answer hello within ${connectTimeoutMs} ms`),
        ),
      connectTimeoutMs,
    );
    connection.onClose = (reason) => {
      clearTimeout(welcomeTimer);
      this.closed(reason ?? new MqraftError("CONNECTION_CLOSED", `the connection to ${this.address} was closed`));
    };
    openNodeLink(
      connection,
      this.userToken === undefined
        ? { type: "hello", version: PROTOCOL_VERSION, role: "manager" }
        : { type: "hello", version: PROTOCOL_VERSION, role: "manager", token: this.userToken },
      {
        auth: this.auth,
        selfIdentity: MANAGER_IDENTITY,
        timeoutMs: connectTimeoutMs,
        ready: () => {
          connection.onMessage = (m) => this.receive(m, welcomeTimer);
        },
        // whatever waits is lost, not refused, as for any connection the broker refuses
        refused: (error) =>
          this.closed(
            new MqraftError("CONNECTION_CLOSED", `${this.address} refused the link: ${error.code}: ${error.message}`),
          ),
      },
    );
  }

  private receive(m: ClientInbound, welcomeTimer: ReturnType<typeof setTimeout>): void {
    if (m.type === "welcome" && this.state === "connecting") {
      clearTimeout(welcomeTimer);
      this.state = "ready";
      this.brokerMaxFrameBytes = m.maxFrameBytes;
      for (const { message, token } of this.queued.splice(0)) this.sendNow(message, token);
      return;
    }
    if (m.type === "error" && m.id === undefined) {
      // the broker refuses the connection itself and is closing it: whatever waits is lost, not refused, unless
      // it refused the client's token, which every broker refuses alike
      this.connection?.close();
      this.closed(
        new MqraftError(
          m.code === "UNAUTHENTICATED" && this.userToken !== undefined ? "UNAUTHENTICATED" : "CONNECTION_CLOSED",
          `${this.address} closed the connection: ${m.code}: ${m.message}`,
        ),
      );
      return;
    }
    if (
      m.type === "published" ||
      m.type === "registered" ||
      m.type === "ok" ||
      m.type === "status" ||
      m.type === "error"
    ) {
      const id = m.id;
      const token = id === undefined ? undefined : this.waiting.get(id);
      if (id === undefined || token === undefined) return;
      this.waiting.delete(id);
      this.handlers.answer(token, m);
      return;
    }
    this.connection?.close(new MqraftError("BAD_MESSAGE", `a manager's connection does not take ${m.type}`));
  }

  private sendNow(message: ForwardedRequest, token: T): void {
    const tooLarge = this.oversized(message);
    if (tooLarge !== undefined) {
      queueMicrotask(() =>
        this.handlers.answer(token, { type: "error", id: message.id, code: "FRAME_TOO_LARGE", message: tooLarge }),
      );
      return;
    }
    this.waiting.set(message.id, token);
    try {
      // a false return means the connection is closing: its close reports this request lost with the others
      this.connection?.send(message);
    } catch (e) {
      this.waiting.delete(message.id);
      queueMicrotask(() =>
        this.handlers.answer(token, {
          type: "error",
          id: message.id,
          code: "FRAME_TOO_LARGE",
          message: describeError(e),
        }),
      );
    }
  }

  /** Why the broker would refuse this frame for its size (and close the connection, taking every request with it). */
  private oversized(message: ForwardedRequest): string | undefined {
    const limit = this.brokerMaxFrameBytes;
    if (limit === undefined || message.type !== "publish" || message.data.byteLength + FRAME_SLACK_BYTES < limit)
      return undefined;
    const size = encodeValue(message).byteLength;
    return size > limit
      ? `the publish is ${size} bytes encoded; the leader at ${this.address} takes frames of at most ${limit}`
      : undefined;
  }

  private closed(reason: MqraftError): void {
    if (this.state === "closed") return;
    this.state = "closed";
    const lost = [...this.waiting.values(), ...this.queued.map((q) => q.token)];
    this.waiting.clear();
    this.queued.length = 0;
    this.onClosed(this);
    for (const token of lost) this.handlers.lost(token, reason);
  }
}
