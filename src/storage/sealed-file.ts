import { MqraftError } from "../util/errors.ts";
import { crc32Update } from "./crc32.ts";
import type { Fs } from "./fs.ts";
import { TEMP_SUFFIX } from "./layout.ts";

/**
 * The envelope of the small state files (hard state, snapshot, damage marker), 16 bytes then the body:
 *   magic u32 | version u32 | body length u32 | crc32 u32 (of the 12 bytes before and the body)
 * They are replaced atomically: written whole to "<name>.tmp", synced, renamed over the old file,
 * and the folder synced, so a reader finds either the old or the new file, never a mix.
 */
export const SEALED_HEADER_SIZE = 16;
export const SEALED_VERSION = 1;

/** The header followed by the body's parts, ready to write one after the other. */
export function sealParts(magic: number, body: readonly Uint8Array[]): Uint8Array[] {
  const header = sealedHeader(
    magic,
    body.reduce((n, p) => n + p.length, 0),
  );
  let crc = crc32Update(0, header.subarray(0, 12));
  for (const p of body) crc = crc32Update(crc, p);
  new DataView(header.buffer).setUint32(12, crc);
  return [header, ...body];
}

/**
 * The header of a sealed file whose body is `bodyLength` bytes, its checksum still 0: a writer that produces the
 * body a piece at a time starts the checksum with crc32Update(0, header[0, 12)) and sets it at byte 12 at the end.
 */
export function sealedHeader(magic: number, bodyLength: number): Uint8Array {
  const header = new Uint8Array(SEALED_HEADER_SIZE);
  const view = new DataView(header.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, SEALED_VERSION);
  view.setUint32(8, bodyLength);
  return header;
}

/** The body of a sealed file; any damage is a CORRUPT error naming the file. */
export function unseal(path: string, magic: number, bytes: Uint8Array): Uint8Array {
  const corrupt = (why: string): MqraftError => new MqraftError("CORRUPT", `${path} is damaged: ${why}`);
  if (bytes.length < SEALED_HEADER_SIZE) throw corrupt(`only ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw corrupt("wrong magic number (not the file it is named as)");
  if (view.getUint32(4) !== SEALED_VERSION) throw corrupt(`unsupported format version ${view.getUint32(4)}`);
  const length = view.getUint32(8);
  if (SEALED_HEADER_SIZE + length !== bytes.length) {
    throw corrupt(`holds ${bytes.length - SEALED_HEADER_SIZE} body bytes, header says ${length}`);
  }
  const body = bytes.subarray(SEALED_HEADER_SIZE);
  const crc = crc32Update(crc32Update(0, bytes.subarray(0, 12)), body);
  if (crc !== view.getUint32(12)) throw corrupt("checksum mismatch");
  return body;
}

/**
 * The checksum field of a sealed file, from its bytes or its header part. It covers the whole
 * content, so two sound files with the same checksum hold (but for a collision) the same bytes.
 */
export function sealedChecksum(fileOrHeader: Uint8Array): number {
  return new DataView(fileOrHeader.buffer, fileOrHeader.byteOffset, fileOrHeader.byteLength).getUint32(12);
}

/** Writes "<path>.tmp" and waits until its bytes are durable. */
export async function writeSyncedTemp(fs: Fs, path: string, parts: readonly Uint8Array[]): Promise<void> {
  const fd = fs.open(path + TEMP_SUFFIX, "w");
  try {
    await fs.writeParts(fd, parts, 0);
    await fs.datasync(fd);
  } finally {
    fs.close(fd);
  }
}

/** Puts a synced temp file in place; the caller syncs the folder (possibly shared with other changes). */
export function renameTempIntoPlace(fs: Fs, path: string): void {
  fs.rename(path + TEMP_SUFFIX, path);
}

export async function writeFileAtomic(fs: Fs, dir: string, path: string, parts: readonly Uint8Array[]): Promise<void> {
  await writeSyncedTemp(fs, path, parts);
  renameTempIntoPlace(fs, path);
  await fs.syncDir(dir);
}
