import { describe, expect, test } from "bun:test";
import { AccepterHandshake, DialerHandshake } from "../../src/auth/peer-handshake.ts";
import { newNonce, type ProofContext, peerProof, proofHolds } from "../../src/auth/peer-proof.ts";
import { MqraftError } from "../../src/util/errors.ts";

const SECRET = new TextEncoder().encode("the cluster secret");
const OTHER = new TextEncoder().encode("another secret");
const context = (): ProofContext => ({
  dialerNonce: newNonce(),
  accepterNonce: newNonce(),
  dialerIdentity: "node:2",
  accepterIdentity: "node:1",
});

describe("peer proof", () => {
  test("holds for the same secret, direction and context", () => {
    const c = context();
    expect(proofHolds(SECRET, "dialer", c, peerProof(SECRET, "dialer", c))).toBe(true);
  });

  test("a proof made with another secret is refused", () => {
    const c = context();
    expect(proofHolds(SECRET, "dialer", c, peerProof(OTHER, "dialer", c))).toBe(false);
  });

  test("swapped nonces are refused", () => {
    const c = context();
    const swapped = { ...c, dialerNonce: c.accepterNonce, accepterNonce: c.dialerNonce };
    expect(proofHolds(SECRET, "dialer", c, peerProof(SECRET, "dialer", swapped))).toBe(false);
  });

  test("a proof reflected back (the other direction's) is refused", () => {
    const c = context();
    expect(proofHolds(SECRET, "dialer", c, peerProof(SECRET, "accepter", c))).toBe(false);
    expect(proofHolds(SECRET, "accepter", c, peerProof(SECRET, "dialer", c))).toBe(false);
  });

  test("a proof replayed into another handshake (a fresh nonce) is refused", () => {
    const recorded = context();
    const later = { ...recorded, accepterNonce: newNonce() };
    expect(proofHolds(SECRET, "dialer", later, peerProof(SECRET, "dialer", recorded))).toBe(false);
  });

  test("a proof for another identity is refused", () => {
    const c = context();
    expect(proofHolds(SECRET, "dialer", c, peerProof(SECRET, "dialer", { ...c, dialerIdentity: "node:3" }))).toBe(
      false,
    );
  });

  test("a proof of the wrong length is refused without throwing", () => {
    expect(proofHolds(SECRET, "dialer", context(), "abcd")).toBe(false);
  });
});

describe("handshake", () => {
  const start = (secret: Uint8Array, dialer: DialerHandshake): AccepterHandshake => {
    const accepter = AccepterHandshake.start(secret, dialer.nonce, "node:2", "node:1");
    if (accepter instanceof MqraftError) throw accepter;
    return accepter;
  };

  test("both sides with the secret: each verifies the other", () => {
    const dialer = new DialerHandshake(SECRET, "node:2", "node:1");
    const accepter = start(SECRET, dialer);
    const proof = dialer.answer(accepter.challenge());
    if (proof instanceof MqraftError) throw proof;
    expect(accepter.verify(proof)).toBeUndefined();
  });

  test("an accepter with another secret is refused by the dialer, which then sends no proof", () => {
    const dialer = new DialerHandshake(SECRET, "node:2", "node:1");
    const answer = dialer.answer(start(OTHER, dialer).challenge());
    expect(answer).toBeInstanceOf(MqraftError);
    expect((answer as MqraftError).code).toBe("UNAUTHENTICATED");
  });

  test("a dialer with another secret is refused by the accepter", () => {
    const accepter = start(SECRET, new DialerHandshake(OTHER, "node:2", "node:1"));
    const challenge = accepter.challenge();
    // the dialer cannot verify the challenge; an impostor sends a proof made with what it holds anyway
    const forged = peerProof(OTHER, "dialer", {
      dialerNonce: "0".repeat(64),
      accepterNonce: challenge.nonce,
      dialerIdentity: "node:2",
      accepterIdentity: "node:1",
    });
    expect(accepter.verify({ type: "proof", proof: forged })?.code).toBe("UNAUTHENTICATED");
  });

  test("the accepter's own proof sent back as the dialer's is refused", () => {
    const dialer = new DialerHandshake(SECRET, "node:2", "node:1");
    const accepter = start(SECRET, dialer);
    const reflected = { type: "proof", proof: accepter.challenge().proof };
    expect(accepter.verify(reflected)?.code).toBe("UNAUTHENTICATED");
  });

  test("a hello without a nonce, or anything but a proof after the challenge, is UNAUTHENTICATED", () => {
    const noNonce = AccepterHandshake.start(SECRET, undefined, "node:2", "node:1");
    expect(noNonce instanceof MqraftError && noNonce.code).toBe("UNAUTHENTICATED");
    const accepter = start(SECRET, new DialerHandshake(SECRET, "node:2"));
    expect(accepter.verify({ type: "vote" })?.code).toBe("UNAUTHENTICATED");
  });

  test("the dialer refuses an answer from another node than the one it dialed", () => {
    const dialer = new DialerHandshake(SECRET, "node:2", "node:3");
    const answer = dialer.answer(start(SECRET, dialer).challenge());
    expect(answer instanceof MqraftError && answer.message).toContain("dialed node:3, but node:1 answered");
  });
});
