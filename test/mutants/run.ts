/**
 * `make mutants`: plants each bug of mutants.ts, one at a time, in a scratch copy of the tree and runs the test that
 * must catch it; that test must fail. First each test runs once on the unchanged copy and must pass (else a mutant
 * would be "caught" by a test that fails anyway). Prints one line per mutant, then
 * `mutants: N planted, K caught, S survived` last; exits 1 on a survivor or on a patch that no longer applies.
 *
 *   bun test/mutants/run.ts [--only name,name] [--list]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MUTANTS, type Mutant } from "./mutants.ts";
import { PatchError, Scratch } from "./scratch.ts";

/** A test that runs longer than this is stopped and counted as failing (a planted bug may hang it). */
const TEST_LIMIT_MS = 300_000;
const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");

interface Outcome {
  passed: boolean;
  /** The first failing test's name, or why the command failed. */
  why: string;
  seconds: number;
}

async function runTest(scratch: Scratch, mutant: Mutant): Promise<Outcome> {
  const started = performance.now();
  const proc = Bun.spawn([BUN, ...mutant.test], {
    cwd: scratch.root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CBOR_NATIVE_ACCELERATION_DISABLED: "true" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), TEST_LIMIT_MS);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const text = `${out}\n${err}`;
  const failed = text.match(/^\(fail\) (.*?)(?: \[[\d.]+m?s\])?$/m)?.[1];
  // a simulator names the invariant it found broken: say which
  const violation = (text.match(/^\+ +"(seed \d+: [^\n"]*)/m) ?? text.match(/^(?:Violation|error): (.*)$/m))?.[1];
  const why =
    proc.signalCode === "SIGKILL"
      ? `stopped after ${TEST_LIMIT_MS / 1000} s`
      : [failed, violation].filter((w) => w !== undefined).join(": ") ||
        text.trim().split("\n").at(-1) ||
        `exit ${code}`;
  return { passed: code === 0, why, seconds: (performance.now() - started) / 1000 };
}

const command = (m: Mutant): string => m.test.join(" ");

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: "string" }, list: { type: "boolean", default: false } } });
  const only = values.only?.split(",");
  const unknown = only?.filter((name) => !MUTANTS.some((m) => m.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`no mutant named ${unknown.join(", ")}; bun test/mutants/run.ts --list names them`);
    return 2;
  }
  const chosen = MUTANTS.filter((m) => only === undefined || only.includes(m.name));
  if (values.list) {
    for (const m of chosen) console.log(`${m.name.padEnd(36)} ${m.breaks}\n${"".padEnd(36)} caught by: ${command(m)}`);
    return 0;
  }
  const scratch = Scratch.create(ROOT);
  try {
    if (chosen.some((m) => m.binary)) scratch.build();
    // Each test must pass on the unchanged tree, or its failure under a mutant proves nothing.
    const baseline = new Map<string, Mutant>(chosen.map((m) => [command(m), m]));
    for (const [cmd, m] of baseline) {
      const outcome = await runTest(scratch, m);
      if (!outcome.passed) {
        console.log(`error: "${cmd}" fails on the unchanged tree (${outcome.why}): fix it before planting bugs`);
        return 1;
      }
    }
    let caught = 0;
    let survived = 0;
    let broken = 0;
    for (const m of chosen) {
      let undo: () => void;
      try {
        undo = scratch.apply(m);
      } catch (e) {
        if (!(e instanceof PatchError)) throw e;
        broken++;
        console.log(`error     ${m.name}: the patch no longer applies: ${e.message}`);
        continue;
      }
      try {
        if (m.binary) scratch.build();
        const outcome = await runTest(scratch, m);
        if (outcome.passed) survived++;
        else caught++;
        const verdict = outcome.passed ? "SURVIVED" : "caught  ";
        console.log(`${verdict}  ${m.name} (${outcome.seconds.toFixed(1)} s) by ${command(m)}: ${outcome.why}`);
      } finally {
        undo();
        if (m.binary) scratch.build();
      }
    }
    if (broken > 0) console.log(`${broken} patches no longer apply: update their text in test/mutants/mutants.ts`);
    console.log(`mutants: ${chosen.length - broken} planted, ${caught} caught, ${survived} survived`);
    return survived > 0 || broken > 0 ? 1 : 0;
  } finally {
    scratch.remove();
  }
}

process.exit(await main());
