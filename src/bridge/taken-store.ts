// What the bridge has taken from each device's reliable sequence, kept in the MQTT client's
// own store so that it is written in the same record as the message it covers.
//
// A reliable device message must reach the broker exactly once across a bridge crash at any
// moment. The MQTT client makes a stored QoS 2 message reach the broker once; the link makes a
// device resend whatever the bridge has not acknowledged. What joins the two is the link's
// receive state (device session, next sequence number): it must be on disk exactly when the
// message is. So `TakenStore` wraps the client's MessageStore and, for the message the bridge
// publishes through `publishTaken`, writes the receive state after that message *into the key
// of the message's own record*: one record, one write, one checksum, nothing to tear apart.
// When the client deletes that record (PUBCOMP), the state first goes to a per-link record
// (`link:<id>`), and only once that is written does the message record go. On open, a link's
// state is the newest (by the order `n` the bridge took them in) of its link record and its
// message records. docs/bridge.md walks through every crash point.
import type { MqttClient, PublishOptions } from "../mqtt/index.js";
import type { MessageStore } from "../mqtt/store/store.js";
import type { ReceiveState } from "../link/index.js";
import { BridgeError } from "./errors.js";
import { fromHex, toHex } from "./hex.js";

/** A link's receive state after a message, numbered in the order the bridge took them. */
export interface Taken extends ReceiveState {
  /** The link (the port, by its configured path) the state belongs to. */
  link: string;
  /** Increases with every state taken on this link, across restarts. */
  n: number;
}

const LINK_PREFIX = "link:";
const HELD_PREFIX = "held:";
const OUT_PREFIX = "out:";
const SEPARATOR = "|";

/** The inner key of a tagged record: the client's key, then the state it carries. */
function taggedKey(key: string, taken: Taken): string {
  return [key, encodeURIComponent(taken.link), taken.peerSession, taken.expectedSeq, taken.n].join(SEPARATOR);
}

function parseTaggedKey(innerKey: string): { key: string; taken: Taken } | undefined {
  const [key, link, peerSession, expectedSeq, n] = innerKey.split(SEPARATOR);
  if (key === undefined || link === undefined || n === undefined) return undefined;
  return { key, taken: { link: decodeURIComponent(link), peerSession: Number(peerSession), expectedSeq: Number(expectedSeq), n: Number(n) } };
}

const linkKey = (link: string): string => LINK_PREFIX + encodeURIComponent(link);

/** A reliable message taken before any hello named its device: kept as it came, to be published once one does. */
export interface HeldMessage {
  taken: Taken;
  kind: number;
  body: Uint8Array;
}

const heldKey = (taken: Taken): string => HELD_PREFIX + [encodeURIComponent(taken.link), taken.peerSession, taken.expectedSeq, taken.n].join(SEPARATOR);

function parseHeld(innerKey: string, value: Uint8Array): HeldMessage | undefined {
  const [link, peerSession, expectedSeq, n] = innerKey.slice(HELD_PREFIX.length).split(SEPARATOR);
  if (link === undefined || n === undefined || value.length === 0) return undefined;
  return { taken: { link: decodeURIComponent(link), peerSession: Number(peerSession), expectedSeq: Number(expectedSeq), n: Number(n) }, kind: value[0]!, body: value.slice(1) };
}

/** The hello a device sent in its session `peerSession` (docs/link-protocol.md §7.2), as its body. */
export interface StoredHello {
  peerSession: number;
  body: Uint8Array;
}

/** A link record: the state, and the hello of that device session when the bridge has it. */
interface LinkRecord {
  peerSession: number;
  expectedSeq: number;
  n: number;
  /** Hex of the hello body. */
  hello?: string;
}

function parseLinkRecord(innerKey: string, value: Uint8Array): { taken: Taken; hello?: StoredHello } | undefined {
  let record: LinkRecord;
  try {
    record = JSON.parse(Buffer.from(value).toString("utf8")) as LinkRecord;
  } catch {
    return undefined; // not ours: a record the store's checksum let through is not guessed at
  }
  const { peerSession, expectedSeq, n, hello } = record;
  const taken = { link: decodeURIComponent(innerKey.slice(LINK_PREFIX.length)), peerSession, expectedSeq, n };
  return { taken, ...(hello !== undefined ? { hello: { peerSession, body: fromHex(hello) } } : {}) };
}

/** A write of a link record: the state it covers, and its promise. */
interface LinkWrite {
  n: number;
  written: Promise<void>;
}

