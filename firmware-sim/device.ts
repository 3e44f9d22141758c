// A simulated microcontroller: a device model (model.ts) behind the device end of the serial
// link (src/link), run the way firmware runs it. Its clock counts from power-on and drifts by
// its crystal's error; it samples and sends telemetry at its rate, queues events and command
// results in a small RAM outbox that feeds the link one message at a time (a device keeps one
// message buffer, docs/link-protocol.md §10), keeps its configuration, its model's state and
// the link's receive state in flash, and reboots on command (after an orderly CLOSE) or at
// random (a watchdog reset: whatever was in RAM is lost). Bytes in and out, time from an
// injected scheduler: the same device runs on a pseudo-terminal or in a test on a virtual clock.
import {
  CloseReason, LinkError, LinkSession, LogLevel, MessageKind, PayloadError, ResultStatus, ValueType, decodeCommand, encodeEvent, encodeHello,
  encodeLog, encodeResult, encodeTelemetry, type CommandInfo, type CommandResult, type DeviceEvent, type Hello, type LinkOptions, type LinkState,
  type ReceiveState, type ReceiveStateStore, type Value,
} from "../src/link/index.js";
import { createModel, type DeviceKind } from "./kinds.js";
import type { CommandOutcome, DeviceModel, FlashRecord } from "./model.js";
import { Random } from "./random.js";
import type { Scheduler, Timer } from "./scheduler.js";

export const SIM_FIRMWARE = "edgews-sim 1.0";

/** What a device keeps in flash: it survives reboots (and is all that does). */
export interface FlashImage {
  /** Power-ons so far. */
  boots: number;
  /** The telemetry period (ms) the `interval` command set. */
  interval?: number;
  /** The link's receive state (docs/link-protocol.md §6.4): a command is taken once, even across a reboot. */
  receive?: ReceiveState;
  /** The model's firmware state (the energy counter, the relay's state...). */
  model?: FlashRecord;
}

export interface Flash {
  read(): FlashImage | undefined;
  write(image: FlashImage): void;
}

/** Flash held by the simulator process: it survives the device's reboots, not the process. */
export class MemoryFlash implements Flash {
  #image: FlashImage | undefined;

  read(): FlashImage | undefined {
    return this.#image && structuredClone(this.#image);
  }

  write(image: FlashImage): void {
    this.#image = structuredClone(image);
  }
}

export interface DeviceOptions {
  /** The device id of its hello (an MQTT topic level at the bridge: no "/", "+", "#"). */
  id: string;
  kind: DeviceKind;
  /** Seeds everything random about the device: its world, its sessions, its timing, its crashes. */
  seed: number;
  scheduler: Scheduler;
  /** Takes the bytes the device sends, in order. */
  write(bytes: Uint8Array): void;
  /** Telemetry messages per second, 1/3600 to 100 (until an `interval` command changes it). Default 1. */
  rate?: number;
  /** How fast the device's clock runs, in parts per million (+50: 50 µs fast every second), ±20,000. Default 0. */
  driftPpm?: number;
  /** Mean time between random crashes (watchdog resets), in ms of scheduler time. Default Infinity: never. */
  mtbf?: number;
  /** From power-on to the first SYNC, in ms. Default 300. */
  bootTime?: number;
  /** Reliable messages (events, results, logs) waiting in RAM for the link, at most; beyond, the oldest is dropped (counted in `lost`). Default 16. */
  maxOutbox?: number;
  /** World time (ms since the epoch) when the scheduler reads 0: what the daily curves follow. Default 2025-06-01T00:00Z. */
  epoch?: number;
  /** The device end's link options. Defaults: DEVICE_LINK_DEFAULTS over the protocol's defaults. */
  link?: Omit<LinkOptions, "now" | "session" | "store">;
  /** Default: a new MemoryFlash (the device's first boot). */
  flash?: Flash;
}

