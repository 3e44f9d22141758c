// Python `websockets` (Debian's python3-websockets 10.4) as an independent peer: an echo server and
// a scripted client, both in test/support/python/, run with /usr/bin/python3 (the python3 on PATH
// may be another interpreter without the package). Every process is stopped by its PID.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { aptInstall } from "./apt.js";
import { withDeadline } from "./interop.js";

export const PYTHON = "/usr/bin/python3";
const SCRIPTS = fileURLToPath(new URL("./python/", import.meta.url));
const run = promisify(execFile);

async function websocketsVersion(): Promise<string> {
  const { stdout } = await run(PYTHON, ["-c", "import websockets; print(websockets.__version__)"]);
  return stdout.trim();
}

let ensured: Promise<string> | undefined;

/** Resolves with the version of Python's websockets, installing python3-websockets with apt first when missing. */
export function ensurePythonWebsockets(): Promise<string> {
  ensured ??= (async () => {
    try {
      return await websocketsVersion();
    } catch {
      // Not installed (or no /usr/bin/python3 at all): install, then it must import.
    }
    try {
      await aptInstall(["python3-websockets"]);
    } catch (error) {
      throw new Error(`Python websockets is missing for ${PYTHON} and ${(error as Error).message}`);
    }
    try {
      return await websocketsVersion();
    } catch (error) {
      throw new Error(`apt-get installed python3-websockets but \`${PYTHON} -c "import websockets"\` still fails: ${(error as Error).message}`);
    }
  })();
  ensured.catch(() => (ensured = undefined));
  return ensured;
}

/** One JSON line that a Python script printed. */
export type PyEvent = { event: string } & Record<string, unknown>;

/** Reads a child's stdout as JSON lines; stderr is kept for error messages. */
class LineReader {
  readonly events: PyEvent[] = [];
  stderr = "";
  /** The process could not be started. */
  failed = false;
  #buffer = "";
  #waiters: Array<() => void> = [];

  constructor(child: ChildProcess, name: string) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let newline: number;
      while ((newline = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, newline).trim();
        this.#buffer = this.#buffer.slice(newline + 1);
        if (!line) continue;
        try {
          this.events.push(JSON.parse(line) as PyEvent);
        } catch {
          this.events.push({ event: "unparsed", line, from: name });
        }
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      // Bounded: a traceback per failed connection is normal for the server.
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    child.on("exit", () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
    child.on("error", (error) => {
      // Could not start (or signal) the process.
      this.failed = true;
      this.stderr += `\n${error.message}`;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The first event (already printed or still to come) that matches. */
  async find(match: (e: PyEvent) => boolean, what: string, ms: number, alive: () => boolean): Promise<PyEvent> {
    const found = () => this.events.find(match);
    return withDeadline(
      (async () => {
        for (;;) {
          const event = found();
          if (event) return event;
          if (!alive()) throw new Error(`the Python process exited before printing ${what}; stderr:\n${this.stderr}`);
          await new Promise<void>((wake) => this.#waiters.push(wake));
        }
      })(),
      ms,
      () => `${what} from Python (printed so far: ${JSON.stringify(this.events).slice(0, 2000)}; stderr: ${this.stderr.slice(-2000)})`,
    );
  }
}

/** Children still running; killed by PID if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHook = false;

function spawnPython(args: string[], stdin: "ignore" | "pipe"): ChildProcess {
  const child = spawn(PYTHON, args, { stdio: [stdin, "pipe", "pipe"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const c of live) if (c.pid !== undefined) signal(c.pid, "SIGKILL");
    });
  }
  return child;
}

/** Signals one process by its PID; one that has just exited (ESRCH) is fine. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Sends SIGTERM to `child` by its PID, then SIGKILL if it hasn't exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signal(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) signal(child.pid, "SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export interface PythonServerOptions {
  /** permessage-deflate on (websockets' default offer handling) or off (`compression=None`). */
  compression: boolean;
  /** websockets' `max_size`; default here: 64 MiB, so that Python never is the side that refuses. */
  maxSize?: number;
}

export interface PythonEchoServer {
  port: number;
  pid: number;
  url: string;
  /** Everything the server printed: "listening", then "open" and "closed" per connection. */
  events: PyEvent[];
  /** Waits for a printed event, e.g. the "closed" line of the connection at `path`. */
  waitFor(match: (e: PyEvent) => boolean, what: string, ms?: number): Promise<PyEvent>;
  stop(): Promise<void>;
}

/** Starts test/support/python/echo_server.py on 127.0.0.1, port chosen by the OS. */
export async function startPythonEchoServer(options: PythonServerOptions): Promise<PythonEchoServer> {
  await ensurePythonWebsockets();
  const args = ["-u", `${SCRIPTS}echo_server.py`, "--compression", options.compression ? "deflate" : "none", "--max-size", String(options.maxSize ?? 64 << 20)];
  const child = spawnPython(args, "ignore");
  const reader = new LineReader(child, "echo_server.py");
  const alive = () => !reader.failed && child.exitCode === null && child.signalCode === null;
  const stop = () => stopChild(child);
  try {
    const listening = await reader.find((e) => e.event === "listening", "the listening line", 15_000, alive);
    const port = Number(listening.port);
    return {
      port,
      pid: child.pid!,
      url: `ws://127.0.0.1:${port}`,
      events: reader.events,
      waitFor: (match, what, ms = 10_000) => reader.find(match, what, ms, alive),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One step of the Python client's script (see client.py). */
export type PyStep =
  | { send_text: string }
  | { send_b64: string }
  /** A message read from a file (large payloads), as text or binary. */
  | { send_file: string; binary: boolean }
  /** Fragments: websockets sends an iterable as one fragmented message. */
  | { send_fragments_b64: string[]; binary: boolean }
  | { recv: number }
  | { ping: string }
  | { close: { code?: number; reason?: string } }
  /** Wait for the server to close, printing any messages that come first. */
  | { wait_closed: true };

export interface PyClientOptions {
  compression: boolean;
  subprotocols?: string[];
  maxSize?: number;
  /** Kill the client (by PID) when it runs longer. Default 25 s. */
  timeoutMs?: number;
}

/**
 * Runs test/support/python/client.py against `url` with `steps` (JSON on its stdin) and resolves
 * with every event it printed: "open", "message" (type, size, sha256, short data as text or
 * base64), "pong", "closed" (code, reason), "error".
 */
export async function runPythonClient(url: string, steps: PyStep[], options: PyClientOptions): Promise<PyEvent[]> {
  await ensurePythonWebsockets();
  const child = spawnPython(["-u", `${SCRIPTS}client.py`], "pipe");
  const reader = new LineReader(child, "client.py");
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", reject);
  });
  child.stdin!.end(JSON.stringify({ url, steps, compression: options.compression, subprotocols: options.subprotocols ?? [], max_size: options.maxSize ?? 64 << 20 }));
  try {
    const code = await withDeadline(exited, options.timeoutMs ?? 25_000, () => `client.py to exit (printed so far: ${JSON.stringify(reader.events).slice(0, 2000)})`);
    if (code !== 0) throw new Error(`client.py exited with ${code}; stderr:\n${reader.stderr}\nprinted: ${JSON.stringify(reader.events).slice(0, 2000)}`);
    return reader.events;
  } finally {
    await stopChild(child);
  }
}
