import { readFileSync } from "node:fs";
import { MqraftError } from "../util/errors.ts";
import type { ClientTls, ServerTls } from "../wire/index.ts";

/** The TLS flags of a broker or manager (docs/security.md): file names, as given. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/** Files larger than this are not PEM certificates or keys (someone named the wrong file). */
const MAX_PEM_BYTES = 1 << 20;

function readPem(path: string, flag: string, marker: RegExp): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new MqraftError(
      "BAD_CONFIG",
      `${flag} ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
  if (text.length > MAX_PEM_BYTES || !marker.test(text))
    throw new MqraftError("BAD_CONFIG", `${flag} ${path}: expected a PEM file (${marker.source.replace(/\\/g, "")})`);
  return text;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Said at start by a node with a certificate and no CA: its dials trust only the system's CAs. */
export function tlsWithoutCaWarning(files: TlsFiles): string | undefined {
  if (files.cert === undefined || files.ca !== undefined) return undefined;
  return "--tls-cert without --tls-ca: the nodes this one dials must show certificates the system's CAs trust (with a private CA, give --tls-ca), and clients need no certificate";
}

/**
 * What a server listens with and dials with, read from the files now (and again on SIGHUP). --tls-cert and
 * --tls-key go together; --tls-ca alone makes this node verify the servers it dials without TLS on its own port.
 * Throws BAD_CONFIG naming the flag and the file.
 */
export function loadTls(files: TlsFiles): { server?: ServerTls; client?: ClientTls } {
  if ((files.cert === undefined) !== (files.key === undefined))
    throw new MqraftError("BAD_CONFIG", "--tls-cert and --tls-key go together: give both, or neither");
  const ca = files.ca === undefined ? undefined : readPem(files.ca, "--tls-ca", CERTIFICATE);
  if (files.cert === undefined || files.key === undefined) return ca === undefined ? {} : { client: { ca } };
  const cert = readPem(files.cert, "--tls-cert", CERTIFICATE);
  const key = readPem(files.key, "--tls-key", PRIVATE_KEY);
  return {
    server: { cert, key, ...(ca === undefined ? {} : { ca }) },
    // with a CA, peers check each other both ways: this node shows its own certificate when it dials
    client: ca === undefined ? { cert, key } : { ca, cert, key },
  };
}
