// N simulated devices in one process, each on its own pseudo-terminal pair: what `edgews sim`
// runs, and what the bridge's tests and benchmarks can start in process. Everything random
// comes from one seed: each device's world, sessions and crashes, its clock's drift, and the
// faults on each direction of its line.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SimDevice, type DeviceOptions } from "./device.js";
import { LineFaults } from "./faults.js";
import { DEVICE_KINDS, type DeviceKind } from "./kinds.js";
import { TtyEnd, openPtyPair, type PtyPair } from "./pty.js";
import { Random, deriveSeed } from "./random.js";
import { RealScheduler } from "./scheduler.js";

/** Each device costs a socat process, a shell guard and four file descriptors. */
export const MAX_DEVICES = 256;

export interface FleetOptions {
  /** How many devices, 1 to MAX_DEVICES. */
  devices: number;
  /** Their kinds, taken in turn. Default: every kind. */
  kinds?: readonly DeviceKind[];
  /** Telemetry messages per second per device. Default 1. */
  rate?: number;
  /** Line faults per byte, in each direction (see faults.ts). Default 0. */
  errorRate?: number;
  seed: number;
  /** Where the links go; made if missing. Default: a new directory in the system's temporary directory, removed at stop. */
  dir?: string;
  /** Device ids are PREFIX-KIND-N. Default "sim". */
  prefix?: string;
  /** Mean time between random reboots of each device, in ms. Default Infinity: never. */
  mtbf?: number;
  /** Each device's clock is off by a random amount within ±driftPpm parts per million. Default 20 (a common crystal). */
  driftPpm?: number;
  /** Called when a device's line breaks (its socat exited, its pty failed); the device is stopped. */
  onLineError?(device: FleetDevice, error: Error): void;
}

export interface FleetDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  /** The pty end the bridge opens. */
  readonly path: string;
  readonly device: SimDevice;
  readonly faults: { readonly toBridge: LineFaults; readonly toDevice: LineFaults };
  readonly pty: PtyPair;
  readonly end: TtyEnd;
}

export class Fleet {
  readonly devices: FleetDevice[] = [];
  readonly dir: string;
  readonly #ptys: PtyPair[] = [];
  readonly #removeDir: boolean;
  #stopped = false;

  constructor(dir: string, removeDir: boolean) {
    this.dir = dir;
    this.#removeDir = removeDir;
  }

  get ptys(): readonly PtyPair[] {
    return this.#ptys;
  }

  /** Makes the pty pairs, [device end, bridge end] paths each; all of them, or throws the first failure (keeping those made, for `stop`). */
  async open(paths: Array<[string, string]>): Promise<void> {
    const settled = await Promise.allSettled(paths.map(([device, bridge]) => openPtyPair(device, bridge)));
    for (const s of settled) if (s.status === "fulfilled") this.#ptys.push(s.value);
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Stops every device and socat; the links are gone when it resolves (and the directory, if the fleet made it). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const { device, end } of this.devices) {
      device.stop();
      end.close();
    }
    await Promise.all(this.#ptys.map((pty) => pty.close()));
    if (this.#removeDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the fleet: every pty pair made and every device powered on, or none (what was made is undone). */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const count = options.devices;
  if (!Number.isInteger(count) || count < 1 || count > MAX_DEVICES) throw new RangeError(`devices must be an integer from 1 to ${MAX_DEVICES}, got ${count}`);
  const kinds = options.kinds ?? DEVICE_KINDS;
  if (kinds.length === 0) throw new RangeError("kinds must name at least one kind");
  const prefix = options.prefix ?? "sim";
  const dir = options.dir === undefined ? mkdtempSync(join(tmpdir(), "edgews-sim-")) : resolve(options.dir);
  if (options.dir !== undefined) mkdirSync(dir, { recursive: true });
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${kinds[i % kinds.length]}-${i + 1}`);
  const fleet = new Fleet(dir, options.dir === undefined);
  try {
    await fleet.open(ids.map((id) => [join(dir, `${id}.mcu`), join(dir, id)]));
    const drift = new Random(options.seed).fork("drift");
    const scheduler = new RealScheduler();
    // World time is wall-clock time: daily curves follow the real hour.
    const epoch = Date.now() - scheduler.now();
    fleet.ptys.forEach((pty, i) => fleet.devices.push(connect(pty, ids[i], kinds[i % kinds.length], {
      seed: deriveSeed(options.seed, `device ${i}`), scheduler, epoch, rate: options.rate, mtbf: options.mtbf,
      driftPpm: drift.uniform(-1, 1) * (options.driftPpm ?? 20),
    }, options)));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  for (const { device } of fleet.devices) device.start();
  return fleet;
}

type DeviceSettings = Pick<DeviceOptions, "seed" | "scheduler" | "epoch" | "rate" | "mtbf" | "driftPpm">;

/** A device on the simulator's end of `pty`, through the line's faults both ways. */
function connect(pty: PtyPair, id: string, kind: DeviceKind, settings: DeviceSettings, options: FleetOptions): FleetDevice {
  const line = new Random(settings.seed).fork("line");
  const faults = { toBridge: new LineFaults({ errorRate: options.errorRate }, line.fork("to bridge")), toDevice: new LineFaults({ errorRate: options.errorRate }, line.fork("to device")) };
  // The handlers run only once data or errors arrive, after `member` is set.
  let member: FleetDevice;
  const broken = (error: Error) => {
    if (member.device.state === "stopped") return;
    member.device.stop();
    options.onLineError?.(member, error);
  };
  const end = new TtyEnd(pty.devicePath, (bytes) => member.device.receive(faults.toDevice.apply(bytes)), broken);
  const device = new SimDevice({ id, kind, ...settings, write: (bytes) => end.write(faults.toBridge.apply(bytes)) });
  member = { id, kind, path: pty.bridgePath, device, faults, pty, end };
  void pty.exited.then((said) => broken(new Error(`socat (pid ${pty.pid}) exited: ${said.split("\n").at(-1) || "it said nothing"}`)));
  return member;
}
