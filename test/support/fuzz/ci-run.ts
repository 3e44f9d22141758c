// The CI form of a fuzzer: a fixed seed and input count (FUZZ_SEED / FUZZ_INPUTS replay another
// run), every input judged, no failure, and most inputs conclusive.
import { expect } from "vitest";
import { formatReport, fuzz, type FuzzTarget } from "./runner.js";

export async function expectCleanFuzzRun<T>(target: FuzzTarget<T>, defaults: { seed: number; inputs: number }): Promise<void> {
  const seed = Number(process.env.FUZZ_SEED ?? defaults.seed);
  const inputs = Number(process.env.FUZZ_INPUTS ?? defaults.inputs);
  try {
    const report = await fuzz(target, { seed, inputs });
    console.log(formatReport(report));
    expect(report.inputs).toBe(inputs);
    expect(report.failures).toEqual([]);
    // Inputs that saw the event loop stall are set aside; most must count, or this proved little.
    expect(report.inconclusive.length).toBeLessThan(report.inputs / 10);
  } finally {
    await target.close();
  }
}
