// The bridge end to end, in this process: a device stub on the device end of a socat pty pair,
// the bridge on the other end through serialport, a real Mosquitto, and an MQTT.js client in
// the role of a dashboard. Readings arrive on the right topics with the right JSON; commands
// round-trip with results (MQTT 5 request/response, and /set/result on 3.1.1); availability
// flips on unplug, replug and reboot.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startBridge, type BridgeOptions } from "../../src/bridge/index.js";
import { ValueType } from "../../src/link/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { usePtyPairs, type PtyPair } from "../support/pty.js";
import { useMqttClients } from "../support-tests/mqtt-js.js";
import { DeviceStub, FAST_LINK, attachToPort, closePort, greenhouse } from "./device-stub.js";
import { keepLog, on, record, useScratchDir, waitFor } from "./helpers.js";

const broker = useMosquitto({ config: ["max_inflight_messages 0", "max_queued_messages 0"] });
const connectMqtt = useMqttClients();
const newPair = usePtyPairs();
const dir = useScratchDir("bridge-pty");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let runs = 0;

async function setup(protocolVersion: 4 | 5, extra: Partial<BridgeOptions> = {}) {
  const run = ++runs;
  const base = `pty${run}`;
  const pair = await newPair();
  const dashboard = await connectMqtt(broker().url, { protocolVersion });
  const seen = record(dashboard);
  await dashboard.subscribeAsync(`${base}/#`, { qos: 2 });
  const { log, lines } = keepLog();
  const bridge = await startBridge({
    url: broker().url,
    protocolVersion,
    clientId: `bridge-pty-${run}-${process.pid}`,
    base,
    store: join(dir, `store-${run}`),
    ports: [pair.a],
    link: FAST_LINK,
    portReconnect: { initialDelay: 50, maxDelay: 200 },
    log,
    ...extra,
  });
  cleanups.push(() => bridge.stop());
  const device = new DeviceStub();
  cleanups.push(() => device.close());
  let port = await attachToPort(device, pair.b);
  cleanups.push(() => closePort(port));
  const availability = () => on(seen, `${base}/gh-7/availability`);
  await waitFor(() => availability().at(-1) === "online", "gh-7 online", 15_000);
  const replug = async (p: PtyPair) => {
    port = await attachToPort(device, p.b);
    cleanups.push(() => closePort(port));
  };
  return { base, pair, dashboard, seen, bridge, device, lines, availability, replug, port: () => port };
}

describe("the bridge on a pty with Mosquitto", () => {
  it("publishes readings as JSON state with the hello's names, events and logs exactly once, and Home Assistant discovery", async () => {
    const { base, seen, device, bridge, dashboard } = await setup(5, { homeAssistant: { prefix: "ha-pty1" } });
    // Retained: a dashboard that subscribes later still gets them.
    await dashboard.subscribeAsync("ha-pty1/#", { qos: 1 });
    await waitFor(() => seen.filter((m) => m.topic.startsWith("ha-pty1/") && m.retain).length === 6, "six retained discovery messages");
    expect(JSON.parse(seen.find((m) => m.topic === "ha-pty1/sensor/edgews_gh-7/temperature/config")!.payload)).toMatchObject({ state_topic: `${base}/gh-7`, unit_of_measurement: "°C" });
    expect(JSON.parse(on(seen, `${base}/gh-7/info`).at(-1)!)).toEqual({
      device: "gh-7", firmware: "1.4.2", port: bridge.status().ports[0]!.port,
      channels: [{ name: "temperature", unit: "°C", type: "f32" }, { name: "humidity", unit: "%", type: "u8" }, { name: "door", unit: "", type: "bool" }],
      commands: [{ name: "reboot", argument: "none" }, { name: "fan", argument: "u8" }, { name: "label", argument: "string" }],
    });
    await waitFor(() => on(seen, `${base}/bridge/state`).at(-1) === "online", "bridge/state online");

    device.telemetry([{ channel: 0, value: 21.5 }, { channel: 1, value: 40 }]);
    await waitFor(() => on(seen, `${base}/gh-7`).length >= 1, "the first reading");
    device.telemetry([{ channel: 2, value: true }]);
    await waitFor(() => on(seen, `${base}/gh-7`).length >= 2, "the second reading");
    // The device's state, Zigbee2MQTT-style: every channel's latest reading.
    expect(on(seen, `${base}/gh-7`).map((p) => JSON.parse(p))).toEqual([{ temperature: 21.5, humidity: 40 }, { temperature: 21.5, humidity: 40, door: true }]);

    for (let i = 0; i < 20; i++) device.event("button", ValueType.U16, i);
    device.log(1, "fan stalled");
    await device.drained();
    await waitFor(() => on(seen, `${base}/gh-7/log`).length >= 1, "the log line");
    expect(on(seen, `${base}/gh-7/event`).map((p) => JSON.parse(p))).toEqual(Array.from({ length: 20 }, (_, i) => ({ name: "button", value: i })));
    expect(on(seen, `${base}/gh-7/log`).map((p) => JSON.parse(p))).toEqual([{ level: "warn", text: "fan stalled" }]);
    const status = bridge.status().ports[0]!;
    expect(status).toMatchObject({ device: "gh-7", state: "online", reliable: 21, telemetry: 2, packetsBad: 0, pendingStore: 0 });
    expect(status.packetsOk).toBeGreaterThan(20);
  }, 40_000);
});

