/**
 * When a broker snapshots. Serialising and writing the state pauses a broker's event loop (tens of ms per 100,000
 * retained messages), so brokers must not all do it at the same applied index: each takes its snapshots at the
 * indexes ≡ its own phase (mod `every`), the phase spread over [0, every) by the broker's id. A majority then never
 * pauses at once, and commits go on while one broker writes its snapshot.
 */
export function snapshotPhase(id: number, every: number): number {
  // Fibonacci hashing: consecutive ids land far apart.
  const fraction = ((id * 2654435761) >>> 0) / 2 ** 32;
  return Math.floor(fraction * every);
}

/** The first applied index after `current` (the last snapshot's index, 0 for none) at which to snapshot. */
export function nextSnapshotIndex(current: number, every: number, id: number): number {
  const phase = snapshotPhase(id, every);
  return (Math.floor((current - phase) / every) + 1) * every + phase;
}
