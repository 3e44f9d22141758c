// The benchmark orchestrator (see USAGE and /work/shared/BENCH.md): runs each comparison in a
// fresh child process (child.ts), prints a table per bench on stderr, and with --json one BENCH.md
// line per result on stdout.
import { spawnSync } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadCoreSync } from "../src/core/node.js";
import { benches } from "./cases/index.js";
import type { Timing } from "./measure.js";
import { wsMode } from "./peers.js";
import { table } from "./table.js";
import { RESULT_PREFIX, wsModeFor, type Job, type Result, type Row } from "./types.js";

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

const log = (line = "") => process.stderr.write(line + "\n");

// The benches measure the built core and dist/ (as users run them): build them first, saying so.
log("building the WASM core and dist/ (npm run build) ...");
if (spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] }).status !== 0) {
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

function runBatch(batch: Job[]): Result[] {
  const js = wsModeFor(batch[0]!.baseline) === "js";
  const env = { ...process.env };
  delete env.WS_NO_BUFFER_UTIL;
  delete env.WS_NO_UTF_8_VALIDATE;
  if (js) Object.assign(env, { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" });
  const args = [...childFlags, "--import", "tsx", ...(js ? ["--import", wsJsPreload] : []), childScript, JSON.stringify(batch)];
  const child = spawnSync(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 64 << 20 });
  const results = child.stdout
    .split("\n")
    .filter((line) => line.startsWith(RESULT_PREFIX))
    .map((line) => JSON.parse(line.slice(RESULT_PREFIX.length)) as Result);
  if (child.status !== 0 || results.length !== batch.length) {
    throw new Error(`child for ${batch.map((j) => `${j.bench}/${j.case} vs ${j.baseline}`).join(", ")} failed (${child.error?.message ?? `exit ${child.status ?? child.signal}`})`);
  }
  return results;
}

const row = (r: Result): Row => ({ bench: r.bench, case: r.case, ours: r.ours, baseline: r.baseline, theirs: r.theirs, ratio: r.ratio, unit: r.unit });
const results: Result[] = [];
const failures: string[] = [];
/** Comparisons of each bench not yet finished (or failed): its table prints when none are left. */
const pending = new Map(benches.map((b) => [b.name, jobs.filter((j) => j.bench === b.name).length]));
const started = performance.now();
let done = 0;

for (const batch of batches) {
  const t0 = performance.now();
  try {
    for (const r of runBatch(batch)) {
      results.push(r);
      if (opts.json) process.stdout.write(JSON.stringify(row(r)) + "\n");
      log(`[${++done}/${jobs.length}] ${r.bench} ${r.case} vs ${r.baseline}: ours ${r.ours} theirs ${r.theirs} ${r.unit}, ratio ${r.ratio} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } catch (error) {
    done += batch.length;
    failures.push((error as Error).message);
    log(`FAILED: ${(error as Error).message}`);
  }
  for (const job of batch) pending.set(job.bench, pending.get(job.bench)! - 1);
  for (const bench of benches) {
    if (pending.get(bench.name) !== 0) continue;
    pending.delete(bench.name);
    const mine = results.filter((r) => r.bench === bench.name);
    const order = (r: Result) => jobs.findIndex((j) => j.bench === r.bench && j.case === r.case && j.baseline === r.baseline);
    if (mine.length > 0) log("\n" + table(bench, mine.sort((a, b) => order(a) - order(b))));
  }
}

log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s${opts["cpu-prof"] ? `; CPU profiles in ${PROFILE_DIR}` : ""}`);
if (failures.length > 0) {
  log(`${failures.length} child process(es) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
