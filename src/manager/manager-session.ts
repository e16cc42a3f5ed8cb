import { AccepterHandshake, type ClusterAuth } from "../auth/peer-handshake.ts";
import { MANAGER_IDENTITY, nodeIdentity } from "../auth/peer-proof.ts";
import { assert } from "../util/assert.ts";
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import {
  type Challenge,
  type Connection,
  type ErrorMessage,
  type Hello,
  helloError,
  type ManagerInbound,
  PROTOCOL_VERSION,
  type Report,
  type Welcome,
} from "../wire/index.ts";
import type { Reply } from "./forwarder.ts";
import type { ForwardedRequest, UpstreamAnswer } from "./upstream-link.ts";

/** What a session needs of the manager that accepted it. */
export interface ManagerHost {
  readonly log: Logger;
  readonly helloTimeoutMs: number;
  readonly maxInFlightPerClient: number;
  welcome(): Welcome;
  report(report: Report): void;
  /** `userToken`: the client's, from its hello; the broker checks it (docs/security.md). */
  forward(request: ForwardedRequest, reply: Reply, done: () => void, userToken?: string): void;
  /** Set with --cluster-secret-file: a broker must prove the secret before it may report. */
  readonly clusterAuth?: ClusterAuth;
}

export type ManagerSends = Welcome | ErrorMessage | UpstreamAnswer | Challenge;

/** The largest frame taken before the hello: nobody who has not said who they are makes the manager buffer more. */
const MAX_FRAME_BEFORE_HELLO = 64 * 1024;

const REFUSALS = {
  subscribe: "subscribe to a broker; the manager's welcome lists them",
  ack: "ack on the broker that serves the subscription; the manager does not carry streams",
  unsubscribe: "unsubscribe on the broker that serves the subscription; the manager does not carry streams",
} as const;

/**
 * One accepted connection. The hello decides what it is: a broker (`role: "peer"`) that sends reports, or a client
 * whose one-shot requests are forwarded to the leader and whose stream requests are refused, since streams go to
 * brokers directly. Anything else is BAD_MESSAGE and a close.
 */
export class ManagerSession {
  private mode: "new" | "proving" | "client" | "peer" = "new";
  /** While proving: the broker's handshake and its id, until its proof of the cluster secret arrives. */
  private proving: { handshake: AccepterHandshake; id: number } | undefined;
  private peerId = 0;
  /** The client's token from its hello, handed on with each request it forwards. */
  private userToken: string | undefined;
  private inFlight = 0;
  private readonly helloTimer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly host: ManagerHost,
    private readonly connection: Connection<ManagerInbound, ManagerSends>,
  ) {
    this.helloTimer = setTimeout(
      () => this.refuse(new MqraftError("TIMEOUT", `no hello within ${host.helloTimeoutMs} ms`)),
      host.helloTimeoutMs,
    );
    connection.limitIncomingFrames(MAX_FRAME_BEFORE_HELLO);
    connection.onMessage = (m) => this.receive(m);
    connection.onClose = () => clearTimeout(this.helloTimer);
  }

  private receive(m: ManagerInbound): void {
    if (this.mode === "proving") return this.proved(m);
    if (m.type === "hello") return this.hello(m);
    if (this.mode === "new") return this.refuse(new MqraftError("BAD_MESSAGE", `expected hello first, got ${m.type}`));
    switch (m.type) {
      case "error":
        this.host.log.debug(`${this.connection.remoteAddress} reported ${m.code}: ${m.message}`);
        return;
      case "report":
        if (this.mode !== "peer")
          return this.refuse(new MqraftError("BAD_MESSAGE", "report is sent by brokers, after a hello with role peer"));
        if (m.nodeId !== this.peerId) {
          return this.refuse(
            new MqraftError("BAD_MESSAGE", `report.nodeId ${m.nodeId} differs from the hello's id ${this.peerId}`),
          );
        }
        return this.host.report(m);
      case "proof":
        return this.refuse(new MqraftError("BAD_MESSAGE", "proof sent without a cluster-secret challenge"));
      case "publish":
      case "register":
      case "status":
      case "join":
      case "leave":
      case "transfer":
        if (this.mode === "peer")
          return this.refuse(new MqraftError("BAD_MESSAGE", `a broker's connection sends reports, not ${m.type}`));
        return this.forward(m);
      case "subscribe":
      case "ack":
      case "unsubscribe":
        if (this.mode === "peer")
          return this.refuse(new MqraftError("BAD_MESSAGE", `a broker's connection sends reports, not ${m.type}`));
        this.connection.send({ type: "error", id: m.id, code: "REFUSED", message: REFUSALS[m.type] });
        return;
      default: {
        const never: never = m;
        return this.refuse(new MqraftError("BAD_MESSAGE", `unexpected ${(never as { type: string }).type}`));
      }
    }
  }

  private hello(m: Hello): void {
    if (this.mode !== "new") return this.refuse(new MqraftError("BAD_MESSAGE", "hello sent twice"));
    clearTimeout(this.helloTimer);
    const refused = helloError(m);
    if (refused) return this.refuse(refused);
    if (m.role === "peer") {
      if (m.id === undefined)
        return this.refuse(new MqraftError("BAD_MESSAGE", "a peer hello must carry the broker's id"));
      const auth = this.host.clusterAuth;
      if (auth === undefined) return this.admitBroker(m.id);
      const handshake = AccepterHandshake.start(auth, m.nonce, nodeIdentity(m.id), MANAGER_IDENTITY);
      if (handshake instanceof MqraftError) return this.unauthenticated(auth, handshake);
      this.mode = "proving";
      this.proving = { handshake, id: m.id };
      this.connection.send(handshake.challenge());
      return;
    }
    this.mode = "client";
    this.userToken = m.token;
    this.connection.limitIncomingFrames(this.connection.maxFrameBytes);
    this.connection.send(this.host.welcome());
  }

  /** The message after the challenge: only the broker's valid proof lets it report. */
  private proved(m: ManagerInbound): void {
    const auth = this.host.clusterAuth;
    const proving = this.proving;
    assert(auth !== undefined && proving !== undefined, "a session proving the cluster secret has a handshake");
    const error = proving.handshake.verify(m);
    if (error !== undefined) return this.unauthenticated(auth, error);
    this.proving = undefined;
    this.admitBroker(proving.id);
  }

  private unauthenticated(auth: ClusterAuth, error: MqraftError): void {
    auth.refusals.refused(this.connection.remoteAddress, `Refused a broker's reports: ${error.message}`);
    this.refuse(error);
  }

  private admitBroker(id: number): void {
    this.mode = "peer";
    this.peerId = id;
    this.connection.limitIncomingFrames(this.connection.maxFrameBytes);
    this.host.log.debug(`Broker node ${id} reports from ${this.connection.remoteAddress}`);
    this.connection.send({ type: "welcome", version: PROTOCOL_VERSION });
  }

  /** Past the in-flight limit the session stops reading, so a client pipelining faster than the leader commits waits in TCP. */
  private forward(m: ForwardedRequest): void {
    this.inFlight++;
    if (this.inFlight >= this.host.maxInFlightPerClient) this.connection.pause();
    this.host.forward(
      m,
      (answer) => void this.connection.send(answer),
      () => {
        this.inFlight--;
        if (this.inFlight <= this.host.maxInFlightPerClient / 2 && this.connection.isOpen) this.connection.resume();
      },
      this.userToken,
    );
  }

  private refuse(error: MqraftError): void {
    this.connection.close(error);
  }
}
