// QoS 0 messages published while offline, in memory, bounded by count and bytes.
// Policy when full: drop the OLDEST queued QoS 0 messages to make room (their promises reject
// with MessageDroppedError); if the new message alone exceeds the byte bound, it is refused
// with OfflineQueueFullError. An MQTT 5 message's Message Expiry Interval runs while it waits:
// it leaves with the time left, or with MessageExpiredError once none is. (QoS 1/2 messages are
// not kept here but in the session, and in the store if the client has one.)
import type { IPublishPacket } from "mqtt-packet";
import { MessageDroppedError, MessageExpiredError, OfflineQueueFullError } from "./errors.js";
import { publishPacket } from "./publish-packet.js";

export interface OfflineQueueOptions {
  /** Most messages queued. Default 1000. */
  maxMessages?: number;
  /** Most payload + topic bytes queued. Default 1 MiB. */
  maxBytes?: number;
}

export interface QueuedMessage {
  packet: IPublishPacket;
  bytes: number;
  /** When it was queued (ms, the queue's clock). */
  queuedAt: number;
  settle(error?: Error): void;
}

export class OfflineQueue {
  readonly maxMessages: number;
  readonly maxBytes: number;
  #items: QueuedMessage[] = [];
  #head = 0;
  #bytes = 0;
  readonly #now: () => number;

  /** `now` is the clock that message expiry is measured with (tests pass their own). */
  constructor(options: OfflineQueueOptions = {}, now: () => number = Date.now) {
    this.maxMessages = options.maxMessages ?? 1000;
    this.maxBytes = options.maxBytes ?? 1 << 20;
    this.#now = now;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues `packet`, dropping the oldest to make room; throws OfflineQueueFullError if it cannot fit at all. */
  push(packet: IPublishPacket, settle: (error?: Error) => void): void {
    const bytes = Buffer.byteLength(packet.topic) + (typeof packet.payload === "string" ? Buffer.byteLength(packet.payload) : packet.payload.length);
    if (this.maxMessages < 1) throw new OfflineQueueFullError("maxMessages", this.maxMessages);
    if (bytes > this.maxBytes) throw new OfflineQueueFullError("maxBytes", this.maxBytes);
    while (this.length >= this.maxMessages || this.#bytes + bytes > this.maxBytes) {
      const dropped = this.shift()!;
      dropped.settle(new MessageDroppedError(dropped.packet.topic));
    }
    this.#items.push({ packet, bytes, queuedAt: this.#now(), settle });
    this.#bytes += bytes;
  }

  shift(): QueuedMessage | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as unknown as QueuedMessage;
    this.#bytes -= item.bytes;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /**
   * The PUBLISH to send for `item`: as queued, or with its Message Expiry Interval reduced by the
   * whole seconds it waited. Throws MessageExpiredError when no time is left.
   */
  sendable(item: QueuedMessage): IPublishPacket {
    const interval = item.packet.properties?.messageExpiryInterval;
    if (interval === undefined) return item.packet;
    const waited = Math.floor((this.#now() - item.queuedAt) / 1000);
    if (waited >= interval) throw new MessageExpiredError(item.packet.topic);
    if (waited === 0) return item.packet;
    return publishPacket(item.packet, { properties: { ...item.packet.properties, messageExpiryInterval: interval - waited } });
  }
}
