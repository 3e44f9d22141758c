// The device models `edgews sim` can run, by the name its --kinds option takes.
import { Meter } from "./meter.js";
import type { DeviceModel } from "./model.js";
import type { Random } from "./random.js";
import { Relay } from "./relay.js";
import { Sensor } from "./sensor.js";

const MODELS = {
  /** Temperature and humidity. */
  sensor: Sensor,
  /** A relay switched by commands and by its button. */
  relay: Relay,
  /** Power, voltage, current and an energy counter. */
  meter: Meter,
} satisfies Record<string, new (random: Random) => DeviceModel>;

export type DeviceKind = keyof typeof MODELS;
export const DEVICE_KINDS = Object.keys(MODELS) as DeviceKind[];

export function isDeviceKind(name: string): name is DeviceKind {
  return Object.hasOwn(MODELS, name);
}

/** A new model of `kind`, its world drawn from `random`. */
export function createModel(kind: DeviceKind, random: Random): DeviceModel {
  return new MODELS[kind](random);
}
