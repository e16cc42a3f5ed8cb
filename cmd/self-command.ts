/**
 * The command line that runs this same program: the compiled binary is its own executable, while
 * under `bun cmd/mqraft.ts` the runtime needs the script too.
 */
export function selfCommand(): string[] {
  return Bun.main.endsWith(".ts") ? [process.execPath, Bun.main] : [process.execPath];
}
