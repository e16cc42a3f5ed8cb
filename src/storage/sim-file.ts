/** The pieces of one simulated file: a growable byte buffer and the writes not yet made durable. */

export class GrowableBytes {
  private buf: Uint8Array;
  length = 0;

  constructor(initial?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(64, initial?.length ?? 0));
    if (initial) {
      this.buf.set(initial);
      this.length = initial.length;
    }
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  write(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    if (end > this.buf.length) {
      const next = new Uint8Array(Math.max(end, this.buf.length * 2));
      next.set(this.view());
      this.buf = next;
    }
    // Writing past the end leaves a hole that reads as zeros, as on a real file system.
    if (position > this.length) this.buf.fill(0, this.length, position);
    this.buf.set(bytes, position);
    this.length = Math.max(this.length, end);
  }

  truncate(length: number): void {
    if (length > this.length) this.write(length, new Uint8Array(0));
    this.length = length;
  }

  flipBit(offset: number, bit: number): void {
    if (offset < this.length) this.buf[offset] = (this.buf[offset] as number) ^ (1 << bit);
  }
}

export type PendingOp = { kind: "write"; position: number; bytes: Uint8Array } | { kind: "truncate"; length: number };

export function applyOp(target: GrowableBytes, op: PendingOp): void {
  switch (op.kind) {
    case "write":
      target.write(op.position, op.bytes);
      return;
    case "truncate":
      target.truncate(op.length);
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/**
 * One file's content as the page cache shows it (`live`) and as the disk holds it (`durable`).
 * `pending` are the operations between the two, oldest first; `appliedSeq` counts the operations
 * ever made durable, so that a sync requested earlier makes durable only what preceded it.
 */
/** The sector size of the simulated disk. */
export const SIM_SECTOR_SIZE = 512;

export class SimInode {
  live = new GrowableBytes();
  durable = new GrowableBytes();
  pending: PendingOp[] = [];
  appliedSeq = 0;

  get opSeq(): number {
    return this.appliedSeq + this.pending.length;
  }

  record(op: PendingOp): void {
    applyOp(this.live, op);
    this.pending.push(op);
  }

  /** Makes durable every operation with a sequence number below `seq`. */
  syncTo(seq: number): void {
    const n = Math.min(seq - this.appliedSeq, this.pending.length);
    if (n <= 0) return;
    for (let i = 0; i < n; i++) applyOp(this.durable, this.pending[i] as PendingOp);
    this.pending.splice(0, n);
    this.appliedSeq += n;
  }

  /**
   * A disk writes whole sectors, in no set order: of a write not yet synced, a sector may never have reached the
   * disk while the file's size already covers it. Such a sector keeps what the disk held there (zeros past the end).
   */
  private loseSectors(position: number, bytes: Uint8Array, lost: (sector: number) => boolean): void {
    const old = this.durable.view();
    const end = position + bytes.length;
    for (let s = position - (position % SIM_SECTOR_SIZE); s < end; s += SIM_SECTOR_SIZE) {
      if (!lost(s / SIM_SECTOR_SIZE)) continue;
      for (let p = Math.max(s, position); p < Math.min(s + SIM_SECTOR_SIZE, end); p++) {
        bytes[p - position] = p < old.length ? (old[p] as number) : 0;
      }
    }
  }

  /**
   * Power loss: the disk keeps its durable bytes plus the first `keepOps` pending operations, and
   * of the next one, when it is a write, only its first `tornBytes` bytes, less the sectors `lostSector` names.
   */
  crash(keepOps: number, tornBytes: number, lostSector?: (sector: number) => boolean): void {
    this.syncTo(this.appliedSeq + keepOps);
    const next = this.pending[0];
    if (next?.kind === "write" && tornBytes > 0) {
      const bytes = next.bytes.slice(0, tornBytes);
      if (lostSector) this.loseSectors(next.position, bytes, lostSector);
      applyOp(this.durable, { kind: "write", position: next.position, bytes });
    }
    this.pending = [];
    this.live = new GrowableBytes(this.durable.view());
  }
}

/** One change to a folder's entries, applied as a whole (a rename is one change of two names). */
type DirChange = [name: string, inode: SimInode | undefined][];

/** A folder's entries as readers see them (`live`) and as the disk holds them (`durable`). */
export class SimDirectory {
  live = new Map<string, SimInode>();
  durable = new Map<string, SimInode>();
  private pending: DirChange[] = [];
  private appliedSeq = 0;

  get opSeq(): number {
    return this.appliedSeq + this.pending.length;
  }

  change(change: DirChange): void {
    for (const [name, inode] of change) {
      if (inode) this.live.set(name, inode);
      else this.live.delete(name);
    }
    this.pending.push(change);
  }

  syncTo(seq: number): void {
    const n = Math.min(seq - this.appliedSeq, this.pending.length);
    if (n <= 0) return;
    for (const change of this.pending.splice(0, n)) {
      for (const [name, inode] of change) {
        if (inode) this.durable.set(name, inode);
        else this.durable.delete(name);
      }
    }
    this.appliedSeq += n;
  }

  pendingCount(): number {
    return this.pending.length;
  }

  /** Power loss: the disk keeps its durable entries plus the first `keepChanges` pending changes. */
  crash(keepChanges: number): void {
    this.syncTo(this.appliedSeq + keepChanges);
    this.pending = [];
    this.live = new Map(this.durable);
  }
}
