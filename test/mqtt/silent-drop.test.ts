// Fault test: the network between client and broker silently stops delivering (a proxy that holds
// every byte). Keepalive notices the dead connection, the client reconnects once the network is
// back, and every QoS 1 message arrives; QoS 2 ones exactly once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { useMosquitto } from "../support/mosquitto.js";
import { collect, waitFor } from "./helpers.js";

const broker = useMosquitto();
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(broker().wsPort);
});
afterAll(async () => {
  await proxy?.close();
});
const open: MqttClient[] = [];
afterEach(async () => {
  proxy.resume();
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

describe.each([4, 5] as const)("silent network drop (v%i)", (protocolVersion) => {
  it.each([1, 2] as const)("QoS %i: keepalive detects it, the client reconnects, nothing is lost", async (qos) => {
    const topic = `edgews-silent/${process.pid}/${protocolVersion}/${qos}`;
    const session = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
    const subscriber = await connectAsync(broker().url, { protocolVersion, reconnect: false });
    open.push(subscriber);
    const received = collect(subscriber);
    await subscriber.subscribe(topic, { qos });
    // Detection (1 s idle + 200 ms) must beat the broker's own keepalive expiry (1.5 × 1 s), which
    // can reach the client through the proxy and would close the connection without our error.
    const publisher = await connectAsync(proxy.url(), {
      protocolVersion, clean: false, clientId: `silent-${protocolVersion}-${qos}-${process.pid}`, keepalive: 1, pingTimeout: 200, connectTimeout: 1000,
      reconnect: { initialDelay: 50, maxDelay: 200 }, ...session,
    });
    open.push(publisher);
    const errors: Error[] = [];
    publisher.on("error", (e) => errors.push(e));
    const promises: Array<Promise<void>> = [];
    const publish = (i: number) => {
      const p = publisher.publish(topic, `m${i}`, { qos });
      p.catch(() => {}); // awaited below; a failed test must not leave them unhandled
      promises.push(p);
    };
    for (let i = 0; i < 50; i++) publish(i);
    await Promise.all(promises);
    proxy.blackhole();
    for (let i = 50; i < 100; i++) publish(i);
    await waitFor(() => !publisher.connected, "keepalive to declare the connection dead", 5000);
    expect(errors.map((e) => e.message).join("; ")).toMatch(/PINGRESP/);
    for (let i = 100; i < 150; i++) publish(i);
    proxy.resume();
    await Promise.all(promises);
    await waitFor(() => new Set(received.map((m) => m.payload)).size === 150 && publisher.outgoingCount === 0, "all 150 messages", 20_000);
    if (qos === 2) {
      const counts = new Map<string, number>();
      for (const m of received) counts.set(m.payload, (counts.get(m.payload) ?? 0) + 1);
      expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    }
  }, 40_000);
});

describe("offline queue against Mosquitto", () => {
  it.each([4, 5] as const)("QoS 0 and QoS 1 published while offline arrive after reconnect, stored ones first, each in order (v%i)", async (protocolVersion) => {
    const topic = `edgews-offline/${process.pid}/${protocolVersion}`;
    const subscriber = await connectAsync(broker().url, { protocolVersion, reconnect: false });
    open.push(subscriber);
    const received = collect(subscriber);
    await subscriber.subscribe(topic, { qos: 1 });
    const publisher = await connectAsync(proxy.url(), { protocolVersion, connectTimeout: 500, reconnect: { initialDelay: 20, maxDelay: 100 } });
    open.push(publisher);
    publisher.on("error", () => {});
    proxy.blackhole();
    proxy.dropAll();
    await waitFor(() => !publisher.connected, "the publisher to go offline");
    const promises: Array<Promise<void>> = [];
    for (let i = 0; i < 10; i++) {
      promises.push(publisher.publish(topic, `q0-${i}`, { qos: 0 }));
      promises.push(publisher.publish(topic, `q1-${i}`, { qos: 1 }));
    }
    expect(publisher.queuedCount).toBe(10);
    proxy.resume();
    await Promise.all(promises);
    await waitFor(() => received.length === 20, "the 20 messages");
    const payloads = received.map((m) => m.payload);
    expect(payloads).toEqual([...Array.from({ length: 10 }, (_, i) => `q1-${i}`), ...Array.from({ length: 10 }, (_, i) => `q0-${i}`)]);
  });
});
