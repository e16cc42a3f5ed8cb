import { MqraftError } from "../util/errors.ts";
import type { Fs } from "./fs.ts";
import { SEGMENT_HEADER_SIZE } from "./record-codec.ts";

export interface LogStoreOptions {
  fs: Fs;
  /** The data folder; created when missing. */
  dir: string;
  /** A segment is closed and a new one started once it would grow past this (default 64 MiB, at most 2 GiB). */
  maxSegmentBytes?: number;
  /**
   * Memory for reads of the log's tail (default 8 MiB): the recent entries as objects take up to 4 MiB of it (8 MiB
   * for their last 8 when large), the mirror of the newest segment's last bytes up to 1 MiB (log-caches.ts).
   */
  cacheBytes?: number;
  /**
   * When the log is corrupt (not merely torn at its end): cut it at the first bad record instead of
   * failing, and mark the node damaged (see LogStore.damage) until it has caught up from the leader.
   */
  repair?: boolean;
}

const DEFAULT_SEGMENT_BYTES = 64 << 20;
const DEFAULT_CACHE_BYTES = 8 << 20;
const MAX_SEGMENT_BYTES = 2 ** 31;

/** The options with their defaults filled in; a segment size out of range is BAD_CONFIG. */
export function resolveLogStoreOptions(options: LogStoreOptions): Required<LogStoreOptions> {
  const maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!(maxSegmentBytes > SEGMENT_HEADER_SIZE && maxSegmentBytes <= MAX_SEGMENT_BYTES)) {
    throw new MqraftError(
      "BAD_CONFIG",
      `maxSegmentBytes must be between ${SEGMENT_HEADER_SIZE + 1} and ${MAX_SEGMENT_BYTES}`,
    );
  }
  return {
    ...options,
    maxSegmentBytes,
    cacheBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
    repair: options.repair ?? false,
  };
}
