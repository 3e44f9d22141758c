// The benchmark orchestrator (see USAGE and /work/shared/BENCH.md): runs each comparison in a
// fresh child process (child.ts), prints each result as it comes and a table per bench on stderr
// (under a progress line on a terminal), and with --json one BENCH.md line per result on stdout.
import { spawn } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { loadCoreSync } from "../src/core/node.js";
import { benches } from "./cases/index.js";
import type { Timing } from "./measure.js";
import { wsMode } from "./peers.js";
import { Progress } from "./progress.js";
import { resultLine, table } from "./table.js";
import { RESULT_PREFIX, START_PREFIX, wsModeFor, type Job, type Result, type Row } from "./types.js";

const USAGE = `usage: npm run bench [-- [options] [filters...]]
  --quick      smoke run of every case in a few seconds (tiny inputs and repeat counts; CI)
  --json       one JSON object per result on stdout (tables and progress stay on stderr;
               use npm run -s to keep npm's own banner off stdout)
  --scalar     bench the scalar WASM build instead of the SIMD one
  --cpu-prof   write a V8 CPU profile per child (node --cpu-prof) to a temp directory
  filters      bench names or bench/case prefixes, e.g. mask utf8, parse/64KiB, crossover/mask-`;

const FULL: Timing = { warmupMs: 300, repeats: 21, sampleMs: 20 };
const QUICK: Timing = { warmupMs: 2, repeats: 3, sampleMs: 0.5 };
const PROFILE_DIR = join(tmpdir(), "edgews-bench-prof");

const root = fileURLToPath(new URL("..", import.meta.url));
const childScript = fileURLToPath(new URL("child.ts", import.meta.url));
const wsJsPreload = pathToFileURL(fileURLToPath(new URL("ws-js-preload.ts", import.meta.url))).href;

function options() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        quick: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        scalar: { type: "boolean", default: false },
        "cpu-prof": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const { values: opts, positionals: filters } = options();
if (opts.help) {
  console.error(USAGE);
  process.exit(0);
}

const progress = new Progress();
const log = (line = "") => progress.log(line);

