// `edgews gateway --demo --broker URL` with a real Mosquitto (its own user and password), over
// each transport the bridge's client speaks: MQTT over WebSocket (ws://), plain MQTT (mqtt://)
// and MQTT over TLS (mqtts://, the gateway trusting Mosquitto's self-signed certificate through
// NODE_EXTRA_CA_CERTS). No embedded broker: the bridge publishes the simulated devices' readings
// there, a command from MQTT.js reaches the relay, /healthz follows the external connection,
// /metrics moves, and SIGTERM leaves the devices and the bridge offline at Mosquitto.
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue, scrape, scratchDir, startGatewayProcess, type GatewayProcess } from "../support/gateway.js";
import { useMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { ensureSocat } from "../support/pty.js";

const AUTH = { username: "edge", password: "mosquitto-secret" };
const mosquitto = useMosquitto({ auth: AUTH, tls: true });
const TRANSPORTS: Array<[string, (broker: Mosquitto) => string]> = [
  ["ws://", (broker) => broker.url],
  ["mqtt://", (broker) => `mqtt://127.0.0.1:${broker.mqttPort}`],
  ["mqtts://", (broker) => `mqtts://127.0.0.1:${broker.mqttsPort}`],
];

describe.each(TRANSPORTS)("edgews gateway --broker %s (Mosquitto)", (_scheme, brokerUrl) => {
  let gateway: GatewayProcess;
  let scratch: ReturnType<typeof scratchDir>;
  let client: MqttClient;

  beforeAll(async () => {
    await ensureSocat();
    scratch = scratchDir({ "gateway.json": JSON.stringify({ broker: { url: "ws://placeholder:1/", username: AUTH.username }, log: { level: "warn" } }) });
    gateway = await startGatewayProcess(
      ["--demo", "--devices", "2", "--rate", "5", "--config", `${scratch.dir}/gateway.json`, "--broker", brokerUrl(mosquitto()), "--state-dir", `${scratch.dir}/state`],
      { EDGEWS_MQTT_PASSWORD: AUTH.password, NODE_EXTRA_CA_CERTS: join(mosquitto().dir, "cert.pem") },
    );
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto().mqttPort}`, { ...AUTH, reconnectPeriod: 0 });
  }, 60_000);

  afterAll(async () => {
    client?.end(true);
    await gateway?.stop();
    scratch?.remove();
  });

  function nextMessage(accept: (topic: string, payload: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no such message within 10 s")), 10_000);
      client.on("message", (topic, payload) => {
        if (!accept(topic, payload.toString())) return;
        clearTimeout(timer);
        resolve(payload.toString());
      });
    });
  }

  it("announces the external broker and no MQTT listener of its own", () => {
    expect(gateway.brokerUrl).toBe(brokerUrl(mosquitto()));
    expect(gateway.mqttUrl).toBeUndefined();
  });

  it("brings the devices' readings to Mosquitto and a command to the relay", async () => {
    const readings = gateway.devices.map((id) => nextMessage((topic) => topic === `edgews/${id}`));
    await client.subscribeAsync(["edgews/+", "edgews/+/set/result"], { qos: 1 });
    await Promise.all(readings);
    const relay = gateway.devices.find((id) => id.includes("relay"))!;
    const result = nextMessage((topic, payload) => topic === `edgews/${relay}/set/result` && JSON.parse(payload).transaction === 3);
    await client.publishAsync(`edgews/${relay}/set`, JSON.stringify({ on: null, transaction: 3 }), { qos: 1 });
    expect(JSON.parse(await result)).toMatchObject({ command: "on", status: "ok" });
  }, 30_000);

  it("answers /healthz from the external connection, and /metrics moves", async () => {
    const health = await fetch(`${gateway.httpUrl}healthz`);
    expect(await health.json()).toEqual({ status: "ok", broker: "ok", bridge: "ok", store: "ok" });
    const before = metricValue(await scrape(gateway.httpUrl), "edgews_serial_packets_total", { result: "ok" });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(metricValue(await scrape(gateway.httpUrl), "edgews_serial_packets_total", { result: "ok" })).toBeGreaterThan(before);
  });

  it("answers 503 naming the broker while Mosquitto is down, then stops cleanly leaving everything offline there", async () => {
    await mosquitto().stop();
    // The gateway is another process: it learns of the closed connection on its own event loop.
    let down = await fetch(`${gateway.httpUrl}healthz`);
    for (const until = Date.now() + 5000; down.status !== 503 && Date.now() < until; down = await fetch(`${gateway.httpUrl}healthz`)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "failing", broker: "the bridge is not connected to the external broker" });
    await mosquitto().restart();
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto().mqttPort}`, { ...AUTH, reconnectPeriod: 0 });
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${gateway.httpUrl}healthz`)).status !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    const offline = new Set<string>();
    client.on("message", (topic, payload) => payload.toString() === "offline" && offline.add(topic));
    await client.subscribeAsync(["edgews/+/availability", "edgews/bridge/state"], { qos: 1 });
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...offline].sort()).toEqual([...gateway.devices.map((id) => `edgews/${id}/availability`), "edgews/bridge/state"].sort());
  }, 60_000);
});
