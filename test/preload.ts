import { setDefaultTimeout } from "bun:test";

// cbor-x's native addon crashes Bun (see docs/platform.md); the env var must be set before
// cbor-x is first imported, and a preload runs before any test file.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED = "true";
// bunfig's [test] timeout is ignored by Bun 1.4; this is the only place it takes effect.
setDefaultTimeout(20_000);
