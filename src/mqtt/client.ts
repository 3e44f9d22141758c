// MQTT 3.1.1 / 5.0 client over a WebSocket (subprotocol "mqtt"), shaped like MQTT.js: ours in
// Node, the browser's in a page (transport/). The session state lives in session.ts (no I/O);
// this file owns the transport, the timers, the
// store writes and the promises. Packets are encoded and decoded by mqtt-packet. Beside it: the
// option and event types (options.ts), MQTT.js's callback forms of the calls (mqttjs-client.ts,
// the base class), the batched output (packet-writer.ts), the subscriptions
// and their (UN)SUBSCRIBE requests (subscriptions.ts), the message handlers of subscriptions
// (handlers.ts) and the ordering of incoming work (ordered-steps.ts).
import mqttPacket from "mqtt-packet";
import type {
  IAuthPacket, IConnackPacket, IConnectPacket, IPublishPacket, Packet, Parser,
} from "mqtt-packet";
import { openFileStore, openTransport } from "./transport/node.js";
import { OPEN, checkScheme, type MqttTransport, type TransportOptions } from "./transport/transport.js";
import { DEFAULT_STORE_LIMITS, StoreFullError, type MessageStore, type StoreLimits } from "./store/store.js";
import { Backoff } from "./backoff.js";
import {
  ClientEndedError, ConnackError, MessageExpiredError, MqttProtocolError, MqttTimeoutError, PacketTooLargeError, PublishError,
} from "./errors.js";
import { MessageHandlers } from "./handlers.js";
import { MqttJsClient } from "./mqttjs-client.js";
import { reconnectOption, storeOption } from "./mqttjs-options.js";
import { OfflineQueue } from "./offline-queue.js";
import { OrderedSteps } from "./ordered-steps.js";
import type {
  EndOptions, MqttClientOptions, PublishCallback, PublishOptions, SubscribeFilters, SubscribeOptions, SubscriptionGrant, UnsubscribeOptions,
} from "./options.js";
import { DEFAULT_HIGH_WATER_MARK, PacketWriter } from "./packet-writer.js";
import { publishPacket } from "./publish-packet.js";
import { ByteArena } from "./arena.js";
import { OutState, decodeOut, decodePublish, encodeOut, idOfInKey, inKey, outKey, publishOf, seqOfKey, setPacketId, withState } from "./record.js";
import { Session, fingerprint, outEntry, type OutEntry } from "./session.js";
import { Subscriptions } from "./subscriptions.js";
import { validateTopicName } from "./topics.js";

/**
 * What publish returns when nothing is left to wait for (QoS 0 handed to the WebSocket, QoS 1/2
 * accepted offline): one settled promise shared by all, not a new one each (an app that keeps
 * the promises of a burst of 10,000 offline publishes would otherwise keep 10,000 objects alive).
 */
const ACCEPTED: Promise<void> = Promise.resolve();

/** Opens a client; it connects (and reconnects) in the background. */
export function connect(url: string | URL, options: MqttClientOptions = {}): MqttClient {
  return new MqttClient(url, options);
}

/**
 * Opens a client and resolves once it is connected. Rejects (and ends the client) if the broker
 * refuses the connection (ConnackError), if the client ends first, or, with `reconnect: false`,
 * if the first attempt fails; otherwise transport failures are retried.
 */
export function connectAsync(url: string | URL, options: MqttClientOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(url, options);
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const fail = (error: Error) => {
      cleanup();
      client.end(true).catch(() => {});
      reject(error);
    };
    const onConnect = () => {
      cleanup();
      resolve(client);
    };
    const onError = (error: Error) => {
      lastError = error;
      if (error instanceof ConnackError) fail(error);
    };
    const onClose = () => {
      if (reconnectOption(options) === false) fail(lastError ?? new MqttTimeoutError(`the connection to ${String(url)} closed before CONNACK`));
    };
    const onEnd = () => {
      cleanup();
      reject(lastError ?? new ClientEndedError("connecting"));
    };
    const cleanup = () => {
      client.off("connect", onConnect);
      client.off("error", onError);
      client.off("close", onClose);
      client.off("end", onEnd);
    };
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
    client.on("end", onEnd);
  });
}

