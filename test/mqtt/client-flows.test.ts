// Client flows against a scripted broker: resend with DUP in order, PUBREL after PUBREC, restart
// from a store, incoming QoS 2 exactly once, flow control, aliases, keepalive, timeouts, refusals.
import type { IPublishPacket, IPubrelPacket, ISubscribePacket, Packet } from "mqtt-packet";
import mqttPacket from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import {
  ClientEndedError, MessageDroppedError, MessageExpiredError, connectAsync, MqttTimeoutError, OfflineQueueFullError, PacketTooLargeError, PublishError, SubackError, connect,
  MemoryStore, type MqttClient, type MqttClientOptions,
} from "../../src/mqtt/index.js";
import { startFakeBroker, type FakeBroker } from "./fake-broker.js";
import { TestStore, collect, waitFor } from "./helpers.js";
import { freePorts } from "../support/mosquitto.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function setup(brokerOptions: Parameters<typeof startFakeBroker>[0] = {}, clientOptions: MqttClientOptions = {}): Promise<{ broker: FakeBroker; client: MqttClient; errors: Error[] }> {
  const broker = await startFakeBroker(brokerOptions);
  cleanup.push(() => broker.close());
  const client = connect(broker.url, { protocolVersion: brokerOptions.protocolVersion ?? 4, reconnect: { initialDelay: 20, maxDelay: 50 }, ...clientOptions });
  const errors: Error[] = [];
  client.on("error", (e) => errors.push(e));
  cleanup.push(() => client.end(true));
  return { broker, client, errors };
}

const isPublish = (p: Packet): p is IPublishPacket => p.cmd === "publish";
const connected = (client: MqttClient) => waitFor(() => client.connected, "the client to connect");

