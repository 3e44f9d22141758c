// QoS 0 without silent loss: `await publish(..., { qos: 0 })` in a tight loop must wait while the
// WebSocket is above its high-water mark, so that the client's own traffic never overflows the
// WebSocket's write limit (which closes the connection and loses every message already resolved).
import mqtt from "mqtt";
import { afterEach, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { waitFor } from "./helpers.js";

// The broker must not drop either: no queue or inflight limits towards the subscriber.
const broker = useMosquitto({ config: ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0", "set_tcp_nodelay true"] });
const open: Array<{ end(force?: boolean): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

const publisherUrls = {
  "ws://": () => broker().url,
  "mqtt:// (plain TCP)": () => `mqtt://127.0.0.1:${broker().mqttPort}`,
};

it.each(Object.keys(publisherUrls))("%s: a 2-second `await publish(qos 0)` loop delivers every message and keeps the connection open", async (name) => {
  const topic = `edgews-qos0-loop/${process.pid}/${name}`;
  // A fast reader: MQTT.js over plain TCP.
  const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker().mqttPort}`, { reconnectPeriod: 0 });
  open.push(subscriber);
  let received = 0;
  subscriber.on("message", () => received++);
  await subscriber.subscribeAsync(topic, { qos: 0 });
  const publisher: MqttClient = await connectAsync(publisherUrls[name as keyof typeof publisherUrls](), { reconnect: false });
  open.push(publisher);
  let closed = false;
  const errors: Error[] = [];
  publisher.on("close", () => (closed = true));
  publisher.on("error", (error) => errors.push(error));
  const payload = Buffer.alloc(1024, 0x61);
  let published = 0;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && !closed) {
    await publisher.publish(topic, payload, { qos: 0 });
    published++;
  }
  expect(errors).toEqual([]);
  expect(closed).toBe(false);
  expect(publisher.connected).toBe(true);
  await waitFor(() => received >= published, `${published} messages at the subscriber (${received} so far)`, 20_000);
  expect(received).toBe(published);
}, 40_000);
