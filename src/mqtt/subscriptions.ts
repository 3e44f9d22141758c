// The client's subscriptions and its SUBSCRIBE/UNSUBSCRIBE requests: the filters the broker
// granted (made again after a reconnect without a session), the requests awaiting their ack
// (sent now, or after the next CONNACK), and the MQTT 5 Subscription Identifiers. It talks to
// the client through SubscriptionsHost; client.ts owns the transport and the events.
import type { IConnackPacket, ISubackPacket, ISubscribePacket, ISubscription, IUnsubackPacket, IUnsubscribePacket } from "mqtt-packet";
import { ClientEndedError, SubackError, UnsubackError } from "./errors.js";
import type { MessageHandlers } from "./handlers.js";
import type { SubscribeFilters, SubscribeOptions, SubscriptionGrant, UnsubscribeOptions } from "./options.js";
import type { PacketIds } from "./packet-ids.js";
import { validateTopicFilter } from "./topics.js";

/** What the subscriptions need of the client. */
export interface SubscriptionsHost {
  readonly protocolVersion: 4 | 5;
  readonly handlers: MessageHandlers;
  readonly ids: PacketIds;
  readonly connected: boolean;
  readonly ending: boolean;
  send(packet: ISubscribePacket | IUnsubscribePacket): void;
  emitError(error: Error): void;
  /** A request was answered: the client may now be drained. */
  checkDrained(): void;
}

interface PendingRequest {
  packet: ISubscribePacket | IUnsubscribePacket;
  resolve(packet: ISubackPacket | IUnsubackPacket): void;
  reject(error: Error): void;
  /** Sent on the current connection (else it goes out after the next CONNACK). */
  sent: boolean;
}

interface Subscription {
  options: ISubscription;
  properties?: ISubscribePacket["properties"];
}

export class Subscriptions {
  readonly #host: SubscriptionsHost;
  readonly #requests = new Map<number, PendingRequest>();
  readonly #subscriptions = new Map<string, Subscription>();
  #nextSubId = 1;
  #subIdsAvailable = true;

  constructor(host: SubscriptionsHost) {
    this.#host = host;
  }

  /** How many (un)subscribe requests await their ack. */
  get pendingCount(): number {
    return this.#requests.size;
  }

