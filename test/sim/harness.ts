// A simulated device and a bridge-role link end (a bare src/link LinkSession) joined in process
// by a line with a latency and the fault injector in each direction, on a virtual clock: hours
// of traffic run in seconds, and a seed replays a run exactly.
import {
  LinkSession, MessageKind, decodeHello, decodeResult, encodeCommand, type CommandResult, type Hello, type LinkOptions, type Value,
} from "../../src/link/index.js";
import { SimDevice, type DeviceOptions } from "../../firmware-sim/device.js";
import { LineFaults, type LineFaultOptions } from "../../firmware-sim/faults.js";
import { Random } from "../../firmware-sim/random.js";
import { VirtualScheduler, type Timer } from "../../firmware-sim/scheduler.js";

export interface Received {
  kind: number;
  body: Uint8Array;
  reliable: boolean;
  /** Virtual time of arrival (ms). */
  at: number;
}

export interface BenchOptions extends Partial<Omit<DeviceOptions, "scheduler" | "write">> {
  faults?: LineFaultOptions;
  /** One-way latency of the line (ms). Default 2. */
  latency?: number;
  bridge?: Omit<LinkOptions, "now">;
}

type Direction = "toBridge" | "toDevice";

/** One device, one bridge end, one line. */
export class Bench {
  readonly scheduler = new VirtualScheduler();
  readonly device: SimDevice;
  readonly bridge: LinkSession;
  readonly toBridge: LineFaults;
  readonly toDevice: LineFaults;
  /** Everything the bridge end delivered, in order. */
  readonly received: Received[] = [];
  /** The bridge end's events: "up", "down <reason>", "closed <reason> <by>", "error <code>". */
  readonly log: string[] = [];
  /** Every byte written each way, before the line's faults. */
  readonly written: Record<Direction, Uint8Array[]> = { toBridge: [], toDevice: [] };
  /** Cut each direction of the line: bytes written that way are lost while true (both: a pulled cable). */
  readonly cut = { toBridge: false, toDevice: false };
  #nextCommandId = 1;
  readonly #latency: number;
  #bridgeTimer: Timer | undefined;

  constructor(options: BenchOptions = {}) {
    const { faults = {}, latency = 2, bridge = {}, ...device } = options;
    const seed = device.seed ?? 1;
    const random = new Random(seed).fork("line");
    this.#latency = latency;
    this.toBridge = new LineFaults(faults, random.fork("to bridge"));
    this.toDevice = new LineFaults(faults, random.fork("to device"));
    this.bridge = new LinkSession({ session: 0xb0000001, ...bridge, now: () => this.scheduler.now() }, {
      write: (bytes) => this.#carry("toDevice", bytes),
      message: (kind, body, reliable) => this.received.push({ kind, body, reliable, at: this.scheduler.now() }),
      up: () => this.log.push("up"),
      down: (reason) => this.log.push(`down ${reason}`),
      closed: (reason, byPeer) => this.log.push(`closed ${reason} ${byPeer ? "by device" : "by bridge"}`),
      error: (error) => this.log.push(`error ${error.code}`),
    });
    this.device = new SimDevice({
      id: "dev-1", kind: "sensor", ...device, seed, scheduler: this.scheduler,
      write: (bytes) => this.#carry("toBridge", bytes),
    });
    this.device.start();
    this.onBridge(() => {});
  }

  /** Runs the virtual clock to `ms`. */
  runUntil(ms: number): void {
    this.scheduler.runUntil(ms);
  }

  /** Messages of `kind` the bridge received, in order. */
  messages(kind: number): Received[] {
    return this.received.filter((m) => m.kind === kind);
  }

  /** The hellos the bridge received, decoded. */
  hellos(): Hello[] {
    return this.messages(MessageKind.Hello).map((m) => decodeHello(m.body));
  }

  /** Sends command `name` of the device's hello with `argument` from the bridge end; returns its id. */
  command(name: string, argument: Value = null): number {
    const id = this.#nextCommandId++;
    const index = this.device.hello.commands.findIndex((c) => c.name === name);
    this.sendCommandBody(encodeCommand({ id, command: index, argument }, this.device.hello));
    return id;
  }

  /** Sends a command body as it is, well-formed or not. */
  sendCommandBody(body: Uint8Array): void {
    this.onBridge(() => this.bridge.sendReliable(MessageKind.Command, body));
  }

  /** The results the bridge received, decoded. */
  results(): CommandResult[] {
    return this.messages(MessageKind.Result).map((m) => decodeResult(m.body));
  }

  /** Records `bytes`, then delivers them damaged by that direction's faults after the latency, unless that direction is cut. */
  #carry(direction: Direction, bytes: Uint8Array): void {
    this.written[direction].push(bytes.slice());
    if (this.cut[direction]) return;
    const damaged = this[direction].apply(bytes);
    const deliver = direction === "toBridge" ? () => this.onBridge(() => this.bridge.receive(damaged)) : () => this.device.receive(damaged);
    this.scheduler.at(this.scheduler.now() + this.#latency, deliver);
  }

  /** Runs `work` on the bridge end, then keeps its timer set to its next deadline. */
  onBridge(work: () => void): void {
    work();
    this.#bridgeTimer?.cancel();
    const at = this.bridge.nextTimeout();
    this.#bridgeTimer = at === Infinity ? undefined : this.scheduler.at(at, () => this.onBridge(() => this.bridge.tick()));
  }
}
