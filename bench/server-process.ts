// Spawns bench/peer-server.ts in a child process and talks to it over stdin/stdout: waits (bounded)
// for its port, asks it for memory figures, and stops it by PID. Every wait has a deadline, and
// the server exits on its own when our end of its stdin closes (e.g. when this process dies).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("peer-server.ts", import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const REPLY_TIMEOUT_MS = 20_000;

export type Impl = "ours" | "theirs" | "bare";

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number;
  gc: boolean;
}

export interface ServerProcess {
  port: number;
  pid: number;
  /** process.memoryUsage() in the server after gc(). */
  memory(): Promise<Memory>;
  /** SIGTERM by PID (SIGKILL if it lingers); resolves when it has exited. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `nodeFlags` go before the script (e.g. --expose-gc). `fdLimit` raises the child's open-file
 * limit through a shell (`ulimit -n`) for servers holding thousands of sockets.
 */
export async function startServer(impl: Impl, mode: "echo" | "idle", nodeFlags: string[] = [], fdLimit?: number): Promise<ServerProcess> {
  const args = [...nodeFlags, "--import", "tsx", script, impl, mode];
  const env = { ...process.env };
  // ws in the server process takes its native helpers (bufferutil, buffer.isUtf8).
  delete env.WS_NO_BUFFER_UTIL;
  delete env.WS_NO_UTF_8_VALIDATE;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const child = fdLimit === undefined
    ? spawn(process.execPath, args, { cwd: root, env, stdio: ["pipe", "pipe", "inherit"] })
    : spawn("/bin/sh", ["-c", `ulimit -n ${fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${[process.execPath, ...args].map(quote).join(" ")}`], { cwd: root, env, stdio: ["pipe", "pipe", "inherit"] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => { live.delete(child); resolve(); }));
  const replies: ((line: string) => void)[] = [];
  const early: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const waiter = replies.shift();
    if (waiter) waiter(line);
    else early.push(line);
  });
  const nextLine = (what: string) => withTimeout(Promise.race([
    new Promise<string>((resolve) => (early.length > 0 ? resolve(early.shift()!) : replies.push(resolve))),
    exited.then(() => { throw new Error(`peer server (${impl}) exited with ${child.exitCode ?? child.signalCode}`); }),
  ]), what === "start" ? START_TIMEOUT_MS : REPLY_TIMEOUT_MS, `peer server (${impl}) ${what}`);

  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the peer server");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, "SIGTERM");
    const timer = setTimeout(() => { if (child.exitCode === null) process.kill(pid, "SIGKILL"); }, 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const { port } = JSON.parse(await nextLine("start")) as { port: number };
    return {
      port,
      pid,
      async memory() {
        child.stdin!.write("mem\n");
        return JSON.parse(await nextLine("mem")) as Memory;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