export class MqttClient extends MqttJsClient {
  readonly options: Readonly<MqttClientOptions> & { clientId: string; protocolVersion: 4 | 5 };
  /** The store: given in the options, or opened by the client from the path given (once loaded). */
  #store: MessageStore | undefined;
  /** The store was given as a path: the client opened it, and `end()` closes it. */
  readonly #storePath: string | undefined;
  readonly #url: string;
  /** Without a store: the bounds of what the session holds. */
  readonly #limits: Required<StoreLimits>;
  readonly #session: Session;
  readonly #backoff: Backoff | undefined;
  readonly #offline: OfflineQueue;
  readonly #ready: Promise<void>;
  /** The store is loaded (#ready resolved): publishes need not wait on it. */
  #loaded = false;
  #transport: MqttTransport | undefined;
  #parser: Parser | undefined;
  /** Counts WebSockets; async work checks it to know whether its connection is still the current one. */
  #generation = 0;
  #connected = false;
  #everConnected = false;
  #offlineEmitted = false;
  #ending = false;
  #ended = false;
  #endPromise: Promise<void> | undefined;
  readonly #writer: PacketWriter;
  #lastReceive = 0;
  #keepaliveMs: number;
  #timers = { connect: undefined, reconnect: undefined, keepalive: undefined, ping: undefined, stable: undefined } as Record<
    "connect" | "reconnect" | "keepalive" | "ping" | "stable",
    ReturnType<typeof setTimeout> | undefined
  >;
  #seq = 0;
  #reconnectAt: number | undefined;
  /** Entries whose store.put finished out of order wait here to join the session in publish order. */
  readonly #stored = new Map<number, OutEntry | null>();
  /** Where the records of outgoing messages live while the client holds them. */
  readonly #arena = new ByteArena();
  #nextAdd = 0;
  readonly #handlers = new MessageHandlers((error) => this.#emitError(error));
  readonly #subscriptions = this.#newSubscriptions();
  /** Incoming deliveries wait behind store writes for QoS 2 ids, to keep their order. */
  readonly #incoming = new OrderedSteps((error) => this.#emitError(error));
  /** Incoming QoS 1 PUBLISHes not yet acknowledged (waiting behind store writes). */
  #unackedQos1 = 0;
  /** Called when the session drains (graceful end). */
  #onDrain: (() => void) | undefined;

