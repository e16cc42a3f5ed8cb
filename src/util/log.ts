import { writeSync } from "node:fs";
import { type ConsolaInstance, createConsola, type LogObject } from "consola/core";

/** consola's numeric levels, named as the `--log-level` flag accepts them. */
export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;
export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSettings {
  level: LogLevelName;
  format: LogFormat;
  /** Where lines go; stderr by default so that stdout stays free for command output. */
  write?: (line: string) => void;
}

/** The demo's shape: `2023-06-07 16:15:41 [Broker 8000 LEADER] INFO: New leader 127.0.0.1:8000`. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  trace(message: string, fields?: Record<string, unknown>): void;
  /** Whether a level would print, to skip building costly messages. */
  enabled(level: LogLevelName): boolean;
}

let settings: LogSettings = { level: "info", format: "text" };

/** Set once by the command line before any logger is created. */
export function configureLogging(next: LogSettings): void {
  settings = next;
}

// Synchronous, so that the lines just before an exit (a removed broker's "Removed from the cluster")
// are never lost in a buffer.
const writeStderr = (line: string): void => {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr closed: nowhere left to report to
  }
};

function levelName(level: number): string {
  if (level <= 0) return "ERROR";
  if (level === 1) return "WARN";
  if (level <= 3) return "INFO";
  if (level === 4) return "DEBUG";
  return "TRACE";
}

/**
 * A logger whose tag is recomputed per line: a broker's role changes while it runs, and the demo
 * shows the role in every line.
 */
export function createLogger(tag: () => string): Logger {
  const { level, format } = settings;
  const write = settings.write ?? writeStderr;
  const consola: ConsolaInstance = createConsola({
    level: LOG_LEVELS[level],
    // consola folds repeated identical lines by default; a broker's heartbeat lines must all show.
    throttle: 0,
    reporters: [
      {
        log(obj: LogObject) {
          const [message, fields] = obj.args as [string, Record<string, unknown> | undefined];
          if (format === "json") {
            write(
              JSON.stringify({
                time: obj.date.toISOString(),
                level: levelName(obj.level).toLowerCase(),
                tag: tag(),
                msg: message,
                ...fields,
              }),
            );
          } else {
            const extra = fields ? ` ${JSON.stringify(fields)}` : "";
            write(`${obj.date.toISOString()} [${tag()}] ${levelName(obj.level)}: ${message}${extra}`);
          }
        },
      },
    ],
  });
  const at =
    (name: "error" | "warn" | "info" | "debug" | "trace") => (message: string, fields?: Record<string, unknown>) =>
      fields === undefined ? consola[name](message) : consola[name](message, fields);
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    trace: at("trace"),
    enabled: (name) => LOG_LEVELS[name] <= LOG_LEVELS[level],
  };
}
