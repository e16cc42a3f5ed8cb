import type { Entry } from "./log-types.ts";

/** The longest prefix of `entries` whose data fits in `maxBytes`, never fewer than one entry. */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += (entries[i] as Entry).data.length;
    if (bytes > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}
