import { appendFileSync } from "node:fs";
import type { HistoryLine } from "./history.ts";

/** Appends each history line to the run's JSON-lines file as it happens, so a crashed run still leaves its history. */
export class Recorder {
  readonly lines: HistoryLine[] = [];
  private readonly start = performance.now();

  constructor(private readonly path: string) {}

  /** Milliseconds since the run started. */
  now(): number {
    return Math.round((performance.now() - this.start) * 1000) / 1000;
  }

  record(line: HistoryLine): void {
    this.lines.push(line);
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
