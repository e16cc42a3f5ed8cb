import { realpathSync } from "node:fs";
import { isAbsolute, relative } from "node:path";

/**
 * The command line that runs this same program: the compiled binary is its own executable, while
 * under `bun cmd/mqraft.ts` the runtime needs the script too.
 */
export function selfCommand(): string[] {
  return Bun.main.endsWith(".ts") ? [process.execPath, Bun.main] : [process.execPath];
}

export interface Invocation {
  /** The program (the binary, or the runtime running a script). */
  execPath: string;
  /** The script, when a runtime runs one. */
  script?: string;
  cwd: string;
  /** What `mqraft` on the PATH is (symlinks resolved), if anything. */
  onPath?: string;
}

/**
 * How a person in the same shell runs this program again, for the commands `mqraft up` suggests: `mqraft` only if
 * that is what the PATH finds, else the path it was started by (`./dist/mqraft` after `make build`).
 */
export function describeInvocation({ execPath, script, cwd, onPath }: Invocation): string {
  const shown = (path: string): string => {
    const rel = relative(cwd, path);
    return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : `./${rel}`;
  };
  if (script !== undefined) return `${shown(execPath)} ${relative(cwd, script) || script}`;
  if (onPath !== undefined && onPath === execPath) return "mqraft";
  return shown(execPath);
}

/** describeInvocation for this process. */
export function invocation(): string {
  const [execPath, script] = selfCommand() as [string, string | undefined];
  const found = Bun.which("mqraft");
  const real = (path: string): string => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  return describeInvocation({
    execPath: real(execPath),
    script,
    cwd: process.cwd(),
    onPath: found === null ? undefined : real(found),
  });
}
