/**
 * Makes an error that nothing caught stop the process with exit 1 once printed, as Node does. Bun prints such an
 * error but lets the process run on while the entry module's top-level await is pending, which is the whole life of
 * a broker or a manager: a broken invariant (assert.ts), rethrown where nothing catches it (wire/connection.ts),
 * would leave a broker serving from a state that cannot be.
 */
export function exitOnUncaughtErrors(write: (line: string) => void = (line) => process.stderr.write(line)): void {
  process.on("uncaughtException", (error) => {
    write(
      `mqraft: stopping on an error nothing caught: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
