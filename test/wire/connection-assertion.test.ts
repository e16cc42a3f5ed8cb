/**
 * A broken invariant in a message handler (a Raft message stepping the core, say) stops the process, as
 * src/util/assert.ts says it must: the Connection used to catch it with every other handler error, close that one
 * connection with "message handler failed" and let the broker run on with a state that cannot be.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runScript } from "../support/run-script.ts";

const root = join(import.meta.dir, "../..");

/** Runs a process whose connection handler throws `error`; returns its exit code and output. */
function handlerThrows(error: string): Promise<{ code: number; out: string }> {
  const script = `
    import { Connection } from "${root}/src/wire/connection.ts";
    import { encodeFrame } from "${root}/src/wire/frame-encoder.ts";
    import { AssertionError } from "${root}/src/util/assert.ts";
    import { MqraftError } from "${root}/src/util/errors.ts";
    const socket = { write: (b) => b.length, shutdown() {}, terminate() {}, pause() {}, resume() {},
      remoteAddress: "10.0.0.1", remotePort: 9 };
    const connection = new Connection(socket, { parse: (v) => v });
    connection.onMessage = () => { throw ${error}; };
    connection.handleData(encodeFrame({ type: "ping" }));
    console.log("open after the handler threw:", connection.isOpen);
    setTimeout(() => console.log("still running"), 300);
  `;
  return runScript(script);
}

test("an AssertionError thrown by a message handler stops the process", async () => {
  const got = await handlerThrows('new AssertionError("invariant broken: commit fell")');
  expect({ code: got.code, broken: got.out.includes("invariant broken: commit fell") }).toEqual({
    code: 1,
    broken: true,
  });
  expect(got.out).not.toContain("still running");
});

test("any other handler error closes that connection only, and the process goes on", async () => {
  const got = await handlerThrows('new MqraftError("BAD_MESSAGE", "no such topic")');
  expect(got.code).toBe(0);
  expect(got.out).toContain("open after the handler threw: false");
  expect(got.out).toContain("still running");
});

/**
 * A broker or manager spends its life inside its entry module's top-level await; there Bun prints an uncaught error
 * and runs on (an AssertionError from a handler on a real socket left the broker serving). exitOnUncaughtErrors, which
 * the mqraft binary installs first, makes it stop.
 */
function socketHandlerThrows(installHook: boolean): Promise<{ code: number; out: string }> {
  const script = `
    import { exitOnUncaughtErrors } from "${root}/src/util/fatal-errors.ts";
    import { AssertionError } from "${root}/src/util/assert.ts";
    if (${installHook}) exitOnUncaughtErrors();
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {
      queueMicrotask(() => { throw new AssertionError("invariant broken: commit fell"); });
    } } });
    const client = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
    client.write("x");
    setTimeout(() => { console.log("still running"); process.exit(0); }, 500);
    await new Promise(() => {});
  `;
  return runScript(script);
}

test("with exitOnUncaughtErrors, an AssertionError from a socket callback stops a process inside its top-level await", async () => {
  const withHook = await socketHandlerThrows(true);
  expect({ code: withHook.code, running: withHook.out.includes("still running") }).toEqual({ code: 1, running: false });
  expect(withHook.out).toContain("invariant broken: commit fell");
  // what Bun does without it, and why the binary installs it
  const without = await socketHandlerThrows(false);
  expect(without.out).toContain("still running");
});