/** A small MCU's link: 64-byte packets, 512-byte messages, one packet in flight (the C library's defaults). */
export const DEVICE_LINK_DEFAULTS = { maxPacket: 64, maxMessage: 512, window: 1 } as const;

/** Commands every simulated device has, declared after its model's own. */
const COMMON_COMMANDS: readonly CommandInfo[] = [
  { name: "reboot", argument: ValueType.None },
  /** The telemetry period in ms. */
  { name: "interval", argument: ValueType.U32 },
];
/** Telemetry periods the `interval` command accepts (ms): up to 100 messages per second, at least one an hour. */
export const INTERVAL_RANGE = [10, 3_600_000] as const;
export const MAX_DRIFT_PPM = 20_000;
/** After a `reboot` command, the device waits this long (ms) for its result to be acknowledged and its CLOSE answered. */
const REBOOT_GRACE = 10_000;

type ResetCause = "power-on" | "command" | "watchdog";

export interface DeviceStats {
  /** Telemetry messages sent. */
  telemetry: number;
  /** Readings not sent because the link was not up. */
  telemetryDropped: number;
  /** Reliable messages handed to the link (hello, events, results, logs). */
  reliable: number;
  /** Reliable messages the bridge acknowledged. */
  acked: number;
  /** Packets sent again, over all boots. */
  retries: number;
  /** Reboots since the first power-on, by command or crash. */
  reboots: number;
  commands: number;
  /** Reliable messages lost: in RAM at a reboot (the bridge may have taken some of them), or pushed out of a full outbox. */
  lost: number;
  /** LinkError events: a message the bridge can't take, a message of the bridge's that broke the rules. */
  linkErrors: number;
}

export type DeviceState = "off" | "syncing" | "up" | "closing" | "closed" | "stopped";

