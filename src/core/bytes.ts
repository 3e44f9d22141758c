// Byte buffers for the host side: Node Buffers where Node is, plain Uint8Arrays elsewhere.

/** A fresh, uninitialised buffer (from Node's pool for small sizes). */
export const allocBytes: (n: number) => Uint8Array =
  typeof Buffer === "function" ? (n) => Buffer.allocUnsafe(n) : (n) => new Uint8Array(n);

/**
 * Makes views: Node's Buffer class without Buffer.from's checks (as ws does), else Uint8Array.
 * Several times cheaper than `subarray`, which looks the constructor up on every call.
 */
export const View: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array =
  typeof Buffer === "function" ? (Buffer as unknown as Record<symbol, typeof Uint8Array>)[Symbol.species]! : Uint8Array;

/** An owned copy of `mem` [from, to). */
export function copyOut(mem: Uint8Array, from: number, to: number): Uint8Array {
  const out = allocBytes(to - from);
  out.set(new View(mem.buffer, mem.byteOffset + from, to - from));
  return out;
}
