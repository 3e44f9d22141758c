// A simulated device against a bridge-role link end (src/link) in process, on a virtual clock,
// through the line-fault injector both ways: reliable messages exactly once, telemetry intact,
// commands and their results, reboots (commanded and random), clock drift, the RAM outbox's
// bound, and a run that a seed replays byte for byte.
import { describe, expect, it } from "vitest";
import {
  LogLevel, MessageKind, ResultStatus, decodeEvent, decodeLog, decodeTelemetry, telemetryRecord, type CommandResult,
} from "../../src/link/index.js";
import { Random } from "../../firmware-sim/random.js";
import { Bench } from "./harness.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function countById(results: CommandResult[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of results) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

/** Runs `bench` to `until`, the bridge sending a relay command every `every` ms (at most 8 waiting). */
function driveRelay(bench: Bench, until: number, every: number, random: Random): Map<number, string> {
  const sent = new Map<number, string>();
  for (let t = bench.scheduler.now() + every; t <= until; t += every) {
    bench.runUntil(t);
    if (bench.bridge.pending().length >= 8) continue;
    const name = ["on", "off", "toggle"][random.int(0, 2)];
    sent.set(bench.command(name), name);
  }
  return sent;
}

/** Lets both ends finish what they hold, the line still noisy. */
function drain(bench: Bench, limit = 5 * MINUTE): void {
  const end = bench.scheduler.now() + limit;
  while (bench.bridge.pending().length > 0 && bench.scheduler.now() < end) bench.runUntil(bench.scheduler.now() + SECOND);
  bench.runUntil(bench.scheduler.now() + 10 * SECOND);
}

