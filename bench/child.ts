// A fresh process for one comparison (or, with --quick, a batch): runs the jobs passed as JSON in
// argv[2] and writes on stdout a line as each job starts and its result as soon as it has it.
// Spawned by run.ts; ws is already in the mode the jobs' baselines need (native helpers, or pure
// JS via ws-js-preload.ts).
import { DEFAULT_CORE_OPTIONS, loadCoreSync, type Core } from "../src/core/node.js";
import { benches } from "./cases/index.js";
import { compare, type Comparison } from "./measure.js";
import { assertWsMode } from "./peers.js";
import { significant } from "./stats.js";
import { RESULT_PREFIX, START_PREFIX, wsModeFor, type Env, type Job, type Result } from "./types.js";

function makeEnv(quick: boolean, scalar: boolean): Env {
  const cores = new Map<number, Core>();
  return {
    quick,
    core(arenaBytes = DEFAULT_CORE_OPTIONS.arenaBytes) {
      let core = cores.get(arenaBytes);
      if (!core) {
        core = loadCoreSync({ simd: !scalar, arenaBytes });
        cores.set(arenaBytes, core);
      }
      return core;
    },
  };
}

async function runJob(job: Job, env: Env): Promise<Result> {
  const bench = benches.find((b) => b.name === job.bench);
  const spec = bench?.cases.find((c) => c.name === job.case);
  if (!bench || !spec) throw new Error(`unknown case ${job.bench}/${job.case}`);
  assertWsMode(wsModeFor(job.baseline));
  let result: Comparison;
  if (spec.measure) result = await spec.measure(job.baseline, env, job.timing);
  else if (spec.setup) {
    const { ours, theirs } = spec.setup(job.baseline, env);
    result = compare(ours, theirs, job.timing);
  } else throw new Error(`case ${job.bench}/${job.case} has neither setup nor measure`);
  return {
    bench: job.bench,
    case: job.case,
    ours: significant(result.ours / bench.divisor),
    baseline: job.baseline,
    theirs: significant(result.theirs / bench.divisor),
    ratio: significant(result.ratio.median),
    unit: spec.unit ?? bench.unit,
    ratioP25: significant(result.ratio.p25),
    ratioP75: significant(result.ratio.p75),
    repeats: result.repeats ?? job.timing.repeats,
    flavour: env.core().flavour,
  };
}

const jobs = JSON.parse(process.argv[2] ?? "[]") as Job[];
const first = jobs[0];
if (first) {
  const env = makeEnv(first.quick, first.scalar);
  for (const [index, job] of jobs.entries()) {
    process.stdout.write(`${START_PREFIX}${index}\n`);
    process.stdout.write(RESULT_PREFIX + JSON.stringify(await runJob(job, env)) + "\n");
  }
}
// Network benches may leave sockets or timers behind; the results are out, so leave now.
process.exit(0);
