// Runs in the page, bundled by mqtt.test.ts with its import of src/mqtt/browser.ts (for the
// types) resolved as "edgews/mqtt" from the built package, as an app's would be. MQTT
// clients the test drives through `window.harness`, recording what each receives and emits.
// Everything crosses page.evaluate as plain data (strings, numbers).
import { IndexedDbStore, connect, type MqttClient, type MqttClientOptions, type QoS } from "../../src/mqtt/browser.js";

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface ClientState {
  connected: boolean;
  outgoingCount: number;
  queuedCount: number;
  events: string[];
  errors: string[];
  received: Received[];
}

interface Entry {
  client: MqttClient;
  state: Omit<ClientState, "connected" | "outgoingCount" | "queuedCount">;
}

const clients = new Map<string, Entry>();
const decoder = new TextDecoder();

function entry(name: string): Entry {
  const found = clients.get(name);
  if (!found) throw new Error(`no client ${name}`);
  return found;
}

const harness = {
  /** Starts a client (with an IndexedDbStore named `storeName`, if given); does not wait for the connection. */
  async start(name: string, url: string, options: MqttClientOptions & { storeName?: string } = {}): Promise<void> {
    const { storeName, ...rest } = options;
    const store = storeName ? await IndexedDbStore.open(storeName) : undefined;
    const client = connect(url, { ...rest, ...(store ? { store } : {}) });
    const state: Entry["state"] = { events: [], errors: [], received: [] };
    for (const event of ["connect", "close", "offline", "reconnect", "end"] as const) client.on(event, () => state.events.push(event));
    client.on("error", (error) => state.errors.push(`${error.name}: ${error.message}`));
    client.on("message", (topic, payload, packet) => state.received.push({ topic, payload: decoder.decode(payload), qos: packet.qos, retain: packet.retain }));
    clients.set(name, { client, state });
  },
  state(name: string): ClientState {
    const { client, state } = entry(name);
    return { connected: client.connected, outgoingCount: client.outgoingCount, queuedCount: client.queuedCount, ...state };
  },
  async subscribe(name: string, filter: string, qos: QoS): Promise<number[]> {
    return (await entry(name).client.subscribe(filter, { qos })).map((grant) => grant.qos);
  },
  /** Publishes; resolves with "" or the error's message. */
  async publish(name: string, topic: string, payload: string, qos: QoS, retain = false): Promise<string> {
    try {
      await entry(name).client.publish(topic, payload, { qos, retain });
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  },
  async end(name: string, force = false): Promise<void> {
    const { client } = entry(name);
    await client.end(force);
    await client.store?.close();
    clients.delete(name);
  },
  /** put/get/del/iterate on an IndexedDbStore, reopened in between; returns what it saw. */
  async storeRoundTrip(storeName: string): Promise<Record<string, unknown>> {
    const bytes = (text: string) => new TextEncoder().encode(text);
    const listed = async (store: IndexedDbStore) => {
      const out: string[] = [];
      for await (const [key, value] of store.iterate()) out.push(`${key}=${decoder.decode(value)}`);
      return out;
    };
    await IndexedDbStore.destroy(storeName);
    const first = await IndexedDbStore.open(storeName, { maxEntries: 3 });
    const whileOpen = await IndexedDbStore.open(storeName).then(() => "opened twice", (error: Error) => error.message);
    await first.put("b", bytes("1"));
    await first.put("a", bytes("2"));
    await first.put("c", bytes("3"));
    await first.put("b", bytes("4")); // replaced in place: stays first
    let full = "";
    await first.put("d", bytes("5")).catch((error: Error) => (full = error.name));
    await first.del("a");
    const before = { list: await listed(first), size: first.size, bytes: first.bytes };
    await first.close();
    const closed = await first.get("b").then(() => "", (error: Error) => error.name);
    const second = await IndexedDbStore.open(storeName);
    const after = { list: await listed(second), size: second.size, bytes: second.bytes, got: decoder.decode((await second.get("c"))!) };
    await second.close();
    await IndexedDbStore.destroy(storeName);
    return { whileOpen, full, before, closed, after, durability: second.durability };
  },
};

(window as unknown as { harness: typeof harness }).harness = harness;
export type Harness = typeof harness;
