// The device models on their own: plausible readings over simulated days, the effects of their
// commands, what survives a reboot, and the same numbers for the same seed.
import { describe, expect, it } from "vitest";
import { ResultStatus, type DeviceEvent, type Reading } from "../../src/link/index.js";
import { DEVICE_KINDS, createModel, type DeviceKind } from "../../firmware-sim/kinds.js";
import { DAY, HOUR, type DeviceModel } from "../../firmware-sim/model.js";
import { Random } from "../../firmware-sim/random.js";
import { OVERLOAD_WATTS, type Meter } from "../../firmware-sim/meter.js";

const EPOCH = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;

/** Samples `model` every `step` ms from `from` for `duration` ms: each sample's readings as numbers by channel name, and the events. */
function run(model: DeviceModel, from: number, duration: number, step: number) {
  const samples: Array<{ at: number; values: Record<string, number> }> = [];
  const events: DeviceEvent[] = [];
  for (let at = from; at < from + duration; at += step) {
    samples.push({ at, values: byName(model, model.sample(at, (e) => events.push(e))) });
  }
  return { samples, events };
}

function byName(model: DeviceModel, readings: Reading[]): Record<string, number> {
  return Object.fromEntries(readings.map((r) => [model.channels[r.channel].name, Number(r.value)]));
}

