// What the C library's tests share: compiling firmware-sim/c with the system `cc` (strict C99,
// AddressSanitizer and UBSan) into a temporary directory, a pty pair from socat, the C device
// as a child process, and the bridge's end of the link (src/link) on a serialport.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SerialPort } from "serialport";
import { LinkSession, type LinkOptions } from "../../src/link/session.js";
import {
  decodeEvent, decodeHello, decodeResult, decodeTelemetry, encodeCommand, telemetryRecord, type CommandResult, type DeviceEvent, type Hello,
} from "../../src/link/messages.js";
import type { Value } from "../../src/link/values.js";
import { killOnExit, killOnParentDeath, signal, type Exit } from "../support/processes.js";

const run = promisify(execFile);

export const C_DIR = fileURLToPath(new URL("../../firmware-sim/c/", import.meta.url));
export const VECTORS_DIR = fileURLToPath(new URL("../../firmware-sim/vectors/", import.meta.url));
/** What the library promises to be clean under, and what the tests run it with. */
export const STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"];
export const SANITIZERS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"];

export function librarySources(): string[] {
  return readdirSync(join(C_DIR, "src")).filter((f) => f.endsWith(".c")).map((f) => join("src", f));
}

/** A directory removed by `dispose`. */
export function tempDir(): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), "edgews-clib-"));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** Compiles `sources` (relative to firmware-sim/c) into `output` with the strict flags and the sanitizers. */
export async function compile(output: string, sources: string[], extraFlags: string[] = []): Promise<void> {
  try {
    await run("cc", ["--version"]);
  } catch {
    throw new Error("the C library's tests need a C compiler: `cc` is not on PATH (Debian: apt-get install gcc)");
  }
  try {
    await run("cc", [...STRICT, ...SANITIZERS, ...extraFlags, ...sources, "-o", output], { cwd: C_DIR });
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    throw new Error(`cc failed on ${sources.join(" ")}:\n${e.stderr ?? e.message}`);
  }
}

/** A running child process whose stdout we read line by line; stopped by its PID only. */
export class Child {
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  #stderr = "";
  #cursor = 0;
  #wake: Array<() => void> = [];
  readonly #child: ChildProcess;
  readonly #name: string;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.#name = command;
    this.#child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    this.exited = new Promise((resolve) => this.#child.once("exit", (code, sig) => resolve({ code, signal: sig })));
    killOnExit(this.#child, this.exited);
    let partial = "";
    this.#child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.#notify();
    });
    this.#child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-65_536)));
    void this.exited.then(() => this.#notify());
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get hasExited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Resolves once spawned; arranges a SIGKILL by PID if this test process dies first. */
  async started(comm: string): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#child.once("spawn", resolve);
      this.#child.once("error", reject);
    });
    void this.exited.then(killOnParentDeath(this.pid, comm));
    return this;
  }

  output(): string {
    return `stdout:\n${this.lines.join("\n")}\nstderr:\n${this.#stderr}`;
  }

  /** The next stdout line matching `pattern` after the previous match. */
  async waitForLine(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; this.#cursor < this.lines.length; this.#cursor++) {
        const match = pattern.exec(this.lines[this.#cursor]);
        if (match) {
          this.#cursor++;
          return match;
        }
      }
      if (this.hasExited) {
        throw new Error(`${this.#name} exited before printing a line matching ${pattern}\n${this.output()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${this.#name} to print ${pattern}\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `name` to our child's PID and waits for its exit. */
  async stop(name: NodeJS.Signals = "SIGTERM"): Promise<Exit> {
    if (!this.hasExited) signal(this.pid, name);
    return this.exited;
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}

/** Two linked pseudo-terminals (socat), named in `dir`: `device` for the C device, `bridge` for the TypeScript end. */
export async function ptyPair(dir: string): Promise<{ device: string; bridge: string; socat: Child }> {
  mkdirSync(dir, { recursive: true });
  const device = join(dir, "device");
  const bridge = join(dir, "bridge");
  const socat = await new Child("socat", [`pty,rawer,link=${device}`, `pty,rawer,link=${bridge}`]).started("socat");
  const deadline = Date.now() + 5000;
  while (!(existsSync(device) && existsSync(bridge))) {
    if (Date.now() > deadline || socat.hasExited) throw new Error(`socat made no pty pair\n${socat.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { device, bridge, socat };
}

/** What the bridge end received, decoded with the device's hello. */
export interface Received {
  hellos: Hello[];
  telemetry: Array<Record<string, Value>>;
  events: DeviceEvent[];
  results: CommandResult[];
  /** Ids (from `command`) of the commands the device acknowledged. */
  delivered: Set<number>;
  ups: number;
  downs: string[];
}

/**
 * The bridge's end of the link on a serial port: src/link's LinkSession with its timers run on
 * real time. `fromDevice` and `toDevice` stand for the line: the test may damage, hold or drop
 * bytes there.
 */
export class BridgeEnd {
  readonly session: LinkSession;
  readonly received: Received = { hellos: [], telemetry: [], events: [], results: [], delivered: new Set(), ups: 0, downs: [] };
  fromDevice: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes;
  toDevice: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes;
  readonly #port: SerialPort;
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, options: LinkOptions = {}) {
    this.#port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
    this.session = new LinkSession(options, {
      write: (bytes) => this.#port.write(Buffer.from(this.toDevice(bytes))),
      message: (kind, body) => this.#message(kind, body),
      up: () => this.received.ups++,
      down: (reason) => this.received.downs.push(reason),
      delivered: (id) => this.received.delivered.add(id),
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.#port.open((error) => (error ? reject(error) : resolve())));
    this.#port.on("data", (chunk: Buffer) => this.#call(() => this.session.receive(this.fromDevice(chunk))));
    this.#call(() => this.session.tick());
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    if (this.#port.isOpen) await new Promise<void>((resolve) => this.#port.close(() => resolve()));
  }

  /** Sends command `index` of the device's hello; returns the link's message id (see `received.delivered`). */
  command(id: number, index: number, argument: Value): number {
    const hello = this.received.hellos.at(-1);
    if (!hello) throw new Error("no hello from the device yet");
    let messageId = 0;
    this.#call(() => (messageId = this.session.sendReliable(0x13, encodeCommand({ id, command: index, argument }, hello))));
    return messageId;
  }

  /** Resolves when `ready` holds, checking after every call into the session; rejects after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.summary())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  summary(): object {
    const r = this.received;
    return { hellos: r.hellos.length, telemetry: r.telemetry.length, events: r.events, results: r.results, delivered: [...r.delivered], ups: r.ups, downs: r.downs };
  }

  #message(kind: number, body: Uint8Array): void {
    const hello = this.received.hellos.at(-1);
    if (kind === 0x10) this.received.hellos.push(decodeHello(body));
    else if (kind === 0x11 && hello) this.received.telemetry.push(telemetryRecord(decodeTelemetry(body, hello), hello));
    else if (kind === 0x12) this.received.events.push(decodeEvent(body));
    else if (kind === 0x14) this.received.results.push(decodeResult(body));
  }

  /** Every call into the session, then its timer re-armed for the session's next deadline. */
  #call(work: () => void): void {
    work();
    clearTimeout(this.#timer);
    const at = this.session.nextTimeout();
    if (at !== Infinity) this.#timer = setTimeout(() => this.#call(() => this.session.tick()), Math.max(0, at - performance.now()));
  }
}
