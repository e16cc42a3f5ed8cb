import { MqraftError } from "../util/errors.ts";

export type Route = (request: Request) => Response | Promise<Response>;

/**
 * The node's own TLS files as PEM text (the protocol port's, src/wire/tls-options.ts has the same shape): with a CA,
 * a client must show a certificate it signed.
 */
export interface HttpTls {
  cert: string;
  key: string;
  ca?: string;
}

function bunTls({ cert, key, ca }: HttpTls) {
  return ca === undefined ? { cert, key } : { cert, key, ca, requestCert: true, rejectUnauthorized: true };
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  stop(): void;
  /**
   * New TLS files (SIGHUP): the port is bound again with them, so new connections get them while open ones (a
   * dashboard's event stream) go on. Throws UNAVAILABLE if the port cannot be bound again.
   */
  reloadTls(tls: HttpTls): void;
}

export interface HttpOptions {
  host: string;
  /** 0 picks a free port (read it back from `port`). */
  port: number;
  /** Path -> handler; GET and HEAD only. */
  routes: Readonly<Record<string, Route>>;
  /** Runs once the server has stopped. */
  onStop?: () => void;
  /**
   * HTTPS only, with the node's own --tls-cert and --tls-key; with a CA, a client must show a certificate it
   * signed, as on the node's protocol port (docs/security.md).
   */
  tls?: HttpTls;
}

/**
 * The observability port of a broker or manager (Bun.serve). Read-only: anything but GET or HEAD is
 * refused, an unknown path is a 404, and a handler that throws answers 500 with the reason while
 * the process goes on serving.
 */
export function serveHttp(options: HttpOptions): HttpServer {
  let server = bind(options, options.port, options.tls);
  const port = server.port as number;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls === undefined ? "http" : "https"}://${host}:${port}`,
    port,
    stop: () => {
      void server.stop(true);
      options.onStop?.();
    },
    reloadTls: (tls) => {
      // stop(false) stops accepting and lets open requests finish
      void server.stop(false);
      server = bind(options, port, tls);
    },
  };
}

function bind(options: HttpOptions, port: number, tls: HttpTls | undefined): ReturnType<typeof Bun.serve> {
  try {
    return Bun.serve({
      hostname: options.host,
      port,
      ...(tls === undefined ? {} : { tls: bunTls(tls) }),
      // An SSE stream stays open; Bun's default 10 s idle timeout would cut it between updates.
      idleTimeout: 0,
      async fetch(request) {
        if (request.method !== "GET" && request.method !== "HEAD")
          return text(405, `${request.method} is not allowed: this port is read-only\n`);
        const route = options.routes[new URL(request.url).pathname];
        if (route === undefined) return text(404, `not found; try ${Object.keys(options.routes).join(", ")}\n`);
        try {
          return await route(request);
        } catch (e) {
          return text(500, `${e instanceof Error ? e.message : String(e)}\n`);
        }
      },
    });
  } catch (e) {
    throw new MqraftError(
      "UNAVAILABLE",
      `cannot serve HTTP on ${options.host}:${port}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

export function text(status: number, body: string, contentType = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": contentType } });
}

export function json(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } });
}
