// Seeded pseudo-random numbers for the simulator: one seed replays a whole fleet. Each concern
// (a device's physics, its sessions, each direction of its line) draws from a stream of its own,
// forked by label, so that changing one setting (say, the error rate) leaves the others' numbers
// as they were.

/** murmur3's finaliser: spreads every input bit over the output, so nearby seeds give unrelated streams. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit hash of a label (FNV-1a), to name a forked stream. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed of the stream named `label` under `seed`. */
export function deriveSeed(seed: number, label: string): number {
  return mix32((seed >>> 0) ^ mix32(hashLabel(label) + 0x9e3779b9));
}

/** mulberry32: 32 bits of state, fast, good enough for simulation (not for secrets). */
export class Random {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An independent stream named `label` (the same label gives the same stream). */
  fork(label: string): Random {
    return new Random(deriveSeed(this.seed, label));
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A float from `min` to `max`. */
  uniform(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // in (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Exponentially distributed with this mean: the wait to the next event of a Poisson process. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** A nonzero 32-bit integer. */
  nonzeroUint32(): number {
    let value: number;
    do value = Math.floor(this.next() * 4294967296);
    while (value === 0);
    return value;
  }
}
