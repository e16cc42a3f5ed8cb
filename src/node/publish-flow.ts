import type { Connection } from "../wire/index.ts";

/**
 * Publishes of one connection waiting for their outcome, by count and payload bytes (docs/memory.md). Past either the
 * session stops reading, so a client that pipelines more than the cluster commits waits in TCP instead of in the
 * broker's memory; it reads again once half are answered.
 */
export const MAX_PUBLISHES_IN_FLIGHT = 10_000;
export const MAX_PUBLISH_BYTES_IN_FLIGHT = 64 << 20;

/** Counts one connection's publishes in flight and pauses its reading past the limits above. */
export class PublishFlow {
  private count = 0;
  private bytes = 0;
  private paused = false;

  constructor(private readonly connection: Pick<Connection<unknown, unknown>, "pause" | "resume">) {}

  /** A publish of `bytes` payload bytes went to the broker. */
  started(bytes: number): void {
    this.count++;
    this.bytes += bytes;
    if (!this.paused && (this.count >= MAX_PUBLISHES_IN_FLIGHT || this.bytes >= MAX_PUBLISH_BYTES_IN_FLIGHT)) {
      this.paused = true;
      this.connection.pause();
    }
  }

  /** A publish of `bytes` payload bytes has its outcome. */
  settled(bytes: number): void {
    this.count--;
    this.bytes -= bytes;
    if (this.paused && this.count <= MAX_PUBLISHES_IN_FLIGHT / 2 && this.bytes <= MAX_PUBLISH_BYTES_IN_FLIGHT / 2) {
      this.paused = false;
      this.connection.resume();
    }
  }
}
