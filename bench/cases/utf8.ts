// UTF-8 validation throughput over 1 MiB: Core.isValidUtf8 against what ws uses and the
// validators available to it.
import { asciiText, mixedText, withInvalidByteNearEnd } from "../data.js";
import { validating } from "../measure.js";
import { isUtf8, utf8Validate, ws } from "../peers.js";
import type { Baseline, BenchSpec, CaseSpec } from "../types.js";

const MiB = 1024 * 1024;

function validator(baseline: Baseline): (data: Buffer) => boolean {
  switch (baseline) {
    case "ws":
    case "ws-js":
      return ws.isValidUtf8;
    case "isUtf8":
      return isUtf8();
    case "utf-8-validate":
      return utf8Validate;
    default:
      throw new Error(`no UTF-8 validator for baseline ${baseline}`);
  }
}

const BASELINES: readonly Baseline[] = ["ws", "ws-js", "isUtf8", "utf-8-validate"];

/** Core.isValidUtf8 on a caller's buffer: copies it into core memory in arena-sized pieces. */
const utf8Case = (name: string, make: () => Buffer, expected: boolean): CaseSpec => ({
  name,
  baselines: BASELINES,
  setup(baseline, env) {
    const core = env.core();
    const data = make();
    return {
      ours: validating((d) => core.isValidUtf8(d), data, expected),
      theirs: validating(validator(baseline), data, expected),
    };
  },
});

/** The core's isValidUtf8 export on bytes already in its input arena: validation alone, no copy. */
const coreCase = (name: string, make: () => Buffer, expected: boolean): CaseSpec => ({
  name: `${name}-core`,
  baselines: ["isUtf8"],
  setup(baseline, env) {
    const data = make();
    const core = env.core(data.length);
    const { x, inputPtr } = core;
    core.mem.set(data, inputPtr);
    return {
      ours: validating(() => x.isValidUtf8(inputPtr, data.length) !== 0, data, expected),
      theirs: validating(validator(baseline), data, expected),
    };
  },
});

const INPUTS: ReadonlyArray<readonly [string, () => Buffer, boolean]> = [
  ["ascii-1MiB", () => asciiText(MiB, 10), true],
  ["mixed-1MiB", () => mixedText(MiB, 11), true],
  ["invalid-1MiB", () => withInvalidByteNearEnd(mixedText(MiB, 11)), false],
];

export const utf8: BenchSpec = {
  name: "utf8",
  unit: "MB/s",
  divisor: 1e6,
  header: "UTF-8 validation of 1 MiB, MB/s, higher is better; ratio = ours/theirs, > 1: ours is faster",
  cases: [...INPUTS.map((input) => utf8Case(...input)), ...INPUTS.map((input) => coreCase(...input))],
};
