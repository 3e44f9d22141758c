// Shared helpers of the MQTT tests: waiting for conditions (never fixed sleeps) and collecting messages.
import type { IPublishPacket } from "mqtt-packet";
import { StoreFullError, type MessageStore } from "../../src/mqtt/store/store.js";

/** Resolves once `condition()` is true; rejects after `timeout` ms with `what`. */
export async function waitFor(condition: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/** Collects 'message' events of anything shaped like MQTT.js or our client. */
export function collect(client: { on(event: "message", listener: (topic: string, payload: Buffer, packet: IPublishPacket) => void): unknown }): Received[] {
  const received: Received[] = [];
  client.on("message", (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));
  return received;
}

/** A trivial MessageStore for tests (ordered Map), with optional limits and a log of operations. */
export class TestStore implements MessageStore {
  readonly durability = "memory" as const;
  readonly map = new Map<string, Uint8Array>();
  readonly log: string[] = [];
  constructor(readonly maxEntries = Infinity) {}
  get size(): number {
    return this.map.size;
  }
  get bytes(): number {
    let n = 0;
    for (const [k, v] of this.map) n += k.length + v.length;
    return n;
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    if (!this.map.has(key) && this.map.size >= this.maxEntries) throw new StoreFullError("maxEntries", this.maxEntries);
    this.log.push(`put ${key}`);
    this.map.set(key, value.slice());
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.map.get(key);
  }
  async del(key: string): Promise<void> {
    this.log.push(`del ${key}`);
    this.map.delete(key);
  }
  async *iterate(): AsyncIterable<[string, Uint8Array]> {
    for (const entry of [...this.map]) yield entry;
  }
  async close(): Promise<void> {}
}
