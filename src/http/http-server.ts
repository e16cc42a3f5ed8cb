import { MqraftError } from "../util/errors.ts";

export type Route = (request: Request) => Response | Promise<Response>;

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  stop(): void;
}

export interface HttpOptions {
  host: string;
  /** 0 picks a free port (read it back from `port`). */
  port: number;
  /** Path -> handler; GET and HEAD only. */
  routes: Readonly<Record<string, Route>>;
  /** Runs once the server has stopped. */
  onStop?: () => void;
}

/**
 * The observability port of a broker or manager (Bun.serve). Read-only: anything but GET or HEAD is
 * refused, an unknown path is a 404, and a handler that throws answers 500 with the reason while
 * the process goes on serving.
 */
export function serveHttp(options: HttpOptions): HttpServer {
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
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
      `cannot serve HTTP on ${options.host}:${options.port}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const port = server.port as number;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () => {
      void server.stop(true);
      options.onStop?.();
    },
  };
}

export function text(status: number, body: string, contentType = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": contentType } });
}

export function json(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } });
}