export class TakenStore implements MessageStore {
  readonly #inner: MessageStore;
  /** Client keys of tagged records -> their inner key and state. */
  readonly #tagged = new Map<string, { innerKey: string; taken: Taken }>();
  /** Each link's newest state: what a link session loads. */
  readonly #latest = new Map<string, Taken>();
  /** Each link's record on disk, or being written. */
  readonly #linkWrites = new Map<string, LinkWrite>();
  /** Each link's last hello: link records of its device session carry it. */
  readonly #hellos = new Map<string, StoredHello>();
  /** Held messages read back at open, per link, oldest first. */
  readonly #held = new Map<string, HeldMessage[]>();
  /** The state the next new record is tagged with (set only inside publishTaken). */
  #arming: Taken | undefined;
  #armedPut: Promise<void> | undefined;
  /** The client has read the store back: its publishes now call put in the same turn. */
  #clientLoaded = false;
  readonly #loaded: Promise<void>;
  #markLoaded!: () => void;

  /** Wraps `inner` (a FileStore, for durability) and reads back what it holds. */
  static async open(inner: MessageStore): Promise<TakenStore> {
    const store = new TakenStore(inner);
    for await (const [innerKey, value] of inner.iterate()) store.#restore(innerKey, value);
    await store.#forgetPublishedHeld();
    return store;
  }

  /**
   * A held message is published with its own state as tag, and its held record deleted only
   * once that is durable: both on disk means a crash came in between, and it was published.
   */
  async #forgetPublishedHeld(): Promise<void> {
    const published = new Set([...this.#tagged.values()].map(({ taken }) => `${taken.link}\n${taken.n}`));
    for (const [link, held] of this.#held) {
      const waiting = held.filter((h) => !published.has(`${link}\n${h.taken.n}`));
      for (const h of held) if (!waiting.includes(h)) await this.#inner.del(heldKey(h.taken));
      this.#held.set(link, waiting.sort((a, b) => a.taken.n - b.taken.n));
    }
  }

  private constructor(inner: MessageStore) {
    this.#inner = inner;
    this.#loaded = new Promise((resolve) => (this.#markLoaded = resolve));
  }

  get durability(): MessageStore["durability"] {
    return this.#inner.durability;
  }
  /** Entries held, including one `link:` record per link that has completed a message, and held messages. */
  get size(): number {
    return this.#inner.size;
  }
  get bytes(): number {
    return this.#inner.bytes;
  }

  #restore(innerKey: string, value: Uint8Array): void {
    if (innerKey.startsWith(LINK_PREFIX)) {
      const record = parseLinkRecord(innerKey, value);
      if (!record) return;
      const { taken, hello } = record;
      this.#linkWrites.set(taken.link, { n: taken.n, written: Promise.resolve() });
      if (hello) this.#hellos.set(taken.link, hello);
      this.#noteLatest(taken);
      return;
    }
    if (innerKey.startsWith(HELD_PREFIX)) {
      const held = parseHeld(innerKey, value);
      if (!held) return;
      this.#held.set(held.taken.link, [...(this.#held.get(held.taken.link) ?? []), held]);
      this.#noteLatest(held.taken);
      return;
    }
    const tagged = innerKey.includes(SEPARATOR) ? parseTaggedKey(innerKey) : undefined;
    if (!tagged) return;
    this.#tagged.set(tagged.key, { innerKey, taken: tagged.taken });
    this.#noteLatest(tagged.taken);
  }

