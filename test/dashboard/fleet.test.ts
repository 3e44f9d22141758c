// The dashboard's model, fed the serial bridge's topic layout (docs/bridge.md) as the broker
// delivers it: retained availability, info and bridge state, live state, events, logs, results.
import { describe, expect, it } from "vitest";
import { Fleet } from "../../examples/dashboard/src/fleet.js";
import { RateMeter } from "../../examples/dashboard/src/rate.js";

const info = {
  device: "gh-7",
  firmware: "1.4.2",
  port: "/dev/ttyUSB0",
  channels: [{ name: "temperature", unit: "°C", type: "f32" }, { name: "door", unit: "", type: "bool" }],
  commands: [{ name: "reboot", argument: "none" }, { name: "fan", argument: "u8" }],
};

describe("Fleet", () => {
  it("builds a device from its retained availability and info, and charts numeric state over the window", () => {
    const fleet = new Fleet({ base: "edgews", window: 10_000 });
    expect(fleet.filter).toBe("edgews/#");
    expect(fleet.receive("edgews/gh-7/availability", "online", 0)).toBe("gh-7");
    expect(fleet.receive("edgews/gh-7/info", JSON.stringify(info), 0)).toBe("gh-7");
    for (let t = 0; t <= 20_000; t += 1000) fleet.receive("edgews/gh-7", JSON.stringify({ temperature: 20 + t / 1000, door: true }), t);
    const device = fleet.devices.get("gh-7")!;
    expect(device).toMatchObject({ availability: "online", firmware: "1.4.2", port: "/dev/ttyUSB0", state: { temperature: 40, door: true } });
    expect(device.commands.map((c) => c.name)).toEqual(["reboot", "fan"]);
    // Only numbers are charted; readings older than the window are dropped.
    expect([...device.series.keys()]).toEqual(["temperature"]);
    expect(device.series.get("temperature")!.times).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(device.series.get("temperature")!.values.at(-1)).toBe(40);
  });

  it("a device counts as offline while its bridge is (the bridge's will), whatever its own last word", () => {
    const fleet = new Fleet();
    fleet.receive("edgews/gh-7/availability", "online", 0);
    expect(fleet.receive("edgews/bridge/state", "offline", 0)).toBe("bridge");
    const device = fleet.devices.get("gh-7")!;
    expect(fleet.effectiveAvailability(device)).toBe("offline");
    fleet.receive("edgews/bridge/state", "online", 1);
    expect(fleet.effectiveAvailability(device)).toBe("online");
  });

  it("matches results to its commands by transaction, and gives up on an unanswered one after commandTimeout", () => {
    const fleet = new Fleet({ commandTimeout: 5000 });
    const fan = fleet.command("gh-7", "fan", 3, 0);
    expect(fan.topic).toBe("edgews/gh-7/set");
    expect(JSON.parse(fan.payload)).toEqual({ fan: 3, transaction: fan.outcome.transaction });
    const reboot = fleet.command("gh-7", "reboot", null, 0);
    expect(fleet.receive("edgews/gh-7/set/result", JSON.stringify({ command: "fan", status: "ok", value: 3, transaction: fan.outcome.transaction }), 10)).toBe("gh-7");
    expect(fan.outcome).toMatchObject({ status: "ok", value: 3 });
    // Someone else's command: not ours to show.
    expect(fleet.receive("edgews/gh-7/set/result", JSON.stringify({ command: "fan", status: "ok", transaction: 999 }), 10)).toBeUndefined();
    expect(fleet.expire(4999)).toEqual([]);
    expect(fleet.expire(5000)).toEqual(["gh-7"]);
    expect(reboot.outcome.status).toBe("no_answer");
    expect(reboot.outcome.error).toMatch(/no result within 5 s/);
  });

  it("keeps events and logs, newest first, and ignores what is not the bridge's layout", () => {
    const fleet = new Fleet({ base: "site" });
    fleet.receive("site/gh-7/event", JSON.stringify({ name: "door", value: true }), 1);
    fleet.receive("site/gh-7/log", JSON.stringify({ level: "warn", text: "fan stalled" }), 2);
    expect(fleet.devices.get("gh-7")!.events.map((e) => e.text)).toEqual(["warn: fan stalled", "door = true"]);
    expect(fleet.receive("edgews/gh-7", "{}", 3)).toBeUndefined();
    expect(fleet.receive("site/gh-7", "not json", 3)).toBeUndefined();
    expect(fleet.receive("site/gh-7/unknown", "{}", 3)).toBeUndefined();
    expect(fleet.receive("site/bridge/other", "online", 3)).toBeUndefined();
  });
});

describe("RateMeter", () => {
  it("counts events per second over the window's full seconds, and forgets after a pause", () => {
    const meter = new RateMeter(5000);
    for (let t = 0; t < 5000; t += 100) meter.count(1_000_000 + t); // 10 per second
    expect(meter.perSecond(1_005_000)).toBe(10);
    expect(meter.perSecond(1_060_000)).toBe(0);
  });
});
