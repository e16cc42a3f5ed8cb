import { defineCommand } from "citty";
import { ClusterCollector } from "../src/manager/cluster-collector.ts";
import { ANSI, PLAIN, topFrame } from "../src/manager/top-frame.ts";
import { MqraftError } from "../src/util/errors.ts";
import { clientArgs, serversFrom } from "./common-args.ts";

const REFRESH_MS = 1000;

export default defineCommand({
  meta: {
    name: "top",
    description: "The cluster in the terminal, refreshed every second: nodes, rates, lag, topics (q quits)",
  },
  args: {
    server: clientArgs.server,
    once: { type: "boolean", description: "Print one frame (rates over one second) and exit" },
  },
  async run({ args }) {
    const servers = serversFrom(args);
    const collector = new ClusterCollector({ seeds: () => servers });
    const tty = process.stdout.isTTY === true;
    const style = tty && !process.env.NO_COLOR ? ANSI : PLAIN;
    // rates need two rounds a second apart
    await collector.collect();
    if (args.once) {
      await Bun.sleep(REFRESH_MS);
      const state = await collector.collect();
      if (state.nodes.length === 0) throw new MqraftError("UNAVAILABLE", `no broker answered at ${servers.join(", ")}`);
      process.stdout.write(`${topFrame(state, style, Number.POSITIVE_INFINITY).join("\n")}\n`);
      return;
    }
    let quit = false;
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on("data", (b: Buffer) => {
        // q, Ctrl-C
        if (b[0] === 0x71 || b[0] === 0x03) quit = true;
      });
    }
    process.once("SIGINT", () => {
      quit = true;
    });
    try {
      while (!quit) {
        const started = performance.now();
        const state = await collector.collect();
        const frame = topFrame(state, style, tty ? (process.stdout.rows ?? 40) : Number.POSITIVE_INFINITY);
        process.stdout.write(tty ? `\x1b[H\x1b[2J${frame.join("\n")}\n` : `${frame.join("\n")}\n\n`);
        while (!quit && performance.now() - started < REFRESH_MS) await Bun.sleep(50);
      }
    } finally {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  },
});
