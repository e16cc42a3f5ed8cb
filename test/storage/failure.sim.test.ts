import { describe, expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { makeEntries } from "./storage-env.ts";

/** A disk whose next fdatasync fails, as a real one does on an I/O error. */
class FailingSyncFs extends SimFs {
  failNext = false;

  override datasync(fd: number): Promise<void> {
    if (!this.failNext) return super.datasync(fd);
    this.failNext = false;
    return Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
  }
}

describe("storage after an I/O error", () => {
  test("a failed fdatasync is reported to the caller and the store refuses all further writes", async () => {
    const fs = new FailingSyncFs();
    const store = await LogStore.open({ fs, dir: "/data/n1" });
    store.append(makeEntries(1, 2, 1));
    await store.sync();
    store.append(makeEntries(3, 3, 1));
    fs.failNext = true;
    await expect(store.sync()).rejects.toThrow("EIO");
    expect(store.durableIndex).toBe(2);
    let refused: unknown;
    try {
      store.append(makeEntries(4, 4, 1));
    } catch (e) {
      refused = e;
    }
    expect(isMqraftError(refused, "INTERNAL") && refused.message).toBe(
      "storage in /data/n1 failed earlier and must be reopened",
    );
    expect(() => store.saveHardState({ term: 1, vote: 0, commit: 0 })).toThrow("failed earlier");
    await store.close();
    const again = await LogStore.open({ fs, dir: "/data/n1" });
    expect(again.lastIndex()).toBe(3);
  });
});
