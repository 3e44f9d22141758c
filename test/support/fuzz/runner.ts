// Runs a fuzz target: inputs drawn from fast-check arbitraries with a seed, several at a time, a
// health check after each batch, and process-wide checks over the whole run (no uncaught
// exception or unhandled rejection, heap growth within a bound). Failures are collected, not
// thrown, so that the tests can assert on them and the soak bench can count them.
import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { STARVED_MS } from "./limits.js";

/**
 * How one input went: undefined when every property held, what went wrong, or why it proved
 * nothing (the fuzzer itself was too slow to hold the target to a deadline).
 */
export type Outcome = string | undefined | { inconclusive: string };

export interface FuzzTarget<I> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<I>;
  /** Runs one input. Bounds its own time. */
  run(input: I, id: string): Promise<Outcome>;
  /** Between batches, with no input running: the target still serves and holds nothing. */
  checkHealth(): Promise<string | undefined>;
  /** The input, for a reproducer. */
  describe(input: I): string;
  close(): Promise<void>;
}

export interface FuzzOptions {
  /** Batch b is drawn with a seed made from `seed` and b: any failure reproduces from its id. */
  seed: number;
  /** Stop after this many inputs ... */
  inputs?: number;
  /** ... or once this much time has passed (whichever comes first). */
  durationMs?: number;
  /** Inputs in flight at once. Default 16: most of an input's time is spent waiting on timers. */
  concurrency?: number;
  /** Inputs between health checks. Default 64. */
  batchSize?: number;
  /** Most the heap may grow over the run, after garbage collection. Default 48 MiB. */
  heapGrowthBound?: number;
  /** An event-loop stall that makes an input's failure inconclusive. Default STARVED_MS. */
  starvedMs?: number;
}

export interface FuzzFailure {
  /** `seed:batch:index`, or `seed:batch:health`, or `process`. */
  id: string;
  problem: string;
  input: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  inputs: number;
  failures: FuzzFailure[];
  /**
   * Inputs that proved nothing: the fuzzer sent too late to hold the target to its deadline, or
   * the event loop stalled past `starvedMs` during a failed input (on a machine that loaded, a
   * deadline missed is not the target's fault). Reported, not counted as failures.
   */
  inconclusive: FuzzFailure[];
  heapGrowthMiB: number;
  ms: number;
}

const DEFAULT_HEAP_GROWTH = 48 << 20;
const STALL_SAMPLE_MS = 20;
const DEFAULT_BATCH = 64;
/** A fuzz target bounds each input's time itself; this catches a target that fails to. */
const HARD_INPUT_BOUND_MS = 30_000;

export async function fuzz<I>(target: FuzzTarget<I>, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const limit = options.inputs ?? Infinity;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const failures: FuzzFailure[] = [];
  const inconclusive: FuzzFailure[] = [];
  const stopWatching = watchProcess(failures);
  const stalls = new StallWatch(options.starvedMs ?? STARVED_MS);
  const record = (id: string, outcome: Outcome, input: () => string, since: number) => {
    if (outcome === undefined) return;
    if (typeof outcome !== "string") return void inconclusive.push({ id, problem: outcome.inconclusive, input: input() });
    const stall = stalls.longestSince(since);
    if (stall) inconclusive.push({ id, problem: `${outcome} (the event loop stalled ${stall} ms)`, input: input() });
    else failures.push({ id, problem: outcome, input: input() });
  };
  const heapBefore = collectedHeap();
  let inputs = 0;
  try {
    for (let batch = 0; inputs < limit && performance.now() < deadline; batch++) {
      const drawn = fc.sample(target.arbitrary, { seed: batchSeed(options.seed, batch), numRuns: Math.min(batchSize, limit - inputs) });
      // Past the deadline, inputs already started finish; no new one starts.
      await runAll(drawn, options.concurrency ?? 16, deadline, async (input, index) => {
        inputs++;
        const started = performance.now();
        const id = `${options.seed}:${batch}:${index}`;
        record(id, await boundedRun(target, input, id), () => target.describe(input), started);
      });
      const checked = performance.now();
      record(`${options.seed}:${batch}:health`, await target.checkHealth(), () => "(the health check after the batch)", checked);
    }
  } finally {
    stopWatching();
    stalls.stop();
  }
  const heapGrowth = collectedHeap() - heapBefore;
  const bound = options.heapGrowthBound ?? DEFAULT_HEAP_GROWTH;
  if (heapGrowth > bound) failures.push({ id: "process", problem: `the heap grew by ${mib(heapGrowth)} MiB over ${inputs} inputs (bound ${mib(bound)} MiB)`, input: "(the whole run)" });
  return { target: target.name, seed: options.seed, inputs, failures, inconclusive, heapGrowthMiB: mib(heapGrowth), ms: Math.round(performance.now() - started) };
}

