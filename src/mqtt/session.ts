// The client's session state, without I/O: outgoing QoS 1/2 messages in flight and waiting (in
// publish order), the in-flight window (receive maximum), incoming QoS 2 ids awaiting PUBREL, and
// topic aliases both ways. The client owns the socket, the timers and the store; it asks this
// object what to send and tells it what arrived.
import type { IConnackPacket, IPublishPacket } from "mqtt-packet";
import { MqttProtocolError } from "./errors.js";
import { PacketIds } from "./packet-ids.js";
import { publishPacket } from "./publish-packet.js";
import { OutState, decodeOut, decodePublish, publishOf, withDup } from "./record.js";
import { RecordQueue, type QueuedRecord } from "./record-queue.js";

export { OutState };

/** How many completed incoming QoS 2 exchanges are remembered to recognise a broker's replay. */
const COMPLETED_KEPT = 1024;

/** FNV-1a over the topic and payload: tells a replayed QoS 2 message from a new one under the same id. */
export function fingerprint(topic: string, payload: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return h >>> 0;
}

/** An outgoing QoS 1/2 message the client has accepted (and stored). */
export interface OutEntry {
  /** Its place in publish order; its store key is outKey(seq). */
  seq: number;
  /** What is in the store: see record.ts. Its PUBLISH is what goes on the wire. */
  record: Uint8Array;
  messageId: number;
  qos: 1 | 2;
  topic: string;
  /** MQTT 5 Message Expiry Interval (seconds), if the message has one. */
  expiry: number | undefined;
  state: OutState;
  /** Sent at least once, on this or an earlier connection (DUP on the next send). */
  sent: boolean;
  createdAt: number;
  /** Called once when the message is acknowledged (no argument) or given up (an error). */
  settle: ((error?: Error) => void) | undefined;
}

/** The entry of `packet` (QoS 1/2 with its id, DUP 0), whose encoded form is `record`. */
export function outEntry(seq: number, packet: IPublishPacket, record: Uint8Array, state: OutState, createdAt: number, sent: boolean): OutEntry {
  return {
    seq,
    record,
    messageId: packet.messageId!,
    qos: packet.qos as 1 | 2,
    topic: packet.topic,
    expiry: packet.properties?.messageExpiryInterval,
    state,
    sent,
    createdAt,
    settle: undefined,
  };
}

/** The entry of a message that waited as bytes (see record.ts for what a record holds). */
function entryOfRecord({ seq, sent, record }: QueuedRecord): OutEntry {
  const { packet, state, createdAt } = decodeOut(record);
  return outEntry(seq, packet, record, state, createdAt, sent);
}

export interface SessionOptions {
  /** Our own cap on messages in flight. Default 20 (Mosquitto's max_inflight_messages default). */
  maxInflight?: number;
  /** The Topic Alias Maximum we announce in CONNECT (aliases the broker may use towards us). Default 0. */
  topicAliasMaximum?: number;
  /**
   * A QoS 2 message leaves the window once its PUBREL is sent, not at PUBCOMP. Right for MQTT
   * 3.1.1, which has no Receive Maximum: what a broker caps is messages awaiting PUBREL
   * (Mosquitto: 20, the excess silently discarded), and the broker reads our PUBREL before any
   * PUBLISH sent after it. MQTT 5 §4.9 counts until PUBCOMP. Default false.
   */
  windowUntilPubrel?: boolean;
  now?: () => number;
}

export class Session {
  readonly ids = new PacketIds();
  readonly #maxInflight: number;
  readonly #ourAliasMax: number;
  readonly #now: () => number;
  /** Sent on this connection and unacknowledged, by packet id, in send order (= publish order). */
  readonly #inflight = new Map<number, OutEntry>();
  /** How many of #inflight are past PUBREC (PUBREL sent, awaiting PUBCOMP). */
  #releasing = 0;
  readonly #windowUntilPubrel: boolean;
  /**
   * Accepted, not sent on this connection yet, in publish order, in two queues merged by `seq`:
   * entries with a publish promise to settle (and those back from flight) as objects, a deque
   * (#waiting from #head); the others (published offline, reloaded) as bytes only (#waitingBytes).
   */
  #waiting: OutEntry[] = [];
  #head = 0;
  readonly #waitingBytes = new RecordQueue();
  /** Bytes of the records of every outgoing entry held. */
  #bytes = 0;
  /** Incoming QoS 2 packet ids we acknowledged with PUBREC and await PUBREL for → message fingerprint. */
  readonly #incoming = new Map<number, number>();
  /** Recently completed incoming QoS 2 ids (PUBCOMP sent) → fingerprint, oldest first, bounded. */
  readonly #completed = new Map<number, number>();
  #online = false;
  #window: number;
  #aliasOutMax = 0;
  #aliasOut = new Map<string, number>();
  #aliasIn = new Map<number, string>();
  /** The broker's Maximum Packet Size (MQTT 5), if it set one. */
  maxPacketSize: number | undefined;

