import { TRANSPORT_CASES } from "./transport.case.ts";

// Run by transport-node.test.ts under Node, bundled for it: prints one JSON line of each case's outcome.
const results: Record<string, string | null> = {};
for (const [name, run] of Object.entries(TRANSPORT_CASES)) {
  try {
    results[name] = (await run()) ?? null;
  } catch (e) {
    results[name] = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
}
console.log(JSON.stringify({ runtime: typeof Bun === "undefined" ? `node ${process.version}` : "bun", results }));
process.exit(0);