export class SimDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly hello: Hello;
  readonly model: DeviceModel;
  readonly flash: Flash;
  readonly #counts: Omit<DeviceStats, "retries"> = { telemetry: 0, telemetryDropped: 0, reliable: 0, acked: 0, reboots: 0, commands: 0, lost: 0, linkErrors: 0 };
  readonly #options: Required<Omit<DeviceOptions, "id" | "kind" | "seed" | "scheduler" | "write" | "flash" | "link">> & Pick<DeviceOptions, "link">;
  readonly #scheduler: Scheduler;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #helloBody: Uint8Array;
  /** Clock ticks per scheduler ms: 1 + drift. */
  readonly #clockRate: number;
  readonly #sessions: Random;
  readonly #timing: Random;
  readonly #crashes: Random;
  #session: LinkSession | undefined;
  #lastSession = 0;
  #retriesBefore = 0;
  #resetCause: ResetCause = "power-on";
  #stopped = false;
  /** Scheduler times of the pending power-on and of the next crash. */
  #bootAt = Infinity;
  #crashAt = Infinity;
  #powerOnAt = 0;
  /** Device-clock times (ms since power-on). */
  #telemetryAt = Infinity;
  #rebootBy = Infinity;
  #interval: number;
  #outbox: Array<{ kind: number; body: Uint8Array }> = [];
  #helloOwed = false;
  #rebootRequested = false;
  #closedForReboot = false;
  #timer: Timer | undefined;
  #timerAt = Infinity;

  constructor(options: DeviceOptions) {
    const o = {
      rate: options.rate ?? 1, driftPpm: options.driftPpm ?? 0, mtbf: options.mtbf ?? Infinity, bootTime: options.bootTime ?? 300,
      maxOutbox: options.maxOutbox ?? 16, epoch: options.epoch ?? Date.UTC(2025, 5, 1), link: options.link,
    };
    checkRange("rate", o.rate, 1 / 3600, 100);
    checkRange("driftPpm", o.driftPpm, -MAX_DRIFT_PPM, MAX_DRIFT_PPM);
    checkRange("mtbf", o.mtbf, 1, Infinity);
    checkRange("bootTime", o.bootTime, 0, 60_000);
    checkRange("maxOutbox", o.maxOutbox, 1, 1024);
    this.#options = o;
    this.id = options.id;
    this.kind = options.kind;
    this.#scheduler = options.scheduler;
    this.#write = options.write;
    this.flash = options.flash ?? new MemoryFlash();
    const random = new Random(options.seed);
    this.model = createModel(options.kind, random.fork("world"));
    this.#sessions = random.fork("sessions");
    this.#timing = random.fork("timing");
    this.#crashes = random.fork("crashes");
    this.#clockRate = 1 + o.driftPpm / 1e6;
    this.#interval = 1000 / o.rate;
    this.hello = { deviceId: options.id, firmware: `${SIM_FIRMWARE} ${options.kind}`, channels: [...this.model.channels], commands: [...this.model.commands, ...COMMON_COMMANDS] };
    // Encoded once, here, so that a bad device id fails at construction, not at the first `up`.
    this.#helloBody = encodeHello(this.hello);
  }

  get state(): DeviceState {
    if (this.#stopped) return "stopped";
    if (!this.#session) return "off";
    const state: LinkState = this.#session.state;
    return state === "established" ? "up" : state;
  }

  get stats(): DeviceStats {
    return { ...this.#counts, retries: this.#retriesBefore + (this.#session?.stats.retransmits ?? 0) };
  }

  /** The current boot's link counters (line damage, retransmissions...), undefined while off. */
  get linkStats(): LinkSession["stats"] | undefined {
    return this.#session?.stats;
  }

  /** Power on: the firmware runs `bootTime` ms later. */
  start(): void {
    if (this.#stopped || this.#bootAt !== Infinity || this.#session) return;
    this.#bootAt = this.#scheduler.now() + this.#options.bootTime;
    this.#rearm();
  }

  /** Power off for good (a pulled plug): nothing more is written; flash keeps what it has. */
  stop(): void {
    this.#stopped = true;
    this.#session = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** A watchdog reset now (what `mtbf` does at random): RAM is lost, the firmware runs again `bootTime` ms later. */
  crash(): void {
    if (this.#session) this.#enter(() => this.#powerOff("watchdog"));
  }

  /** Bytes from the line. A device that is off or booting loses them, as a UART in reset does. */
  receive(bytes: Uint8Array): void {
    const session = this.#session;
    if (session) this.#enter(() => session.receive(bytes));
  }

  /** The device's clock: ms since power-on, drifting. */
  #local(at = this.#scheduler.now()): number {
    return (at - this.#powerOnAt) * this.#clockRate;
  }

  /** The first scheduler time at which the device's clock reads `local` or more. */
  #hostTime(local: number): number {
    if (local === Infinity) return Infinity;
    let at = this.#powerOnAt + local / this.#clockRate;
    // Division rounds: never wake a hair before the deadline (the timer would find nothing due and re-arm for the same instant).
    while (this.#local(at) < local) at += Math.max(1e-9, Math.abs(at) * Number.EPSILON * 4);
    return at;
  }

  #world(): number {
    return this.#options.epoch + this.#scheduler.now();
  }

  /** Every entry point: the work, then what it leads to (power off, the outbox, the next timer). */
  #enter(work: () => void): void {
    work();
    if (this.#closedForReboot) {
      this.#closedForReboot = false;
      this.#powerOff("command");
    }
    this.#pump();
    this.#rearm();
  }

  #onTimer(): void {
    const now = this.#scheduler.now();
    const session = this.#session;
    if (now >= this.#bootAt) this.#powerOn();
    else if (!session) return;
    else if (now >= this.#crashAt) this.#powerOff("watchdog");
    else if (this.#local(now) >= this.#rebootBy) this.#powerOff("command");
    else {
      if (this.#local(now) >= this.#telemetryAt) this.#sendTelemetry();
      session.tick();
    }
  }

  #powerOn(): void {
    const now = this.#scheduler.now();
    this.#bootAt = Infinity;
    this.#powerOnAt = now;
    const image = this.flash.read() ?? { boots: 0 };
    image.boots++;
    this.flash.write(image);
    this.#interval = image.interval ?? 1000 / this.#options.rate;
    this.model.boot(image.model, this.#world());
    this.#session = new LinkSession({ ...DEVICE_LINK_DEFAULTS, ...this.#options.link, now: () => this.#local(), session: this.#newSession(), store: this.#receiveStore() }, {
      write: (bytes) => this.#write(bytes),
      message: (kind, body) => this.#onMessage(kind, body),
      up: () => void (this.#helloOwed = true),
      delivered: () => void this.#counts.acked++,
      closed: () => void (this.#closedForReboot = this.#rebootRequested),
      error: () => void this.#counts.linkErrors++,
    });
    // Devices powered on together do not all sample at the same instant.
    this.#telemetryAt = this.#timing.uniform(0, this.#interval);
    if (this.#options.mtbf !== Infinity) this.#crashAt = now + this.#crashes.exponential(this.#options.mtbf);
    this.#queue(MessageKind.Log, encodeLog({ level: LogLevel.Info, text: `boot ${image.boots} (reset cause: ${this.#resetCause}), firmware ${this.hello.firmware}` }));
  }

  /** Everything in RAM is lost; the firmware runs again `bootTime` ms later. */
  #powerOff(cause: ResetCause): void {
    const session = this.#session!;
    this.#retriesBefore += session.stats.retransmits;
    this.#counts.lost += session.pending().length + this.#outbox.length;
    this.#counts.reboots++;
    this.#session = undefined;
    this.#outbox = [];
    this.#helloOwed = this.#rebootRequested = false;
    this.#telemetryAt = this.#rebootBy = this.#crashAt = Infinity;
    this.#resetCause = cause;
    this.#bootAt = this.#scheduler.now() + this.#options.bootTime;
  }

  /** A session number differing from the previous boot's (docs/link-protocol.md §5.5). */
  #newSession(): number {
    let session: number;
    do session = this.#sessions.nonzeroUint32();
    while (session === this.#lastSession);
    return (this.#lastSession = session);
  }

  #receiveStore(): ReceiveStateStore {
    return {
      load: () => this.flash.read()?.receive,
      save: (state) => this.#updateFlash((image) => (image.receive = state)),
    };
  }

  #updateFlash(change: (image: FlashImage) => void): void {
    const image = this.flash.read() ?? { boots: 0 };
    change(image);
    this.flash.write(image);
  }

  #sendTelemetry(): void {
    this.#telemetryAt += this.#interval;
    // Fell behind (a stalled event loop): skip the missed samples rather than send a burst.
    if (this.#telemetryAt <= this.#local()) this.#telemetryAt = this.#local() + this.#interval;
    const readings = this.model.sample(this.#world(), (event) => this.#queueEvent(event));
    this.#updateFlash((image) => (image.model = this.model.saved()));
    if (this.#session!.state !== "established") {
      this.#counts.telemetryDropped++;
      return;
    }
    this.#session!.sendBestEffort(MessageKind.Telemetry, encodeTelemetry(readings, this.hello));
    this.#counts.telemetry++;
  }

  #onMessage(kind: number, body: Uint8Array): void {
    // A device takes commands; anything else from the bridge means nothing to it.
    if (kind !== MessageKind.Command) return;
    this.#counts.commands++;
    const result = this.#runCommand(body);
    this.#updateFlash((image) => {
      image.model = this.model.saved();
      image.interval = this.#interval;
    });
    if (result) this.#queue(MessageKind.Result, encodeResult(result));
  }

  /** The result to send, or undefined for a command too short to carry the id to answer. */
  #runCommand(body: Uint8Array): CommandResult | undefined {
    if (body.length < 2) {
      this.#queue(MessageKind.Log, encodeLog({ level: LogLevel.Error, text: `a ${body.length}-byte command carries no id to answer: ignored` }));
      return undefined;
    }
    const id = body[0] | (body[1] << 8);
    let command;
    try {
      command = decodeCommand(body, this.hello);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      const unknown = body.length > 2 && body[2] >= this.hello.commands.length;
      return { id, status: unknown ? ResultStatus.UnknownCommand : ResultStatus.BadArgument, type: ValueType.String, value: fitString(error.message) };
    }
    const own = this.model.commands.length;
    const outcome = command.command < own
      ? this.model.command!(command.command, command.argument, this.#world(), (event) => this.#queueEvent(event))
      : this.#commonCommand(command.command - own, command.argument);
    return { id, ...outcome };
  }

  #commonCommand(index: number, argument: Value): CommandOutcome {
    if (COMMON_COMMANDS[index].name === "reboot") {
      // Answer first; the CLOSE goes out once the answer is acknowledged (#pump), then the reset.
      this.#rebootRequested = true;
      this.#rebootBy = this.#local() + REBOOT_GRACE;
      return { status: ResultStatus.Ok, type: ValueType.None, value: null };
    }
    const [min, max] = INTERVAL_RANGE;
    const interval = argument as number;
    if (interval < min || interval > max) return { status: ResultStatus.BadArgument, type: ValueType.String, value: `interval must be from ${min} to ${max} ms` };
    this.#interval = interval;
    this.#telemetryAt = Math.min(this.#telemetryAt, this.#local() + interval);
    return { status: ResultStatus.Ok, type: ValueType.U32, value: interval };
  }

  #queueEvent(event: DeviceEvent): void {
    this.#queue(MessageKind.Event, encodeEvent(event));
  }

  /** Into the RAM outbox; a full outbox drops its oldest message. */
  #queue(kind: number, body: Uint8Array): void {
    if (this.#outbox.length >= this.#options.maxOutbox) {
      this.#outbox.shift();
      this.#counts.lost++;
    }
    this.#outbox.push({ kind, body });
  }

  /** Hands the link the next reliable message once the previous one is acknowledged: the hello first after each `up`. */
  #pump(): void {
    const session = this.#session;
    if (!session) return;
    while (session.state === "established" && session.pending().length === 0) {
      const next = this.#helloOwed ? { kind: MessageKind.Hello, body: this.#helloBody } : this.#outbox.shift();
      if (!next) break;
      this.#helloOwed = false;
      this.#sendReliable(session, next.kind, next.body);
    }
    const open = session.state === "syncing" || session.state === "established";
    if (this.#rebootRequested && open && this.#outbox.length === 0 && !this.#helloOwed) {
      session.close(CloseReason.GoingAway);
    }
  }

  #sendReliable(session: LinkSession, kind: number, body: Uint8Array): void {
    try {
      session.sendReliable(kind, body);
      this.#counts.reliable++;
    } catch (error) {
      // A bridge announcing a maxMessage below this message's size: nothing to do but count it.
      if (!(error instanceof LinkError && error.code === "LINK_MESSAGE_TOO_BIG")) throw error;
      this.#counts.lost++;
      this.#counts.linkErrors++;
    }
  }

  #rearm(): void {
    if (this.#stopped) return;
    let at = Math.min(this.#bootAt, this.#crashAt);
    if (this.#session) at = Math.min(at, this.#hostTime(Math.min(this.#session.nextTimeout(), this.#telemetryAt, this.#rebootBy)));
    if (at === this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = at === Infinity ? undefined : this.#scheduler.at(at, () => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#enter(() => this.#onTimer());
    });
  }

}

/** `text` cut to the 255 UTF-8 bytes a string value holds. */
function fitString(text: string): string {
  const encoder = new TextEncoder();
  let fitted = text;
  while (encoder.encode(fitted).length > 255) fitted = fitted.slice(0, -1);
  return fitted;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) throw new RangeError(`${name} must be from ${min} to ${max}, got ${value}`);
}
