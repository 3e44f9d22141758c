// Small statistics for benchmark samples.

export interface Spread {
  median: number;
  p25: number;
  p75: number;
}

/** The q-quantile (0..1) of `values`, interpolating between the two nearest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error("quantile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), p25: quantile(values, 0.25), p75: quantile(values, 0.75) };
}

/** `x` rounded to `digits` significant digits (what the JSON lines carry). */
export function significant(x: number, digits = 3): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}