  async subscribe(filters: SubscribeFilters, options: SubscribeOptions): Promise<SubscriptionGrant[]> {
    const list: Array<[string, SubscribeOptions]> =
      typeof filters === "string" ? [[filters, options]] : Array.isArray(filters) ? filters.map((f) => [f, options]) : Object.entries(filters);
    if (list.length === 0) throw new TypeError("subscribe needs at least one topic filter");
    for (const [filter] of list) validateTopicFilter(filter);
    if (this.#host.ending) throw new ClientEndedError("subscribing");
    const v5 = this.#host.protocolVersion === 5;
    const subscriptions: ISubscription[] = list.map(([topic, o]) => {
      const qos = o.qos ?? 0;
      if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`qos must be 0, 1 or 2, not ${String(qos)}`);
      return v5 ? { topic, qos, nl: o.nl ?? false, rap: o.rap ?? false, rh: o.rh ?? 0 } : { topic, qos };
    });
    let properties = v5 ? (options as SubscribeOptions).properties : undefined;
    // MQTT 5: tag each SUBSCRIBE with a Subscription Identifier, so that a message the broker
    // sends once per overlapping subscription reaches each handler once, through its own filter.
    if (v5 && properties?.subscriptionIdentifier === undefined && this.#subIdsAvailable) {
      const id = this.#nextSubId;
      this.#nextSubId = id >= 268_435_455 ? 1 : id + 1;
      properties = { ...properties, subscriptionIdentifier: id };
    }
    const allHandlers = this.#host.handlers;
    const subscriptionId = properties?.subscriptionIdentifier;
    if (subscriptionId !== undefined) allHandlers.rememberSubscriptionId(subscriptionId, subscriptions.map((s) => s.topic));
    const handlers = list.map(([, o]) => o.onMessage);
    const dropHandlers = (refused: (i: number) => boolean) => {
      for (const [i, handler] of handlers.entries()) if (handler && refused(i)) allHandlers.remove(subscriptions[i]!.topic, handler);
    };
    for (const [i, handler] of handlers.entries()) if (handler) allHandlers.add(subscriptions[i]!.topic, handler);
    let suback: ISubackPacket;
    try {
      suback = (await this.#request({ cmd: "subscribe", subscriptions, ...(properties ? { properties } : {}) })) as ISubackPacket;
    } catch (error) {
      dropHandlers(() => true);
      throw error;
    }
    const granted = suback.granted as number[];
    const grants = subscriptions.map((s, i) => ({ topic: s.topic, qos: granted[i] ?? 0x80 }));
    for (const [i, s] of subscriptions.entries()) {
      if (grants[i]!.qos < 0x80) this.#subscriptions.set(s.topic, { options: s, ...(properties ? { properties } : {}) });
    }
    const failed = grants.find((g) => g.qos >= 0x80);
    if (failed) {
      dropHandlers((i) => grants[i]!.qos >= 0x80);
      throw new SubackError(failed.topic, failed.qos, granted, grants);
    }
    return grants;
  }

  async unsubscribe(filters: string | string[], options: UnsubscribeOptions): Promise<void> {
    const list = typeof filters === "string" ? [filters] : filters;
    if (list.length === 0) throw new TypeError("unsubscribe needs at least one topic filter");
    for (const filter of list) validateTopicFilter(filter);
    if (this.#host.ending) throw new ClientEndedError("unsubscribing");
    for (const filter of list) {
      this.#subscriptions.delete(filter);
      this.#host.handlers.removeAll(filter);
    }
    const properties = this.#host.protocolVersion === 5 ? options.properties : undefined;
    const unsuback = (await this.#request({ cmd: "unsubscribe", unsubscriptions: list, ...(properties ? { properties } : {}) })) as IUnsubackPacket;
    const codes = (unsuback.granted ?? []) as number[];
    const index = codes.findIndex((code) => code >= 0x80);
    if (index >= 0) throw new UnsubackError(list[index]!, codes[index]!);
  }

  /** Sends a SUBSCRIBE/UNSUBSCRIBE now, or after the next CONNACK; resolves with its ack. */
  #request(packet: ISubscribePacket | IUnsubscribePacket): Promise<ISubackPacket | IUnsubackPacket> {
    return new Promise((resolve, reject) => {
      const messageId = this.#host.ids.allocate();
      const request: PendingRequest = { packet: { ...packet, messageId }, resolve, reject, sent: false };
      this.#requests.set(messageId, request);
      if (this.#host.connected) {
        request.sent = true;
        this.#host.send(request.packet);
      }
    });
  }

  /**
   * Connected: without a session (and with `resubscribe`), makes the subscriptions again; then
   * sends the requests not yet sent on this connection.
   */
  connected(connack: IConnackPacket, resubscribe: boolean): void {
    this.#subIdsAvailable = connack.properties?.subscriptionIdentifiersAvailable !== false;
    // The broker kept no subscriptions: make them again (requests already pending go out below).
    if (!connack.sessionPresent && resubscribe) this.#resubscribe();
    for (const request of this.#requests.values()) {
      if (request.sent) continue;
      request.sent = true;
      this.#host.send(request.packet);
    }
  }

  /** The connection closed: pending requests go out again after the next CONNACK. */
  disconnected(): void {
    for (const request of this.#requests.values()) request.sent = false;
  }

  /** The client ended: every pending request rejects. */
  ended(): void {
    for (const request of this.#requests.values()) request.reject(new ClientEndedError(request.packet.cmd));
    this.#requests.clear();
  }

  #resubscribe(): void {
    const v5 = this.#host.protocolVersion === 5;
    for (const [filter, sub] of this.#subscriptions) {
      let properties = v5 ? sub.properties : undefined;
      if (properties?.subscriptionIdentifier !== undefined && !this.#subIdsAvailable) {
        const { subscriptionIdentifier: _unavailable, ...rest } = properties;
        properties = rest;
      }
      this.#request({ cmd: "subscribe", subscriptions: [sub.options], ...(properties ? { properties } : {}) }).then(
        (suback) => {
          const code = (suback.granted as number[])[0] ?? 0x80;
          if (code >= 0x80) {
            this.#subscriptions.delete(filter);
            this.#host.emitError(new SubackError(filter, code, suback.granted as number[]));
          }
        },
        (error: Error) => {
          if (!(error instanceof ClientEndedError)) this.#host.emitError(error);
        },
      );
    }
  }

  /** A SUBACK/UNSUBACK: settles the request it answers (one of another kind, or unknown, is ignored). */
  onAck(packet: ISubackPacket | IUnsubackPacket): void {
    const id = packet.messageId!;
    const request = this.#requests.get(id);
    const expected = packet.cmd === "suback" ? "subscribe" : "unsubscribe";
    if (!request || request.packet.cmd !== expected) return;
    this.#requests.delete(id);
    this.#host.ids.release(id);
    // MQTT 5 UNSUBACK carries reason codes in `granted`; 3.1.1 has none.
    request.resolve(packet);
    this.#host.checkDrained();
  }
}
