/**
 * Which test files leave descriptors open: with MQRAFT_FD_TRACE set to a path (make test sets it), the test process
 * counts its open descriptors after every test and keeps in that file the count after each file's last test so far, in
 * the order the files ran (`file count` lines; rewritten after each test, as bun's test process ends without an exit
 * event). test-times.ts prints the files after which the count grew most: a
 * leak that builds up over the whole suite ends in EMFILE in whichever file happens to run when the limit is met.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";

const FD_DIR = "/proc/self/fd";

export function traceDescriptors(path: string, afterEach: (fn: () => void) => void): void {
  if (!existsSync(FD_DIR)) return;
  const after = new Map<string, number>();
  afterEach(() => {
    after.set(Bun.main, readdirSync(FD_DIR).length);
    writeFileSync(path, [...after].map(([file, count]) => `${file} ${count}\n`).join(""));
  });
}
