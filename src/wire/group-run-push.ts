import type { CborWriter } from "../util/cbor-writer.ts";
import type { HeaderPairs } from "../util/message-headers.ts";
import { TYPE_KEY } from "./hot-fields.ts";
import type { GroupRunItem } from "./messages/group.ts";
import { RUN_LAYOUT } from "./run-layout.ts";

/**
 * A `group-run` push gathered by the leader (node/group-consumer.ts) and written by hand: its messages are kept as
 * payloads, times and headers side by side instead of a GroupRunItem each, and `write` puts the frame's CBOR straight
 * into the connection's output with no per-item walk of the schema's table (hot-encoders.ts sends it here). The bytes
 * are exactly those the table-driven encoder writes for the same message (test/wire/group-run-push.test.ts); the
 * keys and their order come from the schema's table through run-layout.ts, which the run reader shares, and a schema
 * that no longer matches stops the program at load.
 * What goes in is what the replicated state holds, checked when it was applied: a topic name, payloads, whole-number
 * times and valid headers.
 */
export class GroupRunPush {
  readonly type = "group-run" as const;
  private readonly payloads: GroupRunItem["data"][] = [];
  private readonly times: number[] = [];
  /** Each message's headers, by place; undefined while none of them has any. */
  private headerList: (HeaderPairs | undefined)[] | undefined;

  constructor(
    readonly subscription: number,
    readonly topic: string,
    /** The offset of the first message; the others follow it one by one. */
    readonly offset: number,
    readonly attempt: number,
  ) {}

  /** Messages gathered. */
  get length(): number {
    return this.payloads.length;
  }

  /** Adds the message at `offset + length`. */
  add(data: GroupRunItem["data"], time: number, headers: HeaderPairs | undefined): void {
    if (headers !== undefined) {
      this.headerList ??= new Array(this.payloads.length).fill(undefined);
      this.headerList.push(headers);
    } else this.headerList?.push(undefined);
    this.payloads.push(data);
    this.times.push(time);
  }

  /** The messages as the schema has them (what `write` writes), for whoever reads the push as a message. */
  get messages(): GroupRunItem[] {
    return this.payloads.map((data, i) => {
      const item: GroupRunItem = { data, time: this.times[i] as number };
      const headers = this.headerList?.[i];
      if (headers !== undefined) item.headers = headers;
      return item;
    });
  }

  /** Writes the push as the table-driven encoder writes a GroupRun with these fields. */
  write(w: CborWriter): void {
    const count = this.payloads.length;
    this.writeHead(w);
    const { payloads, times, headerList } = this;
    for (let i = 0; i < count; i++) {
      const headers = headerList?.[i];
      w.mapHeader(headers === undefined ? 2 : 3);
      key(w, DATA);
      w.bytes(payloads[i] as GroupRunItem["data"]);
      key(w, TIME);
      w.whole(times[i] as number);
      if (headers !== undefined) writeHeaders(w, headers);
    }
  }

  /** Everything before the messages: the fields of the push, and the messages' list header. */
  private writeHead(w: CborWriter): void {
    w.mapHeader(6);
    key(w, TYPE_KEY);
    key(w, TYPE_BYTES);
    key(w, SUBSCRIPTION);
    w.whole(this.subscription);
    key(w, TOPIC);
    w.text(this.topic);
    key(w, OFFSET);
    w.whole(this.offset);
    key(w, ATTEMPT);
    w.whole(this.attempt);
    key(w, MESSAGES);
    w.head(4, this.payloads.length);
  }
}

/**
 * A message's headers, key and value. Apart from `write`'s loop, as few messages have headers: the code the JIT
 * compiles for every message stays small.
 */
function writeHeaders(w: CborWriter, headers: HeaderPairs): void {
  key(w, HEADERS);
  w.head(4, headers.length);
  for (const [k, v] of headers) {
    w.head(4, 2);
    w.text(k);
    w.text(v);
  }
}

/** A few bytes written one by one: `raw` (a TypedArray `set`) cost more than the copy for a key of a few bytes. */
function key(w: CborWriter, bytes: Uint8Array): void {
  const n = bytes.length;
  w.reserve(n);
  const out = w.buffer;
  let at = w.at;
  for (let i = 0; i < n; i++) out[at++] = bytes[i] as number;
  w.at = at;
}

const {
  TYPE: TYPE_BYTES,
  RUN_KEYS: [SUBSCRIPTION, TOPIC, OFFSET, ATTEMPT, MESSAGES],
  DATA_KEY: DATA,
  TIME_KEY: TIME,
  HEADERS_KEY: HEADERS,
} = RUN_LAYOUT;
