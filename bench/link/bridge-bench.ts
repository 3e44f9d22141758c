// The serial bridge under the load: 32 devices sending 10 telemetry messages a second
// each, every device on a socat pty pair of its own, the bridge in a process of its own
// (bridge-process.ts, bundled by bridge-spawn.ts) with one port per device, a real Mosquitto,
// and a subscriber (edgews/mqtt) in this process that times each message from the moment the
// device wrote it to the moment it arrived through the bridge and the broker. Meanwhile the bridge process's RSS (VmRSS) and CPU
// time (utime + stime, every thread) are read from /proc. One run measures all four figures;
// the cases of one child share it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "../../src/mqtt/index.js";
import { Fleet } from "../../firmware-sim/fleet.js";
import type { Mosquitto } from "../../test/support/mosquitto.js";
import { quantile } from "../stats.js";
import { startBridgeProcess, type BridgeProcess } from "./bridge-spawn.js";
import { TelemetryDevice } from "./telemetry-device.js";

/** The load: 32 simulated devices at 10 messages/s each. */
export const BRIDGE_LOAD = { devices: 32, rate: 10 } as const;
/** Seconds: after every device is online, a warm-up, then measured windows (one figure each). */
export const BRIDGE_TIMING = { full: { warmup: 5, windows: 5, window: 6 }, quick: { warmup: 0.5, windows: 1, window: 2 } } as const;
/** A run whose subscriber got fewer of the messages sent in the windows measured a lighter load than it claims. */
const MIN_DELIVERED = 0.95;
const RSS_SAMPLE_MS = 200;
const START_TIMEOUT_MS = 30_000;
/** Messages on their way when the last window closes get this long before the lost are counted. */
const DRAIN_MS = 500;
const MIB = 1024 * 1024;
const BROKER_CONFIG = ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0", "set_tcp_nodelay true"];

/** One measured window. */
export interface BridgeWindow {
  /** Device write to subscriber, µs. */
  p50: number;
  p99: number;
  /** The bridge process's peak VmRSS in the window, MiB. */
  rssMiB: number;
  /** The bridge process's CPU time over the window's wall time, % of one core. */
  cpuPercent: number;
}

export interface BridgeRun {
  windows: BridgeWindow[];
  /** Telemetry sent by the devices during the windows, received by the subscriber, never received. */
  sent: number;
  received: number;
  lost: number;
}

let shared: Promise<BridgeRun> | undefined;

/** The run, once per process: the link bench's bridge cases all read it. */
export function bridgeRun(quick: boolean): Promise<BridgeRun> {
  shared ??= runBridge(quick);
  return shared;
}

/** Send times by device and sequence number, and the latencies of the window that is open. */
class LatencyRecorder {
  /** Messages not yet received: when each was sent, and whether a window was open then. */
  readonly #sent = new Map<string, { at: number; measured: boolean }>();
  #window: number[] | undefined;
  /** Messages sent while a window was open, and those of them received. */
  sent = 0;
  received = 0;

  onSent(device: string, seq: number, at: number): void {
    const measured = this.#window !== undefined;
    this.#sent.set(`${device}/${seq}`, { at, measured });
    if (measured) this.sent++;
  }

  /** Records a message's arrival; an error if no device sent it (or it came twice). */
  onReceived(device: string, seq: number, at: number): Error | undefined {
    const key = `${device}/${seq}`;
    const sent = this.#sent.get(key);
    if (sent === undefined) return new Error(`the subscriber got telemetry ${key}, which no device sent (or got it twice)`);
    this.#sent.delete(key);
    if (sent.measured) this.received++;
    this.#window?.push(at - sent.at);
    return undefined;
  }

  open(): void {
    this.#window = [];
  }

  /** The latencies (ms) of the messages received while the window was open. */
  close(): number[] {
    const window = this.#window ?? [];
    this.#window = undefined;
    return window;
  }

  /** Messages sent while a window was open that have not arrived. */
  lost(): number {
    let lost = 0;
    for (const { measured } of this.#sent.values()) if (measured) lost++;
    return lost;
  }
}

/** /proc figures of one process. */
class ProcessSampler {
  readonly #pid: number;
  readonly #ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

  constructor(pid: number) {
    this.#pid = pid;
  }