describe("outgoing QoS 1/2", () => {
  it("QoS 1: resolves on PUBACK and removes the message from the store", async () => {
    const store = new TestStore();
    const { broker, client } = await setup({}, { store });
    const c0 = await broker.connection(0);
    await connected(client);
    let resolved = false;
    const done = client.publish("a/b", "hello", { qos: 1 }).then(() => (resolved = true));
    const publish = await c0.next<IPublishPacket>(isPublish);
    expect(publish).toMatchObject({ qos: 1, dup: false, topic: "a/b" });
    expect(store.size).toBe(1);
    expect(resolved).toBe(false);
    c0.send({ cmd: "puback", messageId: publish.messageId });
    await done;
    await waitFor(() => store.size === 0, "the store to empty");
    expect(store.log).toEqual(["put out:0000000000000000", "del out:0000000000000000"]);
  });

  it("unacknowledged QoS 1/2 are resent after reconnect in order with DUP, PUBREL for those past PUBREC", async () => {
    const store = new MemoryStore();
    const { broker, client } = await setup({ connack: (n) => ({ sessionPresent: n > 0 }) }, { store });
    const c0 = await broker.connection(0);
    await connected(client);
    const results: string[] = [];
    const promises = ["q1-a", "q2-b", "q1-c", "q2-d"].map((payload) =>
      client.publish("t", payload, { qos: payload.startsWith("q1") ? 1 : 2 }).then(() => results.push(payload)),
    );
    await c0.next(isPublish, 3);
    const sent = c0.packets.filter(isPublish);
    expect(sent.map((p) => String(p.payload))).toEqual(["q1-a", "q2-b", "q1-c", "q2-d"]);
    // q2-b gets its PUBREC: the client stores the new state, then sends PUBREL.
    c0.send({ cmd: "pubrec", messageId: sent[1]!.messageId });
    await c0.next((p) => p.cmd === "pubrel");
    expect(new Set(sent.map((p) => p.messageId)).size).toBe(4);
    c0.drop();
    const c1 = await broker.connection(1);
    await c1.next((p) => p.cmd === "publish" || p.cmd === "pubrel", 3);
    const resent = c1.packets.filter((p) => p.cmd === "publish" || p.cmd === "pubrel");
    expect(resent.map((p) => [p.cmd, p.messageId, isPublish(p) ? String(p.payload) : "", isPublish(p) ? p.dup : undefined])).toEqual([
      ["publish", sent[0]!.messageId, "q1-a", true],
      ["pubrel", sent[1]!.messageId, "", undefined],
      ["publish", sent[2]!.messageId, "q1-c", true],
      ["publish", sent[3]!.messageId, "q2-d", true],
    ]);
    c1.send({ cmd: "puback", messageId: sent[0]!.messageId }, { cmd: "pubcomp", messageId: sent[1]!.messageId }, { cmd: "puback", messageId: sent[2]!.messageId });
    c1.send({ cmd: "pubrec", messageId: sent[3]!.messageId });
    const pubrel = await c1.next<IPubrelPacket>((p) => p.cmd === "pubrel", 1);
    expect(pubrel.messageId).toBe(sent[3]!.messageId);
    c1.send({ cmd: "pubcomp", messageId: sent[3]!.messageId });
    await Promise.all(promises);
    expect(results).toEqual(["q1-a", "q2-b", "q1-c", "q2-d"]);
    await waitFor(() => store.size === 0, "the store to empty");
  });

  it("a restarted client resends what an earlier one left in the store, in order, and completes QoS 2 once", async () => {
    const store = new TestStore();
    const first = await setup({}, { store });
    const c0 = await first.broker.connection(0);
    await connected(first.client);
    const early = ["one", "two", "three"].map((p, i) => first.client.publish("t", p, { qos: i === 1 ? 2 : 1 }).catch((e: Error) => e));
    await c0.next(isPublish, 2);
    const ids = c0.packets.filter(isPublish).map((p) => p.messageId);
    c0.send({ cmd: "pubrec", messageId: ids[1] });
    await c0.next((p) => p.cmd === "pubrel");
    await waitFor(() => store.log.filter((l) => l.startsWith("put")).length === 4, "the PUBREL state to be stored");
    await first.client.end(true); // like a crash: nothing more is sent; the store keeps the entries
    for (const result of await Promise.all(early)) expect(result).toBeInstanceOf(ClientEndedError);
    expect(store.size).toBe(3);

    // A new process: a new client on the same store and the same broker.
    const second = connect(first.broker.url, { store, reconnect: false });
    cleanup.push(() => second.end(true));
    const c1 = await first.broker.connection(1);
    await c1.next((p) => p.cmd === "publish" || p.cmd === "pubrel", 2);
    const resent = c1.packets.filter((p) => p.cmd === "publish" || p.cmd === "pubrel");
    expect(resent.map((p) => [p.cmd, p.messageId, isPublish(p) ? String(p.payload) : ""])).toEqual([
      ["publish", ids[0], "one"],
      ["pubrel", ids[1], ""],
      ["publish", ids[2], "three"],
    ]);
    expect((resent[0] as IPublishPacket).dup).toBe(true);
    // New publishes take fresh ids and go after the old ones.
    const later = second.publish("t", "four", { qos: 1 });
    const four = await c1.next<IPublishPacket>(isPublish, 2);
    expect(String(four.payload)).toBe("four");
    expect(ids).not.toContain(four.messageId);
    c1.send({ cmd: "puback", messageId: ids[0] }, { cmd: "pubcomp", messageId: ids[1] }, { cmd: "puback", messageId: ids[2] }, { cmd: "puback", messageId: four.messageId });
    await later;
    await waitFor(() => store.size === 0, "the store to empty");
  });

  it("resends in publish order even from a store that iterates in another order", async () => {
    class ReversedStore extends TestStore {
      override async *iterate(): AsyncIterable<[string, Uint8Array]> {
        for (const entry of [...this.map].reverse()) yield entry;
      }
    }
    const store = new ReversedStore();
    const [port] = await freePorts(1);
    const offline = connect(`ws://127.0.0.1:${port}`, { store, reconnect: false });
    offline.on("error", () => {});
    for (const p of ["a", "b", "c"]) await offline.publish("t", p, { qos: 1 });
    await offline.end(true);
    const { broker } = await setup({}, { store });
    const c0 = await broker.connection(0);
    await c0.next(isPublish, 2);
    expect(c0.packets.filter(isPublish).map((p) => String(p.payload))).toEqual(["a", "b", "c"]);
  });

  it.each([[4, 5], [5, 4]] as const)("a message stored by an MQTT v%i client is resent by a v%i client, encoded for its version", async (from, to) => {
    const store = new MemoryStore();
    const [port] = await freePorts(1);
    const offline = connect(`ws://127.0.0.1:${port}`, { protocolVersion: from, store, reconnect: false });
    offline.on("error", () => {});
    await offline.publish("a/b", "hello", { qos: 1, retain: true });
    await offline.end(true);
    const { broker, client } = await setup({ protocolVersion: to }, { protocolVersion: to, store });
    const c0 = await broker.connection(0);
    const resent = await c0.next<IPublishPacket>(isPublish);
    expect(resent).toMatchObject({ topic: "a/b", qos: 1, retain: true, dup: true });
    expect(String(resent.payload)).toBe("hello");
    c0.send({ cmd: "puback", messageId: resent.messageId });
    await waitFor(() => store.size === 0 && client.outgoingCount === 0, "the message to be acknowledged");
  });

  it("keeps at most maxInflight / the broker's Receive Maximum in flight, in order", async () => {
    const { broker, client } = await setup({ protocolVersion: 5, connack: { properties: { receiveMaximum: 2 } } }, { protocolVersion: 5, maxInflight: 10 });
    const c0 = await broker.connection(0);
    await connected(client);
    const promises = Array.from({ length: 5 }, (_, i) => client.publish("t", `m${i}`, { qos: 1 }));
    await c0.next(isPublish, 1);
    // All five stored and handed to the session: whatever the window allowed went out in that same turn.
    await waitFor(() => client.outgoingCount === 5, "the 5 messages to be stored");
    await client.publish("marker", "", { qos: 0 });
    await c0.next((p) => isPublish(p) && p.topic === "marker");
    expect(c0.packets.filter((p) => isPublish(p) && p.qos === 1).length).toBe(2);
    const isQos1 = (p: Packet) => isPublish(p) && p.qos === 1;
    for (let i = 0; i < 5; i++) {
      const p = await c0.next<IPublishPacket>(isQos1, i);
      expect(String(p.payload)).toBe(`m${i}`);
      expect(c0.packets.filter(isQos1).length - i).toBeLessThanOrEqual(2);
      c0.send({ cmd: "puback", messageId: p.messageId, reasonCode: 0 });
    }
    await Promise.all(promises);
  });

  it("a v5 PUBACK failure rejects with PublishError and drops the message", async () => {
    const store = new TestStore();
    const { broker, client } = await setup({ protocolVersion: 5 }, { protocolVersion: 5, store });
    const c0 = await broker.connection(0);
    await connected(client);
    const done = client.publish("t", "x", { qos: 1 });
    const p = await c0.next<IPublishPacket>(isPublish);
    c0.send({ cmd: "puback", messageId: p.messageId, reasonCode: 0x97, properties: { reasonString: "quota" } });
    const error = await done.catch((e: Error) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({ reasonCode: 0x97, code: "EDGEWS_MQTT_PUBLISH" });
    expect((error as Error).message).toMatch(/Quota exceeded.*quota/);
    await waitFor(() => store.size === 0, "the store to empty");
  });

  it("refuses packets above the broker's Maximum Packet Size with PacketTooLargeError", async () => {
    const store = new TestStore();
    const { broker, client } = await setup({ protocolVersion: 5, connack: { properties: { maximumPacketSize: 100 } } }, { protocolVersion: 5, store });
    await broker.connection(0);
    await connected(client);
    await expect(client.publish("t", Buffer.alloc(200), { qos: 0 })).rejects.toBeInstanceOf(PacketTooLargeError);
    await expect(client.publish("t", Buffer.alloc(200), { qos: 1 })).rejects.toMatchObject({ code: "EDGEWS_MQTT_PACKET_TOO_LARGE", max: 100 });
    await waitFor(() => store.size === 0, "the store to empty");
    expect(broker.connections[0]!.of("publish")).toEqual([]);
  });

  it("sends topic aliases up to the broker's Topic Alias Maximum (first come)", async () => {
    const { broker, client } = await setup({ protocolVersion: 5, connack: { properties: { topicAliasMaximum: 1 } } }, { protocolVersion: 5 });
    const c0 = await broker.connection(0);
    await connected(client);
    for (const topic of ["a", "b", "a", "b"]) await client.publish(topic, "x");
    await c0.next(isPublish, 3);
    expect(c0.packets.filter(isPublish).map((p) => [p.topic, p.properties?.topicAlias])).toEqual([["a", 1], ["b", undefined], ["", 1], ["b", undefined]]);
  });
});

describe("incoming", () => {
  it("QoS 2 is delivered once: the id is stored before PUBREC, a DUP resend is acknowledged but not delivered", async () => {
    const store = new TestStore();
    const { broker, client } = await setup({}, { store });
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    const publish: IPublishPacket = { cmd: "publish", topic: "t", payload: Buffer.from("once"), qos: 2, dup: false, retain: false, messageId: 7 };
    c0.send(publish);
    await c0.next((p) => p.cmd === "pubrec");
    expect(store.log).toEqual(["put in:00007"]);
    expect(received.map((m) => m.payload)).toEqual(["once"]);
    c0.send({ ...publish, dup: true });
    await c0.next((p) => p.cmd === "pubrec", 1);
    c0.send({ cmd: "pubrel", messageId: 7 });
    await c0.next((p) => p.cmd === "pubcomp");
    expect(store.size).toBe(0);
    expect(received.map((m) => m.payload)).toEqual(["once"]);
    // After PUBCOMP the id is free: the same id is a new message.
    c0.send({ ...publish, payload: Buffer.from("again") });
    await c0.next((p) => p.cmd === "pubrec", 2);
    expect(received.map((m) => m.payload)).toEqual(["once", "again"]);
  });

  it("a QoS 2 PUBLISH without DUP under an id we hold is a new message (the broker lost its state)", async () => {
    const { broker, client } = await setup({ connack: { sessionPresent: true } });
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    const publish: IPublishPacket = { cmd: "publish", topic: "t", payload: Buffer.from("first"), qos: 2, dup: false, retain: false, messageId: 12 };
    c0.send(publish);
    await c0.next((p) => p.cmd === "pubrec");
    c0.send({ ...publish, payload: Buffer.from("second") });
    await c0.next((p) => p.cmd === "pubrec", 1);
    c0.send({ ...publish, payload: Buffer.from("second"), dup: true });
    await c0.next((p) => p.cmd === "pubrec", 2);
    expect(received.map((m) => m.payload)).toEqual(["first", "second"]);
  });

  it("a DUP resend of an exchange already completed (a broker that lost our PUBCOMP) is acknowledged, not delivered again", async () => {
    const { broker, client } = await setup({ connack: { sessionPresent: true } });
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    const publish: IPublishPacket = { cmd: "publish", topic: "t", payload: Buffer.from("m29"), qos: 2, dup: false, retain: false, messageId: 30 };
    c0.send(publish);
    await c0.next((p) => p.cmd === "pubrec");
    c0.send({ cmd: "pubrel", messageId: 30 });
    await c0.next((p) => p.cmd === "pubcomp");
    c0.send({ ...publish, dup: true });
    await c0.next((p) => p.cmd === "pubrec", 1);
    c0.send({ cmd: "pubrel", messageId: 30 });
    const pubcomp = await c0.next((p) => p.cmd === "pubcomp", 1);
    expect(pubcomp.messageId).toBe(30);
    expect(received.map((m) => m.payload)).toEqual(["m29"]);
  });

  it("a QoS 2 id stored by a crashed client is not delivered again after restart", async () => {
    const store = new TestStore();
    await store.put("in:00009", new Uint8Array(0));
    const { broker, client } = await setup({ connack: { sessionPresent: true } }, { store });
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    c0.send({ cmd: "publish", topic: "t", payload: Buffer.from("dup"), qos: 2, dup: true, retain: false, messageId: 9 });
    await c0.next((p) => p.cmd === "pubrec");
    c0.send({ cmd: "pubrel", messageId: 9 });
    await c0.next((p) => p.cmd === "pubcomp");
    expect(received).toEqual([]);
    expect(store.size).toBe(0);
  });

  it("QoS 1 is acknowledged with PUBACK; packets split across frames and many per frame are all parsed", async () => {
    const { broker, client } = await setup();
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    const bytes = Buffer.concat(
      Array.from({ length: 6 }, (_, i) => mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.from(`p${i}`), qos: 1, dup: false, retain: false, messageId: i + 1 })),
    );
    // 1-byte frames for the first packet, then the rest in one frame.
    const first = mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.from("p0"), qos: 1, dup: false, retain: false, messageId: 1 }).length;
    for (let i = 0; i < first; i++) c0.sendRaw(bytes.subarray(i, i + 1));
    c0.sendRaw(bytes.subarray(first));
    await c0.next((p) => p.cmd === "puback", 5);
    expect(received.map((m) => m.payload)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
    expect(c0.of("puback").map((p) => p.messageId)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("maps incoming topic aliases back to topics; an unknown alias is a protocol error (DISCONNECT 0x94)", async () => {
    const { broker, client, errors } = await setup({ protocolVersion: 5 }, { protocolVersion: 5, properties: { topicAliasMaximum: 4 } });
    const c0 = await broker.connection(0);
    await connected(client);
    expect((c0.packets[0] as { properties?: { topicAliasMaximum?: number } }).properties?.topicAliasMaximum).toBe(4);
    const received = collect(client);
    const base = { cmd: "publish" as const, qos: 0 as const, dup: false, retain: false };
    c0.send({ ...base, topic: "long/topic", payload: Buffer.from("1"), properties: { topicAlias: 2 } });
    c0.send({ ...base, topic: "", payload: Buffer.from("2"), properties: { topicAlias: 2 } });
    await waitFor(() => received.length === 2, "2 messages");
    expect(received.map((m) => m.topic)).toEqual(["long/topic", "long/topic"]);
    c0.send({ ...base, topic: "", payload: Buffer.from("3"), properties: { topicAlias: 3 } });
    const disconnect = await c0.next((p) => p.cmd === "disconnect");
    expect(disconnect).toMatchObject({ reasonCode: 0x94 });
    await c0.waitClosed();
    expect(errors.some((e) => /topic alias 3/.test(e.message))).toBe(true);
    await broker.connection(1); // and it reconnects
  });
});

describe("incoming limits we announce (MQTT 5)", () => {
  it("more unacknowledged QoS 2 PUBLISHes than our receiveMaximum: DISCONNECT 0x93", async () => {
    const { broker, client, errors } = await setup({ protocolVersion: 5 }, { protocolVersion: 5, properties: { receiveMaximum: 2 } });
    const c0 = await broker.connection(0);
    await connected(client);
    expect((c0.packets[0] as { properties?: { receiveMaximum?: number } }).properties?.receiveMaximum).toBe(2);
    const publish = (messageId: number) => ({ cmd: "publish" as const, qos: 2 as const, dup: false, retain: false, topic: "t", payload: Buffer.from(String(messageId)), messageId });
    c0.send(publish(1), publish(2), publish(1)); // a resend of a held id is not a new exchange
    await c0.next((p) => p.cmd === "pubrec", 2);
    expect(c0.packets.some((p) => p.cmd === "disconnect")).toBe(false);
    c0.send(publish(3));
    expect(await c0.next((p) => p.cmd === "disconnect")).toMatchObject({ reasonCode: 0x93 });
    await c0.waitClosed();
    expect(errors.some((e) => /receiveMaximum 2/.test(e.message))).toBe(true);
  });

  it("a packet above our maximumPacketSize: DISCONNECT 0x95", async () => {
    const { broker, client, errors } = await setup({ protocolVersion: 5 }, { protocolVersion: 5, properties: { maximumPacketSize: 100 } });
    const c0 = await broker.connection(0);
    await connected(client);
    const received = collect(client);
    const publish = (size: number) => ({ cmd: "publish" as const, qos: 0 as const, dup: false, retain: false, topic: "t", payload: Buffer.alloc(size) });
    c0.send(publish(90)); // 1 + 1 + (2 + 1 topic) + 1 (properties) + 90 = 96 bytes
    await waitFor(() => received.length === 1, "the message within the limit");
    c0.send(publish(100));
    expect(await c0.next((p) => p.cmd === "disconnect")).toMatchObject({ reasonCode: 0x95 });
    expect(received).toHaveLength(1);
    expect(errors.some((e) => /above our maximumPacketSize 100/.test(e.message))).toBe(true);
  });
});

describe("subscriptions", () => {
  it("SUBACK 0x80 is a SubackError naming the filter; the handler is removed", async () => {
    const { broker, client } = await setup();
    const c0 = await broker.connection(0);
    await connected(client);
    const calls: string[] = [];
    const done = client.subscribe({ "ok/#": { qos: 1, onMessage: (t) => calls.push(t) }, "bad/#": { qos: 1, onMessage: (t) => calls.push(t) } }).catch((e: Error) => e);
    const sub = await c0.next<ISubscribePacket>((p) => p.cmd === "subscribe");
    expect(sub.subscriptions.map((s) => [s.topic, s.qos])).toEqual([["ok/#", 1], ["bad/#", 1]]);
    c0.send({ cmd: "suback", messageId: sub.messageId, granted: [1, 0x80] });
    const error = await done;
    expect(error).toBeInstanceOf(SubackError);
    expect(error).toMatchObject({ filter: "bad/#", reasonCode: 0x80 });
    c0.send({ cmd: "publish", topic: "bad/x", payload: Buffer.from("x"), qos: 0, dup: false, retain: false });
    c0.send({ cmd: "publish", topic: "ok/x", payload: Buffer.from("x"), qos: 0, dup: false, retain: false });
    await waitFor(() => calls.length === 1, "the ok message");
    expect(calls).toEqual(["ok/x"]);
  });

  it("resubscribes after a reconnect without a session, not with one", async () => {
    const { broker, client } = await setup({ connack: (n) => ({ sessionPresent: n === 2 }) });
    const c0 = await broker.connection(0);
    await connected(client);
    const done = client.subscribe("a/+", { qos: 1 });
    const sub = await c0.next<ISubscribePacket>((p) => p.cmd === "subscribe");
    c0.send({ cmd: "suback", messageId: sub.messageId, granted: [1] });
    await done;
    c0.drop();
    const c1 = await broker.connection(1);
    const again = await c1.next<ISubscribePacket>((p) => p.cmd === "subscribe");
    expect(again.subscriptions).toEqual([{ topic: "a/+", qos: 1 }]);
    c1.send({ cmd: "suback", messageId: again.messageId, granted: [1] });
    await waitFor(() => client.connected, "connected");
    c1.drop();
    const c2 = await broker.connection(2);
    await waitFor(() => client.connected, "connected again");
    // A resubscribe would go out on CONNACK, before anything published after it.
    await client.publish("marker", "");
    await c2.next((p) => isPublish(p) && p.topic === "marker");
    expect(c2.of("subscribe")).toEqual([]);
  });
});

describe("connection", () => {
  it("no PINGRESP within pingTimeout: the connection is dropped and the client reconnects", async () => {
    const { broker, client, errors } = await setup({}, { keepalive: 1, pingTimeout: 200 });
    const c0 = await broker.connection(0);
    await c0.next((p) => p.cmd === "pingreq", 0, 3000);
    await c0.waitClosed(3000);
    expect(errors.some((e) => e instanceof MqttTimeoutError && /PINGRESP/.test(e.message))).toBe(true);
    await broker.connection(1);
    expect(client.connected || client.reconnecting).toBe(true);
  });

  it("PINGRESP keeps the connection", async () => {
    const { broker, client } = await setup({}, { keepalive: 1, pingTimeout: 300 });
    const c0 = await broker.connection(0);
    c0.on("packet", (p: Packet) => p.cmd === "pingreq" && c0.send({ cmd: "pingresp" }));
    await c0.next((p) => p.cmd === "pingreq", 1, 4000);
    expect(c0.closed).toBe(false);
    expect(client.connected).toBe(true);
  });

  it("no CONNACK within connectTimeout is an MqttTimeoutError, then a retry", async () => {
    const { broker, errors } = await setup({ connack: false }, { connectTimeout: 200 });
    const c0 = await broker.connection(0);
    await c0.waitClosed(3000);
    expect(errors.some((e) => e instanceof MqttTimeoutError && /CONNACK/.test(e.message))).toBe(true);
    await broker.connection(1, 3000);
  });

  it("a v5 server DISCONNECT is reported with its reason, then the client reconnects", async () => {
    const { broker, client } = await setup({ protocolVersion: 5 }, { protocolVersion: 5 });
    const c0 = await broker.connection(0);
    await connected(client);
    const disconnects: unknown[] = [];
    const events: string[] = [];
    client.on("disconnect", (p) => disconnects.push(p));
    for (const name of ["close", "offline", "reconnect", "connect"] as const) client.on(name, () => events.push(name));
    c0.send({ cmd: "disconnect", reasonCode: 0x8b, properties: { reasonString: "maintenance" } });
    await broker.connection(1);
    await connected(client);
    expect(disconnects).toMatchObject([{ reasonCode: 0x8b, properties: { reasonString: "maintenance" } }]);
    expect(events).toEqual(["close", "offline", "reconnect", "connect"]);
  });

  it("AUTH packets pass through both ways (v5 enhanced authentication)", async () => {
    const { broker, client } = await setup({ protocolVersion: 5, connack: false }, { protocolVersion: 5, properties: { authenticationMethod: "SCRAM" } });
    const c0 = await broker.connection(0);
    const auths: unknown[] = [];
    client.on("auth", (p) => {
      auths.push(p);
      client.sendAuth({ authenticationMethod: "SCRAM", authenticationData: Buffer.from("client-final") });
    });
    c0.send({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "SCRAM", authenticationData: Buffer.from("server-first") } });
    const reply = await c0.next((p) => p.cmd === "auth");
    expect(reply).toMatchObject({ reasonCode: 0x18, properties: { authenticationMethod: "SCRAM" } });
    expect(auths).toHaveLength(1);
    c0.send({ cmd: "connack", sessionPresent: false, reasonCode: 0 });
    await connected(client);
  });

  it("a graceful end waits for in-flight messages, then sends DISCONNECT and closes with 1000", async () => {
    const { broker, client } = await setup();
    const c0 = await broker.connection(0);
    await connected(client);
    const published = client.publish("t", "last", { qos: 1 });
    const p = await c0.next<IPublishPacket>(isPublish);
    const ended = client.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c0.of("disconnect")).toEqual([]);
    c0.send({ cmd: "puback", messageId: p.messageId });
    await published;
    await ended;
    expect(c0.of("disconnect")).toHaveLength(1);
    await c0.waitClosed();
    expect(c0.closeCode).toBe(1000);
    await expect(client.publish("t", "x")).rejects.toBeInstanceOf(ClientEndedError);
  });

  it("reconnect: false stays offline until reconnect() is called, which connects at once", async () => {
    const { broker, client } = await setup({}, { reconnect: false });
    const c0 = await broker.connection(0);
    await connected(client);
    const events: string[] = [];
    for (const name of ["close", "offline", "reconnect", "connect"] as const) client.on(name, () => events.push(name));
    c0.drop();
    await waitFor(() => events.includes("offline"), "offline");
    expect(client.reconnecting).toBe(false);
    expect(broker.connections.length).toBe(1);
    client.reconnect();
    await broker.connection(1);
    await connected(client);
    expect(events).toEqual(["close", "offline", "reconnect", "connect"]);
  });

  it("gives up after reconnect.maxAttempts failures in a row and ends", async () => {
    const { broker, client, errors } = await setup({}, { reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 2 } });
    await broker.connection(0);
    await connected(client);
    let ended = false;
    client.on("end", () => (ended = true));
    await broker.close(); // nothing listens any more: every attempt fails
    await waitFor(() => ended, "the client to give up", 5000);
    expect(errors.some((e) => /gave up reconnecting .* after 2 attempts/.test(e.message))).toBe(true);
    await expect(client.publish("t", "x", { qos: 1 })).rejects.toBeInstanceOf(ClientEndedError);
  });

  it("connectAsync with reconnect: false rejects when the first attempt fails", async () => {
    const broker = await startFakeBroker();
    const url = broker.url;
    await broker.close();
    const error = await connectAsync(url, { reconnect: false }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as NodeJS.ErrnoException).code).toMatch(/ECONNREFUSED|EDGEWS/);
  });

  it("CONNECT carries client id, clean, keepalive, credentials and will", async () => {
    const { broker } = await setup({}, { clientId: "gw-1", clean: false, keepalive: 30, username: "u", password: "p", will: { topic: "gw/1/status", payload: "offline", qos: 1, retain: true } });
    const c0 = await broker.connection(0);
    expect(c0.packets[0]).toMatchObject({
      cmd: "connect", clientId: "gw-1", clean: false, keepalive: 30, username: "u", protocolVersion: 4,
      will: { topic: "gw/1/status", qos: 1, retain: true },
    });
    expect(String((c0.packets[0] as { password: Buffer }).password)).toBe("p");
  });
});

