/**
 * Where an item sits in a KeyedHeap, and what orders it: the item keeps its own position (-1 when it is in no heap),
 * so that it can be reordered or removed in O(log n) when its key changes.
 */
export interface HeapSlot<T> {
  key(item: T): number;
  position(item: T): number;
  place(item: T, at: number): void;
}

/**
 * A binary min-heap of items ordered by a number each has (its key). Ties come out in any order: the heaps here order
 * topics whose drops depend only on their own messages and the time, never on which is visited first, so replicas
 * with differently shaped heaps still agree.
 */
export class KeyedHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly slot: HeapSlot<T>) {}

  get size(): number {
    return this.items.length;
  }

  top(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return this.slot.position(item) >= 0;
  }

  insert(item: T): void {
    const at = this.items.length;
    this.items.push(item);
    this.slot.place(item, at);
    this.up(at);
  }

  remove(item: T): void {
    const at = this.slot.position(item);
    const last = this.items.pop() as T;
    this.slot.place(item, -1);
    if (last === item) return;
    this.items[at] = last;
    this.slot.place(last, at);
    this.down(at);
    this.up(this.slot.position(last));
  }

  /** The item's key changed: move it to where it now belongs. */
  update(item: T): void {
    this.down(this.slot.position(item));
    this.up(this.slot.position(item));
  }

  /** Empties the heap and clears every item's position. */
  clear(): void {
    for (const item of this.items) this.slot.place(item, -1);
    this.items.length = 0;
  }

  private up(at: number): void {
    const { items, slot } = this;
    const item = items[at] as T;
    const key = slot.key(item);
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as T;
      if (slot.key(parent) <= key) break;
      items[at] = parent;
      slot.place(parent, at);
      at = parentAt;
    }
    items[at] = item;
    slot.place(item, at);
  }

  private down(at: number): void {
    const { items, slot } = this;
    const n = items.length;
    const item = items[at] as T;
    const key = slot.key(item);
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && slot.key(items[right] as T) < slot.key(items[child] as T)) child = right;
      const smaller = items[child] as T;
      if (slot.key(smaller) >= key) break;
      items[at] = smaller;
      slot.place(smaller, at);
      at = child;
    }
    items[at] = item;
    slot.place(item, at);
  }
}
