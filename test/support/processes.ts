// Child Node processes running TypeScript (`node --import tsx file.ts`) for tests that kill a
// process: stdout read line by line, signals sent to the child's own PID only.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The node flags of the `edgews` bin: `#!/usr/bin/env node` has none, `#!/usr/bin/env -S node --flag ...` some. */
export function binNodeFlags(): string[] {
  const bin = join(PROJECT_ROOT, "src", "cli", "main.ts");
  const shebang = readFileSync(bin, "utf8").split("\n", 1)[0]!;
  const match = /^#!\/usr\/bin\/env(?: -S)? node((?: +\S+)*) *$/.exec(shebang);
  if (!match) throw new Error(`${bin} starts with "${shebang}", not a node shebang the bench can read the bin's node flags from`);
  return match[1]!.split(" ").filter((flag) => flag !== "");
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeChild {
  readonly pid: number;
  /** Every stdout line so far (without the newline). */
  readonly lines: readonly string[];
  /** stderr so far (the last 64 KiB). */
  stderr(): string;
  /**
   * The next stdout line that matches, searching after the line the previous call matched
   * (as `expect` does). Rejects on timeout, or if the process exits first, with its output.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Writes to the child's stdin. */
  write(text: string): void;
  /** Settles when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Sends `signal` (default SIGTERM) to the PID and waits for the exit; SIGKILL after `graceMs` unless the signal was SIGKILL. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

export interface SpawnTsxOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: the project root (where `tsx` resolves). */
  cwd?: string;
  /** false: plain `node file` (built JavaScript, e.g. an installed package, where tsx does not resolve). Default true. */
  tsx?: boolean;
  /** Node's own flags, before the file (e.g. --max-semi-space-size=1). */
  nodeArgs?: string[];
  /** In a process group of its own, led by it, as a shell starts a command: `process.kill(-pid, ...)` signals the group. Default false. */
  detached?: boolean;
}

/**
 * Kills `pid` (SIGKILL) if this process dies before calling the returned `release`: a test
 * worker ended by a signal runs no 'exit' hook, and its daemons would outlive it. A small `sh`
 * waits on a pipe from us; end-of-file means we died. It checks /proc/PID/comm against `comm`
 * first, so a recycled PID is never killed.
 */
export function killOnParentDeath(pid: number, comm: string): () => void {
  const script = 'if read -r _; then exit 0; fi; [ "$(cat /proc/$1/comm 2>/dev/null)" = "$2" ] && kill -KILL "$1"';
  const guard = spawn("/bin/sh", ["-c", script, "sh", String(pid), comm], { stdio: ["pipe", "ignore", "ignore"] });
  guard.on("error", () => {});
  guard.stdin!.on("error", () => {});
  // Neither the guard nor its pipe keeps the test process alive.
  guard.unref();
  (guard.stdin as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    guard.stdin!.end("release\n");
  };
}

/** Children still running; killed by PID if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHook = false;

/**
 * Keeps `child` (spawned by a test) on the list of processes SIGKILLed by PID when the test
 * process exits while they still run; it leaves the list when it exits.
 */
export function killOnExit(child: ChildProcess, exited: Promise<unknown>): void {
  live.add(child);
  void exited.then(() => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const c of live) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) signal(c.pid, "SIGKILL");
  });
}

/** Sends `name` to `pid`; a process that is already gone is fine. */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Starts `node --import tsx file ...args`; resolves once the process has spawned. */
export async function spawnTsx(file: string, args: string[] = [], options: SpawnTsxOptions = {}): Promise<NodeChild> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...(options.tsx === false ? [] : ["--import", "tsx"]), file, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, sig) => resolve({ code, signal: sig })));
  killOnExit(child, exited);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  void exited.then(killOnParentDeath(child.pid!, "node"));

  const lines: string[] = [];
  let stderr = "";
  let partial = "";
  let cursor = 0;
  let wake: Array<() => void> = [];
  const notify = () => {
    for (const w of wake.splice(0)) w();
  };
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    partial += chunk;
    let newline: number;
    while ((newline = partial.indexOf("\n")) >= 0) {
      lines.push(partial.slice(0, newline).replace(/\r$/, ""));
      partial = partial.slice(newline + 1);
    }
    notify();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  // An exiting child closes stdin under a pending write: EPIPE is not the test's concern.
  child.stdin!.on("error", () => {});
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    notify();
  });
  const output = () => `stdout:\n${lines.join("\n")}${partial ? `\n${partial}` : ""}\nstderr:\n${stderr}`;

  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    write: (text) => void child.stdin!.write(text),
    exited,
    async waitForLine(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (; cursor < lines.length; cursor++) {
          const match = pattern.exec(lines[cursor]!);
          if (match) {
            cursor++;
            return match;
          }
        }
        // stdout may still hold lines after the exit: wait for its end before giving up.
        if (hasExited && child.stdout!.readableEnded) {
          throw new Error(`${file} exited (${JSON.stringify(await exited)}) before printing a line matching ${pattern}\n${output()}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${file} to print a line matching ${pattern}\n${output()}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 100));
          wake.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async kill(name = "SIGTERM", graceMs = 5000) {
      if (running()) signal(child.pid!, name);
      const timer = name === "SIGKILL" ? undefined : setTimeout(() => running() && signal(child.pid!, "SIGKILL"), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}
