// A temperature and humidity sensor (an SHT3x-like part on an indoor wall): the temperature
// follows a daily curve (coolest at 03:00, warmest at 15:00) plus a slow random walk for the
// weather, plus sensor noise; relative humidity falls as the air warms. Readings are quantised
// to the part's resolution and clamped to its range. One command sets a calibration offset.
import { ResultStatus, ValueType, type Reading, type Value } from "../src/link/index.js";
import { DAY, HOUR, MeanReverting, clamp, quantize, type CommandOutcome, type DeviceModel, type FlashRecord } from "./model.js";
import type { Random } from "./random.js";

const TEMPERATURE = {
  /** Daily mean (°C); each device's room differs by up to ±roomSpread. */
  mean: 21,
  roomSpread: 2,
  /** Half the difference between the afternoon high and the night low (°C). */
  dailySwing: 3,
  warmestHour: 15,
  /** The weather's departure from the curve: its spread (°C) and how long it lasts. */
  weatherSpread: 1,
  weatherTau: 3 * HOUR,
  /** Sensor noise (standard deviation) and resolution (°C). */
  noise: 0.05,
  resolution: 0.01,
  /** What the part can measure (°C). */
  range: [-40, 125],
} as const;

const HUMIDITY = {
  mean: 45,
  /** Relative humidity falls as the same air warms: %RH per °C above the daily mean. */
  perDegree: -2.5,
  weatherSpread: 4,
  weatherTau: 6 * HOUR,
  noise: 0.3,
  resolution: 0.1,
} as const;

/** The calibration offset a command may set (°C). */
export const MAX_OFFSET = 10;

export class Sensor implements DeviceModel {
  readonly channels = [
    { name: "temperature", unit: "°C", type: ValueType.F32 },
    { name: "humidity", unit: "%", type: ValueType.F32 },
  ];
  readonly commands = [{ name: "offset", argument: ValueType.F32 }];
  readonly #random: Random;
  readonly #roomMean: number;
  readonly #weather: MeanReverting;
  readonly #damp: MeanReverting;
  #worldAt: number | undefined;
  #offset = 0;

  constructor(random: Random) {
    this.#random = random;
    this.#roomMean = TEMPERATURE.mean + random.uniform(-TEMPERATURE.roomSpread, TEMPERATURE.roomSpread);
    this.#weather = new MeanReverting(0, TEMPERATURE.weatherSpread, TEMPERATURE.weatherTau, random);
    this.#damp = new MeanReverting(0, HUMIDITY.weatherSpread, HUMIDITY.weatherTau, random);
  }

  boot(saved: FlashRecord | undefined): void {
    this.#offset = typeof saved?.offset === "number" ? saved.offset : 0;
  }

  sample(at: number): Reading[] {
    const dt = this.#worldAt === undefined ? 0 : at - this.#worldAt;
    this.#worldAt = at;
    const air = this.#roomMean + dailyCurve(at) + this.#weather.advance(dt, this.#random);
    const humidity = HUMIDITY.mean + HUMIDITY.perDegree * (air - this.#roomMean) + this.#damp.advance(dt, this.#random);
    const r = this.#random;
    const [low, high] = TEMPERATURE.range;
    return [
      { channel: 0, value: quantize(clamp(air + this.#offset + TEMPERATURE.noise * r.normal(), low, high), TEMPERATURE.resolution) },
      { channel: 1, value: quantize(clamp(humidity + HUMIDITY.noise * r.normal(), 0, 100), HUMIDITY.resolution) },
    ];
  }

  command(_index: number, argument: Value): CommandOutcome {
    // The only command is "offset" (index 0): the runtime answers indexes it does not declare.
    const offset = argument as number;
    if (!(Math.abs(offset) <= MAX_OFFSET)) return { status: ResultStatus.BadArgument, type: ValueType.String, value: `offset must be from -${MAX_OFFSET} to ${MAX_OFFSET} °C` };
    this.#offset = offset;
    return { status: ResultStatus.Ok, type: ValueType.F32, value: offset };
  }

  saved(): FlashRecord {
    return { offset: this.#offset };
  }
}

/** Departure from the daily mean at `at` (ms since the epoch, UTC): lowest at 03:00, highest at 15:00. */
function dailyCurve(at: number): number {
  const hours = (at % DAY) / HOUR;
  return TEMPERATURE.dailySwing * Math.cos((2 * Math.PI * (hours - TEMPERATURE.warmestHour)) / 24);
}
