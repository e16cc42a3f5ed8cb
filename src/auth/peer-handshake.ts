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

/** What a node holds when started with --cluster-secret-file (and --previous-cluster-secret-file). */
export interface ClusterAuth {
  readonly secret: Uint8Array;
  /**
   * The secret being rotated out: proved beside `secret` and accepted from the other side, so that nodes still on
   * it and nodes already on the new one open links to each other while a rolling restart changes the secret.
   */
  readonly previous?: Uint8Array;
  readonly refusals: RefusalLog;
}

/** The secrets a node proves and accepts, the current one first. */
type Secrets = Pick<ClusterAuth, "secret" | "previous">;
const secretsOf = (s: Secrets): Uint8Array[] => (s.previous === undefined ? [s.secret] : [s.secret, s.previous]);

const unauthenticated = (why: string): MqraftError =>
  new MqraftError("UNAUTHENTICATED", `${why}: this cluster needs the same --cluster-secret-file on every node`);

/** The accepting side of one handshake: from the dialer's hello to its verified proof. */
export class AccepterHandshake {
  private readonly context: ProofContext;

  private constructor(
    private readonly secrets: Secrets,
    context: ProofContext,
  ) {
    this.context = context;
  }

  /** Starts the handshake for a hello carrying `dialerNonce`, or refuses a hello without one. */
  static start(
    secrets: Secrets,
    dialerNonce: string | undefined,
    dialerIdentity: string,
    accepterIdentity: string,
  ): AccepterHandshake | MqraftError {
    if (dialerNonce === undefined) return unauthenticated(`${dialerIdentity} sent no cluster-secret challenge`);
    return new AccepterHandshake(secrets, {
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
      proof: peerProof(this.secrets.secret, "accepter", this.context),
      ...(this.secrets.previous === undefined
        ? {}
        : { previousProof: peerProof(this.secrets.previous, "accepter", this.context) }),
    };
  }

  /** Undefined when the dialer's proof holds, else the error to close the connection with. */
  verify(message: { type: string; proof?: string }): MqraftError | undefined {
    if (message.type !== "proof" || message.proof === undefined)
      return unauthenticated(`${this.context.dialerIdentity} sent ${message.type} before proving the cluster secret`);
    const { proof } = message;
    if (!secretsOf(this.secrets).some((secret) => proofHolds(secret, "dialer", this.context, proof)))
      return unauthenticated(`${this.context.dialerIdentity} does not hold the cluster secret`);
    return undefined;
  }
}

/** The dialing side of one handshake: its nonce goes in the hello; the challenge is answered with a proof. */
export class DialerHandshake {
  readonly nonce = newNonce();

  constructor(
    private readonly secrets: Secrets,
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
    // the first of this node's secrets that one of the accepter's proofs holds under, the current ones first: a
    // node on the new secret and a node still on the old one meet on the old one while either holds both
    const theirs = message.previousProof === undefined ? [message.proof] : [message.proof, message.previousProof];
    const shared = secretsOf(this.secrets).find((secret) =>
      theirs.some((proof) => proofHolds(secret, "accepter", context, proof)),
    );
    if (shared === undefined) return unauthenticated(`${message.identity} does not hold the cluster secret`);
    return { type: "proof", proof: peerProof(shared, "dialer", context) };
  }
}
