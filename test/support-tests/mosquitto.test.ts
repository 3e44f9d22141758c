// The Mosquitto test helper against MQTT.js (which uses the `ws` package over WebSocket in Node).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { IClientOptions, MqttClient } from "mqtt";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { withDeadline } from "../support/interop.js";
import { startMosquitto, useMosquitto, type Mosquitto } from "../support/mosquitto.js";
import { connectMqtt, nextMessage } from "./mqtt-js.js";

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

async function client(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectMqtt(url, options);
  clients.push(c);
  return c;
}

describe("startMosquitto (plain)", () => {
  const broker = useMosquitto();

  it("listens on 127.0.0.1 only, on kernel-picked ports, with its own temp dir", () => {
    const b = broker();
    expect(b.pid).toBeGreaterThan(0);
    expect(b.url).toBe(`ws://127.0.0.1:${b.wsPort}`);
    expect(b.wsPort).not.toBe(b.mqttPort);
    expect([1883, 8883, 8080]).not.toContain(b.wsPort);
    expect(existsSync(join(b.dir, "mosquitto.conf"))).toBe(true);
    expect(b.wssPort).toBeUndefined();
    expect(b.ca).toBeUndefined();
  });

  it("round-trips a QoS 1 message over WebSocket (subprotocol mqtt) and MQTT 5", async () => {
    const sub = await client(broker().url, { protocolVersion: 5 });
    await sub.subscribeAsync("edgews/test/qos1", { qos: 1 });
    const received = nextMessage(sub, "edgews/test/qos1");
    const pub = await client(broker().url, { protocolVersion: 5 });
    await pub.publishAsync("edgews/test/qos1", "hello", { qos: 1 });
    const message = await received;
    expect(message.payload.toString()).toBe("hello");
    expect(message.packet.qos).toBe(1);
    expect(broker().log()).toMatch(/New client connected/);
  });

  it("round-trips between the TCP and the WebSocket listener (MQTT 3.1.1)", async () => {
    const sub = await client(broker().url);
    await sub.subscribeAsync("edgews/test/cross", { qos: 1 });
    const received = nextMessage(sub, "edgews/test/cross");
    const pub = await client(`mqtt://127.0.0.1:${broker().mqttPort}`);
    await pub.publishAsync("edgews/test/cross", "over tcp", { qos: 1 });
    expect((await received).payload.toString()).toBe("over tcp");
  });
});

describe("startMosquitto with auth and TLS", () => {
  const auth = { username: "dev", password: "s3cret" };
  const broker = useMosquitto({ auth, tls: true });

  it("accepts the right password over ws and wss (the CA is the PEM it returned)", async () => {
    const b = broker();
    expect(b.wssPort).toBeGreaterThan(0);
    expect(b.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const plain = await client(b.url, { username: auth.username, password: auth.password });
    expect(plain.connected).toBe(true);
    const secure = await client(`wss://127.0.0.1:${b.wssPort}`, { username: auth.username, password: auth.password, ca: b.ca, protocolVersion: 5 });
    await secure.subscribeAsync("t/tls", { qos: 1 });
    const received = nextMessage(secure, "t/tls");
    await plain.publishAsync("t/tls", "tls-ok", { qos: 1 });
    expect((await received).payload.toString()).toBe("tls-ok");
  });

  it("refuses a wrong password (MQTT 3.1.1: 5, MQTT 5: 135) and an anonymous client", async () => {
    await expect(connectMqtt(broker().url, { username: auth.username, password: "wrong" })).rejects.toMatchObject({ code: 5 });
    await expect(connectMqtt(broker().url, { username: auth.username, password: "wrong", protocolVersion: 5 })).rejects.toMatchObject({ code: 135 });
    await expect(connectMqtt(broker().url)).rejects.toMatchObject({ code: 5 });
  });

  it("refuses wss without the CA", async () => {
    await expect(connectMqtt(`wss://127.0.0.1:${broker().wssPort}`, { username: auth.username, password: auth.password })).rejects.toThrow(/self[- ]signed/i);
  });
});

describe("startMosquitto with persistence", () => {
  let broker: Mosquitto | undefined;
  afterAll(async () => {
    await broker?.dispose();
  });

  it("keeps a persistent session's subscription and queued QoS 1 message across kill + restart on the same ports", async () => {
    broker = await startMosquitto({ persistence: true });
    const { url, wsPort, mqttPort } = broker;
    const firstPid = broker.pid;
    const session = { clientId: "edgews-persistent", clean: false, protocolVersion: 4 as const };
    const sub = await connectMqtt(url, session);
    await sub.subscribeAsync("edgews/persist", { qos: 1 });
    await sub.endAsync();

    // The subscription exists only in the broker's saved state now; the broker crashes.
    await broker.kill();
    await broker.restart();
    expect(broker.pid).not.toBe(firstPid);
    expect(broker.wsPort).toBe(wsPort);
    expect(broker.mqttPort).toBe(mqttPort);

    // Published while the subscriber is offline: queued for its session.
    const pub = await client(url);
    await pub.publishAsync("edgews/persist", "while offline", { qos: 1 });

    const back = await connectMqtt(url, { ...session, manualConnect: true });
    clients.push(back);
    const received = nextMessage(back, "edgews/persist");
    const connack = new Promise<{ sessionPresent: boolean }>((resolve) => back.once("connect", resolve));
    back.connect();
    expect((await connack).sessionPresent).toBe(true);
    expect((await received).payload.toString()).toBe("while offline");
  });

  it("restarts on the same port while a client was connected at the kill; MQTT.js reconnects", async () => {
    const b = broker!;
    const c = await client(b.url, { reconnectPeriod: 100, clientId: "edgews-reconnector" });
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
    await b.kill();
    await withDeadline(closed, 5000, "MQTT.js to see the broker die");
    const reconnected = new Promise<void>((resolve) => c.once("connect", () => resolve()));
    await b.restart();
    await withDeadline(reconnected, 10_000, "MQTT.js to reconnect to the restarted broker");
    const received = nextMessage(c, "edgews/again");
    await c.subscribeAsync("edgews/again", { qos: 1 });
    await c.publishAsync("edgews/again", "back", { qos: 1 });
    expect((await received).payload.toString()).toBe("back");
  });

  it("stop() ends the process (SIGTERM) and is safe to call twice", async () => {
    const b = broker!;
    await b.stop();
    await b.stop();
    expect(() => process.kill(b.pid, 0)).toThrow();
    await expect(connectMqtt(b.url, { connectTimeout: 2000 })).rejects.toThrow();
  });
});

describe("startMosquitto failures", () => {
  it("fails loudly, with the log, when the config is rejected", async () => {
    await expect(startMosquitto({ config: ["no_such_option 1"] })).rejects.toThrow(/mosquitto exited[\s\S]*no_such_option/);
  });
});
