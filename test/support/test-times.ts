/**
 * The slowest test files of a `make test` run, from the JUnit report bun writes beside its own output:
 *
 *   bun test/support/test-times.ts .tmp/test-times.xml [count]
 *
 * `make test` prints them last, so every run shows where the suite's time goes (docs/testing.md, "Time").
 */

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

if (import.meta.main) {
  const [path, count = "15"] = process.argv.slice(2);
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
}