function booted(kind: DeviceKind, seed: number, at = EPOCH): DeviceModel {
  const model = createModel(kind, new Random(seed));
  model.boot(undefined, at);
  return model;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function correlation(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe("sensor", () => {
  it("reads plausible indoor air over a week: warmer afternoons than nights, humidity falling as the air warms", () => {
    for (const seed of [1, 2, 3]) {
      const { samples } = run(booted("sensor", seed), EPOCH, 7 * DAY, 5 * MINUTE);
      const temperature = samples.map((s) => s.values.temperature);
      const humidity = samples.map((s) => s.values.humidity);
      expect(Math.min(...temperature)).toBeGreaterThan(5);
      expect(Math.max(...temperature)).toBeLessThan(35);
      expect(Math.min(...humidity)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...humidity)).toBeLessThanOrEqual(100);
      const hour = (s: { at: number }) => ((s.at - EPOCH) % DAY) / HOUR;
      const afternoon = mean(samples.filter((s) => hour(s) >= 14 && hour(s) < 16).map((s) => s.values.temperature));
      const night = mean(samples.filter((s) => hour(s) >= 2 && hour(s) < 4).map((s) => s.values.temperature));
      expect(afternoon - night).toBeGreaterThan(3);
      expect(correlation(temperature, humidity)).toBeLessThan(-0.5);
    }
  });

  it("has sensor noise at the part's resolution: readings a second apart differ a little", () => {
    const { samples } = run(booted("sensor", 4), EPOCH, 10 * MINUTE, 1000);
    const steps = samples.slice(1).map((s, i) => Math.abs(s.values.temperature - samples[i].values.temperature));
    expect(steps.filter((d) => d > 0).length).toBeGreaterThan(steps.length / 2);
    expect(Math.max(...steps)).toBeLessThan(0.5);
    for (const s of samples) expect(Math.abs(s.values.temperature * 100 - Math.round(s.values.temperature * 100))).toBeLessThan(1e-3);
  });

  it("applies a calibration offset command, refuses one out of range, and keeps it through a reboot", () => {
    const plain = booted("sensor", 5);
    const offset = booted("sensor", 5);
    expect(offset.command!(0, 4.5, EPOCH, () => {})).toEqual({ status: ResultStatus.Ok, type: expect.any(Number), value: 4.5 });
    for (const bad of [10.5, -11, Number.NaN]) expect(offset.command!(0, bad, EPOCH, () => {}).status).toBe(ResultStatus.BadArgument);
    const a = run(plain, EPOCH, HOUR, MINUTE).samples;
    const b = run(offset, EPOCH, HOUR, MINUTE).samples;
    // Same seed, same world: the readings differ by the offset, give or take the noise.
    expect(Math.abs(mean(b.map((s) => s.values.temperature)) - mean(a.map((s) => s.values.temperature)) - 4.5)).toBeLessThan(0.1);
    const rebooted = createModel("sensor", new Random(6));
    rebooted.boot(offset.saved(), EPOCH);
    expect(rebooted.saved()).toEqual({ offset: 4.5 });
  });
});

describe("relay", () => {
  it("switches on on, off on off, both ways on toggle, with one state event per change and a cycle count", () => {
    const relay = booted("relay", 1);
    const events: DeviceEvent[] = [];
    const emit = (e: DeviceEvent) => events.push(e);
    const results = [0, 0, 2, 2, 1, 1].map((command) => relay.command!(command, null, EPOCH, emit).value);
    expect(results).toEqual([true, true, false, true, false, false]);
    expect(events.map((e) => e.value)).toEqual([true, false, true, false]);
    expect(events.every((e) => e.name === "state")).toBe(true);
    expect(relay.saved()).toEqual({ on: false, cycles: 4 });
  });

  it("reports button presses as state events, in step with its readings, and restores its state at power-on", () => {
    const relay = booted("relay", 2);
    const { samples, events } = run(relay, EPOCH, 24 * HOUR, 1000);
    // A press every 10 minutes on average: ~144 a day.
    expect(events.length).toBeGreaterThan(100);
    expect(events.length).toBeLessThan(200);
    expect(events.map((e) => e.value)).toEqual(events.map((_, i) => i % 2 === 0));
    expect(samples.at(-1)!.values.cycles).toBe(events.length);
    const saved = relay.saved();
    const again = createModel("relay", new Random(2));
    again.boot(saved, EPOCH + DAY);
    expect(byName(again, again.sample(EPOCH + DAY, () => {}))).toEqual({ state: Number(saved.on), cycles: events.length });
  });
});

describe("meter", () => {
  it("counts energy that never decreases, across reboots, and counts nothing while it is off", () => {
    const meter = booted("meter", 1) as Meter;
    let last = 0;
    let at = EPOCH;
    for (let boot = 0; boot < 20; boot++) {
      const { samples } = run(meter, at, 6 * HOUR, MINUTE);
      for (const s of samples) {
        expect(s.values.energy).toBeGreaterThanOrEqual(last);
        last = s.values.energy;
      }
      at += 6 * HOUR;
      const before = meter.energyWh;
      // Off for an hour, then on again with what flash kept.
      at += HOUR;
      meter.boot(meter.saved(), at);
      expect(meter.energyWh).toBe(before);
    }
    // 20 × 6 hours of a household: some kWh, not some MWh.
    expect(last).toBeGreaterThan(5);
    expect(last).toBeLessThan(200);
  });

  it("integrates its load exactly, and its power changes with appliances switching", () => {
    const meter = booted("meter", 3) as Meter;
    const events: DeviceEvent[] = [];
    let integrated = 0;
    let previousLoad = meter.load;
    const loads = new Set<number>();
    const step = 10_000;
    for (let at = EPOCH; at < EPOCH + 3 * DAY; at += step) {
      meter.sample(at, (e) => events.push(e));
      integrated += ((previousLoad + meter.load) / 2) * (step / HOUR);
      previousLoad = meter.load;
      loads.add(Math.round(meter.load));
    }
    expect(Math.abs(meter.energyWh - integrated) / integrated).toBeLessThan(0.02);
    expect(loads.size).toBeGreaterThan(8);
    expect(Math.max(...loads)).toBeGreaterThan(1000);
    for (const e of events) expect(e).toMatchObject({ name: "overload", value: expect.any(Number) });
    for (const e of events) expect(e.value as number).toBeGreaterThan(OVERLOAD_WATTS);
  });

  it("reads mains voltage near 230 V and a current that matches power over voltage", () => {
    const { samples } = run(booted("meter", 4), EPOCH, DAY, MINUTE);
    for (const { values } of samples) {
      expect(values.voltage).toBeGreaterThan(215);
      expect(values.voltage).toBeLessThan(245);
      // Each of the three is rounded to its resolution: they agree within that.
      expect(Math.abs(values.current - values.power / values.voltage)).toBeLessThan(0.001 + values.current * 1e-3);
      expect(values.power).toBeGreaterThan(25);
    }
  });
});

describe("every model", () => {
  it("gives the same readings and events for the same seed, and others for another", () => {
    for (const kind of DEVICE_KINDS) {
      const take = (seed: number) => JSON.stringify(run(booted(kind, seed), EPOCH, 2 * HOUR, 7_000));
      expect(take(11)).toBe(take(11));
      expect(take(11)).not.toBe(take(12));
    }
  });
});
