// What a test process holds after full collections: for tests that assert a memory bound.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
/** V8's gc(), without starting the test process with --expose-gc. */
export const gc = runInNewContext("gc") as () => void;

/** Bytes of ArrayBuffers (Buffers) alive, after collecting garbage. */
export function liveBufferBytes(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

/** Heap and ArrayBuffer bytes in use, after collecting garbage. */
export function heldBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