/** Redraws the inputs of a failure's id (`seed:batch:index`), to run it again alone. */
export function reproduce<I>(target: Pick<FuzzTarget<I>, "arbitrary">, id: string, batchSize = DEFAULT_BATCH): I {
  const [seed, batch, index] = id.split(":").map(Number) as [number, number, number];
  return fc.sample(target.arbitrary, { seed: batchSeed(seed, batch), numRuns: batchSize })[index]!;
}

/** Each batch's own seed, spread so that runs with nearby seeds share no batches. */
function batchSeed(seed: number, batch: number): number {
  return (seed ^ Math.imul(batch + 1, 0x9e3779b1)) | 0;
}

/** One line per failure and a summary, for logs. */
export function formatReport(report: FuzzReport, maxFailures = 10): string {
  const head = `${report.target} fuzz: seed ${report.seed}, ${report.inputs} inputs, ${report.failures.length} failures, ${report.inconclusive.length} inconclusive (the machine too slow to judge), heap ${report.heapGrowthMiB >= 0 ? "+" : ""}${report.heapGrowthMiB} MiB, ${(report.ms / 1000).toFixed(1)} s`;
  const lines = report.failures.slice(0, maxFailures).map((f) => `  [${f.id}] ${f.problem}\n    input: ${f.input}`);
  const slow = report.inconclusive.slice(0, 3).map((f) => `  inconclusive [${f.id}] ${f.problem}`);
  const more = report.failures.length > maxFailures ? [`  ... and ${report.failures.length - maxFailures} more`] : [];
  return [head, ...lines, ...more, ...slow].join("\n");
}

/** Notes when this process's event loop stalls longer than `threshold` ms. */
class StallWatch {
  readonly #threshold: number;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Stalls seen, as [ended at, ms]; few, since a stall this long is rare. */
  readonly #stalls: Array<[number, number]> = [];
  #last = performance.now();

  constructor(threshold: number) {
    this.#threshold = threshold;
    this.#timer = setInterval(() => this.#tick(), STALL_SAMPLE_MS);
    this.#timer.unref();
  }

  /** The longest stall that ended after `since`, or 0. */
  longestSince(since: number): number {
    this.#tick();
    return Math.round(Math.max(0, ...this.#stalls.filter(([at]) => at > since).map(([, ms]) => ms)));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const now = performance.now();
    const late = now - this.#last - STALL_SAMPLE_MS;
    if (late > this.#threshold) this.#stalls.push([now, late]);
    this.#last = now;
  }
}

async function boundedRun<I>(target: FuzzTarget<I>, input: I, id: string): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the input did not finish in ${HARD_INPUT_BOUND_MS} ms`), HARD_INPUT_BOUND_MS);
  });
  try {
    return await Promise.race([target.run(input, id).catch((error: Error): Outcome => `the fuzzer itself threw: ${error.stack ?? error}`), overdue]);
  } finally {
    clearTimeout(timer);
  }
}

async function runAll<T>(items: readonly T[], concurrency: number, deadline: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && performance.now() < deadline) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Records uncaught exceptions and unhandled rejections as failures while the run lasts. */
function watchProcess(failures: FuzzFailure[]): () => void {
  const record = (kind: string) => (error: unknown) => {
    failures.push({ id: "process", problem: `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, input: "(unknown: raised outside any input's promise)" });
  };
  const onException = record("uncaught exception");
  const onRejection = record("unhandled rejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}

let gc: (() => void) | undefined;

/** Heap in use after a full garbage collection. */
function collectedHeap(): number {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed;
}

const mib = (bytes: number) => Math.round((bytes / (1 << 20)) * 10) / 10;
