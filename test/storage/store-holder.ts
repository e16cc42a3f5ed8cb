/**
 * A separate process for the lock tests: opens a store on argv[2], appends argv[3] entries, syncs,
 * prints "ready <durableIndex>" and stays alive until killed. If the open fails it prints the
 * error as "error <code>: <message>" and exits 1.
 */
import { LogStore } from "../../src/storage/log-store.ts";
import { RealFs } from "../../src/storage/real-fs.ts";
import { describeError } from "../../src/util/errors.ts";
import { makeEntries } from "./storage-env.ts";

const [dir, count] = process.argv.slice(2);
try {
  const store = await LogStore.open({ fs: new RealFs(), dir: dir as string });
  store.append(makeEntries(store.lastIndex() + 1, store.lastIndex() + Number(count), 1));
  await store.sync();
  console.log(`ready ${store.durableIndex}`);
  setInterval(() => undefined, 60_000);
} catch (e) {
  console.log(`error ${describeError(e)}`);
  process.exit(1);
}
