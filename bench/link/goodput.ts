// Goodput of the serial link: a device end (the simulator's small-MCU settings) sends 64-byte
// telemetry as fast as its UART takes it to a bridge end (src/link's defaults) over a paced
// line, both ways, on a virtual clock. Goodput is the payload of the messages the bridge end
// delivered intact per second of line time; every delivered body is checked byte for byte.
import { LinkSession, MessageKind, type LinkStats } from "../../src/link/index.js";
import { DEVICE_LINK_DEFAULTS } from "../../firmware-sim/device.js";
import { LineFaults, type FaultCounts } from "../../firmware-sim/faults.js";
import { Random } from "../../firmware-sim/random.js";
import { VirtualScheduler } from "../../firmware-sim/scheduler.js";
import { PacedLine, RX_FIFO_BYTES, lineBytesPerSecond, sessionTimers, type SessionTimers } from "./line.js";
import { benchHello, sequenceOf, telemetryBody } from "./telemetry.js";

export interface GoodputOptions {
  baud: number;
  /** Line time measured (s), after the warm-up. */
  seconds: number;
  /** Line time between the link coming up and the start of the measurement (s). */
  warmup: number;
  /** Fault events per byte, each direction (0: a clean line). */
  errorRate: number;
  seed: number;
}

export interface GoodputResult {
  /** Intact payload bytes delivered per second of line time. */
  bytesPerSecond: number;
  /** What the line carries at most (bytes/s, 8N1). */
  lineLimit: number;
  /** Telemetry messages sent and delivered intact within the measured time. */
  sent: number;
  delivered: number;
  /** Fault events on the line, each direction (all zero on a clean line). */
  damage: { toBridge: FaultCounts; toDevice: FaultCounts };
  bridgeLink: LinkStats;
}

/** One run: the link comes up, warms up, then `seconds` of line time are counted. */
export function measureGoodput(options: GoodputOptions): GoodputResult {
  return new GoodputRun(options).run();
}

/** How long the SYNC exchange may take (it takes a few ms; a line too noisy to bring the link up fails). */
const UP_WITHIN_MS = 10_000;

class GoodputRun {
  readonly #options: GoodputOptions;
  readonly #scheduler = new VirtualScheduler();
  readonly #hello = benchHello("goodput");
  readonly #faults: { toBridge: LineFaults; toDevice: LineFaults };
  readonly #toBridge: PacedLine;
  readonly #toDevice: PacedLine;
  readonly #bridge: LinkSession;
  readonly #device: LinkSession;
  readonly #bridgeTimers = sessionTimers(this.#scheduler, () => this.#bridge);
  readonly #deviceTimers = sessionTimers(this.#scheduler, () => this.#device);
  /** Set when the link first comes up. */
  #window: { from: number; to: number } | undefined;
  /** Bytes the device's line carried within the window. */
  #carried = 0;
  readonly #counts = { sent: 0, delivered: 0, bytes: 0, lastSeq: -1 };
  #nextSeq = 0;
  #pumpArmed = false;

