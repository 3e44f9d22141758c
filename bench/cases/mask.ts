// Masking throughput: Core.mask on a caller's buffer (copies in and out of core memory), and the
// core's mask export on bytes already in its input arena (`-core`), against ws's unmask.
import { DEFAULT_CORE_OPTIONS } from "../../src/core/node.js";
import { keyWord, randomBytes } from "../data.js";
import { loop, type Contender } from "../measure.js";
import { bufferutil, ws } from "../peers.js";
import type { Baseline, BenchSpec, CaseSpec } from "../types.js";

const SIZES: ReadonlyArray<readonly [string, number]> = [
  ["16B", 16],
  ["125B", 125],
  ["1KiB", 1024],
  ["64KiB", 64 * 1024],
  ["1MiB", 1024 * 1024],
];

/** ws unmasks below this size in JS even with bufferutil (lib/buffer-util.js): there bufferutil differs from ws. */
const WS_BUFFERUTIL_FROM = 32;

const KEY = randomBytes(4, 1);

/** ws's unmask (native or JS per the child's mode), or bufferutil's, in place on a Buffer. */
function theirs(baseline: Baseline, size: number): Contender {
  const buf = randomBytes(size, 3);
  const key = Buffer.from(KEY);
  const unmask = baseline === "bufferutil" ? bufferutil.unmask : ws.unmask;
  return loop(() => unmask(buf, key), size);
}

const baselines = (size: number): Baseline[] => (size < WS_BUFFERUTIL_FROM ? ["ws", "ws-js", "bufferutil"] : ["ws", "ws-js"]);

const bufferCase = (name: string, size: number): CaseSpec => ({
  name,
  baselines: baselines(size),
  setup(baseline, env) {
    const core = env.core();
    const buf = randomBytes(size, 2);
    return { ours: loop(() => core.mask(buf, KEY), size), theirs: theirs(baseline, size) };
  },
});

const coreCase = (name: string, size: number): CaseSpec => ({
  name: `${name}-core`,
  baselines: baselines(size),
  setup(baseline, env) {
    const core = env.core(Math.max(size, DEFAULT_CORE_OPTIONS.arenaBytes));
    const { x, inputPtr } = core;
    core.mem.set(randomBytes(size, 2), inputPtr);
    const key = keyWord(KEY);
    return { ours: loop(() => x.mask(inputPtr, size, key), size), theirs: theirs(baseline, size) };
  },
});

const noiseFloor: CaseSpec = {
  name: "noise-floor-1KiB",
  baselines: ["ws"],
  note: "noise-floor-1KiB: ws against itself (both columns are ws's unmask); its ratio's distance from 1 is the noise.",
  setup: (baseline) => ({ ours: theirs(baseline, 1024), theirs: theirs(baseline, 1024) }),
};

export const mask: BenchSpec = {
  name: "mask",
  unit: "MB/s",
  divisor: 1e6,
  header: "in-place XOR masking, MB/s, higher is better; ratio = ours/theirs, > 1: ours is faster",
  cases: [...SIZES.map(([name, size]) => bufferCase(name, size)), ...SIZES.map(([name, size]) => coreCase(name, size)), noiseFloor],
};
