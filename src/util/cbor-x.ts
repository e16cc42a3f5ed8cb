// The only door to cbor-x: the guard below runs before cbor-x loads (ESM evaluates imports in
// order), so its native addon, which crashes Bun (docs/platform.md), is never loaded.
import "./disable-native-cbor.ts";

export { Decoder, decode, Encoder, encode, isNativeAccelerationEnabled } from "cbor-x";
