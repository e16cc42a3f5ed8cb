import type { Logger } from "../../src/util/log.ts";

/** A Logger that appends "level message" to `lines`, for tests that check what was logged, and how often. */
export function recordingLog(lines: string[]): Logger {
  const put = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return {
    error: put("error"),
    warn: put("warn"),
    info: put("info"),
    debug: put("debug"),
    trace: () => {},
    enabled: () => true,
  };
}
