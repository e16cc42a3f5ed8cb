/**
 * The file-system seam. Storage is written once against this interface; `RealFs` runs it on
 * node:fs, `SimFs` in memory for the deterministic simulator and the crash tests. Errors carry
 * node's errno names in `code` ("ENOENT", "EEXIST", ...) in both implementations.
 *
 * Reads, writes and metadata changes are synchronous (they only touch the page cache), but for
 * writeParts, which large state files use. Making
 * bytes durable is asynchronous, so that the event loop keeps serving while the disk works; the
 * synchronous forms exist for the rare moments that must not interleave with anything (sealing a
 * full segment, cutting a conflicting suffix).
 */
export type OpenMode =
  /** read an existing file */
  | "r"
  /** read and write an existing file */
  | "r+"
  /** create a new file for reading and writing, failing with EEXIST when it exists */
  | "wx"
  /** create or empty a file, for reading and writing */
  | "w";

export interface Fs {
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /** Reads up to `buf.length` bytes at `position`; returns how many were read (fewer at the end of the file). */
  read(fd: number, buf: Uint8Array, position: number): number;
  /** Writes all of `data` at `position`. */
  write(fd: number, data: Uint8Array, position: number): void;
  /**
   * Writes the parts one after the other from `position`, off the event loop: for large files
   * (a snapshot of millions of messages) that a synchronous write would stall the broker on.
   */
  writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void>;
  size(fd: number): number;
  truncate(fd: number, length: number): void;
  /** Resolves once the file's data (and its length) are on stable storage. */
  datasync(fd: number): Promise<void>;
  datasyncSync(fd: number): void;
  /** Resolves once the folder's entries (created, renamed, removed files) are on stable storage. */
  syncDir(dir: string): Promise<void>;
  syncDirSync(dir: string): void;
  /** Replaces `to` atomically. */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Names in a folder (files and sub-folders), in no particular order. */
  readdir(dir: string): string[];
  /** Creates the folder and its parents; no error when it exists. */
  mkdir(dir: string): void;
  /**
   * Takes an exclusive advisory lock on the open file without waiting; false if another open file
   * holds it. The lock lives as long as `fd`: closing it, or the death of the process, releases it.
   */
  tryLock(fd: number): boolean;
  /** The id of this process, written into the data-folder lock. */
  pid(): number;
}

/** The errno name of a file-system error ("ENOENT", ...), if it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null || !("code" in e)) return undefined;
  const code = (e as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** A file opened for reading, or undefined when it does not exist. */
export function openIfPresent(fs: Fs, path: string): number | undefined {
  try {
    return fs.open(path, "r");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** The whole content of a file, or undefined when it does not exist. */
export function readWholeFile(fs: Fs, path: string): Uint8Array | undefined {
  const fd = openIfPresent(fs, path);
  if (fd === undefined) return undefined;
  try {
    const buf = new Uint8Array(fs.size(fd));
    const n = fs.read(fd, buf, 0);
    return buf.subarray(0, n);
  } finally {
    fs.close(fd);
  }
}

/** Removes a file; no error when it is already gone. */
export function unlinkIfPresent(fs: Fs, path: string): boolean {
  try {
    fs.unlink(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return false;
    throw e;
  }
}
