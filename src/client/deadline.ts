import type { MqraftError } from "../util/errors.ts";

/** Deadlines are `performance.now()` values: monotonic, unlike the wall clock. */
export function now(): number {
  return performance.now();
}

export function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

/** Settles like `promise`, or rejects with `onTimeout()` once the deadline passes. */
export async function withDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => MqraftError): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), remaining(deadline));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 500;

/**
 * The pause before the `attempt`-th retry (0-based): doubling from 20 ms up to 500 ms, with jitter so that clients
 * that lost the same leader do not come back in step.
 */
export function backoffMs(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(attempt, 10));
  return base / 2 + Math.random() * (base / 2);
}

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
