// MQTT 3.1.1 QoS 2: a message leaves the in-flight window once its PUBREL is sent (session.ts,
// windowUntilPubrel). Safe only if the broker's cap on messages awaiting PUBREL is never exceeded:
// Mosquitto as shipped (max_inflight_messages 20) silently discards the excess on 3.1.1. A burst
// of QoS 2 messages with our window at that cap must reach a subscriber, every one exactly once.
import { afterEach, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { collect, waitFor } from "./helpers.js";

// Default inflight cap (20) kept on purpose; only the subscriber's queue is unbounded.
const broker = useMosquitto({ config: ["max_queued_messages 0", "max_queued_bytes 0"] });
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end(true)));
});

it("a burst of 1,000 QoS 2 messages at Mosquitto's default cap of 20 awaiting PUBREL: all arrive, once", async () => {
  const topic = `edgews-qos2-window/${process.pid}`;
  const subscriber = await connectAsync(broker().url, { protocolVersion: 4, reconnect: false });
  const publisher = await connectAsync(broker().url, { protocolVersion: 4, reconnect: false, maxInflight: 20 });
  clients.push(subscriber, publisher);
  const received = collect(subscriber);
  await subscriber.subscribe(topic, { qos: 2 });
  // Exchanges open at once (PUBLISH sent, PUBCOMP not back): past 20 only if PUBREL frees the slot.
  let open = 0;
  let mostOpen = 0;
  publisher.on("packetsend", (p) => {
    if (p.cmd === "publish") mostOpen = Math.max(mostOpen, ++open);
  });
  publisher.on("packetreceive", (p) => {
    if (p.cmd === "pubcomp") open--;
  });
  const expected = Array.from({ length: 1000 }, (_, i) => `m${i}`);
  await Promise.all(expected.map((payload) => publisher.publish(topic, payload, { qos: 2 })));
  await waitFor(() => received.length >= 1000, `1,000 messages at the subscriber (${received.length} so far)`, 20_000);
  expect(received.map((m) => m.payload)).toEqual(expected);
  expect(mostOpen).toBeGreaterThan(20);
}, 40_000);
