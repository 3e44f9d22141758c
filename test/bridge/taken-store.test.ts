// TakenStore: what the bridge took from a device is on disk exactly when the messages are.
// The crash-point test runs a real MQTT client (Mosquitto) on a TakenStore over a store that
// logs every operation, drives a device's sequence through it as the intake does (messages,
// states, a held message, a device restart), then reopens a TakenStore on every prefix of that
// log (a crash after each operation, as FileStore's append-only log leaves one) and checks
// that each taken state is reloaded if and only if it was durable, and that every durable
// message is either still in the store (the client completes it) or was completed.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TakenStore, type Taken } from "../../src/bridge/taken-store.js";
import { connect, FileStore, type MessageStore, type MqttClient } from "../../src/mqtt/index.js";
import { useMosquitto } from "../support/mosquitto.js";
import { useScratchDir, waitFor } from "./helpers.js";

const broker = useMosquitto({ config: ["max_inflight_messages 0", "max_queued_messages 0"] });
const dir = useScratchDir("taken-store");
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end(true)));
});

type Op = { op: "put"; key: string; value: Uint8Array } | { op: "del"; key: string };

/** An ordered in-memory store that logs its operations; `replay(n)` is the store a crash after n of them leaves. */
class LoggedStore implements MessageStore {
  readonly durability = "memory" as const;
  readonly ops: Op[] = [];
  readonly map = new Map<string, Uint8Array>();
  get size(): number {
    return this.map.size;
  }
  get bytes(): number {
    return 0;
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    this.ops.push({ op: "put", key, value: value.slice() });
    this.map.set(key, value.slice());
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.map.get(key);
  }
  async del(key: string): Promise<void> {
    this.ops.push({ op: "del", key });
    this.map.delete(key);
  }
  async *iterate(): AsyncIterable<[string, Uint8Array]> {
    for (const entry of [...this.map]) yield entry;
  }
  async close(): Promise<void> {}
  replay(count: number): LoggedStore {
    const store = new LoggedStore();
    for (const op of this.ops.slice(0, count)) {
      if (op.op === "put") store.map.set(op.key, op.value);
      else store.map.delete(op.key);
    }
    return store;
  }
}

async function connected(store: TakenStore, clientId: string): Promise<MqttClient> {
  const client = connect(broker().url, { protocolVersion: 5, clientId, clean: false, store, properties: { sessionExpiryInterval: 600 } });
  clients.push(client);
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  await store.loaded();
  return client;
}

/** One step of the device's sequence and the log position of the write that made it durable. */
interface Step {
  taken: Taken;
  kind: "published" | "state" | "held";
  /** Index in the op log of the put that made the step durable. */
  durableAt: number;
  /** Client key of the published message's record (published and held-then-published steps). */
  recordKey?: string;
  /** Index of the put of its tagged record (held steps, once published). */
  publishedAt?: number;
}

const LINK = "/dev/ttyUSB0";

