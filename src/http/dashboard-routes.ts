import { DASHBOARD_PAGE } from "./dashboard-page.ts";
import { json, type Route, text } from "./http-server.ts";

/** The dashboard's data: the latest picture, and a way to hear of each new one (at most one a second). */
export interface DashboardFeed {
  current(): unknown;
  /** Calls `listener` with each new picture until the returned function is called. */
  subscribe(listener: (state: unknown) => void): () => void;
}

/** Browsers following the stream at once; more are answered 503 (each holds a response open). */
const MAX_STREAMS = 64;

/**
 * The manager's live dashboard: the page (one HTML file with its script and styles inline, so nothing is fetched from
 * outside the cluster), the current picture as JSON, and server-sent events carrying each new picture.
 */
export function dashboardRoutes(feed: DashboardFeed): Record<string, Route> {
  let streams = 0;
  const encoder = new TextEncoder();
  return {
    "/": () => text(200, DASHBOARD_PAGE, "text/html; charset=utf-8"),
    "/state.json": () => json(200, feed.current() ?? null),
    "/stream": (request) => {
      if (streams >= MAX_STREAMS) return text(503, `${MAX_STREAMS} dashboards are following already\n`);
      streams++;
      let stop = (): void => {};
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const send = (state: unknown) => {
            // a reader that has not taken the last picture gets the next one instead: nothing piles up
            if ((controller.desiredSize ?? 1) <= 0) return;
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(state)}\n\n`));
          };
          const first = feed.current();
          if (first !== undefined) send(first);
          const unsubscribe = feed.subscribe(send);
          stop = () => {
            stop = () => {};
            streams--;
            unsubscribe();
          };
          request.signal.addEventListener("abort", () => stop());
        },
        cancel() {
          stop();
        },
      });
      return new Response(body, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
      });
    },
  };
}
