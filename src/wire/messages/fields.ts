import * as v from "valibot";

/** Field schemas shared by several messages. */

export const NodeIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

export const ProtocolVersionSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

export const ByteCountSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
