// The client against a real Mosquitto over WebSocket, with MQTT.js on the same broker for interop.
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { collect, waitFor } from "./helpers.js";

const broker = useMosquitto();
const open: Array<{ end(force?: boolean): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

let counter = 0;
const unique = (name: string) => `edgews-test/${process.pid}/${++counter}/${name}`;

async function ours(options: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
  const client = await connectAsync(broker().url, { reconnect: { initialDelay: 50, maxDelay: 500 }, ...options });
  open.push(client);
  return client;
}

async function theirs(options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(broker().url, { reconnectPeriod: 0, ...options });
  open.push(client);
  return client;
}

describe.each([4, 5] as const)("Mosquitto, MQTT protocol version %i", (protocolVersion) => {
  it("connects and gets CONNACK", async () => {
    const client = await ours({ protocolVersion });
    expect(client.connected).toBe(true);
  });

  it.each([0, 1, 2] as const)("QoS %i: we publish, we and MQTT.js receive", async (qos) => {
    const topic = unique("ours-to-both");
    const subscriber = await ours({ protocolVersion });
    const other = await theirs({ protocolVersion });
    const ourReceived = collect(subscriber);
    const theirReceived = collect(other);
    expect(await subscriber.subscribe(topic, { qos })).toEqual([{ topic, qos }]);
    await other.subscribeAsync(topic, { qos });
    const publisher = await ours({ protocolVersion });
    for (let i = 0; i < 50; i++) await publisher.publish(topic, `m${i}`, { qos });
    await waitFor(() => ourReceived.length === 50 && theirReceived.length === 50, "50 messages at both subscribers");
    const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
    expect(ourReceived.map((m) => m.payload)).toEqual(expected);
    expect(theirReceived.map((m) => m.payload)).toEqual(expected);
    expect(ourReceived.every((m) => m.packet.qos === qos)).toBe(true);
  });

  it.each([0, 1, 2] as const)("QoS %i: MQTT.js publishes, we receive", async (qos) => {
    const topic = unique("theirs-to-ours");
    const subscriber = await ours({ protocolVersion });
    const received = collect(subscriber);
    await subscriber.subscribe(topic, { qos });
    const publisher = await theirs({ protocolVersion });
    for (let i = 0; i < 50; i++) await publisher.publishAsync(topic, `m${i}`, { qos });
    await waitFor(() => received.length >= 50, "50 messages");
    expect(received.map((m) => m.payload)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });
});

describe("Mosquitto features", () => {
  it.each([4, 5] as const)("retained messages reach a later subscriber (v%i)", async (protocolVersion) => {
    const topic = unique("retained");
    const publisher = await ours({ protocolVersion });
    await publisher.publish(topic, "kept", { qos: 1, retain: true });
    const subscriber = await ours({ protocolVersion });
    const received = collect(subscriber);
    await subscriber.subscribe(topic, { qos: 1 });
    await waitFor(() => received.length === 1, "the retained message");
    expect(received[0]!.payload).toBe("kept");
    expect(received[0]!.packet.retain).toBe(true);
    await publisher.publish(topic, "", { qos: 1, retain: true }); // clear it
  });

  it.each([4, 5] as const)("the will is published when the connection drops without DISCONNECT (v%i)", async (protocolVersion) => {
    const topic = unique("will");
    const watcher = await theirs({ protocolVersion });
    const received = collect(watcher);
    await watcher.subscribeAsync(topic, { qos: 1 });
    const dying = await ours({ protocolVersion, will: { topic, payload: "gone", qos: 1 }, reconnect: false });
    await dying.end(true); // terminates the WebSocket: an abnormal disconnect
    await waitFor(() => received.length === 1, "the will message");
    expect(received[0]!.payload).toBe("gone");
  });

  it.each([4, 5] as const)("no will after a graceful end (v%i)", async (protocolVersion) => {
    const topic = unique("no-will");
    const watcher = await theirs({ protocolVersion });
    const received = collect(watcher);
    await watcher.subscribeAsync(topic, { qos: 1 });
    const client = await ours({ protocolVersion, will: { topic, payload: "gone", qos: 1 } });
    await client.end();
    // A marker published after the end arrives after any will would have.
    await watcher.publishAsync(topic, "marker", { qos: 1 });
    await waitFor(() => received.length >= 1, "the marker");
    expect(received.map((m) => m.payload)).toEqual(["marker"]);
  });

  it.each([4, 5] as const)("a persistent session keeps subscriptions and queued QoS 1 messages (v%i)", async (protocolVersion) => {
    const topic = unique("persistent");
    const clientId = `edgews-persist-${protocolVersion}-${process.pid}`;
    const options = { protocolVersion, clientId, clean: false, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) };
    const first = await ours(options);
    await first.subscribe(topic, { qos: 1 });
    await first.end();
    const publisher = await theirs({ protocolVersion });
    for (let i = 0; i < 5; i++) await publisher.publishAsync(topic, `queued${i}`, { qos: 1 });
    const connacks: boolean[] = [];
    const sent: string[] = [];
    const second = (await import("../../src/mqtt/index.js")).connect(broker().url, options);
    open.push(second);
    const received = collect(second);
    second.on("connect", (connack) => connacks.push(connack.sessionPresent));
    second.on("packetsend", (packet) => sent.push(packet.cmd));
    await waitFor(() => received.length === 5, "the 5 queued messages");
    expect(received.map((m) => m.payload)).toEqual(["queued0", "queued1", "queued2", "queued3", "queued4"]);
    expect(connacks).toEqual([true]);
    expect(sent).not.toContain("subscribe"); // the broker kept the session: no resubscribe
    await second.end();
    // Leave no session behind.
    const cleaner = await ours({ protocolVersion, clientId, clean: true });
    await cleaner.end();
  });

  it.each([4, 5] as const)("per-filter handlers see the matching messages; 'message' sees all (v%i)", async (protocolVersion) => {
    const base = unique("handlers");
    const client = await ours({ protocolVersion });
    const all = collect(client);
    const plus: string[] = [];
    const hash: string[] = [];
    const exact: string[] = [];
    await client.subscribe(`${base}/+/temp`, { qos: 1, onMessage: (topic) => plus.push(topic) });
    await client.subscribe(`${base}/#`, { qos: 1, onMessage: (topic) => hash.push(topic) });
    await client.subscribe(`${base}/a/temp`, { qos: 1, onMessage: (topic) => exact.push(topic) });
    const publisher = await theirs();
    for (const suffix of ["a/temp", "b/temp", "a/hum", "a/temp/x"]) await publisher.publishAsync(`${base}/${suffix}`, suffix, { qos: 1 });
    await publisher.publishAsync(`${base}/done`, "", { qos: 1 });
    await waitFor(() => hash.includes(`${base}/done`), "the last message");
    const expectedPlus = [`${base}/a/temp`, `${base}/b/temp`];
    const expectedHash = ["a/temp", "b/temp", "a/hum", "a/temp/x", "done"].map((s) => `${base}/${s}`);
    if (protocolVersion === 5) {
      // Mosquitto sends one copy per matching subscription; Subscription Identifiers route each
      // copy to its own handler, so every handler sees every matching message exactly once.
      expect(plus).toEqual(expectedPlus);
      expect(exact).toEqual([`${base}/a/temp`]);
      expect(hash).toEqual(expectedHash);
    } else {
      // 3.1.1 has no identifiers: every copy goes to every matching handler.
      expect(new Set(plus)).toEqual(new Set(expectedPlus));
      expect(new Set(exact)).toEqual(new Set([`${base}/a/temp`]));
      expect(new Set(hash)).toEqual(new Set(expectedHash));
    }
    expect(new Set(all.map((m) => m.topic)).size).toBe(5);
    await client.unsubscribe(`${base}/#`);
    const hashCount = hash.length;
    const exactCount = exact.length;
    await publisher.publishAsync(`${base}/a/hum`, "late", { qos: 1 });
    await publisher.publishAsync(`${base}/a/temp`, "late", { qos: 1 });
    await waitFor(() => exact.length > exactCount, "the late message");
    expect(hash.length).toBe(hashCount);
  });

  it("shared subscriptions deliver each message to one member", async () => {
    const topic = unique("shared");
    const a = await ours({ protocolVersion: 5 });
    const b = await ours({ protocolVersion: 5 });
    const got = collect(a);
    const gotB = collect(b);
    await a.subscribe(`$share/g/${topic}`, { qos: 1 });
    await b.subscribe(`$share/g/${topic}`, { qos: 1 });
    const publisher = await ours();
    for (let i = 0; i < 20; i++) await publisher.publish(topic, `s${i}`, { qos: 1 });
    await waitFor(() => got.length + gotB.length === 20, "20 messages across the group");
    expect(new Set([...got, ...gotB].map((m) => m.payload)).size).toBe(20);
  });

  it("MQTT 5 properties travel: user properties, content type, response topic, correlation data, message expiry", async () => {
    const topic = unique("props");
    const subscriber = await theirs({ protocolVersion: 5 });
    const received = collect(subscriber);
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const publisher = await ours({ protocolVersion: 5 });
    await publisher.publish(topic, "{}", {
      qos: 1,
      properties: {
        userProperties: { site: "north", tag: ["a", "b"] },
        contentType: "application/json",
        responseTopic: `${topic}/reply`,
        correlationData: Buffer.from("c1"),
        messageExpiryInterval: 60,
        payloadFormatIndicator: true,
      },
    });
    await waitFor(() => received.length === 1, "the message");
    const props = received[0]!.packet.properties!;
    expect(props.userProperties).toEqual({ site: "north", tag: ["a", "b"] });
    expect(props.contentType).toBe("application/json");
    expect(props.responseTopic).toBe(`${topic}/reply`);
    expect(Buffer.from(props.correlationData!).toString()).toBe("c1");
    expect(props.messageExpiryInterval).toBeGreaterThan(55);
    expect(props.payloadFormatIndicator).toBe(true);
  });

  it("MQTT 5 topic aliases: repeated topics go out as aliases and arrive whole", async () => {
    const topic = unique("alias");
    const subscriber = await theirs({ protocolVersion: 5 });
    const received = collect(subscriber);
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const publisher = await ours({ protocolVersion: 5 });
    const sent: Array<{ topic: string; alias?: number }> = [];
    publisher.on("packetsend", (p) => {
      if (p.cmd === "publish") sent.push({ topic: p.topic, alias: p.properties?.topicAlias });
    });
    for (let i = 0; i < 3; i++) await publisher.publish(topic, `a${i}`, { qos: i === 0 ? 0 : 1 });
    await waitFor(() => received.length === 3, "3 messages");
    expect(received.map((m) => [m.topic, m.payload])).toEqual([[topic, "a0"], [topic, "a1"], [topic, "a2"]]);
    expect(sent).toEqual([{ topic, alias: 1 }, { topic: "", alias: 1 }, { topic: "", alias: 1 }]);
  });

  it("MQTT 5 session expiry: a session with expiry 0 is gone after disconnect, one with expiry survives", async () => {
    const clientId = `edgews-expiry-${process.pid}`;
    const first = await ours({ protocolVersion: 5, clientId, clean: true, properties: { sessionExpiryInterval: 0 } });
    await first.end();
    const second = await ours({ protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    const connacks: boolean[] = [];
    await second.end();
    const third = (await import("../../src/mqtt/index.js")).connect(broker().url, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 0 } });
    open.push(third);
    third.on("connect", (c) => connacks.push(c.sessionPresent));
    await waitFor(() => connacks.length === 1, "CONNACK");
    expect(connacks).toEqual([true]);
  });

  it("invalid topics are refused before anything is sent", async () => {
    const client = await ours();
    await expect(client.publish("a/+", "x")).rejects.toMatchObject({ code: "EDGEWS_MQTT_INVALID_TOPIC" });
    await expect(client.subscribe("a/#/b")).rejects.toMatchObject({ code: "EDGEWS_MQTT_INVALID_TOPIC" });
  });

});
