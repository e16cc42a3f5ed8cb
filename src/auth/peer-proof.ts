import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Bytes of a handshake nonce: fresh per connection and side, so a recorded proof never answers a later challenge. */
export const NONCE_BYTES = 32;

/** Which side of a link a proof speaks for: part of what is signed, so a proof sent one way cannot be sent back. */
export type ProofDirection = "dialer" | "accepter";

/** What both sides of one handshake know; each proof binds all of it. */
export interface ProofContext {
  dialerNonce: string;
  accepterNonce: string;
  /** "node:N" for a broker, "manager" for a manager. */
  dialerIdentity: string;
  accepterIdentity: string;
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString("hex");
}

/**
 * HMAC-SHA256 of the direction, both nonces and both identities under the cluster secret, as hex. The fields are
 * joined with a NUL, which none of them can hold, so no two different contexts sign the same bytes.
 */
export function peerProof(secret: Uint8Array, direction: ProofDirection, c: ProofContext): string {
  return createHmac("sha256", secret)
    .update(
      ["mqraft-peer-proof-v1", direction, c.dialerNonce, c.accepterNonce, c.dialerIdentity, c.accepterIdentity].join(
        "\0",
      ),
    )
    .digest("hex");
}

/** Whether `proof` is the one `direction` owes in this context; compared in constant time. */
export function proofHolds(secret: Uint8Array, direction: ProofDirection, c: ProofContext, proof: string): boolean {
  const expected = Buffer.from(peerProof(secret, direction, c), "hex");
  const given = Buffer.from(proof, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const nodeIdentity = (id: number): string => `node:${id}`;
export const MANAGER_IDENTITY = "manager";