describe("commands through the bridge", () => {
  it("MQTT 5: results come back on the response topic with the correlation data; bad requests are answered, not dropped", async () => {
    const { base, dashboard, seen, device } = await setup(5, { limits: { commandTimeout: 600 } });
    const replies = `replies-${base}`;
    await dashboard.subscribeAsync(replies, { qos: 1 });
    const ask = async (payload: string, correlation: string, device = "gh-7") => {
      await dashboard.publishAsync(`${base}/${device}/set`, payload, { qos: 1, properties: { responseTopic: replies, correlationData: Buffer.from(correlation) } });
      await waitFor(() => seen.some((m) => m.topic === replies && m.packet.properties?.correlationData?.toString() === correlation), `the answer to ${correlation}`);
      return JSON.parse(seen.find((m) => m.topic === replies && m.packet.properties?.correlationData?.toString() === correlation)!.payload);
    };
    expect(await ask(`{"fan": 3}`, "c1")).toEqual({ command: "fan", status: "ok", value: 3 });
    expect(device.commands.map((c) => [c.command, c.argument])).toEqual([[1, 3]]);
    expect(await ask(`{"label": "north", "transaction": 7}`, "c2")).toEqual({ command: "label", status: "ok", value: "north", transaction: 7 });
    expect(await ask(`{"reboot": null}`, "c3")).toEqual({ command: "reboot", status: "ok", value: null });

    const unknown = await ask(`{"dance": 1}`, "c4");
    expect(unknown).toMatchObject({ command: "dance", status: "unknown_command" });
    expect(unknown.error).toBe(`gh-7 has no command "dance"; gh-7 accepts: reboot (null), fan (an integer from 0 to 255), label (a string of at most 255 UTF-8 bytes)`);
    expect(await ask(`{"fan": 300}`, "c5")).toMatchObject({ command: "fan", status: "bad_argument", error: `"fan" takes an integer from 0 to 255, got 300` });
    expect(await ask(`fan=3`, "c6")).toMatchObject({ status: "bad_request", error: expect.stringMatching(/JSON object/) });
    expect(await ask(`{"fan": 1, "label": "x"}`, "c7")).toMatchObject({ status: "bad_request", error: expect.stringMatching(/exactly one command/) });
    expect(await ask(`{"fan": 1}`, "c8", "nobody")).toMatchObject({ status: "offline", error: expect.stringMatching(/no device "nobody"/) });
    // None of those reached the device.
    expect(device.commands).toHaveLength(3);

    // A device that does not answer: "timeout", once, after commandTimeout.
    device.onCommand = () => undefined;
    const asked = performance.now();
    expect(await ask(`{"fan": 2}`, "c9")).toMatchObject({ command: "fan", status: "timeout" });
    expect(performance.now() - asked).toBeGreaterThanOrEqual(500);
    expect(performance.now() - asked).toBeLessThan(5000);
  }, 40_000);

  it("MQTT 3.1.1: results on /set/result with the transaction echoed; a command to an unplugged device is answered offline", async () => {
    const { base, dashboard, seen, pair, availability } = await setup(4);
    const results = () => on(seen, `${base}/gh-7/set/result`).map((p) => JSON.parse(p));
    await dashboard.publishAsync(`${base}/gh-7/set`, `{"fan": 1, "transaction": "t-1"}`, { qos: 1 });
    await waitFor(() => results().length === 1, "the result");
    expect(results()).toEqual([{ command: "fan", status: "ok", value: 1, transaction: "t-1" }]);

    await pair.stop();
    await waitFor(() => availability().at(-1) === "offline", "gh-7 offline after the unplug");
    await dashboard.publishAsync(`${base}/gh-7/set`, `{"fan": 2, "transaction": "t-2"}`, { qos: 1 });
    await waitFor(() => results().length === 2, "the offline answer");
    expect(results()[1]).toEqual({ status: "offline", error: "gh-7 is offline" });
  }, 40_000);
});