describe("a simulated device on a faulty line", () => {
  it("delivers every reliable message exactly once each way and no corrupted telemetry, at 1e-3 errors per byte", () => {
    const bench = new Bench({ kind: "relay", seed: 42, rate: 10, faults: { errorRate: 1e-3 } });
    const sent = driveRelay(bench, 30 * MINUTE, 1500, new Random(1));
    drain(bench);

    const results = bench.results();
    const counts = countById(results);
    expect([...sent.keys()].filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect(results.length).toBe(sent.size);
    for (const r of results) {
      expect(r.status).toBe(ResultStatus.Ok);
      if (sent.get(r.id) !== "toggle") expect(r.value).toBe(sent.get(r.id) === "on");
    }
    // Every change of state, by command or by button, reported once: the events alternate and there are as many as switching cycles.
    const events = bench.messages(MessageKind.Event).map((m) => decodeEvent(m.body).value);
    expect(events).toEqual(events.map((_, i) => i % 2 === 0));
    expect(events.length).toBe(bench.device.model.saved().cycles);

    const hello = bench.device.hello;
    const telemetry = bench.messages(MessageKind.Telemetry).map((m) => telemetryRecord(decodeTelemetry(m.body, hello), hello));
    expect(telemetry.length).toBeGreaterThan(bench.device.stats.telemetry * 0.95);
    // Best-effort but in order: the cycle count never goes back.
    expect(telemetry.every((t, i) => i === 0 || (t.cycles as number) >= (telemetry[i - 1].cycles as number))).toBe(true);
    expect(bench.hellos()).toHaveLength(bench.log.filter((e) => e === "up").length);

    const { toBridge, toDevice } = bench;
    const rejected = bench.bridge.stats.crcErrors + bench.bridge.stats.cobsErrors + bench.bridge.stats.truncated;
    console.log(`relay, 30 min at 1e-3: ${sent.size} commands, ${events.length} events, ${telemetry.length}/${bench.device.stats.telemetry} telemetry;`,
      "faults to bridge", toBridge.counts, "to device", toDevice.counts, "bridge rejected", rejected, "device", bench.device.stats);
    expect(toBridge.total).toBeGreaterThan(100);
    expect(toDevice.total).toBeGreaterThan(20);
    expect(rejected).toBeGreaterThan(50);
    expect(bench.device.stats.retries).toBeGreaterThan(0);
  });

  it("replays the same run byte for byte from the same seed, and another from another seed", () => {
    const record = (seed: number) => {
      const bench = new Bench({ kind: "meter", seed, rate: 5, faults: { errorRate: 1e-3 } });
      bench.runUntil(2 * MINUTE);
      return Buffer.concat([...bench.written.toBridge, ...bench.written.toDevice]).toString("hex");
    };
    expect(record(9)).toBe(record(9));
    expect(record(9)).not.toBe(record(10));
  });
});

describe("commands", () => {
  it("answers a command it does not declare, a bad argument, and malformed bodies, and goes on", () => {
    const bench = new Bench({ kind: "sensor", seed: 3 });
    bench.runUntil(2 * SECOND);
    const hello = bench.device.hello;
    bench.sendCommandBody(Uint8Array.of(7, 0, hello.commands.length, 0));
    bench.command("interval", 5);
    bench.command("offset", 11);
    bench.sendCommandBody(Uint8Array.of(9, 0, 0, 0, 0, 0x80, 0x3f, 0xff)); // offset 1.0 and a stray byte
    bench.sendCommandBody(Uint8Array.of(1));
    bench.command("interval", 250);
    bench.runUntil(10 * SECOND);

    const results = bench.results();
    expect(results.map((r) => [r.id, r.status])).toEqual([
      [7, ResultStatus.UnknownCommand],
      [1, ResultStatus.BadArgument],
      [2, ResultStatus.BadArgument],
      [9, ResultStatus.BadArgument],
      [3, ResultStatus.Ok],
    ]);
    expect(results[1].value).toMatch(/interval must be from 10 to 3600000 ms/);
    expect(results[2].value).toMatch(/offset must be from -10 to 10/);
    expect(results[3].value).toMatch(/bytes left after the last field/);
    expect(results[4].value).toBe(250);
    const logs = bench.messages(MessageKind.Log).map((m) => decodeLog(m.body));
    expect(logs).toContainEqual({ level: LogLevel.Error, text: "a 1-byte command carries no id to answer: ignored" });
    // 4 readings a second since the interval command took effect.
    const before = bench.messages(MessageKind.Telemetry).length;
    bench.runUntil(20 * SECOND);
    expect(bench.messages(MessageKind.Telemetry).length - before).toBeGreaterThanOrEqual(39);
  });

  it("reboots on command: the result first, an orderly CLOSE, then a new session with its hello, its state kept", () => {
    const bench = new Bench({ kind: "relay", seed: 4, rate: 2 });
    bench.runUntil(2 * SECOND);
    const on = bench.command("on");
    const reboot = bench.command("reboot");
    bench.runUntil(4 * SECOND);
    const afterward = bench.command("toggle");
    bench.runUntil(8 * SECOND);

    expect(bench.results().map((r) => [r.id, r.status, r.value])).toEqual([[on, 0, true], [reboot, 0, null], [afterward, 0, false]]);
    // CLOSE reason 1 (going away): the bridge knows at once that the device is gone.
    expect(bench.log).toEqual(["up", "closed 1 by device", "up"]);
    expect(bench.hellos()).toHaveLength(2);
    const boots = bench.messages(MessageKind.Log).map((m) => decodeLog(m.body).text);
    expect(boots).toEqual([expect.stringMatching(/^boot 1 \(reset cause: power-on\)/), expect.stringMatching(/^boot 2 \(reset cause: command\)/)]);
    expect(bench.device.stats).toMatchObject({ reboots: 1, lost: 0, commands: 3 });
    // The relay came back on (its state is in flash), and the toggle after the reboot switched it off.
    const hello = bench.device.hello;
    const states = bench.messages(MessageKind.Telemetry).map((m) => telemetryRecord(decodeTelemetry(m.body, hello), hello).state);
    expect(states.at(-1)).toBe(false);
    expect(states).toContain(true);
  });

  it("runs each command once across random crashes: results are never repeated, and the missing ones were counted lost", () => {
    // A slow line (100 ms each way) keeps messages in flight long enough for crashes to catch some.
    const bench = new Bench({ kind: "relay", seed: 5, rate: 5, mtbf: 30 * SECOND, latency: 100, faults: { errorRate: 1e-3 } });
    const sent = driveRelay(bench, 20 * MINUTE, 1000, new Random(2));
    drain(bench);

    const counts = countById(bench.results());
    const { reboots, lost } = bench.device.stats;
    const missing = [...sent.keys()].filter((id) => !counts.has(id)).length;
    console.log(`relay with a 30 s MTBF, 20 min: ${reboots} crashes, ${sent.size} commands, ${missing} results lost, ${lost} messages lost in RAM`);
    expect(reboots).toBeGreaterThan(10);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(missing).toBeLessThanOrEqual(lost);
    expect(counts.size).toBeGreaterThan(sent.size * 0.8);
    // Every boot said hello, once, with increasing boot numbers.
    const bootNumbers = bench.messages(MessageKind.Log).map((m) => Number(/^boot (\d+)/.exec(decodeLog(m.body).text)?.[1]));
    expect(bootNumbers.every((n, i) => i === 0 || n > bootNumbers[i - 1])).toBe(true);
    expect(bootNumbers.length).toBeGreaterThan(reboots * 0.8);
  });


  it("does not run again a command it took just before a crash: the link's receive state is in flash", () => {
    const bench = new Bench({ kind: "relay", seed: 8 });
    bench.runUntil(2 * SECOND);
    // The command arrives, but neither its acknowledgement nor its result gets back before the crash.
    bench.cut.toBridge = true;
    bench.command("toggle");
    bench.runUntil(3 * SECOND);
    bench.device.crash();
    bench.cut.toBridge = false;
    bench.runUntil(30 * SECOND);

    expect(bench.device.stats).toMatchObject({ commands: 1, reboots: 1, lost: 2 }); // the result and the state event, in RAM
    expect(bench.device.model.saved()).toEqual({ on: true, cycles: 1 });
    expect(bench.results()).toEqual([]);
    expect(bench.bridge.pending()).toEqual([]);
  });
});

describe("the device's clock and memory", () => {
  it("runs fast or slow by its drift: ±2,000 ppm is ±20 readings in 10,000", () => {
    const readings = (driftPpm: number) => {
      const bench = new Bench({ kind: "sensor", seed: 6, rate: 10, driftPpm });
      bench.runUntil(1000 * SECOND);
      const { telemetry, telemetryDropped } = bench.device.stats;
      return telemetry + telemetryDropped;
    };
    const exact = readings(0);
    expect(Math.abs(exact - 10_000)).toBeLessThanOrEqual(5);
    expect(Math.abs(readings(2000) - exact - 20)).toBeLessThanOrEqual(2);
    expect(Math.abs(readings(-2000) - exact + 20)).toBeLessThanOrEqual(2);
  });

  it("keeps at most maxOutbox messages while the line is cut, drops the oldest, and says hello first when it is back", () => {
    const bench = new Bench({ kind: "relay", seed: 7, maxOutbox: 4 });
    bench.runUntil(5 * SECOND);
    bench.cut.toBridge = bench.cut.toDevice = true;
    // The button is pressed ~6 times an hour: 5 hours of presses while nobody listens.
    bench.runUntil(5 * 3_600 * SECOND);
    const cycles = bench.device.model.saved().cycles as number;
    expect(cycles).toBeGreaterThan(10);
    const { lost } = bench.device.stats;
    expect(lost).toBe(cycles - 4);
    bench.cut.toBridge = bench.cut.toDevice = false;
    const firstAfter = bench.received.length;
    bench.runUntil(5 * 3_600 * SECOND + MINUTE);
    const reliable = bench.received.slice(firstAfter).filter((m) => m.reliable);
    expect(reliable[0].kind).toBe(MessageKind.Hello);
    // The four newest presses, in order: the last one leaves the relay as the telemetry says.
    const events = reliable.filter((m) => m.kind === MessageKind.Event).map((m) => decodeEvent(m.body).value);
    expect(events).toHaveLength(4);
    expect(events.at(-1)).toBe(bench.device.model.saved().on);
    expect(bench.device.stats.telemetryDropped).toBeGreaterThan(1000);
  });
});