  constructor(url: string | URL, options: MqttClientOptions = {}) {
    super();
    const parsed = new URL(String(url));
    checkScheme(parsed);
    this.#url = parsed.href;
    const protocolVersion = options.protocolVersion ?? 4;
    if (protocolVersion !== 4 && protocolVersion !== 5) throw new TypeError(`protocolVersion must be 4 (MQTT 3.1.1) or 5, not ${String(protocolVersion)}`);
    this.options = { ...options, protocolVersion, clientId: options.clientId ?? `edgews_${randomHex(8)}` };
    if (options.will) validateTopicName(options.will.topic);
    const store = storeOption(options);
    if (typeof store === "string") this.#storePath = store;
    else this.#store = store;
    const limits = options.outgoingLimits;
    this.#limits = { maxEntries: limits?.maxEntries ?? DEFAULT_STORE_LIMITS.maxEntries, maxBytes: limits?.maxBytes ?? DEFAULT_STORE_LIMITS.maxBytes };
    this.#session = new Session({
      maxInflight: options.maxInflight,
      topicAliasMaximum: protocolVersion === 5 ? options.properties?.topicAliasMaximum : 0,
      windowUntilPubrel: protocolVersion === 4,
    });
    const reconnect = reconnectOption(options);
    this.#backoff = reconnect === false ? undefined : new Backoff(reconnect);
    this.#offline = new OfflineQueue(options.offlineQueue);
    this.#keepaliveMs = (options.keepalive ?? 60) * 1000;
    this.#writer = new PacketWriter({
      protocolVersion,
      maxPacketSize: () => this.#session.maxPacketSize,
      transport: () => this.#transport,
      onSend: (packet) => {
        if (this.listenerCount("packetsend") > 0) this.emit("packetsend", packet instanceof Uint8Array ? decodePublish(packet, protocolVersion) : packet);
      },
      highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      onDrained: () => this.#sendAll(),
    });
    mqttPacket.writeToStream.cacheNumbers = options.writeCache ?? false;
    this.#ready = this.#load();
    this.#ready.then(
      () => {
        this.#loaded = true;
        if (!this.#ending) this.#open();
      },
      (error: Error) => {
        this.#emitError(error);
        void this.end(true);
      },
    );
  }

  /** The store of QoS 1/2 messages: the one given, or (once loaded) the FileStore opened from the path given. */
  get store(): MessageStore | undefined {
    return this.#store;
  }

  /** CONNACK received and the connection is up. */
  get connected(): boolean {
    return this.#connected;
  }
  /** Waiting to reconnect or reconnecting. */
  get reconnecting(): boolean {
    return !this.#connected && !this.#ending && (this.#timers.reconnect !== undefined || (this.#transport !== undefined && this.#everConnected));
  }
  /** The client was ended (or is ending). */
  get disconnecting(): boolean {
    return this.#ending;
  }
  /** QoS 1/2 messages not yet acknowledged (in flight and waiting). */
  get outgoingCount(): number {
    return this.#session.outgoingCount;
  }
  /** Bytes of the QoS 1/2 messages held, encoded. */
  get outgoingBytes(): number {
    return this.#session.outgoingBytes;
  }
  /** QoS 0 messages waiting for a connection. */
  get queuedCount(): number {
    return this.#offline.length;
  }

  // ---- publishing ------------------------------------------------------------------------

  /** When the next automatic reconnect starts (ms since the epoch, as Date.now()), while one is scheduled: for a countdown. */
  get reconnectAt(): number | undefined {
    return this.#timers.reconnect ? this.#reconnectAt : undefined;
  }

  protected publishWithOutcome(topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions, onOutcome?: PublishCallback): Promise<void> {
    let packet: IPublishPacket;
    try {
      packet = this.#newPublish(topic, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (packet.qos === 0) return this.#publishQos0(packet);
    return this.#loaded ? this.#publishStored(packet, onOutcome) : this.#ready.then(() => this.#publishStored(packet, onOutcome));
  }

  /** The application's PUBLISH, checked. */
  #newPublish(topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions): IPublishPacket {
    validateTopicName(topic);
    const qos = options.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`qos must be 0, 1 or 2, not ${String(qos)}`);
    if (this.#ending) throw new ClientEndedError("publishing");
    return publishPacket({
      topic,
      payload: typeof payload === "string" ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      qos,
      retain: options.retain ?? false,
      properties: options.properties && this.options.protocolVersion === 5 ? withoutAlias(options.properties) : undefined,
    });
  }

  /**
   * QoS 1/2: writes the message to the store, then hands it to the session in publish order.
   * No async/await: a store that writes at once (putSync) takes the message in this turn, and
   * otherwise a pending publish holds little beyond the message until the store answers (a
   * suspended async frame apiece grew V8's young generation to its maximum for a burst of
   * 10,000 offline publishes).
   */
  #publishStored(packet: IPublishPacket, onOutcome?: (error?: Error) => void): Promise<void> {
    if (this.#ending) return Promise.reject(new ClientEndedError("publishing"));
    const messageId = this.#session.ids.allocate();
    let entry: OutEntry;
    let storing: Promise<void> | undefined;
    try {
      entry = this.#outEntry(this.#seq, publishPacket(packet, { messageId }), OutState.Publish, Date.now(), false);
      storing = this.#storeEntry(entry);
    } catch (error) {
      this.#session.ids.release(messageId);
      return Promise.reject(error);
    }
    const seq = this.#seq++;
    if (onOutcome) entry.settle = onOutcome;
    const acknowledged = this.#connected && !onOutcome ? new Promise<void>((resolve, reject) => (entry.settle = (error) => (error ? reject(error) : resolve()))) : undefined;
    if (!storing) {
      this.#accept(seq, entry);
      return acknowledged ?? ACCEPTED;
    }
    return storing.then(
      () => {
        this.#accept(seq, entry);
        return acknowledged;
      },
      (error: unknown) => {
        this.#session.ids.release(messageId);
        this.#accept(seq, null);
        throw error;
      },
    );
  }

  /**
   * Writes the entry to the store: at once if the store can (undefined), else the promise of the
   * write. Without a store, only checks that the session has room for it.
   */
  #storeEntry(entry: OutEntry): Promise<void> | undefined {
    if (!this.store) return void this.#checkRoom(entry.record.length);
    if (this.store.putSync) return void this.store.putSync(outKey(entry.seq), entry.record);
    // The record is never modified once made: the store may keep it rather than a copy.
    return this.store.putShared ? this.store.putShared(outKey(entry.seq), entry.record) : this.store.put(outKey(entry.seq), entry.record);
  }

  /** Throws StoreFullError if one more message of `bytes` would exceed the limits (no store). */
  #checkRoom(bytes: number): void {
    const { maxEntries, maxBytes } = this.#limits;
    if (this.#session.outgoingCount + 1 > maxEntries) throw new StoreFullError("maxEntries", maxEntries);
    if (this.#session.outgoingBytes + bytes > maxBytes) throw new StoreFullError("maxBytes", maxBytes);
  }

  /**
   * The store has answered for publish number `seq`: its entry (null if refused) joins the
   * session in publish order, at once when it is next, else once those before it have.
   */
  #accept(seq: number, entry: OutEntry | null): void {
    if (seq === this.#nextAdd) {
      this.#nextAdd++;
      this.#join(entry);
    } else this.#stored.set(seq, entry);
    this.#addStored();
  }

  /** An outgoing entry for `packet` (QoS 1/2, with its id, DUP 0), encoded once into its record (unless given). */
  #outEntry(seq: number, packet: IPublishPacket, state: OutState, createdAt: number, sent: boolean, record?: Uint8Array): OutEntry {
    return outEntry(seq, packet, record ?? encodeOut(packet, state, createdAt, this.options.protocolVersion, this.#arena), state, createdAt, sent);
  }

  publishAsync(topic: string, payload: string | Buffer | Uint8Array, options?: PublishOptions): Promise<void> {
    return this.publishWithOutcome(topic, payload, options ?? {});
  }

  /**
   * QoS 0: handed to the WebSocket at once while connected and not congested. Otherwise it waits
   * in the QoS 0 queue, and its promise with it, until it is handed over after the next CONNACK
   * or once the backlog drains: so an `await publish()` loop yields to the event loop instead
   * of filling the WebSocket until its maxBufferedAmount closes the connection.
   */
  #publishQos0(packet: IPublishPacket): Promise<void> {
    if (this.#connected && this.#offline.length === 0 && !this.#writer.congested) {
      try {
        this.#writer.send(this.#session.applyAlias(packet));
      } catch (error) {
        return Promise.reject(error);
      }
      return ACCEPTED;
    }
    const queued = new Promise<void>((resolve, reject) => this.#offline.push(packet, (error) => (error ? reject(error) : resolve())));
    if (this.#connected) this.#writer.waitForDrain();
    return queued;
  }

  /** Sends what waits, within the high-water mark: QoS 1/2 first (the window allowing), then queued QoS 0. */
  #sendAll(): void {
    this.#pump();
    while (this.#connected && this.#offline.length > 0) {
      if (this.#writer.congested) return this.#writer.waitForDrain();
      const item = this.#offline.shift()!;
      try {
        this.#writer.send(this.#session.applyAlias(this.#offline.sendable(item)));
        item.settle();
      } catch (error) {
        item.settle(error as Error);
      }
    }
  }

  /** Moves stored entries into the session in publish order, then sends what the window allows. */
  #addStored(): void {
    while (this.#stored.has(this.#nextAdd)) {
      const entry = this.#stored.get(this.#nextAdd)!;
      this.#stored.delete(this.#nextAdd++);
      this.#join(entry);
    }
    this.#pump();
  }

  /** Hands an accepted entry (null: the store refused it) to the session. */
  #join(entry: OutEntry | null): void {
    if (!entry) return;
    this.#session.add(entry);
    // Stored after the end: it stays in the store for the next client; its promise must still settle.
    if (this.#ended) settleOnce(entry, new ClientEndedError("the acknowledgement"));
  }

  #pump(): void {
    // Past the high-water mark, messages wait in the session until the backlog drains.
    if (this.#writer.congested) {
      this.#writer.waitForDrain();
      return this.#checkDrained();
    }
    const { send, expired } = this.#session.pump();
    for (const entry of expired) {
      this.#forget(entry);
      this.#conclude(entry, new MessageExpiredError(entry.topic));
    }
    for (const entry of send) {
      if (entry.state === OutState.Pubrel) {
        this.#writer.send({ cmd: "pubrel", messageId: entry.messageId });
        continue;
      }
      try {
        this.#writer.send(this.#session.wirePublish(entry));
        entry.sent = true;
      } catch (error) {
        if (!(error instanceof PacketTooLargeError)) throw error;
        this.#session.drop(entry.messageId);
        this.#forget(entry);
        this.#conclude(entry, error);
      }
    }
    this.#checkDrained();
  }

  // ---- subscriptions ---------------------------------------------------------------------

  subscribeAsync(filters: SubscribeFilters, options?: SubscribeOptions): Promise<SubscriptionGrant[]> {
    return this.#subscriptions.subscribe(filters, options ?? {});
  }

  unsubscribeAsync(filters: string | string[], options?: UnsubscribeOptions): Promise<void> {
    return this.#subscriptions.unsubscribe(filters, options ?? {});
  }

  #newSubscriptions(): Subscriptions {
    const client = this;
    return new Subscriptions({
      get protocolVersion() {
        return client.options.protocolVersion;
      },
      handlers: this.#handlers,
      get ids() {
        return client.#session.ids;
      },
      get connected() {
        return client.#connected;
      },
      get ending() {
        return client.#ending;
      },
      send: (packet) => this.#writer.send(packet),
      emitError: (error) => this.#emitError(error),
      checkDrained: () => this.#checkDrained(),
    });
  }

  // ---- enhanced authentication -----------------------------------------------------------

  /** Sends an MQTT 5 AUTH packet (enhanced authentication, §4.12). Default reason 0x18 Continue authentication. */
  sendAuth(properties: IAuthPacket["properties"], reasonCode = 0x18): void {
    if (this.options.protocolVersion !== 5) throw new TypeError("AUTH packets exist only in MQTT 5");
    if (this.#transport?.readyState !== OPEN) throw new MqttProtocolError("cannot send AUTH: not connected");
    this.#writer.send({ cmd: "auth", reasonCode, ...(properties ? { properties } : {}) });
  }

  // ---- ending ----------------------------------------------------------------------------

  #end(force: boolean, options: EndOptions): Promise<void> {
    if (this.#endPromise) return this.#endPromise;
    this.#ending = true;
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = undefined;
    this.#endPromise = (async () => {
      if (!force) await this.#drain(this.options.endTimeout ?? 10_000);
      const ws = this.#transport;
      if (ws && !force && this.#connected) {
        const v5 = this.options.protocolVersion === 5;
        this.#writer.send({ cmd: "disconnect", ...(v5 ? { reasonCode: options.reasonCode ?? 0 } : {}), ...(v5 && options.properties ? { properties: options.properties } : {}) });
        this.#writer.flush();
        ws.close(1000);
      } else ws?.terminate();
      if (this.#transport) await this.#waitClosed(this.#transport, 5_000);
      this.#finishEnd();
      await this.#closeOwnStore();
    })();
    return this.#endPromise;
  }

  /** Closes the store the client opened from a path (once it has finished opening, if it was). */
  async #closeOwnStore(): Promise<void> {
    if (this.#storePath === undefined) return;
    await this.#ready.catch(() => {});
    await this.#store?.close();
  }

  endAsync(force = false, options: EndOptions = {}): Promise<void> {
    return this.#end(force, options);
  }

  /** Reconnects now: skips the backoff delay (after a clean close, or to retry at once). */
  reconnect(): void {
    if (this.#ending) throw new ClientEndedError("reconnecting");
    if (this.#transport) return;
    clearTimeout(this.#timers.reconnect);
    this.#timers.reconnect = undefined;
    this.emit("reconnect");
    this.#open();
  }

  /**
   * Whether nothing is left to wait for before ending: no publish still being stored and, while
   * connected, no message in flight and no (un)subscribe unanswered.
   */
  #isDrained(): boolean {
    if (this.#nextAdd !== this.#seq) return false;
    return !this.#connected || (this.#session.inflightCount === 0 && this.#subscriptions.pendingCount === 0);
  }

  /** Resolves once #isDrained() (checked at each change by #checkDrained), or after `timeout` ms. */
  #drain(timeout: number): Promise<void> {
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onDrain = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeout);
      this.#onDrain = done;
    });
  }

  #checkDrained(): void {
    if (this.#onDrain && this.#isDrained()) this.#onDrain();
  }

  #waitClosed(ws: MqttTransport, timeout: number): Promise<void> {
    if (this.#transport !== ws) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, timeout);
      const check = () => {
        if (this.#transport === ws) return;
        clearTimeout(timer);
        this.off("close", check);
        resolve();
      };
      this.on("close", check);
      check();
    });
  }

  #finishEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearTimers();
    for (const entry of this.#session.entries()) settleOnce(entry, new ClientEndedError("the acknowledgement"));
    this.#subscriptions.ended();
    for (let item = this.#offline.shift(); item; item = this.#offline.shift()) item.settle(new ClientEndedError("sending the QoS 0 message"));
    queueMicrotask(() => this.emit("end"));
  }

  // ---- connection ------------------------------------------------------------------------

  /** Loads what an earlier process left in the store: unacknowledged messages and QoS 2 ids. */
  async #load(): Promise<void> {
    if (this.#storePath !== undefined) this.#store = await openFileStore(this.#storePath);
    if (!this.store) return;
    const stored: Array<[seq: number, key: string, value: Uint8Array]> = [];
    for await (const [key, value] of this.store.iterate()) {
      const seq = seqOfKey(key);
      if (seq !== undefined) stored.push([seq, key, value]);
      const id = idOfInKey(key);
      if (id !== undefined) this.#session.holdIncoming(id, value.length === 4 ? new DataView(value.buffer, value.byteOffset, 4).getUint32(0) : -1);
    }
    // In publish order (a store iterates in the order keys were first put, which is that order
    // unless the store was filled some other way).
    for (const [seq, key, value] of stored.sort(([a], [b]) => a - b)) this.#reload(key, seq, value);
    this.#nextAdd = this.#seq;
  }

  /** Queues a message an earlier process stored under `key`, to be resent (DUP). */
  #reload(key: string, seq: number, value: Uint8Array): void {
    let record;
    try {
      record = decodeOut(value);
    } catch (error) {
      this.#emitError(new MqttProtocolError(`skipping the unreadable store entry ${key}: ${(error as Error).message}`));
      return;
    }
    const { packet, state, createdAt } = record;
    // Kept as stored unless it was stored by a client of the other MQTT version (encoded afresh).
    const bytes = record.protocolVersion === this.options.protocolVersion ? this.#arena.copy(value) : undefined;
    // Two stored messages with one id cannot both be in flight (a foreign or damaged store):
    // the later one goes out under a new id (allocate reserves it; add finds it reserved).
    if (this.#session.ids.has(packet.messageId)) {
      packet.messageId = this.#session.ids.allocate();
      if (bytes) setPacketId(bytes, packet.messageId);
    }
    packet.dup = false;
    this.#session.add(this.#outEntry(seq, packet, state, createdAt, true, bytes));
    this.#seq = Math.max(this.#seq, seq + 1);
  }

  #open(): void {
    const generation = ++this.#generation;
    const parser = mqttPacket.parser({ protocolVersion: this.options.protocolVersion });
    let transport: MqttTransport;
    try {
      transport = openTransport(this.#url, "mqtt", {
        onOpen: () => {
          if (transport.protocol !== "mqtt") {
            this.#emitError(new MqttProtocolError(`the server at ${this.#url} did not accept the "mqtt" subprotocol`));
            transport.terminate();
            return;
          }
          this.#writer.send(this.#connectPacket());
        },
        onMessage: (data) => {
          this.#lastReceive = Date.now();
          if (this.#parser === parser) parser.parse(data);
        },
        onError: (error) => this.#emitError(error),
        onClose: () => this.#onClose(transport),
      }, this.#transportOptions());
    } catch (error) {
      this.#emitError(error as Error);
      this.#scheduleReconnect();
      return;
    }
    this.#transport = transport;
    this.#parser = parser;
    parser.on("packet", (packet: Packet) => {
      if (generation === this.#generation) this.#onPacket(packet);
    });
    parser.on("error", (error: Error) => {
      if (generation === this.#generation) this.#protocolError(new MqttProtocolError(`malformed packet from the broker: ${error.message}`, 0x81));
    });
    this.#timers.connect = setTimeout(() => {
      this.#emitError(new MqttTimeoutError(`no CONNACK from ${this.#url} within ${this.options.connectTimeout ?? 30_000} ms`));
      transport.terminate();
    }, this.options.connectTimeout ?? 30_000);
  }

  /** MQTT.js takes TLS options at the top level; `tls` is ours. */
  #transportOptions(): TransportOptions {
    const { ws, tls, ca, cert, key, rejectUnauthorized, servername } = this.options;
    const topLevel = Object.fromEntries(Object.entries({ ca, cert, key, rejectUnauthorized, servername }).filter(([, v]) => v !== undefined));
    return { ws, tls: { ...topLevel, ...tls } };
  }

  #connectPacket(): IConnectPacket {
    const o = this.options;
    const v5 = o.protocolVersion === 5;
    const packet: IConnectPacket = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      clean: o.clean ?? true,
      keepalive: o.keepalive ?? 60,
    };
    if (o.username !== undefined) packet.username = o.username;
    if (o.password !== undefined) packet.password = Buffer.from(o.password);
    if (o.will) {
      const { topic, payload, qos, retain, properties } = o.will;
      packet.will = { topic, payload: Buffer.from(payload), qos: qos ?? 0, retain: retain ?? false, ...(v5 && properties ? { properties } : {}) };
    }
    if (v5 && o.properties) packet.properties = o.properties;
    return packet;
  }

  #onClose(transport: MqttTransport): void {
    if (this.#transport !== transport) return;
    this.#transport = undefined;
    this.#parser = undefined;
    this.#writer.discard();
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#clearTimers();
    this.#session.disconnected();
    this.#subscriptions.disconnected();
    this.emit("close");
    this.#checkDrained();
    if (this.#ending) return;
    if (wasConnected || !this.#offlineEmitted) {
      if (!this.#offlineEmitted) this.emit("offline");
      this.#offlineEmitted = true;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#ending || !this.#backoff) return;
    if (this.#backoff.exhausted) {
      this.#emitError(new MqttTimeoutError(`gave up reconnecting to ${this.#url} after ${this.#backoff.attempt} attempts (reconnect.maxAttempts)`));
      void this.end(true);
      return;
    }
    const delay = this.#backoff.next();
    this.#reconnectAt = Date.now() + delay;
    this.#timers.reconnect = setTimeout(() => {
      this.#timers.reconnect = undefined;
      this.#reconnectAt = undefined;
      if (this.#ending) return;
      this.emit("reconnect");
      this.#open();
    }, delay);
  }

  #onPacket(packet: Packet): void {
    if (this.listenerCount("packetreceive") > 0) this.emit("packetreceive", packet);
    // MQTT 5 §3.1.2.11.4: a packet above the Maximum Packet Size we announced is a protocol error.
    const max = this.options.protocolVersion === 5 ? this.options.properties?.maximumPacketSize : undefined;
    if (max !== undefined && packetSize(packet) > max) {
      this.#protocolError(new MqttProtocolError(`the broker sent a ${packetSize(packet)}-byte ${packet.cmd.toUpperCase()}, above our maximumPacketSize ${max}`, 0x95));
      return;
    }
    if (!this.#connected && packet.cmd !== "connack" && packet.cmd !== "auth" && packet.cmd !== "disconnect") {
      this.#protocolError(new MqttProtocolError(`the broker sent ${packet.cmd.toUpperCase()} before CONNACK`));
      return;
    }
    switch (packet.cmd) {
      case "connack":
        return this.#onConnack(packet);
      case "publish":
        return this.#onPublish(packet);
      case "puback":
      case "pubcomp":
        return this.#onAck(packet.cmd, packet.messageId!, packet.reasonCode ?? 0, packet.properties?.reasonString);
      case "pubrec":
        return this.#onPubrec(packet.messageId!, packet.reasonCode ?? 0, packet.properties?.reasonString);
      case "pubrel":
        return this.#onPubrel(packet.messageId!);
      case "suback":
      case "unsuback":
        return this.#subscriptions.onAck(packet);
      case "pingresp":
        clearTimeout(this.#timers.ping);
        this.#timers.ping = undefined;
        return;
      case "disconnect":
        this.emit("disconnect", packet);
        this.#transport?.close(1000);
        return;
      case "auth":
        this.emit("auth", packet);
        return;
      default:
        this.#protocolError(new MqttProtocolError(`the broker sent a ${(packet as Packet).cmd.toUpperCase()} packet, which only clients send`));
    }
  }

  #onConnack(connack: IConnackPacket): void {
    if (this.#connected) return this.#protocolError(new MqttProtocolError("the broker sent a second CONNACK"));
    clearTimeout(this.#timers.connect);
    this.#timers.connect = undefined;
    const v5 = this.options.protocolVersion === 5;
    const code = (v5 ? connack.reasonCode : connack.returnCode) ?? 0;
    if (code !== 0) {
      this.#emitError(new ConnackError(code, this.options.protocolVersion, connack.properties?.reasonString));
      this.#transport?.close(1000);
      return;
    }
    const heldIncoming = [...this.#session.incomingIds.keys()];
    this.#session.connected(connack);
    if (!connack.sessionPresent) for (const id of heldIncoming) this.store?.del(inKey(id)).catch((e: Error) => this.#emitError(e));
    // MQTT 5 §3.2.2.3.14: the client MUST use the Server Keep Alive instead of its own.
    this.#keepaliveMs = (connack.properties?.serverKeepAlive ?? this.options.keepalive ?? 60) * 1000;
    this.#connected = true;
    this.#everConnected = true;
    this.#offlineEmitted = false;
    this.#startKeepalive();
    if (this.#backoff) {
      const backoff = this.#backoff;
      this.#timers.stable = setTimeout(() => backoff.reset(), backoff.resetAfter);
    }
    this.#subscriptions.connected(connack, this.options.resubscribe ?? true);
    // Unacknowledged QoS 1/2 first, in order (DUP, or PUBREL past PUBREC), then the QoS 0 offline queue.
    this.#sendAll();
    this.emit("connect", connack);
  }

  #onPublish(packet: IPublishPacket): void {
    let resolved: IPublishPacket;
    try {
      resolved = this.options.protocolVersion === 5 ? this.#session.resolveIncomingAlias(packet) : packet;
    } catch (error) {
      return this.#protocolError(error as MqttProtocolError);
    }
    const id = packet.messageId!;
    const generation = this.#generation;
    // MQTT 5 §3.3.4: no more than our Receive Maximum QoS 1/2 PUBLISHes unacknowledged (PUBACK / PUBCOMP not sent).
    const receiveMaximum = this.options.protocolVersion === 5 ? (this.options.properties?.receiveMaximum ?? 65_535) : Infinity;
    const newExchange = resolved.qos === 1 || (resolved.qos === 2 && !this.#session.incomingIds.has(id));
    if (newExchange && this.#unackedQos1 + this.#session.incomingIds.size >= receiveMaximum) {
      return this.#protocolError(new MqttProtocolError(`the broker sent more than our receiveMaximum ${receiveMaximum} of unacknowledged QoS 1/2 PUBLISHes`, 0x93));
    }
    if (resolved.qos === 2) {
      const print = fingerprint(resolved.topic, resolved.payload as Buffer);
      const { deliver, persist } = this.#session.incomingQos2(id, packet.dup, print);
      // Persist the id before PUBREC (and before delivering), so a crash cannot make us deliver it twice.
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, print);
      const persisted = persist ? this.store?.put(inKey(id), value) : undefined;
      this.#incoming.run(persisted, (error) => {
        if (error) {
          this.#session.unhold(id);
          this.#emitError(error);
          // Without the id on record we must not acknowledge: drop the connection, the broker resends.
          if (generation === this.#generation) this.#transport?.terminate();
          return;
        }
        if (deliver) this.#deliver(resolved);
        if (generation === this.#generation && this.#connected) this.#writer.send({ cmd: "pubrec", messageId: id });
      });
      return;
    }
    if (resolved.qos === 1) this.#unackedQos1++;
    this.#incoming.run(undefined, () => {
      this.#deliver(resolved);
      if (resolved.qos !== 1) return;
      this.#unackedQos1--;
      if (generation === this.#generation && this.#connected) this.#writer.send({ cmd: "puback", messageId: id });
    });
  }

  #onPubrel(id: number): void {
    const generation = this.#generation;
    const held = this.#session.release(id);
    this.#incoming.run(held ? this.store?.del(inKey(id)) : undefined, (error) => {
      if (error) this.#emitError(error);
      const v5 = this.options.protocolVersion === 5;
      // MQTT 5: PUBCOMP 0x92 "Packet Identifier not found" for an id we did not hold.
      if (generation === this.#generation && this.#connected) this.#writer.send({ cmd: "pubcomp", messageId: id, ...(v5 && !held ? { reasonCode: 0x92 } : {}) });
    });
  }

  #deliver(packet: IPublishPacket): void {
    this.emit("message", packet.topic, packet.payload as Buffer, packet);
    this.#handlers.dispatch(packet);
  }

  /**
   * The one outcome of an accepted QoS 1/2 message: acknowledged (no error), refused, expired or
   * too large. Its promise or callback settles; a message whose promise already resolved when
   * it was stored (published offline, or by an earlier client) is reported by the
   * 'acknowledged' or 'dropped' event instead (a drop also as an 'error').
   */
  #conclude(entry: OutEntry, error?: Error): void {
    if (entry.settle) return settleOnce(entry, error);
    const wanted = error ? this.listenerCount("dropped") > 0 : this.listenerCount("acknowledged") > 0;
    const packet = wanted ? decodePublish(publishOf(entry.record), this.options.protocolVersion) : undefined;
    if (!error) {
      if (packet) this.emit("acknowledged", packet);
      return;
    }
    if (packet) this.emit("dropped", packet, error);
    this.#emitError(error);
  }

  /** The message is done with (acknowledged, refused, expired): it leaves the store. */
  #forget(entry: OutEntry): void {
    this.store?.del(outKey(entry.seq)).catch((error: Error) => this.#emitError(error));
  }

  #onAck(cmd: "puback" | "pubcomp", id: number, reasonCode: number, reasonString: string | undefined): void {
    const entry = this.#session.complete(id, cmd);
    if (!entry) return;
    this.#forget(entry);
    this.#conclude(entry, reasonCode >= 0x80 ? new PublishError(entry.topic, reasonCode, reasonString) : undefined);
    this.#pump();
  }

  #onPubrec(id: number, reasonCode: number, reasonString: string | undefined): void {
    const result = this.#session.received(id, reasonCode);
    if (!result) {
      // Not ours (or already complete): MQTT 5 answers PUBREL 0x92 so the broker can let go.
      if (this.#session.ids.has(id) === false) this.#writer.send({ cmd: "pubrel", messageId: id, ...(this.options.protocolVersion === 5 ? { reasonCode: 0x92 } : {}) });
      return;
    }
    const { entry, failed } = result;
    if (failed) {
      this.#forget(entry);
      this.#conclude(entry, new PublishError(entry.topic, reasonCode, reasonString));
      this.#pump();
      return;
    }
    if (entry.state === OutState.Pubrel) {
      this.#writer.send({ cmd: "pubrel", messageId: id });
      return;
    }
    const generation = this.#generation;
    const record = withState(entry.record, OutState.Pubrel, this.#arena);
    (this.store?.put(outKey(entry.seq), record) ?? Promise.resolve()).then(
      () => {
        entry.record = record;
        this.#session.releasing(entry);
        if (generation !== this.#generation || !this.#connected) return;
        this.#writer.send({ cmd: "pubrel", messageId: id });
        this.#pump(); // MQTT 3.1.1: its window slot is free
      },
      (error: Error) => {
        this.#emitError(error);
        // PUBREL waits for a durable state: retry on the next connection (PUBLISH again, DUP).
        if (generation === this.#generation) this.#transport?.terminate();
      },
    );
  }

  // ---- keepalive -------------------------------------------------------------------------

  #startKeepalive(): void {
    if (this.#keepaliveMs <= 0) return;
    const check = () => {
      // Ping when we have sent nothing (the broker's keepalive) or received nothing (a dead
      // connection can swallow a stream of QoS 0 sends without any error) for a keepalive period.
      const idle = Date.now() - Math.min(this.#writer.lastSend, this.#lastReceive);
      if (idle < this.#keepaliveMs) {
        this.#timers.keepalive = setTimeout(check, this.#keepaliveMs - idle);
        return;
      }
      this.#writer.send({ cmd: "pingreq" });
      if (this.#timers.ping === undefined) {
        const timeout = this.options.pingTimeout ?? Math.max(1000, this.#keepaliveMs / 2);
        const ws = this.#transport;
        this.#timers.ping = setTimeout(() => {
          this.#timers.ping = undefined;
          this.#emitError(new MqttTimeoutError(`no PINGRESP from ${this.#url} within ${timeout} ms: the connection is dead`));
          ws?.terminate();
        }, timeout);
      }
      this.#timers.keepalive = setTimeout(check, this.#keepaliveMs);
    };
    this.#timers.keepalive = setTimeout(check, this.#keepaliveMs);
  }

  #clearTimers(): void {
    for (const name of ["connect", "keepalive", "ping", "stable"] as const) {
      clearTimeout(this.#timers[name]);
      this.#timers[name] = undefined;
    }
  }

  // ---- errors ----------------------------------------------------------------------------

  #protocolError(error: MqttProtocolError): void {
    this.#emitError(error);
    if (this.options.protocolVersion === 5 && this.#connected) {
      try {
        this.#writer.send({ cmd: "disconnect", reasonCode: error.reasonCode });
        this.#writer.flush();
      } catch {
        // The connection is being dropped anyway.
      }
    }
    this.#parser = undefined;
    this.#transport?.terminate();
  }

  #emitError(error: Error): void {
    // Like our WebSocket: without an 'error' listener, failures the client recovers from must not crash the process.
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }
}

function withoutAlias(properties: NonNullable<IPublishPacket["properties"]>): IPublishPacket["properties"] {
  if (properties.topicAlias === undefined) return properties;
  const { topicAlias: _ignored, ...rest } = properties;
  return rest;
}

/** The size of `packet` on the wire: fixed header byte, Remaining Length, and the rest. */
function packetSize(packet: Packet): number {
  const length = packet.length ?? 0;
  return 1 + (length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4) + length;
}

/** `bytes` random bytes as hex (Web Crypto: the same in Node and browsers). */
function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Settles the publish promise of `entry`, if it still has one, exactly once. */
function settleOnce(entry: OutEntry, error?: Error): void {
  const settle = entry.settle;
  entry.settle = undefined;
  settle?.(error);
}
