// aedes behind our WebSocketServer (through createWebSocketStream), driven by MQTT.js.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "../../src/index.js";
import { startAedesServer, type AedesServer } from "../support/aedes-server.js";
import { nextEvent, sha256, withDeadline } from "../support/interop.js";
import { seededBytes } from "../support/seeded.js";
import { connectMqtt, nextMessage, useMqttClients } from "./mqtt-js.js";

const client = useMqttClients();

describe("startAedesServer", () => {
  let server: AedesServer;
  beforeAll(async () => {
    server = await startAedesServer();
  });
  afterAll(() => server.close());

  it("listens on 127.0.0.1 on a kernel-picked port", () => {
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
    expect(server.wss.address()).toMatchObject({ address: "127.0.0.1", port: server.port });
  });

  // MQTT.js offers subprotocol "mqtt" for 3.1.1 and "mqttv3.1" for 3.1 (protocol name MQIsdp).
  for (const version of [{ protocolVersion: 4 as const }, { protocolVersion: 3 as const, protocolId: "MQIsdp" as const }]) {
    it(`round-trips QoS 1 and QoS 2 messages (MQTT ${version.protocolVersion === 4 ? "3.1.1" : "3.1"})`, async () => {
      const accepted = nextEvent(server.wss, "connection");
      const sub = await client(server.url, version);
      const [ws] = (await accepted) as [WebSocket];
      expect(ws.protocol).toBe(version.protocolVersion === 4 ? "mqtt" : "mqttv3.1");
      await sub.subscribeAsync("edgews/aedes/#", { qos: 2 });
      const pub = await client(server.url, version);
      for (const qos of [1, 2] as const) {
        const received = nextMessage(sub, `edgews/aedes/qos${qos}`);
        await pub.publishAsync(`edgews/aedes/qos${qos}`, `hello ${qos}`, { qos });
        const message = await received;
        expect(message.payload.toString()).toBe(`hello ${qos}`);
        expect(message.packet.qos).toBe(qos);
      }
    });
  }

  it("refuses MQTT 5 (aedes 1.2 speaks MQTT 3.1 and 3.1.1 only)", async () => {
    await expect(connectMqtt(server.url, { protocolVersion: 5 })).rejects.toThrow(/Unacceptable protocol version/);
  });

  it("round-trips a 1 MiB payload (many frames through the stream adapter)", async () => {
    const sub = await client(server.url);
    await sub.subscribeAsync("edgews/aedes/big", { qos: 1 });
    const payload = seededBytes(1 << 20, 11);
    const received = nextMessage(sub, "edgews/aedes/big", 20_000);
    const pub = await client(server.url);
    await pub.publishAsync("edgews/aedes/big", payload, { qos: 1 });
    expect(sha256((await received).payload)).toBe(sha256(payload));
  });

  it("delivers a retained message to a late subscriber, and the broker sees the clients come and go", async () => {
    const pub = await client(server.url, { clientId: "edgews-retainer" });
    await pub.publishAsync("edgews/aedes/retained", "kept", { qos: 1, retain: true });
    const sub = await client(server.url);
    const received = nextMessage(sub, "edgews/aedes/retained");
    await sub.subscribeAsync("edgews/aedes/retained", { qos: 1 });
    const message = await received;
    expect([message.payload.toString(), message.packet.retain]).toEqual(["kept", true]);

    const gone = nextEvent(server.broker, "clientDisconnect");
    await pub.endAsync();
    const [who] = (await gone) as [{ id: string }];
    expect(who.id).toBe("edgews-retainer");
  });

  it("closes a client that offers no MQTT subprotocol with 1002", async () => {
    const ws = new WebSocket(server.url);
    const [code, reason] = (await nextEvent(ws, "close")) as [number, Buffer];
    expect(code).toBe(1002);
    expect(reason.toString()).toMatch(/subprotocol mqtt/);
  });
});

describe("startAedesServer with authenticate", () => {
  let server: AedesServer;
  beforeAll(async () => {
    server = await startAedesServer({ authenticate: (username, password) => username === "dev" && password?.toString() === "s3cret" });
  });
  afterAll(() => server.close());

  it("accepts the right password and refuses a wrong one with CONNACK 'not authorized' (5)", async () => {
    const good = await client(server.url, { username: "dev", password: "s3cret" });
    expect(good.connected).toBe(true);
    await expect(connectMqtt(server.url, { username: "dev", password: "wrong" })).rejects.toMatchObject({ code: 5 });
    await expect(connectMqtt(server.url)).rejects.toMatchObject({ code: 5 });
  });

  it("close() ends every client connection", async () => {
    const c = await client(server.url, { username: "dev", password: "s3cret" });
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
    await server.close();
    await withDeadline(closed, 10_000, "MQTT.js to see the connection close");
    expect(server.broker.closed).toBe(true);
  });
});
