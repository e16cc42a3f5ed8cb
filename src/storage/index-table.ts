/**
 * The in-memory index of the log: for each entry held, its term and the byte position of its
 * record inside its segment. 12 bytes per entry, no payloads. Entries are dropped at the front
 * (compaction) and the back (truncation); the arrays grow by doubling and are shifted down only
 * when the dropped front is more than half of them.
 */
export class IndexTable {
  private terms = new Float64Array(1024);
  private positions = new Uint32Array(1024);
  private head = 0;
  private count = 0;
  private first: number;

  constructor(firstIndex: number) {
    this.first = firstIndex;
  }

  get firstIndex(): number {
    return this.first;
  }

  get lastIndex(): number {
    return this.first + this.count - 1;
  }

  has(index: number): boolean {
    return index >= this.first && index < this.first + this.count;
  }

  /** Callers check has(index) first. */
  term(index: number): number {
    return this.terms[this.head + index - this.first] as number;
  }

  position(index: number): number {
    return this.positions[this.head + index - this.first] as number;
  }

  push(term: number, position: number): void {
    if (this.head + this.count === this.terms.length) this.makeRoom();
    this.terms[this.head + this.count] = term;
    this.positions[this.head + this.count] = position;
    this.count++;
  }

  /** Drops `index` and everything after it. */
  truncateFrom(index: number): void {
    this.count = Math.max(0, Math.min(this.count, index - this.first));
  }

  /** Drops everything before `index`. */
  dropBefore(index: number): void {
    const n = Math.max(0, Math.min(this.count, index - this.first));
    this.head += n;
    this.count -= n;
    this.first += n;
  }

  /** Empties the table; the next entry pushed gets `firstIndex`. */
  reset(firstIndex: number): void {
    this.head = 0;
    this.count = 0;
    this.first = firstIndex;
  }

  private makeRoom(): void {
    if (this.head > this.terms.length / 2) {
      this.terms.copyWithin(0, this.head, this.head + this.count);
      this.positions.copyWithin(0, this.head, this.head + this.count);
      this.head = 0;
      return;
    }
    const terms = new Float64Array(this.terms.length * 2);
    const positions = new Uint32Array(this.positions.length * 2);
    terms.set(this.terms.subarray(this.head, this.head + this.count));
    positions.set(this.positions.subarray(this.head, this.head + this.count));
    this.terms = terms;
    this.positions = positions;
    this.head = 0;
  }
}
