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

/** What ClusterAuth holds for the handshake: the current secret and, during a rotation, the previous one. */
type Secrets = { secret: Uint8Array; previous?: Uint8Array };
const only = (secret: Uint8Array): Secrets => ({ secret });

describe("handshake", () => {
  const start = (secrets: Secrets, dialer: DialerHandshake): AccepterHandshake => {
    const accepter = AccepterHandshake.start(secrets, dialer.nonce, "node:2", "node:1");
    if (accepter instanceof MqraftError) throw accepter;
    return accepter;
  };

  test("both sides with the secret: each verifies the other", () => {
    const dialer = new DialerHandshake(only(SECRET), "node:2", "node:1");
    const accepter = start(only(SECRET), dialer);
    const proof = dialer.answer(accepter.challenge());
    if (proof instanceof MqraftError) throw proof;
    expect(accepter.verify(proof)).toBeUndefined();
  });

  test("an accepter with another secret is refused by the dialer, which then sends no proof", () => {
    const dialer = new DialerHandshake(only(SECRET), "node:2", "node:1");
    const answer = dialer.answer(start(only(OTHER), dialer).challenge());
    expect(answer).toBeInstanceOf(MqraftError);
    expect((answer as MqraftError).code).toBe("UNAUTHENTICATED");
  });

  test("a dialer with another secret is refused by the accepter", () => {
    const accepter = start(only(SECRET), new DialerHandshake(only(OTHER), "node:2", "node:1"));
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
    const dialer = new DialerHandshake(only(SECRET), "node:2", "node:1");
    const accepter = start(only(SECRET), dialer);
    const reflected = { type: "proof", proof: accepter.challenge().proof };
    expect(accepter.verify(reflected)?.code).toBe("UNAUTHENTICATED");
  });

  test("a hello without a nonce, or anything but a proof after the challenge, is UNAUTHENTICATED", () => {
    const noNonce = AccepterHandshake.start(only(SECRET), undefined, "node:2", "node:1");
    expect(noNonce instanceof MqraftError && noNonce.code).toBe("UNAUTHENTICATED");
    const accepter = start(only(SECRET), new DialerHandshake(only(SECRET), "node:2"));
    expect(accepter.verify({ type: "vote" })?.code).toBe("UNAUTHENTICATED");
  });

  test("the dialer refuses an answer from another node than the one it dialed", () => {
    const dialer = new DialerHandshake(only(SECRET), "node:2", "node:3");
    const answer = dialer.answer(start(only(SECRET), dialer).challenge());
    expect(answer instanceof MqraftError && answer.message).toContain("dialed node:3, but node:1 answered");
  });
});

describe("rotating the secret: nodes on the old secret, on both, and on the new one", () => {
  const OLD = SECRET;
  const NEW = new TextEncoder().encode("the secret that replaces it");
  const states: Record<string, Secrets> = {
    old: { secret: OLD },
    both: { secret: NEW, previous: OLD },
    new: { secret: NEW },
  };
  /** Whether a link dialed by `dialer` to `accepter` opens: each side verified the other's proof. */
  const opens = (dialer: Secrets, accepter: Secrets): boolean => {
    const d = new DialerHandshake(dialer, "node:2", "node:1");
    const a = AccepterHandshake.start(accepter, d.nonce, "node:2", "node:1");
    if (a instanceof MqraftError) throw a;
    const proof = d.answer(a.challenge());
    return !(proof instanceof MqraftError) && a.verify(proof) === undefined;
  };

  test("every pair a rolling rotation brings together links, both ways; old and new alone do not", () => {
    const links: Record<string, boolean> = {};
    for (const dialer of Object.keys(states))
      for (const accepter of Object.keys(states))
        links[`${dialer} -> ${accepter}`] = opens(states[dialer] as Secrets, states[accepter] as Secrets);
    expect(links).toEqual({
      "old -> old": true,
      "old -> both": true,
      "old -> new": false,
      "both -> old": true,
      "both -> both": true,
      "both -> new": true,
      "new -> old": false,
      "new -> both": true,
      "new -> new": true,
    });
  });

  test("a node on both secrets proves the old one to a node that holds only the old one, never a mix", () => {
    const d = new DialerHandshake(states.both as Secrets, "node:2", "node:1");
    const a = AccepterHandshake.start(states.old as Secrets, d.nonce, "node:2", "node:1");
    if (a instanceof MqraftError) throw a;
    const challenge = a.challenge();
    expect(challenge.previousProof).toBeUndefined();
    const proof = d.answer(challenge);
    if (proof instanceof MqraftError) throw proof;
    const context = {
      dialerNonce: d.nonce,
      accepterNonce: challenge.nonce,
      dialerIdentity: "node:2",
      accepterIdentity: "node:1",
    };
    expect(proofHolds(OLD, "dialer", context, proof.proof)).toBe(true);
    expect(proofHolds(NEW, "dialer", context, proof.proof)).toBe(false);
  });

  test("a previous proof under a secret the dialer lacks does not help an accepter with a wrong current one", () => {
    const intruder: Secrets = { secret: OTHER, previous: new TextEncoder().encode("yet another secret") };
    expect(opens(states.new as Secrets, intruder)).toBe(false);
    expect(opens(intruder, states.both as Secrets)).toBe(false);
  });
});
