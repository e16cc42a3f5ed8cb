import type { FieldKind, Table } from "./hot-fields.ts";

/** The hot messages' tables (hot-fields.ts) laid out for reading by hot-decoders.ts: kinds as small numbers. */

export const WHOLE = 0;
export const NAME = 1;
export const BYTES = 2;
export const BOOLEAN = 3;
export const CHOICE = 4;
export const LIST = 5;
export const TOPIC = 6;
export const HEADERS = 7;

/** A table laid out for reading: one array per property of the fields, kinds as small numbers. */
export interface Reader {
  readonly type: string | undefined;
  readonly typeBytes: Uint8Array | undefined;
  readonly keys: readonly string[];
  readonly keyBytes: readonly Uint8Array[];
  readonly required: readonly boolean[];
  readonly kinds: readonly number[];
  /** For a choice, its options; for a list, the reader of its items. */
  readonly extra: readonly (readonly number[] | Reader | undefined)[];
  readonly requiredCount: number;
}

export function readerOf(t: Table): Reader {
  const code = (kind: FieldKind): number => {
    switch (kind.is) {
      case "whole":
        return WHOLE;
      case "name":
        return NAME;
      case "topic":
        return TOPIC;
      case "headers":
        return HEADERS;
      case "bytes":
        return BYTES;
      case "boolean":
        return BOOLEAN;
      case "choice":
        return CHOICE;
      case "list":
        return LIST;
      default: {
        const unknownKind: never = kind;
        throw new Error(`hot decoder: field kind ${JSON.stringify(unknownKind)}`);
      }
    }
  };
  return {
    type: t.type,
    typeBytes: t.typeBytes,
    keys: t.fields.map((f) => f.key),
    keyBytes: t.fields.map((f) => f.keyBytes),
    required: t.fields.map((f) => f.required),
    kinds: t.fields.map((f) => code(f.kind)),
    extra: t.fields.map((f) =>
      f.kind.is === "choice" ? f.kind.options : f.kind.is === "list" ? readerOf(f.kind.item) : undefined,
    ),
    requiredCount: t.required,
  };
}
