import { describe, expect, test } from "bun:test";
import { errnoCode } from "../../src/storage/fs.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { createPrng } from "../../src/util/prng.ts";

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

/** A file created and its folder synced, so that only its content is at stake. */
function durableFile(fs: SimFs, path: string): number {
  fs.mkdir("/d");
  const fd = fs.open(path, "wx");
  fs.syncDirSync("/d");
  return fd;
}

describe("simulated fs", () => {
  test("a crash keeps synced bytes and loses the rest", () => {
    const fs = new SimFs();
    const fd = durableFile(fs, "/d/f");
    fs.write(fd, bytes(1, 2, 3), 0);
    fs.datasyncSync(fd);
    fs.write(fd, bytes(4, 5), 3);
    expect([...fs.liveBytes("/d/f")]).toEqual([1, 2, 3, 4, 5]);
    expect(fs.durableLength("/d/f")).toBe(3);
    fs.crash();
    expect([...fs.liveBytes("/d/f")]).toEqual([1, 2, 3]);
  });

  test("a crash with a PRNG keeps a prefix of the unsynced writes, the last one possibly torn", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const fs = new SimFs();
      const fd = durableFile(fs, "/d/f");
      fs.write(fd, bytes(1, 2), 0);
      fs.datasyncSync(fd);
      fs.write(fd, bytes(3, 4, 5), 2);
      fs.write(fd, bytes(6, 7, 8), 5);
      fs.crash({ prng: createPrng(seed) });
      const after = [...fs.liveBytes("/d/f")];
      expect(after).toEqual([1, 2, 3, 4, 5, 6, 7, 8].slice(0, after.length));
      expect(after.length).toBeGreaterThanOrEqual(2);
      seen.add(after.length);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  test("with lostSectors a torn write may lose any of its 512-byte sectors, which keep the old bytes or read zeros", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const fs = new SimFs();
      const fd = durableFile(fs, "/d/f");
      fs.write(fd, new Uint8Array(600).fill(1), 0);
      fs.datasyncSync(fd);
      // unsynced: bytes 600..1999 (sectors 1 to 3, sector 1 shared with the synced bytes 512..599)
      fs.write(fd, new Uint8Array(1400).fill(2), 600);
      fs.crash({ prng: createPrng(seed), lostSectors: 0.5 });
      const after = fs.liveBytes("/d/f");
      expect([...after.subarray(0, 600)]).toEqual(new Array(600).fill(1));
      const sectors: string[] = [];
      for (let s = 512; s < after.length; s += 512) {
        const part = [...after.subarray(Math.max(s, 600), Math.min(s + 512, after.length))];
        const kind = part.every((b) => b === 2) ? "written" : part.every((b) => b === 0) ? "lost" : "mixed";
        expect({ seed, s, kind }).not.toMatchObject({ kind: "mixed" });
        sectors.push(kind);
      }
      seen.add(sectors.join(","));
    }
    // lost sectors anywhere in the torn write, before written ones too
    expect(seen.has("lost,written,written")).toBe(true);
    expect(seen.has("written,lost,written")).toBe(true);
  });

  test("a new file, a rename or an unlink survives a crash only once its folder was synced", () => {
    const fs = new SimFs();
    fs.mkdir("/d");
    const fd = fs.open("/d/a", "wx");
    fs.write(fd, bytes(1), 0);
    fs.datasyncSync(fd);
    fs.crash();
    expect(fs.readdir("/d")).toEqual([]);

    const fd2 = fs.open("/d/a", "wx");
    fs.write(fd2, bytes(1), 0);
    fs.datasyncSync(fd2);
    fs.syncDirSync("/d");
    fs.rename("/d/a", "/d/b");
    fs.crash();
    expect(fs.readdir("/d")).toEqual(["a"]);
    fs.rename("/d/a", "/d/b");
    fs.syncDirSync("/d");
    fs.unlink("/d/b");
    fs.crash();
    expect(fs.readdir("/d")).toEqual(["b"]);
    expect([...fs.liveBytes("/d/b")]).toEqual([1]);
  });

  test("in manual mode a sync takes effect at completion and covers only writes made before it", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    const fd = durableFile(fs, "/d/f");
    fs.write(fd, bytes(1), 0);
    let done = false;
    const p = fs.datasync(fd).then(() => (done = true));
    fs.write(fd, bytes(2), 1);
    expect(fs.pendingSyncs()).toBe(1);
    expect(fs.durableLength("/d/f")).toBe(0);
    fs.completeSyncs();
    await p;
    expect(done).toBe(true);
    expect(fs.durableLength("/d/f")).toBe(1);

    fs.datasync(fd).then(() => (done = false));
    fs.crash();
    expect(fs.pendingSyncs()).toBe(0);
    expect([...fs.liveBytes("/d/f")]).toEqual([1]);
  });

  test("after a crash old descriptors are invalid, their locks are free and the process has a new pid", () => {
    const fs = new SimFs();
    const fd = durableFile(fs, "/d/f");
    const pid = fs.pid();
    expect(fs.tryLock(fd)).toBe(true);
    expect(fs.tryLock(fs.open("/d/f", "r"))).toBe(false);
    fs.crash();
    let code: string | undefined;
    try {
      fs.write(fd, bytes(1), 0);
    } catch (e) {
      code = errnoCode(e);
    }
    expect(code).toBe("EBADF");
    expect(fs.pid()).not.toBe(pid);
    expect(fs.tryLock(fs.open("/d/f", "r"))).toBe(true);
  });

  test("a kill keeps the page cache (writes, renames) for the next process, frees its locks, and a power loss later still loses what nobody synced", async () => {
    const fs = new SimFs({ syncMode: "manual" });
    const fd = durableFile(fs, "/d/f");
    const pid = fs.pid();
    expect(fs.tryLock(fd)).toBe(true);
    fs.write(fd, bytes(1, 2), 0);
    void fs.datasync(fd);
    fs.rename("/d/f", "/d/g");
    fs.kill();
    // the sync the killed process waited for never completes for it; its descriptor and lock are gone
    expect(fs.pendingSyncs()).toBe(0);
    expect(fs.pid()).not.toBe(pid);
    const next = fs.open("/d/g", "r+");
    expect(fs.tryLock(next)).toBe(true);
    // the next process reads what the killed one wrote and renamed, none of it durable
    expect({ files: fs.readdir("/d"), bytes: [...fs.liveBytes("/d/g")], durable: fs.durableLength("/d/g") }).toEqual({
      files: ["g"],
      bytes: [1, 2],
      durable: 0,
    });
    fs.crash();
    expect({ files: fs.readdir("/d"), bytes: [...fs.liveBytes("/d/f")] }).toEqual({ files: ["f"], bytes: [] });
  });

  test("flipBit damages the bytes on disk and in the cache", () => {
    const fs = new SimFs();
    const fd = durableFile(fs, "/d/f");
    fs.write(fd, bytes(0, 0), 0);
    fs.datasyncSync(fd);
    fs.flipBit("/d/f", 1, 3);
    expect([...fs.liveBytes("/d/f")]).toEqual([0, 8]);
    fs.crash();
    expect([...fs.liveBytes("/d/f")]).toEqual([0, 8]);
  });

  test("open modes and errors follow node's errno names", () => {
    const fs = new SimFs();
    fs.mkdir("/d/e");
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return errnoCode(e);
      }
      return undefined;
    };
    expect(codeOf(() => fs.open("/d/x", "r"))).toBe("ENOENT");
    fs.close(fs.open("/d/x", "wx"));
    expect(codeOf(() => fs.open("/d/x", "wx"))).toBe("EEXIST");
    const ro = fs.open("/d/x", "r");
    expect(codeOf(() => fs.write(ro, bytes(1), 0))).toBe("EBADF");
    expect(codeOf(() => fs.open("/nowhere/x", "w"))).toBe("ENOENT");
    expect(fs.readdir("/d").sort()).toEqual(["e", "x"]);
  });
});