describe("availability", () => {
  it("flips offline on unplug and online on replug (the port reopened with backoff), offline and online on a reboot", async () => {
    const { base, seen, pair, device, bridge, availability, replug } = await setup(5);
    expect(availability()).toEqual(["online"]);

    const unplugged = performance.now();
    await pair.stop();
    await waitFor(() => availability().at(-1) === "offline", "gh-7 offline after the unplug");
    expect(performance.now() - unplugged).toBeLessThan(2000); // the port's close, not a liveness timeout
    expect(bridge.status().ports[0]!.state).toBe("closed");

    await pair.start();
    await replug(pair);
    await waitFor(() => availability().at(-1) === "online", "gh-7 online after the replug", 15_000);
    expect(bridge.status().ports[0]!.reconnects).toBe(1);
    // The same device session went on: a reliable message after the replug arrives once.
    device.event("door", ValueType.Bool, true);
    await device.drained();
    await waitFor(() => on(seen, `${base}/gh-7/event`).length === 1, "the event after the replug");

    const helloes = device.ups;
    device.reboot();
    await waitFor(() => availability().length >= 5, "offline then online after the reboot", 15_000);
    expect(availability()).toEqual(["online", "offline", "online", "offline", "online"]);
    expect(device.ups).toBe(helloes + 1);
    device.event("door", ValueType.Bool, false);
    await device.drained();
    await waitFor(() => on(seen, `${base}/gh-7/event`).length === 2, "the event after the reboot");
    expect(on(seen, `${base}/gh-7/event`).map((p) => JSON.parse(p).value)).toEqual([true, false]);
  }, 40_000);
});

describe("the bridge's own restart", () => {
  it("knows a device that did not notice (and so says no hello again) from the store, and takes nothing twice", async () => {
    const base = `restart${process.pid}`;
    const pair = await newPair();
    const dashboard = await connectMqtt(broker().url, { protocolVersion: 5 });
    const seen = record(dashboard);
    await dashboard.subscribeAsync(`${base}/#`, { qos: 2 });
    const availability = () => on(seen, `${base}/gh-7/availability`);
    const options: BridgeOptions = {
      url: broker().url, clientId: `bridge-restart-${process.pid}`, base, store: join(dir, "restart-store"), ports: [pair.a], link: FAST_LINK, log: keepLog().log,
    };
    // A device whose link outlives the bridge's restart: no down, so no up, so no new hello.
    const device = new DeviceStub(greenhouse, { ...FAST_LINK, deadPeerTimeout: 60_000 });
    cleanups.push(() => device.close());
    const port = await attachToPort(device, pair.b);
    cleanups.push(() => closePort(port));

    const first = await startBridge(options);
    await waitFor(() => availability().at(-1) === "online", "online on the first bridge", 15_000);
    device.event("n", ValueType.U8, 1);
    await device.drained();
    await first.stop();
    await waitFor(() => availability().at(-1) === "offline", "offline while the bridge is stopped");
    const ups = device.ups;

    const second = await startBridge(options);
    cleanups.push(() => second.stop());
    await waitFor(() => availability().at(-1) === "online", "online on the restarted bridge, without a new hello", 15_000);
    expect(device.ups).toBe(ups);
    device.event("n", ValueType.U8, 2);
    await device.drained();
    await waitFor(() => on(seen, `${base}/gh-7/event`).length === 2, "the event after the restart");
    expect(on(seen, `${base}/gh-7/event`).map((p) => JSON.parse(p).value)).toEqual([1, 2]);
  }, 40_000);
});