  constructor(options: GoodputOptions) {
    this.#options = options;
    const random = new Random(options.seed);
    const now = () => this.#scheduler.now();
    const faults = (direction: string) => new LineFaults({ errorRate: options.errorRate }, random.fork(direction));
    this.#faults = { toBridge: faults("to bridge"), toDevice: faults("to device") };
    this.#toBridge = new PacedLine(this.#scheduler, options.baud, (bytes) => this.#into(this.#bridge, this.#bridgeTimers, bytes), this.#faults.toBridge);
    this.#toDevice = new PacedLine(this.#scheduler, options.baud, (bytes) => this.#into(this.#device, this.#deviceTimers, bytes), this.#faults.toDevice);
    this.#bridge = new LinkSession({ session: random.fork("bridge session").nonzeroUint32(), now }, {
      write: (bytes) => this.#toDevice.write(bytes),
      message: (kind, body) => this.#onMessage(kind, body),
    });
    this.#device = new LinkSession({ ...DEVICE_LINK_DEFAULTS, session: random.fork("device session").nonzeroUint32(), now }, {
      write: (bytes) => this.#toBridge.write(bytes),
      message: () => {},
      up: () => this.#onUp(),
    });
  }

  run(): GoodputResult {
    this.#bridgeTimers.rearm();
    this.#deviceTimers.rearm();
    this.#scheduler.runUntil(UP_WITHIN_MS);
    if (!this.#window) throw new Error(`the link did not come up within ${UP_WITHIN_MS / 1000} s of line time (error rate ${this.#options.errorRate})`);
    this.#scheduler.runUntil(this.#window.to);
    if (this.#counts.delivered === 0) throw new Error("no telemetry was delivered in the measured time");
    const { baud, seconds } = this.#options;
    checkSaturated(this.#carried, lineBytesPerSecond(baud) * seconds);
    return {
      bytesPerSecond: this.#counts.bytes / seconds,
      lineLimit: lineBytesPerSecond(baud),
      sent: this.#counts.sent,
      delivered: this.#counts.delivered,
      damage: { toBridge: this.#faults.toBridge.counts, toDevice: this.#faults.toDevice.counts },
      bridgeLink: this.#bridge.stats,
    };
  }

  #into(session: LinkSession, timers: SessionTimers, bytes: Uint8Array): void {
    session.receive(bytes);
    timers.rearm();
  }

  #inWindow(): boolean {
    const at = this.#scheduler.now();
    return this.#window !== undefined && at >= this.#window.from && at < this.#window.to;
  }

  #onMessage(kind: number, body: Uint8Array): void {
    if (kind !== MessageKind.Telemetry) throw new Error(`the bridge end got a message of kind ${kind}; the device sends only telemetry`);
    const seq = sequenceOf(this.#hello, body);
    // The CRC must have caught every damaged packet: a corrupted, repeated or reordered message is a link bug.
    if (seq === undefined) throw new Error(`the bridge end delivered a corrupted telemetry message at ${this.#scheduler.now().toFixed(3)} ms of line time`);
    if (seq <= this.#counts.lastSeq) throw new Error(`the bridge end delivered telemetry ${seq} after ${this.#counts.lastSeq}`);
    this.#counts.lastSeq = seq;
    if (!this.#inWindow()) return;
    this.#counts.delivered++;
    this.#counts.bytes += body.length;
  }

  #onUp(): void {
    const now = this.#scheduler.now();
    if (!this.#window) {
      const { warmup, seconds } = this.#options;
      this.#window = { from: now + warmup * 1000, to: now + (warmup + seconds) * 1000 };
      this.#scheduler.at(this.#window.from, () => void (this.#carried = -this.#toBridge.arrived));
      this.#scheduler.at(this.#window.to, () => void (this.#carried += this.#toBridge.arrived));
    }
    if (!this.#pumpArmed) this.#scheduler.at(now, () => this.#pump());
  }

  /** The device's transmit-empty interrupt: the next reading goes out the moment the line is free. */
  #pump(): void {
    this.#pumpArmed = false;
    if (this.#device.state !== "established") return; // `up` starts it again
    if (this.#toBridge.idleAt <= this.#scheduler.now()) {
      this.#device.sendBestEffort(MessageKind.Telemetry, telemetryBody(this.#hello, this.#nextSeq++));
      if (this.#inWindow()) this.#counts.sent++;
      this.#deviceTimers.rearm();
    }
    this.#pumpArmed = true;
    this.#scheduler.at(this.#toBridge.idleAt, () => this.#pump());
  }
}

/**
 * The device must have kept its line busy (else the figure understates the link) and the line
 * must not have carried more than its rate (else the model is wrong). Slack: one receive FIFO
 * over (a chunk ending right at the window's end), 1% under.
 */
function checkSaturated(carried: number, capacity: number): void {
  if (carried > capacity + RX_FIFO_BYTES || carried < capacity * 0.99) {
    throw new Error(`the device-to-bridge line carried ${carried} bytes in a window that holds ${capacity.toFixed(0)}: the line model or the device's pacing is broken`);
  }
}
