// A relay actuator (a smart plug): a state switched by the `on`, `off` and `toggle` commands and
// by its push button, which someone presses now and then. Every change of state is reported as a
// reliable `state` event, whoever made it. Like most plugs it restores its last state at power-on
// (kept in flash with the count of switching cycles, the relay's wear).
import { ResultStatus, ValueType, type Reading, type Value } from "../src/link/index.js";
import { HOUR, type CommandOutcome, type DeviceModel, type EmitEvent, type FlashRecord } from "./model.js";
import type { Random } from "./random.js";

/** Mean time between presses of the button (ms of world time). */
export const BUTTON_EVERY = HOUR / 6;

const Command = { On: 0, Off: 1, Toggle: 2 } as const;

export class Relay implements DeviceModel {
  readonly channels = [
    { name: "state", unit: "", type: ValueType.Bool },
    { name: "cycles", unit: "", type: ValueType.U32 },
  ];
  readonly commands = [
    { name: "on", argument: ValueType.None },
    { name: "off", argument: ValueType.None },
    { name: "toggle", argument: ValueType.None },
  ];
  readonly #random: Random;
  #on = false;
  #cycles = 0;
  #pressAt = Infinity;

  constructor(random: Random) {
    this.#random = random;
  }

  boot(saved: FlashRecord | undefined, at: number): void {
    this.#on = saved?.on === true;
    this.#cycles = typeof saved?.cycles === "number" ? saved.cycles : 0;
    // Presses while the plug was off did nothing; the next one comes after power-on.
    this.#pressAt = at + this.#random.exponential(BUTTON_EVERY);
  }

  sample(at: number, emit: EmitEvent): Reading[] {
    // The firmware polls its button: presses since the last poll take effect now, in order.
    for (; this.#pressAt <= at; this.#pressAt += this.#random.exponential(BUTTON_EVERY)) this.#set(!this.#on, emit);
    return [
      { channel: 0, value: this.#on },
      { channel: 1, value: this.#cycles },
    ];
  }

  command(index: number, _argument: Value, _at: number, emit: EmitEvent): CommandOutcome {
    this.#set(index === Command.On ? true : index === Command.Off ? false : !this.#on, emit);
    return { status: ResultStatus.Ok, type: ValueType.Bool, value: this.#on };
  }

  saved(): FlashRecord {
    return { on: this.#on, cycles: this.#cycles };
  }

  #set(on: boolean, emit: EmitEvent): void {
    if (on === this.#on) return;
    this.#on = on;
    this.#cycles = (this.#cycles + 1) >>> 0;
    emit({ name: "state", type: ValueType.Bool, value: on });
  }
}