// The benches measure the built core and dist/ (as users run them): build them first, saying so.
log("building the WASM core and dist/ (npm run build) ...");
const buildStarted = performance.now();
progress.show(() => `building the WASM core and dist/: ${((performance.now() - buildStarted) / 1000).toFixed(0)} s`);
const build = spawn("npm", ["run", "build", "--silent"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
const built = await new Promise<boolean>((resolve) => {
  build.once("error", () => resolve(false));
  build.once("close", (code) => resolve(code === 0));
});
progress.done();
if (!built) {
  log("the build failed (its errors are above): nothing was measured");
  process.exit(1);
}

// ---- what to run

const selects = (filter: string, bench: string, name: string) => filter === bench || `${bench}/${name}`.startsWith(filter);
const timing = opts.quick ? QUICK : FULL;
const jobs: Job[] = benches.flatMap((bench) =>
  bench.cases
    .filter((c) => filters.length === 0 || filters.some((f) => selects(f, bench.name, c.name)))
    .flatMap((c) => c.baselines.map((baseline) => ({ bench: bench.name, case: c.name, baseline, quick: opts.quick, scalar: opts.scalar, timing }))),
);
const unmatched = filters.filter((f) => !jobs.some((j) => selects(f, j.bench, j.case)));
if (jobs.length === 0 || unmatched.length > 0) {
  log(`no such bench or case: ${unmatched.join(", ") || filters.join(", ")} (benches: ${benches.map((b) => b.name).join(", ")})`);
  process.exit(2);
}

// A fresh child per comparison; --quick batches all jobs of one ws mode into one child.
const batches: Job[][] = opts.quick
  ? (["native", "js"] as const).map((mode) => jobs.filter((j) => wsModeFor(j.baseline) === mode)).filter((b) => b.length > 0)
  : jobs.map((j) => [j]);

// ---- the machine

const cpu = cpus();
const flavour = loadCoreSync({ simd: !opts.scalar }).flavour;
log(`machine: ${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, node ${process.version} ${process.platform}-${process.arch}, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
log(`core: ${flavour} build${opts.scalar ? " (--scalar)" : ""}`);
log(`peers: ${wsMode().detail}; ws-js: JS _unmask and _isValidUTF8 (checked in every child)`);
log(opts.quick
  ? `quick smoke run: ${jobs.length} comparisons in ${batches.length} children; timings are meaningless`
  : `${jobs.length} comparisons, one child each: >= ${timing.warmupMs} ms warm-up, then ${timing.repeats} interleaved repeats of ~${timing.sampleMs} ms samples`);
log();

// ---- run

const childFlags = opts["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];

/**
 * Runs one child for `batch`, calling `started` and `finished` as it reports each job, and lines
 * it writes on stderr as they come. Rejects if the child fails or reports fewer results.
 */
async function runBatch(batch: Job[], started: (job: Job) => void, finished: (result: Result) => void): Promise<void> {
  const js = wsModeFor(batch[0]!.baseline) === "js";
  const env = { ...process.env };
  delete env.WS_NO_BUFFER_UTIL;
  delete env.WS_NO_UTF_8_VALIDATE;
  if (js) Object.assign(env, { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" });
  const args = [...childFlags, "--import", "tsx", ...(js ? ["--import", wsJsPreload] : []), childScript, JSON.stringify(batch)];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(error.message));
    child.once("close", (code, signal) => resolve(code === 0 ? "" : `exit ${code ?? signal}`));
  });
  createInterface({ input: child.stderr! }).on("line", (line) => log(line));
  let results = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith(START_PREFIX)) started(batch[Number(line.slice(START_PREFIX.length))]!);
    if (!line.startsWith(RESULT_PREFIX)) continue;
    results++;
    finished(JSON.parse(line.slice(RESULT_PREFIX.length)) as Result);
  }
  const failure = await exited;
  if (failure !== "" || results !== batch.length) {
    throw new Error(`child for ${batch.map((j) => `${j.bench}/${j.case} vs ${j.baseline}`).join(", ")} failed (${failure || `${results} of ${batch.length} results`})`);
  }
}

const row = (r: Result): Row => ({ bench: r.bench, case: r.case, ours: r.ours, baseline: r.baseline, theirs: r.theirs, ratio: r.ratio, unit: r.unit });
const sameJob = (j: Job, r: Result) => j.bench === r.bench && j.case === r.case && j.baseline === r.baseline;
const results: Result[] = [];
const failures: string[] = [];
/** Comparisons of each bench not yet finished (or failed): its table prints when none are left. */
const pending = new Map(benches.map((b) => [b.name, jobs.filter((j) => j.bench === b.name).length]));
const started = performance.now();
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
let done = 0;
let jobStarted = started;

/** Counts `job` as over, and prints its bench's table when it was the bench's last. */
function jobEnded(job: Job): void {
  done++;
  progress.show(() => `[${done}/${jobs.length}] done; starting the next comparison (all: ${seconds(started)} s)`);
  const left = pending.get(job.bench)! - 1;
  pending.set(job.bench, left);
  if (left > 0) return;
  const bench = benches.find((b) => b.name === job.bench)!;
  const order = (r: Result) => jobs.findIndex((j) => sameJob(j, r));
  const mine = results.filter((r) => r.bench === bench.name).sort((a, b) => order(a) - order(b));
  if (mine.length > 0) log("\n" + table(bench, mine));
}

function jobStarting(job: Job): void {
  jobStarted = performance.now();
  progress.show(() => `[${done + 1}/${jobs.length}] ${job.bench}/${job.case} vs ${job.baseline}: ${seconds(jobStarted)} s (all: ${seconds(started)} s)`);
}

function jobFinished(r: Result): void {
  results.push(r);
  if (opts.json) process.stdout.write(JSON.stringify(row(r)) + "\n");
  log(`[${done + 1}/${jobs.length}] ${resultLine(r)} (${seconds(jobStarted)} s)`);
  jobEnded(jobs.find((j) => sameJob(j, r))!);
}

for (const batch of batches) {
  try {
    await runBatch(batch, jobStarting, jobFinished);
  } catch (error) {
    failures.push((error as Error).message);
    log(`FAILED: ${(error as Error).message}`);
    for (const job of batch.filter((j) => !results.some((r) => sameJob(j, r)))) jobEnded(job);
  }
}

progress.done();
log(`done in ${seconds(started)} s${opts["cpu-prof"] ? `; CPU profiles in ${PROFILE_DIR}` : ""}`);
if (failures.length > 0) {
  log(`${failures.length} child process(es) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
