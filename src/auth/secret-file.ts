import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { MqraftError } from "../util/errors.ts";

/** Bytes `mqraft up` writes into a new secret file. */
export const GENERATED_SECRET_BYTES = 32;
/** A secret file larger than this is not a secret file (someone pointed the flag at the wrong file). */
const MAX_SECRET_BYTES = 4096;

/**
 * The cluster secret in `path`, refused with BAD_CONFIG naming the file when it is missing, empty, too large, or
 * readable or writable by group or others (a secret others can read authenticates nobody). Trailing line ends are
 * dropped, so a secret written with `echo` matches one written without.
 */
export function readSecretFile(path: string, what = "cluster secret file"): Uint8Array {
  let mode: number;
  let size: number;
  try {
    ({ mode, size } = statSync(path));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new MqraftError(
      "BAD_CONFIG",
      `${what} ${path}: ${code === "ENOENT" ? "no such file" : String((e as Error).message)}`,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new MqraftError(
      "BAD_CONFIG",
      `${what} ${path} is accessible to others (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`,
    );
  if (size > MAX_SECRET_BYTES)
    throw new MqraftError("BAD_CONFIG", `${what} ${path} holds ${size} bytes, over ${MAX_SECRET_BYTES}`);
  let bytes = new Uint8Array(readFileSync(path));
  while (bytes.length > 0 && isLineEnd(bytes[bytes.length - 1])) bytes = bytes.subarray(0, bytes.length - 1);
  if (bytes.length === 0) throw new MqraftError("BAD_CONFIG", `${what} ${path} is empty`);
  return bytes;
}

/**
 * Writes a new random secret to `path` with mode 0600; refuses to overwrite one. Its last byte is never a line end:
 * readSecretFile drops those, and one time in 128 the secret would have been read back a byte short.
 */
export function writeNewSecretFile(path: string): void {
  let secret = randomBytes(GENERATED_SECRET_BYTES);
  while (isLineEnd(secret[secret.length - 1])) secret = randomBytes(GENERATED_SECRET_BYTES);
  writeFileSync(path, secret, { mode: 0o600, flag: "wx" });
}

function isLineEnd(byte: number | undefined): boolean {
  return byte === 0x0a || byte === 0x0d;
}