  rssBytes(): number {
    const line = readFileSync(`/proc/${this.#pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
    if (!line) throw new Error(`/proc/${this.#pid}/status has no VmRSS line`);
    return Number(line.split(/\s+/)[1]) * 1024;
  }

  /** utime + stime of every thread, in seconds. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.#pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), from field 3 (state): utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / this.#ticksPerSecond;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: () => string, failure: () => Error | undefined): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (!condition()) {
    const failed = failure();
    if (failed) throw failed;
    if (performance.now() > deadline) throw new Error(`timed out after ${START_TIMEOUT_MS} ms waiting for ${what()}`);
    await sleep(20);
  }
}

/** What one run starts, and stops in reverse order. */
class BridgeRig {
  readonly recorder = new LatencyRecorder();
  /** Device ids announced online by the bridge. */
  readonly #online = new Set<string>();
  #broker: Mosquitto | undefined;
  #subscriber: MqttClient | undefined;
  #fleet: Fleet | undefined;
  #devices: TelemetryDevice[] = [];
  #bridge: BridgeProcess | undefined;
  /** The first thing that went wrong while the run was going (a device's pty, the subscriber). */
  failure: Error | undefined;

  get bridgePid(): number {
    return this.#bridge!.pid;
  }

  /** Broker, subscriber, ptys and devices, then the bridge; resolves once every device is online at the broker. */
  async start(): Promise<void> {
    const { ensureSocat } = await import("../../test/support/pty.js");
    await ensureSocat();
    const { startMosquitto } = await import("../../test/support/mosquitto.js");
    this.#broker = await startMosquitto({ config: BROKER_CONFIG });
    const base = `edgews-bench-${process.pid}`;
    this.#subscriber = await subscribe(this.#broker.url, base, {
      state: (device, seq) => this.#fail(this.recorder.onReceived(device, seq, performance.now())),
      availability: (device, state) => void (state === "online" ? this.#online.add(device) : this.#online.delete(device)),
    }, (error) => this.#fail(error));

    const dir = mkdtempSync(join(tmpdir(), "edgews-bench-link-"));
    const fleet = (this.#fleet = new Fleet(dir, true));
    const ids = Array.from({ length: BRIDGE_LOAD.devices }, (_, i) => `bench-${i + 1}`);
    await fleet.open(ids.map((id) => [join(dir, `${id}.mcu`), join(dir, id)]));
    this.#devices = ids.map((id, i) => new TelemetryDevice({
      id, path: fleet.ptys[i]!.devicePath, rate: BRIDGE_LOAD.rate,
      onSent: (seq, at) => this.recorder.onSent(id, seq, at),
      onError: (error) => this.#fail(new Error(`device ${id}: ${error.message}`)),
    }));
    this.#bridge = await startBridgeProcess({ url: this.#broker.url, clientId: `${base}-bridge`, base, store: join(dir, "bridge.store"), ports: fleet.ptys.map((p) => p.bridgePath) });
    await waitFor(() => this.#online.size === ids.length, () => `all ${ids.length} devices online at the broker (${this.#online.size} so far)`, () => this.failure);
    for (const device of this.#devices) device.start();
  }

  async stop(): Promise<void> {
    for (const device of this.#devices) device.stop();
    await this.#bridge?.stop();
    await this.#fleet?.stop();
    await Promise.race([this.#subscriber?.end(true), sleep(2000)]);
    await this.#broker?.dispose();
  }

  #fail(error: Error | undefined): void {
    this.failure ??= error;
  }
}

async function runBridge(quick: boolean): Promise<BridgeRun> {
  const timing = quick ? BRIDGE_TIMING.quick : BRIDGE_TIMING.full;
  const rig = new BridgeRig();
  try {
    await rig.start();
    await sleep(timing.warmup * 1000);
    const sampler = new ProcessSampler(rig.bridgePid);
    const windows: BridgeWindow[] = [];
    for (let i = 0; i < timing.windows; i++) windows.push(await measureWindow(timing.window * 1000, rig, sampler));
    await sleep(DRAIN_MS);
    if (rig.failure) throw rig.failure;
    const { recorder } = rig;
    const run = { windows, sent: recorder.sent, received: recorder.received, lost: recorder.lost() };
    if (run.received < run.sent * MIN_DELIVERED) {
      throw new Error(`the subscriber got ${run.received} of the ${run.sent} messages sent in the measured windows (${run.lost} never arrived): the figures would describe a lighter load than ${BRIDGE_LOAD.devices} × ${BRIDGE_LOAD.rate}/s`);
    }
    process.stderr.write(`link bridge: ${timing.windows} window(s) of ${timing.window} s; ${run.sent} messages sent in them, ${run.received} received through the broker, ${run.lost} lost\n`);
    return run;
  } finally {
    await rig.stop();
  }
}

async function measureWindow(ms: number, rig: BridgeRig, sampler: ProcessSampler): Promise<BridgeWindow> {
  const cpuBefore = sampler.cpuSeconds();
  const started = performance.now();
  rig.recorder.open();
  let peak = sampler.rssBytes();
  while (performance.now() - started < ms) {
    await sleep(RSS_SAMPLE_MS);
    if (rig.failure) throw rig.failure;
    peak = Math.max(peak, sampler.rssBytes());
  }
  const latencies = rig.recorder.close();
  const cpuPercent = ((sampler.cpuSeconds() - cpuBefore) / ((performance.now() - started) / 1000)) * 100;
  if (latencies.length === 0) throw new Error("no telemetry reached the subscriber in a measured window");
  return { p50: quantile(latencies, 0.5) * 1000, p99: quantile(latencies, 0.99) * 1000, rssMiB: peak / MIB, cpuPercent };
}

interface Topics {
  state(device: string, seq: number): void;
  availability(device: string, state: string): void;
}

/** An edgews/mqtt subscriber to every topic under `base`. */
async function subscribe(url: string, base: string, on: Topics, fail: (error: Error) => void): Promise<MqttClient> {
  const { connect } = await import("../../src/mqtt/index.js");
  const client = connect(url, { protocolVersion: 5, clientId: `${base}-subscriber`, clean: true, reconnect: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the subscriber got no CONNACK from ${url} in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    client.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  client.on("error", fail);
  client.on("close", () => fail(new Error("the subscriber's connection to the broker closed during the bench")));
  client.on("message", (topic, payload) => {
    const [first, device, leaf, ...more] = topic.split("/");
    if (first !== base || device === undefined || device === "bridge" || more.length > 0) return;
    if (leaf === "availability") return on.availability(device, payload.toString());
    if (leaf !== undefined) return;
    const seq = (JSON.parse(payload.toString()) as { seq?: unknown }).seq;
    if (typeof seq !== "number") return fail(new Error(`${topic} carried ${payload.toString()}: no sequence number`));
    on.state(device, seq);
  });
  await client.subscribe(`${base}/#`, { qos: 0 });
  return client;
}
