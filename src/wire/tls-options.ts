/**
 * TLS settings of the wire layer (docs/security.md), as PEM text. A server with them takes TLS only on its port (no
 * clear-text fallback); with `ca` it also asks every client for a certificate signed by it (mutual TLS). A dialer with
 * them verifies the server's certificate against `ca` (else the system's roots) and, with `cert` and `key`, shows
 * its own.
 */
export interface ServerTls {
  cert: string;
  key: string;
  ca?: string;
}

export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** TLS and clear text met: a handshake that failed, or TLS bytes where frames were expected. */
export class TlsHandshakeError extends Error {}

let processDialTls: ClientTls | undefined;

/**
 * The TLS every `connect()` of this process uses unless its options say otherwise: a broker or manager sets it once
 * from its flags (and again on SIGHUP), so that each of its links (peers, reports, read index, forwarding) dials
 * the same way.
 */
export function setDialTls(tls: ClientTls | undefined): void {
  processDialTls = tls;
}

export function dialTls(): ClientTls | undefined {
  return processDialTls;
}

/** Bun's `tls` option for a listener. */
export function bunServerTls(tls: ServerTls): {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  const mutual = tls.ca !== undefined;
  return {
    cert: tls.cert,
    key: tls.key,
    ...(mutual ? { ca: tls.ca } : {}),
    requestCert: mutual,
    rejectUnauthorized: mutual,
  };
}
