/** Every frame is a 4-byte big-endian unsigned length, then that many bytes holding one CBOR value. */
export const FRAME_HEADER_BYTES = 4;

/** Largest frame body accepted unless configured otherwise; checked from the header, before the body is buffered. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
