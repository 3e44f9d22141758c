// The intake alone, on a fake clock: writes one at a time and in order, `idle` only once all is
// durable, retries of a failed write before anything newer, held messages published first once
// named, and the bounds (telemetry drops its oldest, reliable past maxPendingReliable is dropped
// but its state still written).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Intake, type IntakeLimits, type StoreOutcome } from "../../src/bridge/intake.js";
import type { Taken } from "../../src/bridge/taken-store.js";

const LIMITS: IntakeLimits = { rate: 10, burst: 2, maxQueuedTelemetry: 3, maxPendingReliable: 4, retryDelay: 500 };

interface Write {
  what: string;
  resolve(): void;
  reject(error: Error): void;
}

/** An intake whose writes wait until the test settles them, and a log of what happened. */
function harness(limits: IntakeLimits = LIMITS) {
  const writes: Write[] = [];
  const events: string[] = [];
  let named = false;
  const write = (what: string) => new Promise<void>((resolve, reject) => writes.push({ what, resolve, reject }));
  const intake = new Intake(
    limits,
    {
      persist: (taken) => write(`state ${taken.n}`),
      hold: ({ taken }) => write(`hold ${taken.n}`),
      release: ({ taken }) => void events.push(`release ${taken.n}`),
      idle: () => void events.push("idle"),
      storeFailed: (error) => void events.push(`failed ${error.message}`),
      reliableDropped: () => void events.push("dropped"),
    },
    () => Date.now(),
  );
  let n = 0;
  const message = (name: string) => ({ kind: 0x12, body: new Uint8Array(0), store: (taken: Taken): StoreOutcome => (named ? write(`${name} ${taken.n}`) : "unnamed") });
  const take = (): Taken => ({ link: "p", peerSession: 1, expectedSeq: ++n & 0xff, n });
  /** A reliable message handed over by the link, then its state. */
  const reliable = (name: string) => {
    intake.pushMessage(message(name));
    intake.taken(take());
  };
  const settle = async (what: string) => {
    const index = writes.findIndex((w) => w.what === what);
    if (index < 0) throw new Error(`no write "${what}" waiting (waiting: ${writes.map((w) => w.what).join(", ") || "none"})`);
    writes.splice(index, 1)[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { intake, writes, events, reliable, settle, take, message, name: (value: boolean) => void (named = value) };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("Intake", () => {
  it("writes one at a time, in the order taken, and is idle only once everything is durable", async () => {
    const h = harness();
    h.name(true);
    h.reliable("a");
    h.reliable("b");
    h.intake.taken(h.take()); // a state (a hello) after them
    expect(h.writes.map((w) => w.what)).toEqual(["a 1"]);
    expect(h.intake.idle).toBe(false);
    await h.settle("a 1");
    expect(h.writes.map((w) => w.what)).toEqual(["b 2"]);
    await h.settle("b 2");
    expect(h.events).not.toContain("idle");
    await h.settle("state 3");
    expect(h.intake.idle).toBe(true);
    expect(h.events).toEqual(["idle"]);
    expect(h.intake.counters.reliablePublished).toBe(2);
  });

  it("retries a failed write after retryDelay, before anything newer, and stays not idle meanwhile", async () => {
    const h = harness();
    h.name(true);
    h.reliable("a");
    h.reliable("b");
    h.writes.shift()!.reject(new Error("store full"));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.events).toEqual(["failed store full"]);
    await vi.advanceTimersByTimeAsync(400);
    expect(h.writes).toEqual([]);
    expect(h.intake.idle).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.writes.map((w) => w.what)).toEqual(["a 1"]);
  });

  it("keeps to the budget: the burst at once, then one message per 1/rate s", async () => {
    const h = harness({ ...LIMITS, maxPendingReliable: 10 });
    h.name(true);
    for (const name of ["a", "b", "c", "d"]) h.reliable(name);
    await h.settle("a 1");
    await h.settle("b 2");
    expect(h.writes).toEqual([]); // the burst of 2 is spent
    await vi.advanceTimersByTimeAsync(99);
    expect(h.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(h.writes.map((w) => w.what)).toEqual(["c 3"]);
  });

  it("holds what no hello names (idle: the device may be acknowledged), then publishes it first once named", async () => {
    const h = harness();
    h.reliable("early");
    await h.settle("hold 1");
    expect(h.intake.idle).toBe(true);
    expect(h.intake.held).toBe(1);
    h.name(true);
    h.reliable("later");
    h.intake.named();
    expect(h.writes.map((w) => w.what)).toEqual(["early 1"]);
    await h.settle("early 1");
    expect(h.events).toContain("release 1");
    expect(h.writes.map((w) => w.what)).toEqual(["later 2"]);
    expect(h.intake.held).toBe(0);
  });

  it("coalesces consecutive states, never the one being written", async () => {
    const h = harness();
    h.intake.taken(h.take());
    h.intake.taken(h.take());
    h.intake.taken(h.take());
    expect(h.writes.map((w) => w.what)).toEqual(["state 1"]);
    await h.settle("state 1");
    expect(h.writes.map((w) => w.what)).toEqual(["state 3"]);
  });

  it("drops a reliable message past maxPendingReliable (counted) but still writes its place in the sequence", async () => {
    const h = harness();
    h.name(true);
    for (const name of ["a", "b", "c", "d", "e"]) h.reliable(name);
    expect(h.events).toEqual(["dropped"]);
    expect(h.intake.counters.reliableDropped).toBe(1);
    for (const what of ["a 1", "b 2"]) await h.settle(what);
    await vi.advanceTimersByTimeAsync(100);
    await h.settle("c 3");
    await vi.advanceTimersByTimeAsync(100);
    await h.settle("d 4");
    expect(h.writes.map((w) => w.what)).toEqual(["state 5"]);
  });

  it("drops the oldest telemetry beyond maxQueuedTelemetry and publishes the rest as the budget allows", async () => {
    const h = harness();
    const published: number[] = [];
    for (let i = 0; i < 8; i++) h.intake.pushTelemetry(() => published.push(i));
    expect(published).toEqual([0, 1]);
    expect(h.intake.counters.telemetryDropped).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(published).toEqual([0, 1, 5, 6, 7]);
  });
});

