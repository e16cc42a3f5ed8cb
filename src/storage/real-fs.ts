import * as nodeFs from "node:fs";
import { tryFlock } from "./flock.ts";
import type { Fs, OpenMode } from "./fs.ts";

/** Every mode that writes also reads: a new segment is read back while it is being written. */
const NODE_FLAGS: Record<OpenMode, string> = { r: "r", "r+": "r+", wx: "wx+", w: "w+" };

/** The most buffers one writev takes (Linux's IOV_MAX). */
const IOV_MAX = 1024;

/** What is left of `parts` once their first `n` bytes are written (a short write may stop inside a part). */
function afterBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= (parts[i] as Uint8Array).length) n -= (parts[i++] as Uint8Array).length;
  const rest = parts.slice(i);
  if (n > 0) rest[0] = (rest[0] as Uint8Array).subarray(n);
  return rest;
}

/**
 * The Fs on node:fs. Durability uses the callback forms of fdatasync/fsync, which run on the
 * thread pool and keep the event loop serving; bench/storage-bench.ts measures both forms.
 */
export class RealFs implements Fs {
  open(path: string, mode: OpenMode): number {
    return nodeFs.openSync(path, NODE_FLAGS[mode]);
  }

  close(fd: number): void {
    nodeFs.closeSync(fd);
  }

  read(fd: number, buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      const n = nodeFs.readSync(fd, buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(fd: number, data: Uint8Array, position: number): void {
    let done = 0;
    while (done < data.length) done += nodeFs.writeSync(fd, data, done, data.length - done, position + done);
  }

  async writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void> {
    let rest = parts.filter((p) => p.length > 0);
    let at = position;
    while (rest.length > 0) {
      const batch = rest.slice(0, IOV_MAX);
      const written = await new Promise<number>((resolve, reject) =>
        nodeFs.writev(fd, batch, at, (e, n) => (e ? reject(e) : resolve(n))),
      );
      // a regular file takes at least a byte or fails; nothing written would loop forever
      if (written <= 0) throw Object.assign(new Error(`writev wrote nothing at ${at}`), { code: "EIO" });
      at += written;
      rest = afterBytes(rest, written);
    }
  }

  size(fd: number): number {
    return nodeFs.fstatSync(fd).size;
  }

  truncate(fd: number, length: number): void {
    nodeFs.ftruncateSync(fd, length);
  }

  datasync(fd: number): Promise<void> {
    return new Promise((resolve, reject) => nodeFs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  datasyncSync(fd: number): void {
    nodeFs.fdatasyncSync(fd);
  }

  async syncDir(dir: string): Promise<void> {
    const fd = nodeFs.openSync(dir, "r");
    try {
      await new Promise<void>((resolve, reject) => nodeFs.fsync(fd, (e) => (e ? reject(e) : resolve())));
    } finally {
      nodeFs.closeSync(fd);
    }
  }

  syncDirSync(dir: string): void {
    const fd = nodeFs.openSync(dir, "r");
    try {
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  }

  rename(from: string, to: string): void {
    nodeFs.renameSync(from, to);
  }

  unlink(path: string): void {
    nodeFs.unlinkSync(path);
  }

  readdir(dir: string): string[] {
    return nodeFs.readdirSync(dir);
  }

  mkdir(dir: string): void {
    nodeFs.mkdirSync(dir, { recursive: true });
  }

  tryLock(fd: number): boolean {
    return tryFlock(fd);
  }

  pid(): number {
    return process.pid;
  }
}