describe("TakenStore", () => {
  it("reloads exactly the durable taken states at every crash point of a run", async () => {
    const inner = new LoggedStore();
    const store = await TakenStore.open(inner);
    const client = await connected(store, `taken-crash-${process.pid}`);
    const steps: Step[] = [];
    const at = () => inner.ops.length;
    const publish = async (session: number, expectedSeq: number) => {
      const taken = store.take(LINK, { peerSession: session, expectedSeq });
      const durableAt = at();
      const { stored } = store.publishTaken(client, taken, "crash/event", `${session}:${expectedSeq}`);
      await stored;
      steps.push({ taken, kind: "published", durableAt, recordKey: (inner.ops[durableAt] as { key: string }).key.split("|")[0] });
    };
    const state = async (session: number, expectedSeq: number) => {
      const taken = store.take(LINK, { peerSession: session, expectedSeq });
      const durableAt = at();
      await store.persist(taken);
      steps.push({ taken, kind: "state", durableAt });
    };

    // Device session 1: a message held for want of a hello, its hello, messages; then a restart (session 2) and more.
    const heldTaken = store.take(LINK, { peerSession: 1, expectedSeq: 1 });
    const held: Step = { taken: heldTaken, kind: "held", durableAt: at() };
    await store.hold({ taken: heldTaken, kind: 0x12, body: Uint8Array.of(1, 2, 3) });
    steps.push(held);
    store.noteHello(LINK, 1, Uint8Array.of(9));
    await state(1, 2);
    held.publishedAt = at();
    await store.publishTaken(client, heldTaken, "crash/event", "held").stored;
    store.release({ taken: heldTaken, kind: 0x12, body: Uint8Array.of(1, 2, 3) });
    for (let seq = 3; seq <= 12; seq++) await publish(1, seq);
    await state(2, 0);
    for (let seq = 1; seq <= 8; seq++) await publish(2, seq);
    // Let every QoS 2 exchange complete: the client deletes the records, the link record goes first.
    await waitFor(() => client.outgoingCount === 0 && ![...inner.map.keys()].some((k) => k.startsWith("out:")), "every exchange to complete");
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.ops.length).toBeGreaterThan(60);

    for (let count = 0; count <= inner.ops.length; count++) {
      const snapshot = inner.replay(count);
      const reopened = await TakenStore.open(snapshot);
      const latest = reopened.latest(LINK);
      const index = latest ? steps.findIndex((s) => s.taken.peerSession === latest.peerSession && s.taken.expectedSeq === latest.expectedSeq) : -1;
      const durable = steps.filter((s) => s.durableAt < count).length;
      // Steps are durable in order: the reloaded state is the last durable one, never one beyond.
      expect({ count, reloaded: index }).toEqual({ count, reloaded: durable - 1 });

      const clientKeys = new Set<string>();
      for await (const [key] of reopened.iterate()) clientKeys.add(key);
      const heldBack = reopened.takeHeld(LINK);
      for (const step of steps) {
        if (step.durableAt >= count) continue;
        if (step.kind === "published") {
          // Durable: the client still holds it (and completes it after the restart), or the broker completed it.
          const deleted = inner.ops.slice(0, count).some((op) => op.op === "del" && op.key.startsWith(`${step.recordKey}|`));
          expect({ count, step: step.taken.n, held: clientKeys.has(step.recordKey!) || deleted }).toEqual({ count, step: step.taken.n, held: true });
        }
        if (step.kind === "held") {
          // Held and not yet published: handed back to be published; published: never handed back (no duplicate).
          const published = step.publishedAt !== undefined && step.publishedAt < count;
          expect({ count, handedBack: heldBack.length }).toEqual({ count, handedBack: published ? 0 : 1 });
        }
      }
    }
  }, 30_000);

  it("numbers takes after those already on disk across a reopen", async () => {
    const path = join(dir, "reopen");
    const first = await TakenStore.open(await FileStore.open(path));
    const taken = first.take(LINK, { peerSession: 7, expectedSeq: 3 });
    await first.persist(taken);
    await first.close();
    const second = await TakenStore.open(await FileStore.open(path));
    expect(second.latest(LINK)).toEqual({ peerSession: 7, expectedSeq: 3 });
    expect(second.take(LINK, { peerSession: 7, expectedSeq: 4 }).n).toBe(taken.n + 1);
    await second.close();
  });

  it("stored resolves before the broker's PUBCOMP: what acknowledging on store saves over acknowledging on PUBCOMP", async () => {
    const store = await TakenStore.open(await FileStore.open(join(dir, "latency"), { fsync: "always" }));
    const client = await connected(store, `taken-latency-${process.pid}`);
    const storedMs: number[] = [];
    const completedMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      let storedAt = Infinity;
      const { stored, acknowledged } = store.publishTaken(client, store.take(LINK, { peerSession: 1, expectedSeq: i & 0xff }), "latency/event", String(i));
      await stored.then(() => (storedAt = performance.now()));
      await acknowledged;
      const completedAt = performance.now();
      expect(storedAt).toBeLessThanOrEqual(completedAt);
      storedMs.push(storedAt - t0);
      completedMs.push(completedAt - t0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(2);
    const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!.toFixed(2);
    console.info(`publishTaken on FileStore (fsync always), 200 in a row: stored (the device's ack) median ${median(storedMs)} ms p99 ${p99(storedMs)} ms; PUBCOMP median ${median(completedMs)} ms p99 ${p99(completedMs)} ms`);
    await client.end();
    await store.close();
  }, 30_000);
});
