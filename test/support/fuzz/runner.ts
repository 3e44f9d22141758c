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
  /** Most the heap (with external memory: buffers) may grow over the run, after garbage collection. Default 24 MiB. */
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

/** Four times what a run's warm-up takes (JIT code, caches: 3-6 MiB measured); a leak of 50 KiB per input crosses it within 500. */
const DEFAULT_HEAP_GROWTH = 24 << 20;
const STALL_SAMPLE_MS = 20;
const DEFAULT_BATCH = 64;
/** A fuzz target bounds each input's time itself; this catches a target that fails to. */
const HARD_INPUT_BOUND_MS = 30_000;

export async function fuzz<I>(target: FuzzTarget<I>, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const limit = options.inputs ?? Infinity;
  const findings = new Findings(options.starvedMs ?? STARVED_MS);
  const heapBefore = collectedHeap();
  let inputs = 0;
  try {
    for (let batch = 0; inputs < limit && performance.now() < deadline; batch++) {
      const drawn = fc.sample(target.arbitrary, { seed: batchSeed(options.seed, batch), numRuns: Math.min(options.batchSize ?? DEFAULT_BATCH, limit - inputs) });
      // Past the deadline, inputs already started finish; no new one starts.
      await runAll(drawn, options.concurrency ?? 16, deadline, async (input, index) => {
        inputs++;
        const id = `${options.seed}:${batch}:${index}`;
        const since = performance.now();
        findings.record(id, await boundedRun(target, input, id), () => target.describe(input), since);
      });
      const since = performance.now();
      findings.record(`${options.seed}:${batch}:health`, await target.checkHealth(), () => "(the health check after the batch)", since);
    }
  } finally {
    findings.stop();
  }
  const heapGrowth = collectedHeap() - heapBefore;
  const bound = options.heapGrowthBound ?? DEFAULT_HEAP_GROWTH;
  if (heapGrowth > bound) findings.record("process", `the heap grew by ${mib(heapGrowth)} MiB over ${inputs} inputs (bound ${mib(bound)} MiB)`, () => "(the whole run)", Infinity);
  const { failures, inconclusive } = findings;
  return { target: target.name, seed: options.seed, inputs, failures, inconclusive, heapGrowthMiB: mib(heapGrowth), ms: Math.round(performance.now() - started) };
}

/**
 * What went wrong over a run: failures, and inconclusive inputs. Watches the process meanwhile
 * for uncaught exceptions and unhandled rejections (failures), and for event-loop stalls.
 */
class Findings {
  readonly failures: FuzzFailure[] = [];
  readonly inconclusive: FuzzFailure[] = [];
  readonly #stalls: StallWatch;
  readonly #onException = (error: unknown) => this.#process("uncaught exception", error);
  readonly #onRejection = (error: unknown) => this.#process("unhandled rejection", error);

  constructor(starvedMs: number) {
    this.#stalls = new StallWatch(starvedMs);
    process.on("uncaughtException", this.#onException);
    process.on("unhandledRejection", this.#onRejection);
  }

  /** An input's (or a health check's) outcome; a failure while the loop stalled after `since` proves nothing. */
  record(id: string, outcome: Outcome, describe: () => string, since: number): void {
    if (outcome === undefined) return;
    if (typeof outcome !== "string") return void this.inconclusive.push({ id, problem: outcome.inconclusive, input: describe() });
    const stall = this.#stalls.longestSince(since);
    if (stall) this.inconclusive.push({ id, problem: `${outcome} (the event loop stalled ${stall} ms)`, input: describe() });
    else this.failures.push({ id, problem: outcome, input: describe() });
  }

  stop(): void {
    this.#stalls.stop();
    process.off("uncaughtException", this.#onException);
    process.off("unhandledRejection", this.#onRejection);
  }

  #process(kind: string, error: unknown): void {
    const problem = `${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    this.failures.push({ id: "process", problem, input: "(unknown: raised outside any input's promise)" });
  }
}

/**
 * Redraws the input of a failure's id (`seed:batch:index`), to run it again alone: with a target
 * made the same way (the same exclusions), since they shape what is drawn.
 */
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

let gc: (() => void) | undefined;

/** Memory in use after a full garbage collection: the JavaScript heap, and what it holds outside (buffers). */
function collectedHeap(): number {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

const mib = (bytes: number) => Math.round((bytes / (1 << 20)) * 10) / 10;
