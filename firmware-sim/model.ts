// What a simulated device is, apart from its link: its channels and commands (what its hello
// declares), the physical world it measures or switches, and the firmware state it keeps in
// flash. Three models implement it (sensor.ts, relay.ts, meter.ts); the runtime (device.ts)
// adds the link, the clock, reboots and the commands every device has.
import type { ChannelInfo, CommandInfo, DeviceEvent, Reading, ResultStatus, Value, ValueType } from "../src/link/index.js";
import type { Random } from "./random.js";

/** Firmware state that survives a reboot (what a device keeps in flash or EEPROM). */
export type FlashRecord = Readonly<Record<string, number | boolean>>;

export interface CommandOutcome {
  status: ResultStatus;
  type: ValueType;
  value: Value;
}

/** Where a model's events go: the runtime sends them as reliable `event` messages. */
export type EmitEvent = (event: DeviceEvent) => void;

export interface DeviceModel {
  readonly channels: readonly ChannelInfo[];
  /** This model's own commands; the runtime declares its common ones after them. */
  readonly commands: readonly CommandInfo[];
  /**
   * Power-on at world time `at` (ms since the epoch), with what flash kept (undefined on the
   * first boot). The world the device lives in went on while it was off.
   */
  boot(saved: FlashRecord | undefined, at: number): void;
  /** A reading of every channel at world time `at`; the model's world runs up to `at` first. */
  sample(at: number, emit: EmitEvent): Reading[];
  /** Runs command `index` (of `commands`) with its decoded argument at world time `at`; required when `commands` is not empty. */
  command?(index: number, argument: Value, at: number, emit: EmitEvent): CommandOutcome;
  /** The firmware state to keep in flash now. */
  saved(): FlashRecord;
}

/**
 * A quantity that wanders and is pulled back to a mean (an Ornstein-Uhlenbeck process): the
 * weather's departure from the daily curve, the mains voltage. Advanced exactly over any
 * step, so a device that samples rarely or was off for an hour sees the same statistics.
 */
export class MeanReverting {
  value: number;
  readonly #mean: number;
  readonly #spread: number;
  readonly #tau: number;

  /** `spread`: the standard deviation around `mean` in the long run; `tau`: how long (ms) a departure takes to fade by 1/e. */
  constructor(mean: number, spread: number, tau: number, random: Random) {
    this.#mean = mean;
    this.#spread = spread;
    this.#tau = tau;
    this.value = mean + spread * random.normal();
  }

  advance(dt: number, random: Random): number {
    if (dt <= 0) return this.value;
    const decay = Math.exp(-dt / this.#tau);
    this.value = this.#mean + (this.value - this.#mean) * decay + this.#spread * Math.sqrt(1 - decay * decay) * random.normal();
    return this.value;
  }
}

/** `value` rounded to a multiple of `step` (a sensor's resolution). */
export function quantize(value: number, step: number): number {
  return Math.round(value / step) * step;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
