// The noise proof: a device and a bridge on a 115,200-baud line that damages 1 byte in 10,000
// (flipped bits, dropped bytes, inserted bytes, bursts of garbage), both ways, for 100,000
// messages of both classes. No corrupted message may be delivered, every reliable message must
// arrive exactly once, and the counts are printed. Time is simulated: it runs in seconds.
import { describe, expect, it } from "vitest";
import { prng } from "../support/seeded.js";
import { LinkPair, Noise } from "./line.js";

const TELEMETRY = 0x11;
const EVENT = 0x12;
const COMMAND = 0x13;

/** A body that proves its own integrity: its id, then bytes that only that id produces. */
function body(id: number, length: number): Uint8Array {
  const out = new Uint8Array(Math.max(4, length));
  new DataView(out.buffer).setUint32(0, id, true);
  const random = prng(id * 7919);
  for (let i = 4; i < out.length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function intact(received: Uint8Array): number | undefined {
  if (received.length < 4) return undefined;
  const id = new DataView(received.buffer, received.byteOffset).getUint32(0, true);
  const expected = body(id, received.length);
  return expected.every((byte, i) => byte === received[i]) ? id : undefined;
}

interface Traffic {
  sent: Set<number>;
  received: Map<number, number>;
  corrupted: number;
}

function traffic(): Traffic {
  return { sent: new Set(), received: new Map(), corrupted: 0 };
}

function check(record: Traffic, data: Uint8Array): void {
  const id = intact(data);
  if (id === undefined || !record.sent.has(id)) record.corrupted++;
  else record.received.set(id, (record.received.get(id) ?? 0) + 1);
}

describe("the link on a noisy line", () => {
  it("delivers no corrupted message and every reliable one exactly once over 100,000 messages at a 1e-4 byte error rate", () => {
    const random = prng(20240611);
    const pair = new LinkPair({ baud: 115_200, latency: 2 });
    const noise = [new Noise(1e-4, prng(1)), new Noise(1e-4, prng(2))];
    pair.a.wire.noise = noise[0];
    pair.b.wire.noise = noise[1];
    const classes = { telemetry: traffic(), events: traffic(), commands: traffic() };
    let nextId = 1;
    let messages = 0;
    const total = 100_000;
    const send = (end: "a" | "b", kind: number, record: Traffic, length: number, reliable: boolean): void => {
      const id = nextId++;
      const data = body(id, length);
      if (reliable) pair[end].session.sendReliable(kind, data);
      else if (!pair[end].session.sendBestEffort(kind, data)) return;
      record.sent.add(id);
      messages++;
    };

    const started = performance.now();
    pair.runUntil(100);
    for (let t = 100; messages < total; t += 10) {
      // Every 10 ms: a reading from the device; now and then an event (a third of them
      // fragmented) and a command from the bridge: about 75% of the line's capacity.
      send("a", TELEMETRY, classes.telemetry, 8 + Math.floor(random() * 92), false);
      if (pair.a.session.pending().length < 8 && random() < 0.08) send("a", EVENT, classes.events, 1 + Math.floor(random() * 600), true);
      if (pair.b.session.pending().length < 8 && random() < 0.1) send("b", COMMAND, classes.commands, 1 + Math.floor(random() * 200), true);
      pair.runUntil(t + 10);
    }
    // Let every queue drain on the still-noisy line.
    let drainedBy = pair.clock.time;
    while (pair.a.session.pending().length + pair.b.session.pending().length > 0 && drainedBy < pair.clock.time + 120_000) {
      drainedBy += 100;
      pair.runUntil(drainedBy);
    }
    for (const item of pair.b.received) check(item.kind === TELEMETRY ? classes.telemetry : classes.events, item.body);
    for (const item of pair.a.received) check(classes.commands, item.body);
    const seconds = (performance.now() - started) / 1000;

    const summary = Object.fromEntries(Object.entries(classes).map(([name, r]) => {
      const duplicates = [...r.received.values()].filter((n) => n > 1).length;
      return [name, { sent: r.sent.size, delivered: r.received.size, duplicates, corrupted: r.corrupted }];
    }));
    console.log(`noise test: ${messages} messages, ${pair.clock.time / 1000} s of line time simulated in ${seconds.toFixed(1)} s`);
    console.log("line damage (device→bridge, bridge→device):", noise[0].counts, noise[1].counts);
    console.log("messages:", summary);
    console.log("device link:", pair.a.session.stats);
    console.log("bridge link:", pair.b.session.stats);
    console.log("device events:", pair.a.log.join(", "), "| bridge events:", pair.b.log.join(", "));

    for (const record of Object.values(classes)) expect(record.corrupted).toBe(0);
    for (const record of [classes.events, classes.commands]) {
      expect([...record.sent].filter((id) => record.received.get(id) !== 1)).toEqual([]);
    }
    // Best-effort telemetry loses what the line destroys and nothing else: about 1% of packets.
    expect(classes.telemetry.received.size).toBeGreaterThan(classes.telemetry.sent.size * 0.97);
    // The line really was damaged, in every way, and the damage was caught.
    for (const { counts } of noise) for (const n of Object.values(counts)) expect(n).toBeGreaterThan(20);
    const rejected = (end: "a" | "b") => {
      const { crcErrors, cobsErrors, truncated, oversize } = pair[end].session.stats;
      return crcErrors + cobsErrors + truncated + oversize;
    };
    expect(rejected("a") + rejected("b")).toBeGreaterThan(500);
    expect(pair.a.session.stats.retransmits + pair.b.session.stats.retransmits).toBeGreaterThan(100);
  });
});
