import type { ClientAuth, Principal } from "../auth/client-auth.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { AccepterHandshake } from "../auth/peer-handshake.ts";
import { MANAGER_IDENTITY, nodeIdentity } from "../auth/peer-proof.ts";
import { assert } from "../util/assert.ts";
import { MqraftError } from "../util/errors.ts";
import { type Connection, helloError, type ServerInbound, type Welcome } from "../wire/index.ts";
import type { FoundingPeers } from "./founding-peers.ts";

type HelloMessage = Extract<ServerInbound, { type: "hello" }>;
type Stage = "new" | "proving" | "authenticating" | "client" | "peer";

/**
 * A connection that has not finished its hello (and, with a secret or tokens, its proof) by then is closed, unless the
 * broker sets its own (--hello-timeout).
 */
export const HELLO_DEADLINE_MS = 5_000;
/**
 * The largest frame taken before a connection is admitted: a hello, a challenge's proof. Someone who has not said
 * who they are cannot make the broker buffer megabytes (the frame limit proper, --max-frame, applies after).
 */
export const MAX_FRAME_BEFORE_ADMISSION = 64 * 1024;

/** What admitting a connection needs of the broker that accepted it. */
export interface AdmissionHost {
  /** This broker's founding configuration, if it is a founding member. */
  readonly founding: FoundingPeers;
  /** This broker's id, which its cluster-secret proofs are bound to. */
  readonly nodeId: number;
  /** Set with --cluster-secret-file: peers and managers must prove the secret before anything else. */
  readonly clusterAuth?: ClusterAuth;
  /** Client tokens and permissions (docs/security.md); absent, every client may do everything. */
  readonly clientAuth?: ClientAuth;
  welcome(): Welcome;
  /** How long a connection may take to finish its hello (--hello-timeout); HELLO_DEADLINE_MS when absent. */
  readonly helloTimeoutMs?: number;
  /** `commands`: the replicated-command version the peer applies, as its hello said (absent: said nothing). */
  adoptPeer(id: number, connection: Connection<ServerInbound, unknown>, lane?: "bulk", commands?: number): void;
}

/**
 * The first messages of an accepted connection: the hello decides whether it is a peer broker (handed to the peer
 * network) or a client; with a cluster secret, peers and managers first answer a challenge. Anything else before
 * the hello closes the connection with the reason.
 */
export class HelloAdmission {
  private current: Stage = "new";
  private admittedAs: Principal | undefined;
  /** While proving: the hello waiting for the dialer's proof of the cluster secret. */
  private proving: { handshake: AccepterHandshake; hello: HelloMessage } | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: AdmissionHost,
    private readonly connection: Connection<ServerInbound, unknown>,
  ) {
    connection.limitIncomingFrames(MAX_FRAME_BEFORE_ADMISSION);
    const deadlineMs = host.helloTimeoutMs ?? HELLO_DEADLINE_MS;
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      this.refuse(new MqraftError("TIMEOUT", `no hello (with its proof or token checked) within ${deadlineMs} ms`));
    }, deadlineMs);
  }

  /** "client" and "peer" are admitted; until then every message goes to `receive`. */
  get stage(): Stage {
    return this.current;
  }

  /** Who an admitted client is (undefined without client auth, or before admission). */
  get principal(): Principal | undefined {
    return this.admittedAs;
  }

  /** The connection ended: an admitted client no longer needs watching. */
  closed(): void {
    this.stopDeadline();
    this.host.clientAuth?.left(this.connection);
  }

  private stopDeadline(): void {
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Admitted: the frame limit proper from now on. */
  private admitted(stage: "client" | "peer"): void {
    this.stopDeadline();
    this.current = stage;
    this.connection.limitIncomingFrames(this.connection.maxFrameBytes);
  }

  receive(m: ServerInbound): void {
    if (this.current === "proving") return this.proved(m);
    if (m.type === "hello") return this.hello(m);
    assert(this.current === "new", "an admitted connection's messages go to its session");
    this.refuse(new MqraftError("BAD_MESSAGE", `expected hello first, got ${m.type}`));
  }

  private hello(m: HelloMessage): void {
    if (this.current !== "new") return this.refuse(new MqraftError("BAD_MESSAGE", "hello sent twice"));
    const refused = helloError(m);
    if (refused) return this.refuse(refused);
    const auth = this.host.clusterAuth;
    if (auth !== undefined && (m.role === "peer" || m.role === "manager")) {
      if (m.role === "peer" && m.id === undefined)
        return this.refuse(new MqraftError("BAD_MESSAGE", "a peer hello must carry the broker's id"));
      const dialer = m.role === "peer" ? nodeIdentity(m.id as number) : MANAGER_IDENTITY;
      const handshake = AccepterHandshake.start(auth, m.nonce, dialer, nodeIdentity(this.host.nodeId));
      if (handshake instanceof MqraftError) return this.unauthenticated(auth, handshake);
      this.current = "proving";
      this.proving = { handshake, hello: m };
      this.connection.send(handshake.challenge());
      return;
    }
    this.admit(m);
  }

  /** The message after the challenge: only the dialer's valid proof lets the hello through. */
  private proved(m: ServerInbound): void {
    const { clusterAuth } = this.host;
    const proving = this.proving;
    assert(proving !== undefined && clusterAuth !== undefined, "a session proving the cluster secret has a handshake");
    if (m.type === "error") {
      // the dialer found this node's proof wrong: say what it said, as nobody else will
      clusterAuth.refusals.refused(this.connection.remoteAddress, `A node refused this one's proof: ${m.message}`);
      return this.connection.close();
    }
    const error = proving.handshake.verify(m);
    if (error !== undefined) return this.unauthenticated(clusterAuth, error);
    this.proving = undefined;
    this.current = "new";
    this.admit(proving.hello);
  }

  private unauthenticated(auth: ClusterAuth, error: MqraftError): void {
    auth.refusals.refused(this.connection.remoteAddress, `Refused a node: ${error.message}`);
    this.refuse(error);
  }

  /** A hello that may go on (authenticated when the cluster has a secret): a peer link, or a client. */
  private admit(m: HelloMessage): void {
    if (m.role === "peer") {
      if (m.id === undefined)
        return this.refuse(new MqraftError("BAD_MESSAGE", "a peer hello must carry the broker's id"));
      const own = this.host.founding;
      if (m.founding !== undefined && own !== undefined && m.founding !== own) {
        return this.refuse(
          new MqraftError(
            "REFUSED",
            `node ${m.id} was founded with --peers ${m.founding}, this broker with --peers ${own}: every founding broker needs the same --peers`,
          ),
        );
      }
      this.admitted("peer");
      this.host.adoptPeer(m.id, this.connection, m.lane, m.commands);
      return;
    }
    const auth = this.host.clientAuth;
    if (auth === undefined) {
      this.admitted("client");
      this.connection.send(this.host.welcome());
      return;
    }
    // checking a token takes milliseconds off the event loop: nothing the client sent after its hello is read meanwhile
    this.current = "authenticating";
    this.connection.pause();
    auth.authenticate(m.token).then(
      (principal) => {
        if (!this.connection.isOpen) return;
        this.admittedAs = principal;
        this.admitted("client");
        auth.admitted(this.connection, principal, (why) => this.refuse(why));
        this.connection.send(this.host.welcome());
        this.connection.resume();
      },
      (e: unknown) => this.refuse(e instanceof MqraftError ? e : new MqraftError("INTERNAL", String(e))),
    );
  }

  private refuse(error: MqraftError): void {
    this.connection.close(error);
  }
}
