// Starts bridge-process.ts as users run the bridge: bundled by esbuild the way dist/ is built
// (one ES module, dependencies left to node_modules) and run by plain node. Under tsx the same
// process holds ~33 MiB more (its loader thread and the transpiled sources), which would be
// the bench's figure, not the bridge's. Node gets the flags the `edgews` bin gives it in its
// shebang, read from src/cli/main.ts: the V8 settings users get, no more. The process is
// stopped by its PID, and killed by a guard if this process dies first.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { BridgeOptions } from "../../src/bridge/index.js";
import { binNodeFlags, killOnExit, killOnParentDeath, signal } from "../../test/support/processes.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
/** Inside the project (gitignored), so that the bundle's imports resolve in its node_modules. */
const BUILD_DIR = join(root, ".scratch", "bench-link");
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5000;

export interface BridgeProcess {
  readonly pid: number;
  /** SIGTERM (the bridge stops in order), SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** The bundle, written for this start only (removed once the process has loaded it). */
async function bundle(): Promise<string> {
  const { build } = await import("esbuild");
  mkdirSync(BUILD_DIR, { recursive: true });
  const outfile = join(BUILD_DIR, `bridge-process-${process.pid}-${Date.now()}.mjs`);
  await build({
    absWorkingDir: root,
    entryPoints: [fileURLToPath(new URL("bridge-process.ts", import.meta.url))],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    packages: "external",
    keepNames: true,
    logLevel: "warning",
  });
  return outfile;
}

/** Starts the bridge; resolves once it says it is ready (rejects with its stderr if it exits or takes too long). */
export async function startBridgeProcess(options: Omit<BridgeOptions, "log" | "openPort">): Promise<BridgeProcess> {
  const script = await bundle();
  const child = spawn(process.execPath, [...binNodeFlags(), script, JSON.stringify(options)], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killOnExit(child, exited);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const pid = child.pid!;
  void exited.then(killOnParentDeath(pid, "node"));
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
    // The bridge's warnings and errors say what went wrong during the run: show them as they come.
    process.stderr.write(chunk);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) signal(pid, "SIGTERM");
    const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && signal(pid, "SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    await ready(child.stdout!, exited, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    rmSync(script, { force: true });
  }
  return { pid, stop };
}

function ready(stdout: NodeJS.ReadableStream, exited: Promise<void>, stderr: () => string): Promise<void> {
  const lines = createInterface({ input: stdout });
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the bridge process was not ready within ${READY_TIMEOUT_MS} ms: ${stderr() || "it said nothing"}`)), READY_TIMEOUT_MS);
    lines.on("line", (line) => line.includes(`"ready":true`) && resolve());
    void exited.then(() => reject(new Error(`the bridge process exited before it was ready: ${stderr() || "it said nothing"}`)));
  }).finally(() => clearTimeout(timer));
}
