// What the orchestrator (run.ts), the child (child.ts) and the bench definitions (cases/) share.
import type { Core, Flavour } from "../src/core/node.js";
import type { Comparison, Contender, Timing } from "./measure.js";

/**
 * The peer a case is compared with (BENCH.md), plus `utf-8-validate` (the native addon ws used
 * before buffer.isUtf8), `js` (a plain JavaScript loop, for the crossover bench), `line` (a
 * serial line's raw byte rate: the most any protocol on it could carry) and `none` (a figure
 * with nothing to compare: theirs is 1, so the ratio is ours).
 */
export type Baseline = "ws" | "ws-js" | "bufferutil" | "isUtf8" | "utf-8-validate" | "js" | "mqtt" | "line" | "none";

/** How ws runs in a child: with its native helpers, or in pure JavaScript (see ws-js-preload.ts). */
export type WsMode = "native" | "js";

export const wsModeFor = (baseline: Baseline): WsMode => (baseline === "ws-js" ? "js" : "native");

/** What a case's setup gets from the child it runs in. */
export interface Env {
  /** --quick: smaller inputs. */
  quick: boolean;
  /** A core of the flavour asked for, with an input arena of at least `arenaBytes`. */
  core(arenaBytes?: number): Core;
}

export interface Pair {
  ours: Contender;
  theirs: Contender;
}

export interface CaseSpec {
  name: string;
  baselines: readonly Baseline[];
  /** Builds both sides of one comparison; runs in the child, untimed. (Or see `measure`.) */
  setup?(baseline: Baseline, env: Env): Pair;
  /**
   * Instead of `setup`, for asynchronous cases (network, other processes): runs the whole
   * interleaved comparison itself and resolves with rates or costs in the bench's units.
   */
  measure?(baseline: Baseline, env: Env, timing: Timing): Promise<Comparison>;
  /** This case's unit when it differs from the bench's (echo: rt/s, msgs/s, µs). */
  unit?: string;
  /** Shown under the table, e.g. when "ours" is not our code. */
  note?: string;
}

export interface BenchSpec {
  name: string;
  /** Unit of the rates in the table and JSON, e.g. "MB/s". */
  unit: string;
  /** Units a contender reports (bytes, frames) per unit shown: 1e6 for MB/s. */
  divisor: number;
  /** What the columns mean, printed above the table. */
  header: string;
  cases: readonly CaseSpec[];
  /** Extra lines under the table, computed from its rows. */
  summary?(rows: readonly Result[]): string[];
}

/** One comparison, run by a child. */
export interface Job {
  bench: string;
  case: string;
  baseline: Baseline;
  quick: boolean;
  scalar: boolean;
  timing: Timing;
}

/** One line of `--json` output, exactly as BENCH.md shows it. */
export interface Row {
  bench: string;
  case: string;
  ours: number;
  baseline: Baseline;
  theirs: number;
  ratio: number;
  unit: string;
}

/** What a child reports for a job: the row, the spread of the ratios, the core it ran. */
export interface Result extends Row {
  ratioP25: number;
  ratioP75: number;
  repeats: number;
  flavour: Flavour;
}

/** Marks a child's result lines on its stdout. */
export const RESULT_PREFIX = "@edgews-bench-result ";
/** Marks the line a child writes on its stdout as it starts a job: the job's index in its batch. */
export const START_PREFIX = "@edgews-bench-start ";
