// Deterministic pseudo-random numbers and bytes: the same input on every run (and shrinkable
// in property tests, where a seed stands for megabytes).

/** mulberry32: a small seeded PRNG; each call gives a float in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  return out;
}

/** How a test splits a stream into pushes: whole, byte by byte, or random pieces of 1..max. */
export type Chunking = { kind: "whole" } | { kind: "bytewise" } | { kind: "random"; seed: number; max: number };

/**
 * Cuts `data` as `c` says. "bytewise" goes one byte at a time up to `bytewiseUpTo` bytes and
 * in random pieces of 1..16 beyond, to keep big streams fast.
 */
export function cut<T extends Uint8Array>(data: T, c: Chunking, bytewiseUpTo: number): T[] {
  if (c.kind === "whole") return [data];
  const next = prng(c.kind === "random" ? c.seed : data.length);
  const max = c.kind === "random" ? c.max : data.length <= bytewiseUpTo ? 1 : 16;
  const out: T[] = [];
  for (let off = 0; off < data.length; ) {
    const n = 1 + Math.floor(next() * max);
    out.push(data.subarray(off, off + n) as T);
    off += n;
  }
  return out;
}
