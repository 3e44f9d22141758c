// The bridge on @serialport/binding-mock ports (serialport's SerialPortMock), device stubs
// joined to them in this process, Mosquitto for MQTT: no pty, no second process, so these run
// in a few seconds. A reliable message is not acknowledged before its store write is durable;
// one chatty device spends its own budget, not its neighbour's, and its queues stay bounded;
// a port that disconnects is reopened when it comes back.
import { SerialPortMock } from "serialport";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { portOpener, startBridge, type BridgeOptions, type PortOpener } from "../../src/bridge/index.js";
import { ValueType } from "../../src/link/index.js";
import { MemoryStore, type MessageStore } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { useMqttClients } from "../support-tests/mqtt-js.js";
import { DeviceStub, greenhouse } from "./device-stub.js";
import { keepLog, on, record, waitFor } from "./helpers.js";

// serialport's own MockBinding (the ESM build of @serialport/binding-mock would be another instance, with other ports).
const MockBinding = SerialPortMock.binding;
const broker = useMosquitto();
const connectMqtt = useMqttClients();
const cleanups: Array<() => unknown> = [];
beforeEach(() => MockBinding.reset());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A MemoryStore whose writes can be held back: a put resolves (is "durable") only once released. */
class SlowStore implements MessageStore {
  readonly durability = "memory" as const;
  readonly inner = new MemoryStore();
  paused = false;
  /** ms every put takes (a slow SD card). */
  delay = 0;
  #waiting: Array<() => void> = [];
  get size(): number {
    return this.inner.size;
  }
  get bytes(): number {
    return this.inner.bytes;
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    await this.inner.put(key, value);
    if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay));
    if (this.paused) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  del(key: string): Promise<void> {
    return this.inner.del(key);
  }
  iterate(): AsyncIterable<[string, Uint8Array]> {
    return this.inner.iterate();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  resume(): void {
    this.paused = false;
    for (const release of this.#waiting.splice(0)) release();
  }
}

type MockPort = SerialPortMock & { port: NonNullable<SerialPortMock["port"]>; _disconnected(error: Error): void };

/** Opens mock ports and joins each to its device stub: what the bridge writes reaches the device, and back. */
function mockOpener(devices: Map<string, DeviceStub>, opened: MockPort[]): PortOpener {
  const open = portOpener(SerialPortMock);
  return async (settings) => {
    const port = (await open(settings)) as MockPort;
    const binding = port.port;
    const device = devices.get(settings.path)!;
    const write = binding.write.bind(binding);
    binding.write = async (buffer: Buffer) => {
      await write(buffer);
      device.receive(buffer);
    };
    device.connect((bytes) => binding.isOpen && binding.emitData(Buffer.from(bytes)));
    opened.push(port);
    return port;
  };
}

let runs = 0;

async function setup(paths: string[], extra: Partial<BridgeOptions> = {}) {
  const run = ++runs;
  const base = `mock${run}`;
  const devices = new Map(paths.map((path, i) => [path, new DeviceStub({ ...greenhouse, deviceId: `dev-${i}` })]));
  for (const path of paths) MockBinding.createPort(path);
  const opened: MockPort[] = [];
  const dashboard = await connectMqtt(broker().url, { protocolVersion: 5 });
  const seen = record(dashboard);
  await dashboard.subscribeAsync(`${base}/#`, { qos: 1 });
  const { log, lines } = keepLog();
  const bridge = await startBridge({
    url: broker().url,
    clientId: `bridge-mock-${run}-${process.pid}`,
    base,
    store: new MemoryStore(),
    ports: paths,
    openPort: mockOpener(devices, opened),
    portReconnect: { initialDelay: 20, maxDelay: 100 },
    log,
    ...extra,
  });
  cleanups.push(() => bridge.stop());
  for (const device of devices.values()) cleanups.push(() => device.close());
  await waitFor(() => bridge.status().ports.every((p) => p.state === "online"), "every device online", 10_000);
  return { base, bridge, devices: [...devices.values()], seen, opened, lines };
}

describe("the bridge on mock serial ports", () => {
  it("acknowledges a reliable message only once its store write is durable", async () => {
    const store = new SlowStore();
    const { bridge, devices, seen, base } = await setup(["/dev/mock-slow"], { store });
    const [device] = devices;
    await waitFor(() => bridge.status().ports[0]!.pendingStore === 0 && device!.unacknowledged === 0, "the hello stored and acknowledged");

    store.paused = true;
    device!.event("door", ValueType.Bool, true);
    // The link's retransmissions run every 100-400 ms: plenty of chances to acknowledge early.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(device!.unacknowledged).toBe(1);
    expect(bridge.status().ports[0]).toMatchObject({ pendingStore: 1, state: "online" });
    expect(bridge.status().ports[0]!.outboxBytes).toBeGreaterThan(0);

    const resumed = performance.now();
    store.resume();
    await device!.drained(5000);
    expect(performance.now() - resumed).toBeLessThan(2000);
    await waitFor(() => on(seen, `${base}/dev-0/event`).length === 1, "the event at the broker");
  }, 20_000);

  it("gives each device its own budget: a flood from one neither starves the other nor grows a queue past its bound", async () => {
    const limits = { rate: 20, burst: 10, maxQueuedTelemetry: 5 };
    const { bridge, devices, seen, base } = await setup(["/dev/mock-chatty", "/dev/mock-quiet"], { limits });
    const [chatty, quiet] = devices;
    const quietTimes: number[] = [];
    const started = performance.now();
    // 1.5 s: the chatty device sends 400 readings a second, the quiet one 10.
    for (let tick = 0; tick < 60; tick++) {
      for (let i = 0; i < 10; i++) chatty!.telemetry([{ channel: 1, value: (tick * 10 + i) % 256 }]);
      if (tick % 4 === 0) {
        quietTimes.push(performance.now());
        quiet!.telemetry([{ channel: 1, value: tick }]);
      }
      expect(bridge.status().ports[0]!.telemetryDropped + bridge.status().ports[0]!.telemetry).toBeLessThanOrEqual((tick + 1) * 10);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const elapsed = (performance.now() - started) / 1000;
    await waitFor(() => on(seen, `${base}/dev-1`).length === quietTimes.length, "every reading of the quiet device", 5000);
    const [chattyStatus, quietStatus] = bridge.status().ports;
    const latencies = seen.filter((m) => m.topic === `${base}/dev-1`).map((m, i) => m.at - quietTimes[i]!);
    console.info(
      `${elapsed.toFixed(2)} s: chatty published ${chattyStatus!.telemetry}, dropped ${chattyStatus!.telemetryDropped}; ` +
        `quiet published ${quietStatus!.telemetry} of ${quietTimes.length}, dropped ${quietStatus!.telemetryDropped}, latencies ${latencies.map((l) => l.toFixed(0)).join(" ")} ms`,
    );
    // Its readings go out as they come (a few ms; the first ones pay for warm-up), not behind the
    // flood at 50 ms a token: with one budget shared by both devices the median was 150-300 ms.
    const median = [...latencies].sort((a, b) => a - b)[latencies.length >> 1]!;
    expect(median).toBeLessThan(50);
    expect(quietStatus!.telemetryDropped).toBe(0);
    expect(quietStatus!.telemetry).toBe(quietTimes.length);
    // The chatty one got its budget (burst + rate × time, with the last queue draining after) and no more; the rest was dropped and counted.
    expect(chattyStatus!.telemetry).toBeLessThanOrEqual(limits.burst + limits.rate * (elapsed + 1) + limits.maxQueuedTelemetry);
    expect(chattyStatus!.telemetry).toBeGreaterThanOrEqual(limits.rate * elapsed * 0.5);
    expect(chattyStatus!.telemetryDropped).toBeGreaterThan(400);
    expect(chattyStatus!.telemetry + chattyStatus!.telemetryDropped).toBeLessThanOrEqual(600);
  }, 20_000);

  it("slows a flood of reliable messages to the device's budget without dropping any", async () => {
    const limits = { rate: 50, burst: 10 };
    const { bridge, devices, seen, base } = await setup(["/dev/mock-reliable", "/dev/mock-neighbour"], { limits });
    const [flooder, neighbour] = devices;
    const total = 100;
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      while (flooder!.unacknowledged >= 24) await new Promise((resolve) => setTimeout(resolve, 5));
      flooder!.event("n", ValueType.U16, i);
      if (i % 20 === 0) neighbour!.event("tick", ValueType.U16, i);
    }
    await flooder!.drained(10_000);
    const elapsed = performance.now() - started;
    await waitFor(() => on(seen, `${base}/dev-0/event`).length === total, `all ${total} reliable messages`, 5000);
    expect(on(seen, `${base}/dev-0/event`).map((p) => JSON.parse(p).value)).toEqual(Array.from({ length: total }, (_, i) => i));
    // (total + hello - burst) / rate at least: the budget held them back, nothing was dropped.
    expect(elapsed).toBeGreaterThanOrEqual(((total - limits.burst) / limits.rate) * 1000 * 0.9);
    expect(bridge.status().ports[0]).toMatchObject({ reliableDropped: 0, pendingStore: 0 });
    await waitFor(() => on(seen, `${base}/dev-1/event`).length === 5, "the neighbour's events");
  }, 20_000);

  it("publishes offline (device and bridge) on a clean stop, even when every store write is slow", async () => {
    const store = new SlowStore();
    const { bridge, seen, base } = await setup(["/dev/mock-stop"], { store });
    await waitFor(() => on(seen, `${base}/dev-0/availability`).at(-1) === "online", "dev-0 online", 5000);
    store.delay = 300;
    await bridge.stop();
    await waitFor(() => on(seen, `${base}/bridge/state`).at(-1) === "offline", "bridge/state offline", 5000);
    expect(on(seen, `${base}/dev-0/availability`).at(-1)).toBe("offline");
  }, 20_000);

  it("reopens a port that disconnected once it is there again", async () => {
    const { bridge, opened, seen, base, lines } = await setup(["/dev/mock-replug"]);
    const availability = () => on(seen, `${base}/dev-0/availability`);
    await waitFor(() => availability().at(-1) === "online", "online");
    MockBinding.reset(); // the device node goes away...
    opened[0]!._disconnected(new Error("unplugged")); // ...and serialport sees the read fail
    await waitFor(() => availability().at(-1) === "offline", "offline after the disconnect");
    expect(bridge.status().ports[0]!.state).toBe("closed");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines.filter((l) => /cannot open \/dev\/mock-replug/.test(l))).toHaveLength(1); // reported once, retried quietly
    MockBinding.createPort("/dev/mock-replug");
    await waitFor(() => availability().at(-1) === "online", "online again", 10_000);
    expect(bridge.status().ports[0]!.reconnects).toBe(1);
  }, 20_000);
});
