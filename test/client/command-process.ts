import { join } from "node:path";
import type { Subprocess } from "bun";

const RUNNER = join(import.meta.dir, "run-command.ts");
const BUN = process.execPath;

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** A client command running as its own process, with stdin open for the test to write to. */
export class CommandProcess {
  stdout = "";
  stderr = "";
  private readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  private readonly reading: Promise<void>;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(name: string, args: string[], env: Record<string, string> = {}, timeoutMs = 15_000) {
    this.proc = Bun.spawn([BUN, RUNNER, name, ...args], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, CBOR_NATIVE_ACCELERATION_DISABLED: "true", ...env },
    });
    this.timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    this.reading = Promise.all([
      this.collect(this.proc.stdout, "stdout"),
      this.collect(this.proc.stderr, "stderr"),
    ]).then(() => {});
  }

  write(text: string | Uint8Array): void {
    this.proc.stdin.write(text);
    this.proc.stdin.flush();
  }

  endInput(): void {
    this.proc.stdin.end();
  }

  signal(name: "SIGINT" | "SIGTERM"): void {
    this.proc.kill(name);
  }

  async finished(): Promise<Finished> {
    const code = await this.proc.exited;
    await this.reading;
    clearTimeout(this.timer);
    return { code, stdout: this.stdout, stderr: this.stderr };
  }

  kill(): void {
    this.proc.kill("SIGKILL");
  }

  private async collect(stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) this[into] += decoder.decode(chunk, { stream: true });
  }
}

/** Runs a command to its end; `stdin`, if given, is written and closed. */
export async function runCommand(
  name: string,
  args: string[],
  stdin?: string | Uint8Array,
  env?: Record<string, string>,
): Promise<Finished> {
  const proc = new CommandProcess(name, args, env);
  if (stdin !== undefined) proc.write(stdin);
  proc.endInput();
  return await proc.finished();
}
