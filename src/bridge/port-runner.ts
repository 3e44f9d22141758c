// Keeps one serial port open for its device session: opens it, hands its bytes over, and when
// it closes (a USB adapter unplugged, a read error) or cannot be opened (not plugged in yet),
// tries again with exponential backoff and full jitter until it is back or the bridge stops.
// A thin adapter: what the bytes mean is the device session's business.
import { Backoff, type ReconnectOptions } from "../mqtt/backoff.js";
import type { DeviceSession } from "./device-session.js";
import type { PortOpener, SerialPortLike, SerialSettings } from "./port.js";

export interface PortRunnerOptions {
  /** Reopening: first delay 500 ms, doubling to 10 s, reset once a port stayed open 10 s. */
  reconnect?: ReconnectOptions;
  /**
   * Bytes written to the port and not yet taken by the OS (a device that stopped reading, a
   * stalled adapter); beyond, writes are dropped (the link repeats what matters). Default 65,536.
   */
  maxWriteBuffer?: number;
}

export const DEFAULT_PORT_RECONNECT: ReconnectOptions = { initialDelay: 500, maxDelay: 10_000, resetAfter: 10_000 };
export const DEFAULT_MAX_WRITE_BUFFER = 64 * 1024;

type Log = (level: "error" | "warn" | "info", message: string) => void;

export class PortRunner {
  readonly settings: SerialSettings;
  readonly #session: DeviceSession;
  readonly #open: PortOpener;
  readonly #backoff: Backoff;
  readonly #maxWriteBuffer: number;
  readonly #log: Log;
  #port: SerialPortLike | undefined;
  #openedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** The last failure logged, so that a port that stays absent is reported once, not at every retry. */
  #lastProblem = "";
  writesDropped = 0;

  constructor(settings: SerialSettings, session: DeviceSession, open: PortOpener, options: PortRunnerOptions, log: Log) {
    this.settings = settings;
    this.#session = session;
    this.#open = open;
    this.#backoff = new Backoff({ ...DEFAULT_PORT_RECONNECT, ...options.reconnect });
    this.#maxWriteBuffer = options.maxWriteBuffer ?? DEFAULT_MAX_WRITE_BUFFER;
    this.#log = log;
  }

  start(): void {
    void this.#tryOpen();
  }

  /** Closes the port; no more reopening. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const port = this.#port;
    this.#port = undefined;
    this.#session.close();
    if (!port) return;
    quiet(port);
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async #tryOpen(): Promise<void> {
    const { path } = this.settings;
    let port: SerialPortLike;
    try {
      port = await this.#open(this.settings);
    } catch (error) {
      this.#retry(`cannot open ${path}: ${(error as Error).message}`);
      return;
    }
    if (this.#stopped) {
      quiet(port);
      port.close();
      return;
    }
    this.#port = port;
    this.#openedAt = performance.now();
    this.#lastProblem = "";
    this.#log("info", `${path}: open`);
    port.on("data", (chunk) => this.#session.receive(chunk));
    port.on("error", (error) => this.#log("warn", `${path}: ${error.message}`));
    port.on("close", (error) => this.#closed(port, error ?? undefined));
    this.#session.attach((bytes) => this.#write(port, bytes));
  }

  #write(port: SerialPortLike, bytes: Uint8Array): void {
    if (!port.isOpen) return;
    if (port.writableLength > this.#maxWriteBuffer) {
      this.writesDropped++;
      return;
    }
    port.write(bytes);
  }

  #closed(port: SerialPortLike, error: Error | undefined): void {
    if (port !== this.#port) return;
    this.#port = undefined;
    quiet(port);
    this.#session.detach();
    if (this.#stopped) return;
    if (performance.now() - this.#openedAt >= this.#backoff.resetAfter) this.#backoff.reset();
    this.#retry(`${this.settings.path} closed${error ? ` (${error.message})` : ""}`);
  }

  #retry(problem: string): void {
    if (this.#stopped) return;
    const delay = this.#backoff.next();
    if (problem !== this.#lastProblem) this.#log("warn", `${problem}; retrying (backoff up to ${this.#backoff.maxDelay} ms)`);
    this.#lastProblem = problem;
    this.#timer = setTimeout(() => void this.#tryOpen(), delay);
  }
}

/** Stops listening to a port we are done with; an error it still emits must not crash the process. */
function quiet(port: SerialPortLike): void {
  port.removeAllListeners();
  port.on("error", () => {});
}
