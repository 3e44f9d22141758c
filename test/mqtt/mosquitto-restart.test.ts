// Fault test: the broker is SIGKILLed mid-stream and restarted (with persistence). Every QoS 1/2
// message published before, during and after the outage arrives, QoS 2 ones exactly once, except
// those the broker itself had acknowledged before it died: Mosquitto's persistence is a snapshot
// taken after the acknowledgement (autosave), so a SIGKILL can lose what it had acknowledged in the
// last moments; the protocol then forbids us to send those again (for QoS 2, resending the PUBLISH
// after PUBREC could deliver it twice). Those are counted and must be the only ones missing.
import { afterEach, describe, expect, it } from "vitest";
import { connectAsync, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { collect, waitFor } from "./helpers.js";

// Without these, Mosquitto drops (3.1.1) or refuses (5.0, "Quota exceeded") QoS 2 messages beyond
// 20 awaiting PUBREL, and a restart from its snapshot can bring back exchanges that were already
// complete and fill that quota (see PEERS.md).
const broker = useMosquitto({ persistence: true, config: ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0"] });
const open: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.end(true)));
});

describe.each([4, 5] as const)("broker SIGKILL and restart (v%i)", (protocolVersion) => {
  it.each([1, 2] as const)("QoS %i: nothing published before, during or after the outage is lost by the client", async (qos) => {
    const topic = `edgews-restart/${process.pid}/${protocolVersion}/${qos}`;
    const session = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {};
    const base = { protocolVersion, clean: false, reconnect: { initialDelay: 50, maxDelay: 300 }, keepalive: 5, ...session };
    const subscriber = await connectAsync(broker().url, { ...base, clientId: `sub-${protocolVersion}-${qos}-${process.pid}` });
    const publisher = await connectAsync(broker().url, { ...base, clientId: `pub-${protocolVersion}-${qos}-${process.pid}` });
    open.push(subscriber, publisher);
    const received = collect(subscriber);
    await subscriber.subscribe(topic, { qos });
    const events: string[] = [];
    for (const name of ["connect", "offline", "reconnect", "close"] as const) publisher.on(name, () => events.push(name));
    // Which messages the broker acknowledged (PUBACK / PUBREC) before it was killed: everything
    // that arrived on the connection to the first broker process, until that connection closed.
    let alive = true;
    let killing = false;
    publisher.on("close", () => {
      if (killing) alive = false;
    });
    const inflight = new Map<number, string>();
    const ackedBeforeKill = new Set<string>();
    publisher.on("packetsend", (p) => {
      if (p.cmd === "publish") inflight.set(p.messageId!, String(p.payload));
    });
    publisher.on("packetreceive", (p) => {
      if (alive && (p.cmd === "puback" || p.cmd === "pubrec")) ackedBeforeKill.add(inflight.get(p.messageId!)!);
    });

    // For a failure message: under which packet ids (and DUP flags) each payload reached the subscriber.
    const wire = new Map<string, string[]>();
    subscriber.on("packetreceive", (p) => {
      if (p.cmd === "publish") wire.set(String(p.payload), [...(wire.get(String(p.payload)) ?? []), `${p.messageId}${p.dup ? " dup" : ""}${alive ? "" : " after"}`]);
    });
    const total = 300;
    const promises: Array<Promise<void>> = [];
    let sent = 0;
    const publishSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const p = publisher.publish(topic, `m${sent++}`, { qos });
        p.catch(() => {}); // awaited below; a failed test must not leave them unhandled
        promises.push(p);
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await publishSome(100);
    killing = true;
    await broker().kill();
    await waitFor(() => !publisher.connected && !subscriber.connected, "both clients to notice the outage");
    await publishSome(100); // while the broker is down: stored, resolved once stored
    await Promise.all(promises.slice(100));
    await broker().restart();
    await publishSome(total - 200);
    await Promise.all(promises);
    await waitFor(() => publisher.outgoingCount === 0, "every stored message to be acknowledged", 30_000);

    const expected = Array.from({ length: total }, (_, i) => `m${i}`);
    const arrived = () => new Set(received.map((m) => m.payload));
    const mayBeLost = (p: string) => ackedBeforeKill.has(p);
    await waitFor(() => expected.every((p) => arrived().has(p) || mayBeLost(p)) && expected.slice(100).every((p) => arrived().has(p)), "every message the broker had not acknowledged before the kill", 30_000).catch((error: Error) => {
      const missing = expected.filter((p) => !arrived().has(p) && !mayBeLost(p));
      throw new Error(`${error.message}; missing ${missing.length}: ${missing.slice(0, 20).join(" ")}; events ${events.join(",")}`);
    });
    const lostByBroker = expected.filter((p) => !arrived().has(p));
    if (lostByBroker.length > 0) console.info(`v${protocolVersion} QoS ${qos}: Mosquitto lost ${lostByBroker.length} message(s) it had acknowledged before the SIGKILL`);
    expect(events).toContain("offline");
    expect(events).toContain("reconnect");
    if (qos === 2) {
      const counts = new Map<string, number>();
      for (const m of received) counts.set(m.payload, (counts.get(m.payload) ?? 0) + 1);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([p]) => `${p}: ${wire.get(p)!.join(", ")}`);
      expect(duplicated).toEqual([]);
    }
  }, 60_000);
});
