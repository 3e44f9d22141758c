// Line faults for one direction of a serial line: the error model of docs/link-protocol.md §3.
// Each byte on the wire is, independently and with probability `errorRate`, hit by an error
// event: a flipped bit, a dropped byte, an inserted byte, or the start of a burst of garbage.
// The injector is a stream transform: its state (the distance to the next event, the rest of
// a burst) carries from one chunk to the next, so the damage does not depend on how the bytes
// were chunked, only on the seed and the bytes themselves.
import type { Random } from "./random.js";

export type FaultKind = "flip" | "drop" | "insert" | "burst";

export interface LineFaultOptions {
  /** Probability that a byte is hit by an error event, 0 to 0.5. 0 (the default) leaves the line clean. */
  errorRate?: number;
  /** Relative odds of each kind of event; kinds left out get none. Default: equal odds for the four. */
  mix?: Partial<Record<FaultKind, number>>;
  /** Bytes a burst replaces with random ones, at least and at most (default 2 to 16: up to 128 bit times of noise). */
  burstLength?: [number, number];
}

export type FaultCounts = Record<FaultKind, number>;

/** The highest error rate accepted: beyond it the line carries more damage than data. */
export const MAX_ERROR_RATE = 0.5;
const KINDS: readonly FaultKind[] = ["flip", "drop", "insert", "burst"];

export class LineFaults {
  /** Events so far, by kind. */
  readonly counts: FaultCounts = { flip: 0, drop: 0, insert: 0, burst: 0 };
  readonly #rate: number;
  readonly #random: Random;
  /** Cumulative odds of the kinds, in KINDS order, ending at 1. */
  readonly #thresholds: number[];
  readonly #burst: [number, number];
  /** Clean bytes to let through before the next event. */
  #gap: number;
  /** Bytes of the current burst still to replace. */
  #burstLeft = 0;

  constructor(options: LineFaultOptions, random: Random) {
    const rate = options.errorRate ?? 0;
    if (!(rate >= 0 && rate <= MAX_ERROR_RATE)) throw new RangeError(`errorRate must be from 0 to ${MAX_ERROR_RATE} (errors per byte), got ${rate}`);
    this.#rate = rate;
    this.#random = random;
    this.#thresholds = cumulativeOdds(options.mix);
    this.#burst = checkBurst(options.burstLength ?? [2, 16]);
    this.#gap = this.#nextGap();
  }

  get errorRate(): number {
    return this.#rate;
  }

  /** Events so far, all kinds. */
  get total(): number {
    return this.counts.flip + this.counts.drop + this.counts.insert + this.counts.burst;
  }

  /** The bytes as the far end receives them (the input itself when nothing happened to it). */
  apply(bytes: Uint8Array): Uint8Array {
    if (this.#rate === 0) return bytes;
    if (this.#burstLeft === 0 && this.#gap >= bytes.length) {
      this.#gap -= bytes.length;
      return bytes;
    }
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (this.#burstLeft > 0) {
        this.#burstLeft--;
        out.push(this.#randomByte());
      } else if (this.#gap > 0) {
        this.#gap--;
        out.push(bytes[i]);
      } else {
        this.#strike(bytes[i], out);
        this.#gap = this.#nextGap();
      }
    }
    return Uint8Array.from(out);
  }

  /** One error event on `byte`. */
  #strike(byte: number, out: number[]): void {
    const kind = this.#kind();
    this.counts[kind]++;
    switch (kind) {
      case "flip":
        out.push(byte ^ (1 << Math.floor(this.#random.next() * 8)));
        break;
      case "drop":
        break;
      case "insert":
        out.push(this.#randomByte(), byte);
        break;
      case "burst":
        // The burst starts on this byte: it and the next length - 1 are replaced.
        this.#burstLeft = this.#random.int(this.#burst[0], this.#burst[1]) - 1;
        out.push(this.#randomByte());
        break;
    }
  }

  #kind(): FaultKind {
    const r = this.#random.next();
    const index = this.#thresholds.findIndex((threshold) => r < threshold);
    return KINDS[index < 0 ? KINDS.length - 1 : index];
  }

  /**
   * Clean bytes before the next hit: geometric with parameter p, so that every byte is hit with
   * probability p independently of the others, at one random draw per event instead of per byte.
   */
  #nextGap(): number {
    if (this.#rate === 0) return Infinity;
    return Math.floor(Math.log(1 - this.#random.next()) / Math.log1p(-this.#rate));
  }

  #randomByte(): number {
    return Math.floor(this.#random.next() * 256);
  }
}

function cumulativeOdds(mix: LineFaultOptions["mix"]): number[] {
  const weights = KINDS.map((kind) => mix?.[kind] ?? (mix ? 0 : 1));
  if (weights.some((w) => !(w >= 0))) throw new RangeError(`fault mix weights must be numbers ≥ 0, got ${JSON.stringify(mix)}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) throw new RangeError(`fault mix gives no kind any odds: ${JSON.stringify(mix)}`);
  let running = 0;
  return weights.map((w) => (running += w / sum));
}

function checkBurst([min, max]: [number, number]): [number, number] {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) throw new RangeError(`burstLength must be two integers 1 ≤ min ≤ max, got [${min}, ${max}]`);
  return [min, max];
}
