// Interleaved A/B timing: warm both sides up, then alternate ours, theirs, ours, theirs ... and
// take the median of the per-repeat ratios, so that drift on a shared machine hits both sides.
import { performance } from "node:perf_hooks";
import { median, spread, type Spread } from "./stats.js";

/** One side of a comparison. */
export interface Contender {
  /** Does the work `times` times; returns the units processed (bytes, frames). Timed. */
  run(times: number): number;
  /**
   * Untimed, before every run, for work that consumes its input (ws unmasks received frames in
   * place). When present, each run is timed on its own with `times` = 1.
   */
  prepare?(): void;
}

export interface Timing {
  /** Least time spent alternating both sides before measuring. */
  warmupMs: number;
  /** Measured ours/theirs pairs. */
  repeats: number;
  /** Aimed-for duration of one sample of one side. */
  sampleMs: number;
}

/**
 * The timing of a network case (sockets, other processes): samples of `sampleMs`, longer than
 * the in-memory benches' 20 ms, to be stable; with --quick, the harness's own smoke timing.
 */
export function networkTiming(quick: boolean, timing: Timing, sampleMs: number): Timing {
  return quick ? timing : { warmupMs: 500, repeats: 11, sampleMs };
}

export interface Comparison {
  /** Median rates, units per second. */
  ours: number;
  theirs: number;
  /** Per-repeat ours/theirs ratios. */
  ratio: Spread;
  /** Repeats measured, when a case chose its own count. */
  repeats?: number;
}

/** A contender calling `op` once per time, each call doing `units` of work. */
export function loop(op: () => void, units: number): Contender {
  return {
    run(times) {
      for (let i = 0; i < times; i++) op();
      return times * units;
    },
  };
}

/** A contender validating `data`, failing loudly if the answer is ever not `expected`. */
export function validating<T extends Uint8Array>(validate: (data: T) => boolean, data: T, expected = true): Contender {
  return loop(() => {
    if (validate(data) !== expected) throw new Error(`validator said ${!expected}, expected ${expected}`);
  }, data.length);
}

interface Sample {
  units: number;
  ms: number;
}

function sample(c: Contender, times: number): Sample {
  if (!c.prepare) {
    const start = performance.now();
    const units = c.run(times);
    return { units, ms: performance.now() - start };
  }
  let units = 0;
  let ms = 0;
  for (let i = 0; i < times; i++) {
    c.prepare();
    const start = performance.now();
    units += c.run(1);
    ms += performance.now() - start;
  }
  return { units, ms };
}

const rate = (s: Sample) => s.units / (Math.max(s.ms, 1e-6) / 1000);

/** How many times to run so that a sample lasts about `sampleMs`, judging by the last one. */
function rescale(times: number, last: Sample, sampleMs: number): number {
  const perRun = Math.max(last.ms, 1e-4) / times;
  return Math.max(1, Math.min(times * 16, Math.round(sampleMs / perRun)));
}

export function compare(ours: Contender, theirs: Contender, timing: Timing): Comparison {
  let timesOurs = 1;
  let timesTheirs = 1;
  const until = performance.now() + timing.warmupMs;
  for (let round = 0; round < 3 || performance.now() < until; round++) {
    timesOurs = rescale(timesOurs, sample(ours, timesOurs), timing.sampleMs);
    timesTheirs = rescale(timesTheirs, sample(theirs, timesTheirs), timing.sampleMs);
  }
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < timing.repeats; i++) {
    const ra = rate(sample(ours, timesOurs));
    const rb = rate(sample(theirs, timesTheirs));
    a.push(ra);
    b.push(rb);
    ratios.push(ra / rb);
  }
  return { ours: median(a), theirs: median(b), ratio: spread(ratios) };
}

/** One side of a comparison whose work is asynchronous (network round trips). */
export interface AsyncContender {
  /** Does the work `times` times; resolves with the units processed. Timed. */
  run(times: number): Promise<number>;
}

async function sampleAsync(c: AsyncContender, times: number): Promise<Sample> {
  const start = performance.now();
  const units = await c.run(times);
  return { units, ms: performance.now() - start };
}

/** `compare` for asynchronous contenders: same warm-up, interleaving and ratios. */
export async function compareAsync(ours: AsyncContender, theirs: AsyncContender, timing: Timing): Promise<Comparison> {
  let timesOurs = 1;
  let timesTheirs = 1;
  const until = performance.now() + timing.warmupMs;
  for (let round = 0; round < 3 || performance.now() < until; round++) {
    timesOurs = rescale(timesOurs, await sampleAsync(ours, timesOurs), timing.sampleMs);
    timesTheirs = rescale(timesTheirs, await sampleAsync(theirs, timesTheirs), timing.sampleMs);
  }
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < timing.repeats; i++) {
    const ra = rate(await sampleAsync(ours, timesOurs));
    const rb = rate(await sampleAsync(theirs, timesTheirs));
    a.push(ra);
    b.push(rb);
    ratios.push(ra / rb);
  }
  return { ours: median(a), theirs: median(b), ratio: spread(ratios), repeats: timing.repeats };
}

/**
 * Interleaved A/B of a cost measured per repeat (a latency percentile, bytes per connection):
 * `measure` is called ours, theirs, ours, theirs ... `repeats` times each after `warmups` pairs.
 */
export async function compareCosts(measure: (side: "ours" | "theirs") => Promise<number>, repeats: number, warmups = 0): Promise<Comparison> {
  for (let i = 0; i < warmups; i++) {
    await measure("ours");
    await measure("theirs");
  }
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const ca = await measure("ours");
    const cb = await measure("theirs");
    a.push(ca);
    b.push(cb);
    ratios.push(ca / cb);
  }
  return { ours: median(a), theirs: median(b), ratio: spread(ratios), repeats };
}
