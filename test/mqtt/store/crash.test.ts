// A real crash: a child process writes to a FileStore and is SIGKILLed mid-stream; every
// operation it saw resolve must be in the store when it is reopened.
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileStore } from "../../../src/mqtt/store/file-store.js";
import { killOnParentDeath } from "../../support/processes.js";
import { waitFor } from "../helpers.js";
import { CRASH_LIVE_WINDOW, makeTempDir, valueFor } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

let dir: string;
let removeDir: () => Promise<void>;
beforeEach(async () => {
  ({ dir, remove: removeDir } = await makeTempDir());
});
afterEach(() => removeDir());

/** What the children reported: keys whose put resolved, keys whose del resolved. */
interface Reported {
  put: Set<string>;
  del: Set<string>;
}

/**
 * Runs the child until it has printed `linesBeforeKill` lines, SIGKILLs it, and adds every line
 * it printed (read to the end of its stdout) to `reported`.
 */
async function runAndKill(path: string, fsync: string, prefix: string, linesBeforeKill: number, reported: Reported): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, path, fsync, prefix], { stdio: ["ignore", "pipe", "pipe"] });
  const release = killOnParentDeath(child.pid!, "node");
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // 'close' comes after the exit and the end of stdout and stderr.
  const closed = new Promise<NodeJS.Signals | null>((resolve) => child.once("close", (_code, signal) => resolve(signal)));
  try {
    await waitFor(() => countLines(stdout) >= linesBeforeKill || child.exitCode !== null, `${linesBeforeKill} lines from the child`, 20_000);
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
    expect(await closed, `the child's signal (stderr: ${stderr})`).toBe("SIGKILL");
    release();
  }
  for (const line of stdout.split("\n").slice(0, -1)) {
    const [op, key] = line.split(" ") as ["put" | "del", string];
    reported[op].add(key);
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

/** The child deletes key n right after printing the put of n + CRASH_LIVE_WINDOW: only then may n be gone. */
function mayBeDeleted(key: string, reported: Reported): boolean {
  const [round, n] = key.split("-");
  return reported.del.has(key) || reported.put.has(`${round}-${Number(n) + CRASH_LIVE_WINDOW}`);
}

/** Reopens the store and checks it against what was reported: nothing resolved is lost, nothing is corrupt, order holds. */
async function checkStore(path: string, reported: Reported): Promise<number> {
  const store = await FileStore.open(path);
  try {
    const present = new Map<string, Uint8Array>();
    for await (const [key, value] of store.iterate()) present.set(key, value);
    for (const key of reported.put) if (!mayBeDeleted(key, reported)) expect(present.get(key), `resolved put of ${key}`).toEqual(valueFor(key));
    for (const key of reported.del) expect(present.has(key), `resolved del of ${key}`).toBe(false);
    for (const [key, value] of present) expect(value, `value of ${key}`).toEqual(valueFor(key));
    const order = [...present.keys()].map((key) => key.split("-").map(Number) as [number, number]);
    for (let i = 1; i < order.length; i++) {
      const [round, n] = order[i]!;
      const [prevRound, prevN] = order[i - 1]!;
      expect(round > prevRound || (round === prevRound && n > prevN), `order of ${order[i - 1]} then ${order[i]}`).toBe(true);
    }
    return present.size;
  } finally {
    await store.close();
  }
}

describe("FileStore killed with SIGKILL", () => {
  for (const fsync of ["never", "always"]) {
    it(`loses no resolved operation (fsync ${fsync}), crash after crash`, async () => {
      const path = join(dir, "messages.log");
      const reported: Reported = { put: new Set(), del: new Set() };
      // Kill points spread over appends and compactions; each round reopens the last one's store.
      for (const [round, lines] of [700, 2100, 1300, 1000].entries()) {
        await runAndKill(path, fsync, `${round}-`, lines, reported);
        expect(await checkStore(path, reported)).toBeGreaterThan(0);
      }
      expect(reported.del.size).toBeGreaterThan(0);
      // Without compactions the log would hold at least one 64-byte value per resolved put.
      expect((await stat(path)).size).toBeLessThan(reported.put.size * 64);
      // Four child processes, each started through tsx and writing thousands of records: ~4 s
      // on a quiet machine, but it scales with the machine's load (other suites run alongside).
    }, 120_000);
  }
});