  constructor(options: SessionOptions = {}) {
    this.#maxInflight = Math.max(1, Math.min(65_535, options.maxInflight ?? 20));
    this.#ourAliasMax = options.topicAliasMaximum ?? 0;
    this.#windowUntilPubrel = options.windowUntilPubrel ?? false;
    this.#now = options.now ?? Date.now;
    this.#window = this.#maxInflight;
  }

  get online(): boolean {
    return this.#online;
  }
  /** The in-flight window of this connection: min(maxInflight, the broker's Receive Maximum). */
  get window(): number {
    return this.#window;
  }
  get inflightCount(): number {
    return this.#inflight.size;
  }
  /** Outgoing QoS 1/2 messages held: in flight plus waiting. */
  get outgoingCount(): number {
    return this.#inflight.size + this.#waiting.length - this.#head + this.#waitingBytes.length;
  }
  /** Bytes of the outgoing messages held (their records: see record.ts). */
  get outgoingBytes(): number {
    return this.#bytes;
  }
  get incomingIds(): ReadonlyMap<number, number> {
    return this.#incoming;
  }

  /** The entries held as objects, in flight then waiting: those that may have a publish promise to settle. */
  *entries(): IterableIterator<OutEntry> {
    yield* this.#inflight.values();
    for (let i = this.#head; i < this.#waiting.length; i++) yield this.#waiting[i]!;
  }

  /**
   * A reloaded or new entry: reserves its packet id and queues it behind the others (entries
   * come in rising `seq`). One with no promise to settle is kept as its record's bytes only.
   */
  add(entry: OutEntry): void {
    this.ids.reserve(entry.messageId);
    this.#bytes += entry.record.length;
    if (entry.settle === undefined) this.#waitingBytes.push(entry.seq, entry.messageId, entry.sent, entry.record);
    else this.#waiting.push(entry);
  }

  /** A reloaded incoming QoS 2 id (from the store), with its message fingerprint if known (else -1). */
  holdIncoming(id: number, fingerprint = -1): void {
    this.#incoming.set(id, fingerprint);
  }

  /** CONNACK accepted: take the broker's limits; aliases start afresh on every connection. */
  connected(connack: IConnackPacket): void {
    const props = connack.properties ?? {};
    this.#online = true;
    // MQTT 5 §3.2.2.3.3: the client MUST NOT have more than Receive Maximum QoS 1/2 PUBLISHes in flight.
    this.#window = Math.min(this.#maxInflight, props.receiveMaximum ?? 65_535);
    this.#aliasOutMax = props.topicAliasMaximum ?? 0;
    this.maxPacketSize = props.maximumPacketSize;
    this.#aliasOut = new Map();
    this.#aliasIn = new Map();
    // MQTT 5 §4.3.3 / 3.1.1 §4.1: with no session on the broker, its half of QoS 2 is gone too.
    if (!connack.sessionPresent) {
      this.#incoming.clear();
      this.#completed.clear();
    }
  }

  /** The connection is gone: everything in flight goes back to the front of the queue, in order. */
  disconnected(): void {
    this.#online = false;
    if (this.#inflight.size === 0) return;
    const rest = this.#waiting.slice(this.#head);
    this.#waiting = [...this.#inflight.values(), ...rest];
    this.#head = 0;
    this.#inflight.clear();
    this.#releasing = 0;
  }

  /**
   * Takes waiting entries into flight while online and the window has room, in order. Entries
   * whose Message Expiry Interval passed before they were ever sent come back in `expired`
   * (removed, ids released) instead.
   */
  pump(): { send: OutEntry[]; expired: OutEntry[] } {
    const send: OutEntry[] = [];
    const expired: OutEntry[] = [];
    while (this.#online && this.#windowUsed() < this.#window) {
      const entry = this.#nextWaiting();
      if (!entry) break;
      if (!entry.sent && entry.state === OutState.Publish && this.remainingExpiry(entry) === 0) {
        this.#release(entry);
        expired.push(entry);
        continue;
      }
      this.#inflight.set(entry.messageId, entry);
      if (entry.state === OutState.Pubrel) this.#releasing++;
      send.push(entry);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    return { send, expired };
  }

  /** The in-flight messages that count against the window. */
  #windowUsed(): number {
    return this.#windowUntilPubrel ? this.#inflight.size - this.#releasing : this.#inflight.size;
  }

  /** The entry's PUBREL state is durable and PUBREL goes out now (with windowUntilPubrel, its slot is free). */
  releasing(entry: OutEntry): void {
    if (entry.state === OutState.Pubrel) return;
    entry.state = OutState.Pubrel;
    // Back in the queue (the connection dropped meanwhile): counted when it is next taken into flight.
    if (this.#inflight.get(entry.messageId) === entry) this.#releasing++;
  }

  /** Takes the first waiting entry, of either queue. */
  #nextWaiting(): OutEntry | undefined {
    const object = this.#waiting[this.#head];
    if (object && object.seq < this.#waitingBytes.firstSeq) {
      this.#waiting[this.#head++] = undefined as unknown as OutEntry;
      return object;
    }
    const bytes = this.#waitingBytes.shift();
    return bytes && entryOfRecord(bytes);
  }

  /** Seconds left of the entry's Message Expiry Interval (undefined: none; 0: expired). */
  remainingExpiry(entry: OutEntry): number | undefined {
    const interval = entry.expiry;
    if (interval === undefined) return undefined;
    const elapsed = Math.floor((this.#now() - entry.createdAt) / 1000);
    return Math.max(0, interval - elapsed);
  }

  /**
   * The PUBLISH to put on the wire for an in-flight entry: DUP if sent before, the remaining
   * expiry, and a topic alias when the broker allows them. Mostly the stored bytes as they are;
   * a packet to encode when expiry or an alias (MQTT 5) changes them.
   */
  wirePublish(entry: OutEntry): Uint8Array | IPublishPacket {
    const remaining = this.remainingExpiry(entry);
    if (remaining === undefined && !this.#aliases(entry.topic)) {
      const publish = publishOf(entry.record);
      return entry.sent ? withDup(publish) : publish;
    }
    const packet = decodePublish(publishOf(entry.record), 5);
    packet.dup = entry.sent;
    if (remaining !== undefined) packet.properties = { ...packet.properties, messageExpiryInterval: Math.max(1, remaining) };
    return this.applyAlias(packet);
  }

  /** Whether applyAlias would give `topic` an alias now. */
  #aliases(topic: string): boolean {
    return this.#aliasOutMax > 0 && (this.#aliasOut.has(topic) || this.#aliasOut.size < this.#aliasOutMax);
  }

  /**
   * Uses or establishes an outgoing topic alias (first-come: the first topicAliasMaximum
   * distinct topics of a connection get one, later ones are sent in full).
   */
  applyAlias(packet: IPublishPacket): IPublishPacket {
    if (this.#aliasOutMax === 0) return packet;
    const existing = this.#aliasOut.get(packet.topic);
    if (existing !== undefined) return publishPacket(packet, { topic: "", properties: { ...packet.properties, topicAlias: existing } });
    if (this.#aliasOut.size >= this.#aliasOutMax) return packet;
    const alias = this.#aliasOut.size + 1;
    this.#aliasOut.set(packet.topic, alias);
    return publishPacket(packet, { properties: { ...packet.properties, topicAlias: alias } });
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the entry is done; its id is free again. */
  complete(id: number, cmd: "puback" | "pubcomp"): OutEntry | undefined {
    const entry = this.#inflight.get(id);
    if (!entry) return undefined;
    const expected = entry.qos === 1 ? "puback" : "pubcomp";
    if (cmd !== expected || (cmd === "pubcomp" && entry.state !== OutState.Pubrel)) return undefined;
    return this.#removeInflight(entry);
  }

  /**
   * PUBREC for a QoS 2 entry (still in flight). The caller persists the PUBREL state, then calls
   * `releasing(entry)` and sends PUBREL: were PUBREL sent before the state is durable,
   * a crash would make the restarted client resend the PUBLISH under an id the broker has already
   * released, and the broker would deliver it twice. A failure reason code (MQTT 5, >= 0x80) ends
   * the exchange instead: the entry is removed and returned as `failed`.
   */
  received(id: number, reasonCode = 0): { entry: OutEntry; failed: boolean } | undefined {
    const entry = this.#inflight.get(id);
    if (!entry || entry.qos !== 2) return undefined;
    if (reasonCode >= 0x80) return { entry: this.#removeInflight(entry), failed: true };
    return { entry, failed: false };
  }

  #removeInflight(entry: OutEntry): OutEntry {
    this.#inflight.delete(entry.messageId);
    if (entry.state === OutState.Pubrel) this.#releasing--;
    this.#release(entry);
    return entry;
  }

  /** The entry has left the session: its id is free again, its bytes no longer held. */
  #release(entry: OutEntry): void {
    this.ids.release(entry.messageId);
    this.#bytes -= entry.record.length;
  }

  /** Removes an in-flight entry (refused by the broker, too large to send). */
  drop(id: number): OutEntry | undefined {
    const entry = this.#inflight.get(id);
    if (!entry) return undefined;
    return this.#removeInflight(entry);
  }

  /**
   * An incoming QoS 2 PUBLISH. `deliver`: it is new (deliver it once). `persist`: the id was not
   * held, so it must be written to the store before PUBREC. Either way PUBREC follows.
   *
   * §3.3.1.1: "The DUP flag MUST be set to 1 by the Client or Server when it attempts to re-deliver
   * a PUBLISH Packet", so DUP 0 under an id we hold is a new message: the broker lost its state
   * (Mosquitto after a SIGKILL reuses ids it had not persisted) and dropping it would lose it.
   * The converse also happens with a broker that lost state: a DUP 1 resend of a message whose
   * exchange we already completed (the broker never saw our PUBCOMP). A compliant broker never
   * re-delivers after PUBCOMP, so a DUP 1 PUBLISH under a recently completed id with the same
   * fingerprint (topic + payload) is that resend: acknowledged, not delivered again.
   */
  incomingQos2(id: number, dup: boolean, fingerprint: number): { deliver: boolean; persist: boolean } {
    const held = this.#incoming.get(id);
    if (held !== undefined) {
      if (dup) return { deliver: false, persist: false };
      this.#incoming.set(id, fingerprint);
      return { deliver: true, persist: true };
    }
    const replay = dup && this.#completed.get(id) === fingerprint;
    this.#completed.delete(id);
    this.#incoming.set(id, fingerprint);
    return { deliver: !replay, persist: true };
  }

  /** PUBREL for an incoming QoS 2 id: forget it (then PUBCOMP). False if we did not hold it. */
  release(id: number): boolean {
    const fingerprint = this.#incoming.get(id);
    if (fingerprint === undefined) return false;
    this.#incoming.delete(id);
    if (fingerprint >= 0) {
      this.#completed.set(id, fingerprint);
      if (this.#completed.size > COMPLETED_KEPT) this.#completed.delete(this.#completed.keys().next().value!);
    }
    return true;
  }

  /** Forgets a held id without completing it (its store write failed). */
  unhold(id: number): void {
    this.#incoming.delete(id);
  }

  /**
   * Fills in the topic of an incoming PUBLISH that used a topic alias (MQTT 5 §3.3.2.3.4; the
   * packet is ours, fresh from the parser, so in place), recording new mappings.
   * Throws MqttProtocolError (0x94 Topic Alias invalid) for an alias out of range or unknown.
   */
  resolveIncomingAlias(packet: IPublishPacket): IPublishPacket {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined) {
      if (packet.topic === "") throw new MqttProtocolError("the broker sent a PUBLISH with an empty topic and no topic alias", 0x82);
      return packet;
    }
    // "A Topic Alias of 0 is not permitted" and it MUST NOT exceed the Topic Alias Maximum we sent.
    if (alias < 1 || alias > this.#ourAliasMax) throw new MqttProtocolError(`the broker used topic alias ${alias}, outside 1..${this.#ourAliasMax} (our topicAliasMaximum)`, 0x94);
    if (packet.topic !== "") {
      this.#aliasIn.set(alias, packet.topic);
      return packet;
    }
    const topic = this.#aliasIn.get(alias);
    if (topic === undefined) throw new MqttProtocolError(`the broker used topic alias ${alias} before mapping it to a topic`, 0x94);
    packet.topic = topic;
    return packet;
  }
}