describe("offline queue", () => {
  it("QoS 0 published while offline goes out after the resent QoS 1/2, in order; the oldest is dropped when full", async () => {
    const { broker, client } = await setup({ connack: false }, { offlineQueue: { maxMessages: 3 } });
    const c0 = await broker.connection(0);
    const results = ["a", "b", "c", "d", "e"].map((p) => client.publish("t", p).then(() => p, (e: Error) => e));
    const stored = client.publish("t", "q1", { qos: 1 }); // offline: resolves once stored
    await stored;
    expect(client.queuedCount).toBe(3);
    const settled = await Promise.all(results.slice(0, 2));
    expect(settled.every((r) => r instanceof MessageDroppedError)).toBe(true);
    c0.send({ cmd: "connack", sessionPresent: false, returnCode: 0 });
    await c0.next(isPublish, 3);
    expect(c0.packets.filter(isPublish).map((p) => String(p.payload))).toEqual(["q1", "c", "d", "e"]);
    expect(await Promise.all(results.slice(2))).toEqual(["c", "d", "e"]);
  });

  it("MQTT 5: a queued QoS 0 message whose Message Expiry Interval ran out offline is refused, not sent", async () => {
    const { broker, client } = await setup({ connack: false, protocolVersion: 5 });
    const c0 = await broker.connection(0);
    const stale = client.publish("t", "stale", { properties: { messageExpiryInterval: 1 } }).catch((e: Error) => e);
    const kept = client.publish("t", "kept", { properties: { messageExpiryInterval: 60 } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    c0.send({ cmd: "connack", sessionPresent: false, reasonCode: 0 });
    await kept;
    expect(await stale).toBeInstanceOf(MessageExpiredError);
    const sent = await c0.next<IPublishPacket>(isPublish);
    expect(String(sent.payload)).toBe("kept");
    expect(sent.properties?.messageExpiryInterval).toBe(59);
    expect(c0.packets.filter(isPublish)).toHaveLength(1);
  });

  it("a message larger than the whole queue is refused with OfflineQueueFullError", async () => {
    const { client } = await setup({ connack: false }, { offlineQueue: { maxBytes: 10 } });
    await expect(client.publish("t", "x".repeat(20))).rejects.toBeInstanceOf(OfflineQueueFullError);
  });

  it("without a store, QoS 1/2 messages are bounded by outgoingLimits: beyond them publish rejects with StoreFullError", async () => {
    const byCount = (await setup({ connack: false }, { outgoingLimits: { maxEntries: 2 } })).client;
    await byCount.publish("t", "1", { qos: 1 });
    await byCount.publish("t", "2", { qos: 2 });
    await expect(byCount.publish("t", "3", { qos: 1 })).rejects.toMatchObject({ code: "EDGEWS_STORE_FULL", limit: "maxEntries" });
    expect(byCount.outgoingCount).toBe(2);
    const byBytes = (await setup({ connack: false }, { outgoingLimits: { maxBytes: 250 } })).client;
    await byBytes.publish("t", "x".repeat(100), { qos: 1 });
    expect(byBytes.outgoingBytes).toBeGreaterThan(100);
    await expect(byBytes.publish("t", "x".repeat(150), { qos: 1 })).rejects.toMatchObject({ code: "EDGEWS_STORE_FULL", limit: "maxBytes" });
    await byBytes.publish("t", "x".repeat(50), { qos: 1 });
    expect(byBytes.outgoingCount).toBe(2);
  });

  it("QoS 1 while offline is bounded by the store: a full store rejects the publish", async () => {
    const store = new TestStore(2);
    const { client } = await setup({ connack: false }, { store });
    await client.publish("t", "1", { qos: 1 });
    await client.publish("t", "2", { qos: 1 });
    await expect(client.publish("t", "3", { qos: 1 })).rejects.toMatchObject({ code: "EDGEWS_STORE_FULL" });
    expect(client.outgoingCount).toBe(2);
  });
});
