// MQTT.js's call shapes, differentially: the same callback-style code (publish/subscribe/
// unsubscribe/end with callbacks, reconnectPeriod, an mqtt:// / mqtts:// / ws:// URL, TLS options
// at the top level) runs against MQTT.js and against our client on one real Mosquitto, and both
// must leave the same trace.
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { connect as connectOurs, MemoryStore, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { waitFor } from "./helpers.js";

const broker = useMosquitto({ tls: true });
const open: Array<{ end(force?: boolean): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

/** What the code below uses, typed as MQTT.js documents it; our client must accept the same calls. */
interface MqttJsShaped {
  on(event: "message", listener: (topic: string, payload: Buffer) => void): unknown;
  once(event: "connect", listener: () => void): unknown;
  subscribe(topic: string, opts: { qos: 0 | 1 | 2 }, callback: (error: Error | null, granted?: Array<{ topic: string; qos: number }>) => void): unknown;
  publish(topic: string, message: string, opts: { qos: 0 | 1 | 2 }, callback: (error?: Error) => void): unknown;
  unsubscribe(topic: string, callback: (error?: Error) => void): unknown;
  end(force: boolean, opts: object, callback: (error?: Error) => void): unknown;
}

type Connect = (url: string, options: Record<string, unknown>) => MqttJsShaped;

/**
 * Subscribes, publishes QoS 0/1/2 to itself, unsubscribes and ends, all with callbacks; returns
 * the trace: each call's return and callback arguments, then the messages received. (MQTT.js may
 * call a QoS 0 callback before publish returns, ours always after: each step's lines are sorted.)
 */
async function exercise(connect: Connect, url: string, options: Record<string, unknown>, topic: string): Promise<string[]> {
  const trace: string[] = [];
  const messages: string[] = [];
  const client = connect(url, { reconnectPeriod: 0, protocolVersion: 4, ...options });
  open.push(client as unknown as { end(force?: boolean): unknown });
  await new Promise<void>((resolve) => client.once("connect", resolve));
  client.on("message", (t, payload) => messages.push(`message ${t === topic} ${payload.toString()}`));
  const step = async (what: string, call: (done: (...args: unknown[]) => void) => unknown) => {
    const lines: string[] = [];
    await new Promise<void>((resolve) => {
      const returned = call((...args) => {
        lines.push(`${what} ${JSON.stringify(args.map((a) => (a instanceof Error ? a.message : a)))}`);
        resolve();
      });
      lines.push(`${what} returns the client: ${returned === client}`);
    });
    trace.push(...lines.sort());
  };
  await step("subscribe", (done) => client.subscribe(topic, { qos: 2 }, (error, granted) => done(error, granted?.map(({ topic: t, qos }) => ({ t: t === topic, qos })))));
  for (const qos of [0, 1, 2] as const) await step(`publish qos ${qos}`, (done) => client.publish(topic, `m${qos}`, { qos }, (error) => done(error ?? null)));
  await waitFor(() => messages.length === 3, "the three messages back");
  await step("unsubscribe", (done) => client.unsubscribe(topic, (error) => done(error ?? null)));
  await step("end", (done) => client.end(false, {}, (error) => done(error ?? null)));
  return [...trace, ...messages];
}

const ours: Connect = (url, options) => connectOurs(url, options) as unknown as MqttJsShaped;
const theirs: Connect = (url, options) => mqtt.connect(url, options) as unknown as MqttJsShaped;

describe("MQTT.js's call shapes give MQTT.js's results", () => {
  const urls = {
    "mqtt://": () => ({ url: `mqtt://127.0.0.1:${broker().mqttPort}`, options: {} }),
    "mqtts:// (ca at the top level)": () => ({ url: `mqtts://localhost:${broker().mqttsPort}`, options: { ca: broker().ca } }),
    "ws://": () => ({ url: broker().url, options: {} }),
  };
  it.each(Object.keys(urls))("%s", async (name) => {
    const { url, options } = urls[name as keyof typeof urls]();
    const expected = await exercise(theirs, url, options, `edgews-shapes/${process.pid}/theirs/${name}`);
    const actual = await exercise(ours, url, options, `edgews-shapes/${process.pid}/ours/${name}`);
    expect(actual).toEqual(expected);
    expect(expected).toContain("subscribe returns the client: true");
  });
});

describe("MQTT.js's option names", () => {
  it("reconnectPeriod 0 means no reconnect; giving it with reconnect is an error", () => {
    expect(() => connectOurs("mqtt://127.0.0.1:1", { reconnectPeriod: 1000, reconnect: false })).toThrow(/either reconnect or reconnectPeriod/);
    expect(() => connectOurs("mqtt://127.0.0.1:1", { reconnectPeriod: -1 })).toThrow(RangeError);
  });

  it("incomingStore/outgoingStore name our one store; MQTT.js's Store objects are refused clearly", async () => {
    const store = new MemoryStore();
    const client: MqttClient = connectOurs(`mqtt://127.0.0.1:${broker().mqttPort}`, { incomingStore: store, outgoingStore: store, reconnectPeriod: 0 });
    open.push(client);
    expect(client.store).toBe(store);
    await new Promise((resolve) => client.once("connect", resolve));
    await client.publish("edgews-shapes/stored", "x", { qos: 1 });
    expect(() => connectOurs("mqtt://127.0.0.1:1", { outgoingStore: new mqtt.Store() as never })).toThrow(/MQTT.js's Store objects are not supported/);
    expect(() => connectOurs("mqtt://127.0.0.1:1", { incomingStore: new MemoryStore(), outgoingStore: new MemoryStore() })).toThrow(/must be the same MessageStore/);
    expect(() => connectOurs("mqtt://127.0.0.1:1", { store: "x.log", outgoingStore: store })).toThrow(/either store or incomingStore/);
    expect(() => connectOurs("http://127.0.0.1:1", {})).toThrow(/schemes ws:, wss:, mqtt:/);
  });
});
