/**
 * The slowest test files of a `make test` run, from the JUnit report bun writes beside its own output:
 *
 *   bun test/support/test-times.ts .tmp/test-times.xml [count] [.tmp/test-fds.txt]
 *
 * `make test` prints them last, so every run shows where the suite's time goes (docs/testing.md, "Time"), and, from
 * fd-trace.ts's record, the files after which the test process held more descriptors than before.
 */
import { relative } from "node:path";

interface FileTime {
  file: string;
  tests: number;
  seconds: number;
}

/** The report's per-file suites: bun writes one `<testsuite file=...>` per file, two spaces in. */
export function fileTimes(xml: string): FileTime[] {
  const files: FileTime[] = [];
  for (const m of xml.matchAll(/^ {2}<testsuite name="[^"]*" file="([^"]*)" tests="(\d+)"[^>]*? time="([\d.]+)"/gm))
    files.push({ file: m[1] as string, tests: Number(m[2]), seconds: Number(m[3]) });
  return files;
}

/**
 * From fd-trace.ts's lines (`pid file count`, in the order the tests ran): per process, the count after each file's
 * last test; the files after which it was higher than after the file before, most first.
 */
export function descriptorRises(trace: string): { file: string; count: number; rise: number }[] {
  const lastPerFile = new Map<string, Map<string, number>>();
  for (const line of trace.split("\n")) {
    const m = /^(\d+) (.+) (\d+)$/.exec(line);
    if (m === null) continue;
    const [, pid, file, count] = m as unknown as [string, string, string, string];
    let files = lastPerFile.get(pid);
    if (files === undefined) {
      files = new Map();
      lastPerFile.set(pid, files);
    }
    files.set(file, Number(count));
  }
  const rises: { file: string; count: number; rise: number }[] = [];
  for (const files of lastPerFile.values()) {
    let before: number | undefined;
    for (const [file, count] of files) {
      if (before !== undefined && count > before) rises.push({ file, count, rise: count - before });
      before = count;
    }
  }
  return rises.toSorted((a, b) => b.rise - a.rise);
}

async function printDescriptors(path: string): Promise<void> {
  const trace = await Bun.file(path)
    .text()
    .catch(() => "");
  const counts = [...trace.matchAll(/ (\d+)$/gm)].map((m) => Number(m[1]));
  if (counts.length === 0) return;
  const rises = descriptorRises(trace).slice(0, 5);
  console.log(
    `descriptors open in a test process: at most ${Math.max(...counts)} after a test; largest rises after a file: ${rises.map((r) => `${relative(process.cwd(), r.file)} +${r.rise} (to ${r.count})`).join(", ") || "none"}`,
  );
}

if (import.meta.main) {
  const [path, count = "15", fds] = process.argv.slice(2);
  if (path === undefined) {
    console.error("usage: bun test/support/test-times.ts <junit.xml> [count]");
    process.exit(2);
  }
  const files = fileTimes(await Bun.file(path).text());
  if (files.length === 0) {
    console.error(`${path} names no test file: is it bun's JUnit report?`);
    process.exit(1);
  }
  const total = files.reduce((sum, f) => sum + f.seconds, 0);
  console.log(`slowest test files (of ${files.length}, ${total.toFixed(0)} s in all):`);
  for (const f of files.toSorted((a, b) => b.seconds - a.seconds).slice(0, Number(count)))
    console.log(`${f.seconds.toFixed(1).padStart(7)} s  ${String(f.tests).padStart(4)} tests  ${f.file}`);
  if (fds !== undefined) await printDescriptors(fds);
}
