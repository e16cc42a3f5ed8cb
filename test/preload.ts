import { afterEach, setDefaultTimeout } from "bun:test";
import { traceDescriptors } from "./support/fd-trace.ts";

// cbor-x's native addon crashes Bun (see docs/platform.md); the env var must be set before
// cbor-x is first imported, and a preload runs before any test file.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED = "true";
// bunfig's [test] timeout is ignored by Bun 1.4; this is the only place it takes effect.
setDefaultTimeout(20_000);
// make test's record of the descriptors each file leaves open (support/fd-trace.ts)
if (process.env.MQRAFT_FD_TRACE) traceDescriptors(process.env.MQRAFT_FD_TRACE, afterEach);
