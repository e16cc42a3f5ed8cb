import type { Entry } from "./log-types.ts";

/** Bytes of entry data in `entries`. */
export function entryBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += e.data.length;
  return bytes;
}

/** The longest prefix of `entries` whose data fits in `maxBytes`, never fewer than one entry. */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += (entries[i] as Entry).data.length;
    if (bytes > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}
