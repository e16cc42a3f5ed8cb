// cbor-x loads its native addon (cbor-extract) at import time unless this variable is set, and that addon crashes
// Bun (see docs/platform.md). ESM evaluates imports in order, so importing this module first in cbor.ts makes every entry
// point safe, also one started without the variable in its environment. Import cbor-x only through cbor-x.ts.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED = "true";
