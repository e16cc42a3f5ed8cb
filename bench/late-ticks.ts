/**
 * A process with nothing to do but a 5 ms timer, run beside a benchmark: how often, and by how much, its timer fires
 * late tells how long a ready process waits for a core on the machine at that moment. Prints one JSON line.
 *   bun bench/late-ticks.ts [durationMs=5000]
 */
const durationMs = Number(process.argv[2] ?? 5000);
const late: number[] = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  const by = now - last - 5;
  if (by > 1.5) late.push(by);
  last = now;
}, 5);
setTimeout(() => {
  clearInterval(timer);
  console.log(
    JSON.stringify({
      over1_5ms: late.length,
      over3ms: late.filter((x) => x > 3).length,
      maxms: Number(Math.max(0, ...late).toFixed(1)),
    }),
  );
}, durationMs);
