// Fuzzing as a soak (BENCH.md `soak`): the server and client fuzzers of test/fuzz/, seeded from
// the clock, each for a fixed time, reporting how many inputs it tried and how many failed (must
// be 0). Failures and their inputs go to stderr with the seed, so that a run replays:
// FUZZ_SEED=<seed> FUZZ_INPUTS=<inputs> npx vitest run test/fuzz/<server|client>.test.ts
import type { FuzzReport, FuzzTarget } from "../../test/support/fuzz/runner.js";
import type { Comparison } from "../measure.js";
import type { Baseline, BenchSpec, CaseSpec, Env } from "../types.js";

type Fuzzer = "server" | "client";

/** Time one fuzzer runs per case (a fresh child each): 15 s, so the four cases take a minute. */
const RUN_MS = { full: 15_000, quick: 1_250 };
/** BENCH.md's baseline for figures with no peer; not in types.ts's Baseline union yet. */
const NONE = "none" as Baseline;

// Loaded on first use, so that the other benches' children don't load the fuzzers.
const targets: Record<Fuzzer, () => Promise<FuzzTarget<unknown>>> = {
  server: async () => (await import("../../test/support/fuzz/server-fuzzer.js")).serverFuzzer() as Promise<FuzzTarget<unknown>>,
  client: async () => (await import("../../test/support/fuzz/client-fuzzer.js")).clientFuzzer() as Promise<FuzzTarget<unknown>>,
};

/** One run per fuzzer and child process: with --quick, both of a fuzzer's cases share a child. */
const runs = new Map<Fuzzer, Promise<FuzzReport>>();

function soakRun(fuzzer: Fuzzer, quick: boolean): Promise<FuzzReport> {
  let run = runs.get(fuzzer);
  if (!run) {
    run = (async () => {
      const { formatReport, fuzz } = await import("../../test/support/fuzz/runner.js");
      const target = await targets[fuzzer]();
      try {
        const report = await fuzz(target, { seed: Date.now() & 0x7fffffff, durationMs: runMs(quick) });
        process.stderr.write(`${formatReport(report, 20)}\n`);
        return report;
      } finally {
        await target.close();
      }
    })();
    runs.set(fuzzer, run);
  }
  return run;
}

function runMs(quick: boolean): number {
  const override = Number(process.env.FUZZ_SOAK_MS);
  return override > 0 ? override : quick ? RUN_MS.quick : RUN_MS.full;
}

/** A count with no peer to compare with: theirs is the unit, so the ratio is the count itself. */
function count(n: number): Comparison {
  return { ours: n, theirs: 1, ratio: { median: n, p25: n, p75: n }, repeats: 1 };
}

const soakCase = (fuzzer: Fuzzer, figure: "inputs" | "failures"): CaseSpec => ({
  name: `${fuzzer}-fuzz-${figure}`,
  baselines: [NONE],
  measure: async (_baseline, env: Env) => {
    const report = await soakRun(fuzzer, env.quick);
    return count(figure === "inputs" ? report.inputs : report.failures.length);
  },
});

export const soak: BenchSpec = {
  name: "soak",
  unit: "count",
  divisor: 1,
  header: "the server and client fuzzers (test/fuzz/), seedless, for a fixed time: inputs tried, and failures (must be 0)",
  cases: [soakCase("server", "inputs"), soakCase("server", "failures"), soakCase("client", "inputs"), soakCase("client", "failures")],
  summary: () => [
    `baseline none: no peer, theirs is 1 and the ratio is the count. Each case runs its fuzzer for ${RUN_MS.full / 1000} s in its own child (--quick: ${RUN_MS.quick / 1000} s, one run per fuzzer; FUZZ_SOAK_MS sets another time).`,
    "Seeds, failures and their inputs are on stderr above.",
  ],
};
