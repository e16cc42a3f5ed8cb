import { MqraftError } from "../util/errors.ts";
import type { Challenge, ClientInbound, Proof } from "../wire/index.ts";
import { newNonce, type ProofContext, peerProof, proofHolds } from "./peer-proof.ts";
import type { RefusalLog } from "./refusal-log.ts";

/**
 * The cluster-secret challenge on a link between nodes (docs/security.md), in three messages:
 *   dialer → accepter: hello with the dialer's nonce
 *   accepter → dialer: challenge with its own nonce, its identity and its proof
 *   dialer → accepter: proof, sent only after the dialer verified the accepter's
 * The dialer proves last, so nobody learns a dialer's proof without first proving the secret itself.
 */

/** What a node holds when started with --cluster-secret-file. */
export interface ClusterAuth {
  readonly secret: Uint8Array;
  readonly refusals: RefusalLog;
}

const unauthenticated = (why: string): MqraftError =>
  new MqraftError("UNAUTHENTICATED", `${why}: this cluster needs the same --cluster-secret-file on every node`);

/** The accepting side of one handshake: from the dialer's hello to its verified proof. */
export class AccepterHandshake {
  private readonly context: ProofContext;

  private constructor(
    private readonly secret: Uint8Array,
    context: ProofContext,
  ) {
    this.context = context;
  }

  /** Starts the handshake for a hello carrying `dialerNonce`, or refuses a hello without one. */
  static start(
    secret: Uint8Array,
    dialerNonce: string | undefined,
    dialerIdentity: string,
    accepterIdentity: string,
  ): AccepterHandshake | MqraftError {
    if (dialerNonce === undefined) return unauthenticated(`${dialerIdentity} sent no cluster-secret challenge`);
    return new AccepterHandshake(secret, {
      dialerNonce,
      accepterNonce: newNonce(),
      dialerIdentity,
      accepterIdentity,
    });
  }

  challenge(): Challenge {
    return {
      type: "challenge",
      nonce: this.context.accepterNonce,
      identity: this.context.accepterIdentity,
      proof: peerProof(this.secret, "accepter", this.context),
    };
  }

  /** Undefined when the dialer's proof holds, else the error to close the connection with. */
  verify(message: { type: string; proof?: string }): MqraftError | undefined {
    if (message.type !== "proof" || message.proof === undefined)
      return unauthenticated(`${this.context.dialerIdentity} sent ${message.type} before proving the cluster secret`);
    if (!proofHolds(this.secret, "dialer", this.context, message.proof))
      return unauthenticated(`${this.context.dialerIdentity} does not hold the cluster secret`);
    return undefined;
  }
}

/** The dialing side of one handshake: its nonce goes in the hello; the challenge is answered with a proof. */
export class DialerHandshake {
  readonly nonce = newNonce();

  constructor(
    private readonly secret: Uint8Array,
    private readonly dialerIdentity: string,
    /** Whom the dialer means to reach, when it knows (a broker dialing a peer by id). */
    private readonly expectedIdentity?: string,
  ) {}

  /** The proof to send, or why the other side is not trusted (then nothing is sent but a close). */
  answer(message: ClientInbound): Proof | MqraftError {
    if (message.type !== "challenge")
      return unauthenticated(`the other side answered ${message.type} instead of a cluster-secret challenge`);
    if (this.expectedIdentity !== undefined && message.identity !== this.expectedIdentity)
      return unauthenticated(`dialed ${this.expectedIdentity}, but ${message.identity} answered`);
    const context: ProofContext = {
      dialerNonce: this.nonce,
      accepterNonce: message.nonce,
      dialerIdentity: this.dialerIdentity,
      accepterIdentity: message.identity,
    };
    if (!proofHolds(this.secret, "accepter", context, message.proof))
      return unauthenticated(`${message.identity} does not hold the cluster secret`);
    return { type: "proof", proof: peerProof(this.secret, "dialer", context) };
  }
}
