/**
 * Which test files leave descriptors open: with MQRAFT_FD_TRACE set to a path (make test sets it), each test process
 * appends `pid file count` to it after every test: the descriptors it holds then. Bun.main names the file being run;
 * with --parallel each worker is a process of its own. test-times.ts prints the files after which a process held
 * more than after the file before: a leak that builds up over the suite ends in EMFILE in whichever file happens to
 * run when the limit is met, far from where it leaks.
 */
import { appendFileSync, existsSync, readdirSync } from "node:fs";

const FD_DIR = "/proc/self/fd";

export function traceDescriptors(path: string, afterEach: (fn: () => void) => void): void {
  if (!existsSync(FD_DIR)) return;
  afterEach(() => {
    appendFileSync(path, `${process.pid} ${Bun.main} ${readdirSync(FD_DIR).length}\n`);
  });
}
