// The serial bridge under the load: 32 devices sending 10 telemetry messages a second
// each, every device on a socat pty pair of its own, the bridge in a process of its own
// (bridge-process.ts, bundled: bridge-spawn.ts) with one port per device, a real Mosquitto, and a subscriber (edgews/mqtt)
// in this process that times each message from the moment the device wrote it to the moment it
// arrived through the bridge and the broker. Meanwhile the bridge process's RSS (VmRSS) and CPU
// time (utime + stime, every thread) are read from /proc. One run measures all four figures;
// the cases of one child share it.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

async function waitFor(condition: () => boolean, what: string, timeoutMs: number, failure: () => Error | undefined): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    const failed = failure();
    if (failed) throw failed;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function ensureSocat(): Promise<void> {
  try {
    await promisify(execFile)("socat", ["-V"]);
  } catch {
    process.stderr.write("socat is missing: installing Debian's socat with apt-get (the simulated devices' pseudo-terminals need it)\n");
    const { aptInstall } = await import("../../test/support/apt.js");
    await aptInstall(["socat"]);
  }
}

/** Everything started, for the teardown: in reverse order of need. */
interface Rig {
  broker?: Mosquitto;
  subscriber?: MqttClient;
  fleet?: Fleet;
  devices: TelemetryDevice[];
  bridge?: BridgeProcess;
}

async function teardown(rig: Rig): Promise<void> {
  for (const device of rig.devices) device.stop();
  await rig.bridge?.stop();
  await rig.fleet?.stop();
  await Promise.race([rig.subscriber?.end(true), sleep(2000)]);
  await rig.broker?.dispose();
}

async function runBridge(quick: boolean): Promise<BridgeRun> {
  const timing = quick ? BRIDGE_TIMING.quick : BRIDGE_TIMING.full;
  const rig: Rig = { devices: [] };
  const recorder = new LatencyRecorder();
  let failure: Error | undefined;
  try {
    await ensureSocat();
    const { startMosquitto } = await import("../../test/support/mosquitto.js");
    rig.broker = await startMosquitto({ config: BROKER_CONFIG });
    const base = `edgews-bench-${process.pid}`;
    const online = new Set<string>();
    rig.subscriber = await subscribe(rig.broker.url, base, {
      state: (device, seq) => {
        const error = recorder.onReceived(device, seq, performance.now());
        if (error) failure ??= error;
      },
      availability: (device, state) => void (state === "online" ? online.add(device) : online.delete(device)),
    }, (error) => (failure ??= error));

    const dir = mkdtempSync(join(tmpdir(), "edgews-bench-link-"));
    rig.fleet = new Fleet(dir, true);
    const ids = Array.from({ length: BRIDGE_LOAD.devices }, (_, i) => `bench-${i + 1}`);
    await rig.fleet.open(ids.map((id) => [join(dir, `${id}.mcu`), join(dir, id)]));
    rig.devices = ids.map((id, i) => new TelemetryDevice({
      id, path: rig.fleet!.ptys[i]!.devicePath, rate: BRIDGE_LOAD.rate,
      onSent: (seq, at) => recorder.onSent(id, seq, at),
      onError: (error) => (failure ??= new Error(`device ${id}: ${error.message}`)),
    }));

    rig.bridge = await startBridgeProcess({ url: rig.broker.url, clientId: `${base}-bridge`, base, store: join(dir, "bridge.store"), ports: rig.fleet.ptys.map((p) => p.bridgePath) });
    await waitFor(() => online.size === ids.length, `all ${ids.length} devices online at the broker (${online.size} so far)`, START_TIMEOUT_MS, () => failure);
    for (const device of rig.devices) device.start();
    await sleep(timing.warmup * 1000);

    const sampler = new ProcessSampler(rig.bridge.pid);
    const windows: BridgeWindow[] = [];
    for (let i = 0; i < timing.windows; i++) windows.push(await measureWindow(timing.window * 1000, recorder, sampler, () => failure));
    await sleep(DRAIN_MS);
    if (failure) throw failure;
    const run = { windows, sent: recorder.sent, received: recorder.received, lost: recorder.lost() };
    if (run.received < run.sent * MIN_DELIVERED) {
      throw new Error(`the subscriber got ${run.received} of the ${run.sent} messages sent in the measured windows (${run.lost} never arrived): the figures would describe a lighter load than ${BRIDGE_LOAD.devices} × ${BRIDGE_LOAD.rate}/s`);
    }
    process.stderr.write(`link bridge: ${timing.windows} window(s) of ${timing.window} s; ${run.sent} messages sent in them, ${run.received} received through the broker, ${run.lost} lost\n`);
    return run;
  } finally {
    await teardown(rig);
  }
}

async function measureWindow(ms: number, recorder: LatencyRecorder, sampler: ProcessSampler, failure: () => Error | undefined): Promise<BridgeWindow> {
  const cpuBefore = sampler.cpuSeconds();
  const started = performance.now();
  recorder.open();
  let peak = sampler.rssBytes();
  while (performance.now() - started < ms) {
    await sleep(RSS_SAMPLE_MS);
    const failed = failure();
    if (failed) throw failed;
    peak = Math.max(peak, sampler.rssBytes());
  }
  const latencies = recorder.close();
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
    client.once("connect", () => resolve());
    client.once("error", reject);
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