  #noteLatest(taken: Taken): void {
    const latest = this.#latest.get(taken.link);
    if (!latest || taken.n > latest.n) this.#latest.set(taken.link, taken);
  }

  // ---- the ledger ------------------------------------------------------------------------

  /** Where `link` stands in its device's sequence: what was taken last, stored or not yet. */
  latest(link: string): ReceiveState | undefined {
    const latest = this.#latest.get(link);
    return latest && { peerSession: latest.peerSession, expectedSeq: latest.expectedSeq };
  }

  /** Records that `link` now stands at `state`: numbers it after everything taken before. */
  take(link: string, state: ReceiveState): Taken {
    const taken = { link, peerSession: state.peerSession, expectedSeq: state.expectedSeq, n: (this.#latest.get(link)?.n ?? 0) + 1 };
    this.#latest.set(link, taken);
    return taken;
  }

  /** Writes `taken` to the link's record, for a state that no message record carries (a hello, a new device session). */
  persist(taken: Taken): Promise<void> {
    return this.#writeLinkRecord(taken);
  }

  /**
   * The hello of the device session `peerSession` on `link`: written with the link's next record
   * (the one of the state after the hello), so that a bridge restarted while the device stayed
   * up knows the device without a new hello (the device sends one only when its link goes down).
   */
  noteHello(link: string, peerSession: number, body: Uint8Array): void {
    this.#hellos.set(link, { peerSession, body: body.slice() });
  }

  /** The last hello stored or noted for `link`. */
  hello(link: string): StoredHello | undefined {
    return this.#hellos.get(link);
  }

  /** Writes a message no hello names yet, with its state; resolves when durable. */
  hold(message: HeldMessage): Promise<void> {
    const value = new Uint8Array(1 + message.body.length);
    value[0] = message.kind;
    value.set(message.body, 1);
    return this.#inner.put(heldKey(message.taken), value);
  }

  /** A held message is published and durable (or had nothing to publish): its held record goes. */
  release(message: HeldMessage): void {
    // A failed delete leaves the record: the next open finds it published (its tagged record) or publishes it.
    this.#inner.del(heldKey(message.taken)).catch(() => {});
  }

  /** The held messages of `link` an earlier run left, oldest first (handed out once). */
  takeHeld(link: string): HeldMessage[] {
    const held = this.#held.get(link) ?? [];
    this.#held.delete(link);
    return held;
  }

  /** Resolves once the client has read the store back; publishTaken works from then on. */
  loaded(): Promise<void> {
    return this.#loaded;
  }

  /**
   * Publishes a reliable device message with QoS 2, its record tagged with `taken`. `stored`
   * resolves once the record (message and state in one) is durable: then the device may be
   * acknowledged. `acknowledged` is the publish's own promise (PUBCOMP).
   */
  publishTaken(client: MqttClient, taken: Taken, topic: string, payload: string, options: PublishOptions = {}): { stored: Promise<void>; acknowledged: Promise<void> } {
    if (!this.#clientLoaded || client.store !== this) {
      throw new BridgeError("BRIDGE_NOT_STORED", "publishTaken needs a client whose store is this TakenStore, once it has loaded (await loaded())");
    }
    this.#arming = taken;
    this.#armedPut = undefined;
    let acknowledged: Promise<void>;
    try {
      acknowledged = client.publish(topic, payload, { ...options, qos: 2 });
    } finally {
      this.#arming = undefined;
    }
    const stored = this.#armedPut;
    this.#armedPut = undefined;
    if (stored) return { stored, acknowledged };
    // Refused before the store (a bad topic, an ended client): acknowledged says why.
    const refused = acknowledged.then(() => {
      throw new BridgeError("BRIDGE_NOT_STORED", `the MQTT client accepted a message for ${topic} without storing it`);
    });
    refused.catch(() => {});
    return { stored: refused, acknowledged };
  }

  // ---- MessageStore ----------------------------------------------------------------------

  put(key: string, value: Uint8Array): Promise<void> {
    const tagged = this.#tagged.get(key);
    if (tagged) return this.#inner.put(tagged.innerKey, value); // a state change (PUBREL): the tag stays
    const taken = this.#arming;
    if (!taken || !key.startsWith(OUT_PREFIX)) return this.#inner.put(key, value);
    this.#arming = undefined;
    const innerKey = taggedKey(key, taken);
    this.#tagged.set(key, { innerKey, taken });
    const put = this.#inner.put(innerKey, value);
    // Refused (store full): the client forgets the message, so do we.
    put.catch(() => this.#tagged.delete(key));
    this.#armedPut = put;
    return put;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#inner.get(this.#tagged.get(key)?.innerKey ?? key);
  }

  /**
   * A tagged record leaves only after its state is in the link's record: a crash in between
   * leaves the message record (the client completes it again, harmlessly: PUBREL) and never a
   * state that went back.
   */
  del(key: string): Promise<void> {
    const tagged = this.#tagged.get(key);
    if (!tagged) return this.#inner.del(key);
    this.#tagged.delete(key);
    return this.#writeLinkRecord(tagged.taken).then(() => this.#inner.del(tagged.innerKey));
  }

  async *iterate(): AsyncIterable<[key: string, value: Uint8Array]> {
    for await (const [innerKey, value] of this.#inner.iterate()) {
      if (innerKey.startsWith(LINK_PREFIX) || innerKey.startsWith(HELD_PREFIX)) continue;
      yield [innerKey.includes(SEPARATOR) ? innerKey.slice(0, innerKey.indexOf(SEPARATOR)) : innerKey, value];
    }
    // The client calls iterate once, when it loads; what remains of its load is synchronous
    // (promise callbacks): after a macrotask its publishes reach put in the same turn. (A timer,
    // not setImmediate: pages have none.)
    setTimeout(() => {
      this.#clientLoaded = true;
      this.#markLoaded();
    }, 0);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Writes the link's record unless one covering `taken` is written or being written; resolves when it is durable. */
  #writeLinkRecord(taken: Taken): Promise<void> {
    const current = this.#linkWrites.get(taken.link);
    if (current && current.n >= taken.n) return current.written;
    const hello = this.#hellos.get(taken.link);
    const record: LinkRecord = { peerSession: taken.peerSession, expectedSeq: taken.expectedSeq, n: taken.n };
    if (hello && hello.peerSession === taken.peerSession) record.hello = toHex(hello.body);
    const value = Buffer.from(JSON.stringify(record));
    const write: LinkWrite = { n: taken.n, written: this.#inner.put(linkKey(taken.link), value) };
    this.#linkWrites.set(taken.link, write);
    // A failed write covers nothing: the next one tries again (from the older state on disk).
    write.written.catch(() => {
      if (this.#linkWrites.get(taken.link) === write) this.#linkWrites.set(taken.link, current ?? { n: 0, written: Promise.resolve() });
    });
    return write.written;
  }
}
