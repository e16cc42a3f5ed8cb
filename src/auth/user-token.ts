import { createHash, randomBytes } from "node:crypto";

/**
 * Client tokens: `mqraft:<user>:<secret>`, the secret 32 random bytes in base64url. The user's name in the token
 * lets a broker check it against that one user's hash instead of trying every hash it holds.
 *
 * Only a `Bun.password` hash (argon2id) of a token is stored. The secret is 256 random bits, so no guessing attack
 * needs the hash to be slow; a moderate cost keeps each check to milliseconds and its memory to 19 MiB
 * (OWASP's lowest argon2id setting), and the broker checks a token once per connection, never per message.
 */
const PREFIX = "mqraft:";
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A hello's token longer than this is not one of ours; refused without hashing. */
export const MAX_TOKEN_LENGTH = 1024;

const HASH_OPTIONS = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;

export function newToken(user: string): string {
  return `${PREFIX}${user}:${randomBytes(SECRET_BYTES).toString("base64url")}`;
}

/** The user a token names, or undefined when it is not shaped like a user token. */
export function tokenUser(token: string): string | undefined {
  if (!token.startsWith(PREFIX) || token.length > MAX_TOKEN_LENGTH) return undefined;
  const colon = token.lastIndexOf(":");
  if (colon <= PREFIX.length) return undefined;
  return SECRET_PATTERN.test(token.slice(colon + 1)) ? token.slice(PREFIX.length, colon) : undefined;
}

export function hashToken(token: string): Promise<string> {
  return Bun.password.hash(token, HASH_OPTIONS);
}

export function verifyToken(token: string, hash: string): Promise<boolean> {
  return Bun.password.verify(token, hash).catch(() => false);
}

/** A digest to remember a token by without keeping the token. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
