// Every accepted QoS 1/2 message ends in exactly one observable outcome, against a real Mosquitto:
// a message published offline (its promise resolved once stored) that the broker later refuses or
// that expires is reported ('dropped', and 'error'), one it acknowledges too ('acknowledged'); with
// MQTT.js's callback form, the callback waits for that outcome. `end()` waits for a publish still
// being stored, and closes the store it opened itself.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IPublishPacket } from "mqtt-packet";
import { afterAll, afterEach, expect, it } from "vitest";
import { connectAsync, FileStore, MessageExpiredError, PublishError, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { collect, waitFor } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "edgews-outcomes-"));
const aclFile = join(dir, "acl");
// Anonymous clients (the lines before any `user`) may use only edgews-outcomes/allowed/#.
writeFileSync(aclFile, "topic readwrite edgews-outcomes/allowed/#\n");
const broker = useMosquitto({ config: [`acl_file ${aclFile}`] });
const open: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const allowed = (name: string) => `edgews-outcomes/allowed/${process.pid}/${++counter}/${name}`;

async function client(options: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
  const c = await connectAsync(broker().url, { protocolVersion: 5, reconnect: { initialDelay: 20, maxDelay: 100 }, ...options });
  open.push(c);
  return c;
}

/** Runs `offline` while the broker is stopped; resolves once the client is connected again. */
async function withBrokerDown(c: MqttClient, offline: () => Promise<void>): Promise<void> {
  await broker().stop();
  await waitFor(() => !c.connected, "the client to notice the broker is gone");
  await offline();
  await broker().restart();
  await waitFor(() => c.connected, "the client to reconnect", 15_000);
}

it("a message published offline that the broker refuses is reported as dropped, with the reason code", async () => {
  const c = await client();
  const dropped: Array<[IPublishPacket, Error]> = [];
  const errors: Error[] = [];
  c.on("dropped", (packet, error) => dropped.push([packet, error]));
  c.on("error", (error) => errors.push(error));
  await withBrokerDown(c, async () => {
    await c.publish("edgews-outcomes/denied/x", "refused", { qos: 1 }); // resolves once stored
  });
  await waitFor(() => dropped.length === 1, "the 'dropped' event");
  const [packet, error] = dropped[0]!;
  expect(packet.topic).toBe("edgews-outcomes/denied/x");
  expect(String(packet.payload)).toBe("refused");
  expect(error).toBeInstanceOf(PublishError);
  expect((error as PublishError).reasonCode).toBe(0x87); // Not authorized
  expect(errors).toContain(error);
  expect(c.outgoingCount).toBe(0);
}, 40_000);

it("a message published offline that expires before the reconnect is reported as dropped (expired)", async () => {
  const c = await client();
  const dropped: Array<[IPublishPacket, Error]> = [];
  c.on("dropped", (packet, error) => dropped.push([packet, error]));
  c.on("error", () => {});
  const topic = allowed("expires");
  await withBrokerDown(c, async () => {
    await c.publish(topic, "stale", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  await waitFor(() => dropped.length === 1, "the 'dropped' event");
  expect(dropped[0]![0].topic).toBe(topic);
  expect(dropped[0]![1]).toBeInstanceOf(MessageExpiredError);
}, 40_000);

it("a message published offline that the broker accepts is reported as acknowledged; the callback form waits for it", async () => {
  const topic = allowed("acknowledged");
  const c = await client();
  const acknowledged: string[] = [];
  c.on("acknowledged", (packet) => acknowledged.push(String(packet.payload)));
  const outcomes: Array<string | undefined> = [];
  await withBrokerDown(c, async () => {
    await c.publish(topic, "promise", { qos: 1 });
    c.publish(topic, "callback", { qos: 1 }, (error) => outcomes.push(error?.message));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(outcomes).toEqual([]); // stored, not yet acknowledged
  });
  await waitFor(() => acknowledged.length === 1 && outcomes.length === 1, "both outcomes");
  expect(acknowledged).toEqual(["promise"]); // the callback's message is told through its callback only
  expect(outcomes).toEqual([undefined]);
}, 40_000);

it("end() waits for a publish still being written to the store, then for its acknowledgement", async () => {
  const topic = allowed("stored-then-end");
  const subscriber = await client();
  const received = collect(subscriber);
  await subscriber.subscribe(topic, { qos: 1 });
  const path = join(dir, `end-${counter}.log`);
  const store = await FileStore.open(path); // fsync "always": put resolves only after fdatasync
  const c = await client({ store });
  const published = c.publish(topic, "last words", { qos: 1 });
  await c.end();
  await expect(published).resolves.toBeUndefined();
  await waitFor(() => received.length === 1, "the message at the subscriber");
  expect(store.size).toBe(0);
  await store.close();
}, 40_000);

it("end() closes the store it opened from a path and releases its lock", async () => {
  const path = join(dir, `own-${counter++}.log`);
  const c = await client({ store: path });
  expect(c.store).toBeInstanceOf(FileStore);
  await c.publish(allowed("own-store"), "x", { qos: 1 });
  await c.end();
  // The lock is free: another store opens the same file.
  const again = await FileStore.open(path);
  expect(again.size).toBe(0);
  await again.close();
}, 40_000);
