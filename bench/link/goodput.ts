// Goodput of the serial link: a device end (the simulator's small-MCU settings) sends 64-byte
// telemetry as fast as its UART takes it to a bridge end (src/link's defaults) over a paced
// line, both ways, on a virtual clock. Goodput is the payload of the messages the bridge end
// delivered intact per second of line time; every delivered body is checked byte for byte.
import { LinkSession, MessageKind, type LinkStats } from "../../src/link/index.js";
import { DEVICE_LINK_DEFAULTS } from "../../firmware-sim/device.js";
import { LineFaults, type FaultCounts } from "../../firmware-sim/faults.js";
import { Random } from "../../firmware-sim/random.js";
import { VirtualScheduler } from "../../firmware-sim/scheduler.js";
import { PacedLine, RX_FIFO_BYTES, lineBytesPerSecond, sessionTimers } from "./line.js";
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
  const scheduler = new VirtualScheduler();
  const random = new Random(options.seed);
  const hello = benchHello("goodput");
  const now = () => scheduler.now();
  const faults = { toBridge: new LineFaults({ errorRate: options.errorRate }, random.fork("to bridge")), toDevice: new LineFaults({ errorRate: options.errorRate }, random.fork("to device")) };
  const bridgeTimers = sessionTimers(scheduler, () => bridge).rearm;
  const deviceTimers = sessionTimers(scheduler, () => device).rearm;
  const toBridge = new PacedLine(scheduler, options.baud, (bytes) => {
    bridge.receive(bytes);
    bridgeTimers();
  }, faults.toBridge);
  const toDevice = new PacedLine(scheduler, options.baud, (bytes) => {
    device.receive(bytes);
    deviceTimers();
  }, faults.toDevice);

  let window: { from: number; to: number } | undefined;
  /** Bytes the device's line carried within the window. */
  let carried = 0;
  const inWindow = (at: number) => window !== undefined && at >= window.from && at < window.to;
  const counts = { sent: 0, delivered: 0, bytes: 0, lastSeq: -1 };
  const bridge: LinkSession = new LinkSession({ session: random.fork("bridge session").nonzeroUint32(), now }, {
    write: (bytes) => toDevice.write(bytes),
    message: (kind, body) => {
      if (kind !== MessageKind.Telemetry) throw new Error(`the bridge end got a message of kind ${kind}; the device sends only telemetry`);
      const seq = sequenceOf(hello, body);
      // The CRC must have caught every damaged packet: a corrupted, repeated or reordered message is a link bug.
      if (seq === undefined) throw new Error(`the bridge end delivered a corrupted telemetry message at ${now().toFixed(3)} ms of line time`);
      if (seq <= counts.lastSeq) throw new Error(`the bridge end delivered telemetry ${seq} after ${counts.lastSeq}`);
      counts.lastSeq = seq;
      if (!inWindow(now())) return;
      counts.delivered++;
      counts.bytes += body.length;
    },
  });
  let seq = 0;
  let pumpArmed = false;
  // The device's transmit-empty interrupt: the next reading goes out the moment the line is free.
  const pump = (): void => {
    pumpArmed = false;
    if (device.state !== "established") return; // `up` starts it again
    if (toBridge.idleAt <= now()) {
      device.sendBestEffort(MessageKind.Telemetry, telemetryBody(hello, seq++));
      if (inWindow(now())) counts.sent++;
      deviceTimers();
    }
    pumpArmed = true;
    scheduler.at(toBridge.idleAt, pump);
  };
  const device: LinkSession = new LinkSession({ ...DEVICE_LINK_DEFAULTS, session: random.fork("device session").nonzeroUint32(), now }, {
    write: (bytes) => toBridge.write(bytes),
    message: () => {},
    up: () => {
      if (!window) {
        window = { from: now() + options.warmup * 1000, to: now() + (options.warmup + options.seconds) * 1000 };
        scheduler.at(window.from, () => void (carried = -toBridge.arrived));
        scheduler.at(window.to, () => void (carried += toBridge.arrived));
      }
      if (!pumpArmed) scheduler.at(now(), pump);
    },
  });
  bridgeTimers();
  deviceTimers();
  // The SYNC exchange takes a few ms; a line too noisy to bring the link up fails below.
  const upBy = 10_000;
  scheduler.runUntil(upBy);
  if (!window) throw new Error(`the link did not come up within ${upBy / 1000} s of line time (error rate ${options.errorRate})`);
  scheduler.runUntil(window.to);
  if (counts.delivered === 0) throw new Error("no telemetry was delivered in the measured time");
  checkSaturated(carried, lineBytesPerSecond(options.baud) * options.seconds);
  return {
    bytesPerSecond: counts.bytes / options.seconds,
    lineLimit: lineBytesPerSecond(options.baud),
    sent: counts.sent,
    delivered: counts.delivered,
    damage: { toBridge: faults.toBridge.counts, toDevice: faults.toDevice.counts },
    bridgeLink: bridge.stats,
  };
}

/**
 * The device must have kept its line busy (else the figure understates the link) and the line
 * must not have carried more than its rate (else the model is wrong): within one receive FIFO
 * at either edge of the window, and the few ms the device end waits for nothing but its timers.
 */
function checkSaturated(carried: number, capacity: number): void {
  if (carried > capacity + RX_FIFO_BYTES || carried < capacity * 0.99) {
    throw new Error(`the device-to-bridge line carried ${carried} bytes in a window that holds ${capacity.toFixed(0)}: the line model or the device's pacing is broken`);
  }
}
