// An energy meter on a household circuit: a standby base load plus appliances that switch on
// and off at random (a fridge cycling, a kettle now and then, a washing machine once a day),
// on mains voltage that wanders around 230 V. It reports power, voltage, current and an
// energy counter that only ever grows: the counter is kept in flash and integrates only while
// the meter runs (what it did not measure during a reboot it does not invent). An `overload`
// event goes out when the load crosses what a 16 A breaker holds.
import { ValueType, type CommandInfo, type Reading } from "../src/link/index.js";
import { HOUR, MeanReverting, quantize, type DeviceModel, type EmitEvent, type FlashRecord } from "./model.js";
import type { Random } from "./random.js";

interface Appliance {
  watts: number;
  /** Mean time (ms) it stays on, and off. */
  meanOn: number;
  meanOff: number;
}

const MINUTE = 60_000;
const APPLIANCES: readonly Appliance[] = [
  { watts: 120, meanOn: 15 * MINUTE, meanOff: 30 * MINUTE }, // fridge
  { watts: 150, meanOn: 4 * HOUR, meanOff: 6 * HOUR }, // lights
  { watts: 2000, meanOn: 3 * MINUTE, meanOff: 3 * HOUR }, // kettle
  { watts: 500, meanOn: 45 * MINUTE, meanOff: 12 * HOUR }, // washing machine
  { watts: 2200, meanOn: 40 * MINUTE, meanOff: 24 * HOUR }, // oven
];

/** Standby load (W), different for each household. */
const BASE_LOAD: [number, number] = [30, 90];
const MAINS = { volts: 230, spread: 2, tau: 10 * MINUTE };
/** Measurement noise, relative to the true power. */
const POWER_NOISE = 0.005;
/** 16 A at 230 V. */
export const OVERLOAD_WATTS = 3680;
const WH_PER_WATT_MS = 1 / HOUR;

export class Meter implements DeviceModel {
  readonly channels = [
    { name: "power", unit: "W", type: ValueType.F32 },
    { name: "voltage", unit: "V", type: ValueType.F32 },
    { name: "current", unit: "A", type: ValueType.F32 },
    { name: "energy", unit: "kWh", type: ValueType.F64 },
  ];
  readonly commands: CommandInfo[] = [];
  readonly #random: Random;
  readonly #base: number;
  readonly #mains: MeanReverting;
  readonly #on: boolean[];
  readonly #switchAt: number[];
  #worldAt: number | undefined;
  #energyWh = 0;
  #overloaded = false;

  constructor(random: Random) {
    this.#random = random;
    this.#base = random.uniform(...BASE_LOAD);
    this.#mains = new MeanReverting(MAINS.volts, MAINS.spread, MAINS.tau, random);
    // Each appliance starts on with the odds of finding it on at a random moment.
    this.#on = APPLIANCES.map((a) => random.next() < a.meanOn / (a.meanOn + a.meanOff));
    this.#switchAt = APPLIANCES.map(() => Infinity);
  }

  boot(saved: FlashRecord | undefined, at: number): void {
    // The household went on while the meter was off: catch up without counting energy.
    this.#run(at, false);
    this.#energyWh = typeof saved?.energyWh === "number" ? saved.energyWh : 0;
    this.#overloaded = false;
  }

  sample(at: number, emit: EmitEvent): Reading[] {
    this.#run(at, true);
    const power = this.load * (1 + POWER_NOISE * this.#random.normal());
    const volts = this.#mains.value;
    if (power > OVERLOAD_WATTS !== this.#overloaded) {
      this.#overloaded = !this.#overloaded;
      if (this.#overloaded) emit({ name: "overload", type: ValueType.F32, value: power });
    }
    return [
      { channel: 0, value: quantize(power, 0.1) },
      { channel: 1, value: quantize(volts, 0.1) },
      { channel: 2, value: quantize(power / volts, 0.001) },
      // Whole watt-hours: a counter shows only what it has completed, so it never steps back.
      { channel: 3, value: Math.floor(this.#energyWh) / 1000 },
    ];
  }

  saved(): FlashRecord {
    return { energyWh: this.#energyWh };
  }

  /** The true load now (W). */
  get load(): number {
    return APPLIANCES.reduce((sum, appliance, i) => (this.#on[i] ? sum + appliance.watts : sum), this.#base);
  }

  /** The exact energy counted so far (Wh). */
  get energyWh(): number {
    return this.#energyWh;
  }

  /** Runs the household to `at`: appliances switch at their times, and energy is integrated segment by segment when `count`. */
  #run(at: number, count: boolean): void {
    const from = this.#worldAt ?? at;
    if (this.#worldAt === undefined) this.#switchAt.forEach((_, i) => this.#schedule(i, at));
    this.#mains.advance(at - from, this.#random);
    for (let t = from; ; ) {
      const next = Math.min(...this.#switchAt);
      const end = Math.min(next, at);
      if (count) this.#energyWh += this.load * (end - t) * WH_PER_WATT_MS;
      t = end;
      if (next > at) break;
      const i = this.#switchAt.indexOf(next);
      this.#on[i] = !this.#on[i];
      this.#schedule(i, next);
    }
    this.#worldAt = at;
  }

  #schedule(i: number, from: number): void {
    const appliance = APPLIANCES[i];
    this.#switchAt[i] = from + this.#random.exponential(this.#on[i] ? appliance.meanOn : appliance.meanOff);
  }
}
