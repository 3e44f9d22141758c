// The client against aedes (npm) behind our own WebSocketServer: every QoS both ways, with MQTT.js too.
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConnackError, connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { startAedesServer, type AedesServer } from "../support/aedes-server.js";
import { collect, waitFor } from "./helpers.js";

let server: AedesServer;
beforeAll(async () => {
  server = await startAedesServer({ authenticate: (username) => username !== "intruder" });
});
afterAll(async () => {
  await server?.close();
});
const open: Array<{ end(force?: boolean): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

async function ours(options: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
  const client = await connectAsync(server.url, { reconnect: false, ...options });
  open.push(client);
  return client;
}

// aedes 1.x speaks MQTT 3.1.1 only (it answers a v5 CONNECT with return code 1: see the test below).
describe.each([4] as const)("aedes, v%i", (protocolVersion) => {
  it.each([0, 1, 2] as const)("QoS %i round trip: ours → ours and MQTT.js, MQTT.js → ours", async (qos) => {
    const topic = `aedes/${protocolVersion}/${qos}`;
    const subscriber = await ours({ protocolVersion });
    const received = collect(subscriber);
    expect(await subscriber.subscribe(topic, { qos })).toEqual([{ topic, qos }]);
    const theirs = await mqtt.connectAsync(server.url, { protocolVersion, reconnectPeriod: 0 });
    open.push(theirs);
    const theirReceived = collect(theirs);
    await theirs.subscribeAsync(topic, { qos });
    const publisher = await ours({ protocolVersion });
    for (let i = 0; i < 20; i++) await publisher.publish(topic, `ours${i}`, { qos });
    for (let i = 0; i < 20; i++) await theirs.publishAsync(topic, `theirs${i}`, { qos });
    await waitFor(() => received.length === 40 && theirReceived.length >= 20, "all messages");
    const ourPayloads = received.map((m) => m.payload);
    expect(ourPayloads.filter((p) => p.startsWith("ours"))).toEqual(Array.from({ length: 20 }, (_, i) => `ours${i}`));
    expect(ourPayloads.filter((p) => p.startsWith("theirs"))).toEqual(Array.from({ length: 20 }, (_, i) => `theirs${i}`));
    expect(theirReceived.map((m) => m.payload).filter((p) => p.startsWith("ours"))).toEqual(Array.from({ length: 20 }, (_, i) => `ours${i}`));
  });
});

it("aedes refusing the credentials is a ConnackError", async () => {
  await expect(connectAsync(server.url, { username: "intruder", password: "x", reconnect: false })).rejects.toBeInstanceOf(ConnackError);
});

it("a v5 CONNECT to aedes (3.1.1 only) is a ConnackError that says so", async () => {
  const error = await connectAsync(server.url, { protocolVersion: 5, reconnect: false }).catch((e: Error) => e);
  expect(error).toBeInstanceOf(ConnackError);
  expect((error as Error).message).toMatch(/Unacceptable protocol version.*protocolVersion 4/);
});

it("retained and will on aedes", async () => {
  const watcher = await ours();
  const received = collect(watcher);
  await watcher.subscribe("aedes/will", { qos: 1 });
  const dying = await ours({ will: { topic: "aedes/will", payload: "bye", qos: 1 } });
  await dying.end(true);
  await waitFor(() => received.length === 1, "the will");
  const publisher = await ours();
  await publisher.publish("aedes/retained", "kept", { qos: 1, retain: true });
  const late = await ours();
  const lateReceived = collect(late);
  await late.subscribe("aedes/retained", { qos: 1 });
  await waitFor(() => lateReceived.length === 1, "the retained message");
  expect(lateReceived[0]).toMatchObject({ payload: "kept" });
  expect(lateReceived[0]!.packet.retain).toBe(true);
});
