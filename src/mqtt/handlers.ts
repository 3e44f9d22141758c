// The per-filter message handlers given to `subscribe`, and which of them a received PUBLISH
// reaches: those whose filter matches its topic (wildcards, shared subscriptions), or, when the
// broker tagged it with MQTT 5 Subscription Identifiers, those of the tagged subscriptions only.
import type { IPublishPacket } from "mqtt-packet";
import type { MessageHandler } from "./options.js";
import { matches } from "./topics.js";

export class MessageHandlers {
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  /** MQTT 5 Subscription Identifier → the filters whose current subscription carries it. */
  readonly #subIdFilters = new Map<number, Set<string>>();
  /** Filter → the Subscription Identifier of its current subscription (a new SUBSCRIBE replaces it). */
  readonly #filterSubId = new Map<string, number>();
  readonly #onError: (error: Error) => void;

  /** `onError` is told of each exception a handler throws (the other handlers still run). */
  constructor(onError: (error: Error) => void) {
    this.#onError = onError;
  }

  add(filter: string, handler: MessageHandler): void {
    let set = this.#handlers.get(filter);
    if (!set) this.#handlers.set(filter, (set = new Set()));
    set.add(handler);
  }

  remove(filter: string, handler: MessageHandler): void {
    const set = this.#handlers.get(filter);
    set?.delete(handler);
    if (set?.size === 0) this.#handlers.delete(filter);
  }

  /** Drops every handler of `filter` and its Subscription Identifier (it was unsubscribed). */
  removeAll(filter: string): void {
    this.#handlers.delete(filter);
    this.#forgetSubscriptionId(filter);
  }

  /** Records that the SUBSCRIBE tagged with Subscription Identifier `id` carried `filters`. */
  rememberSubscriptionId(id: number, filters: string[]): void {
    for (const filter of filters) this.#forgetSubscriptionId(filter);
    let set = this.#subIdFilters.get(id);
    if (!set) this.#subIdFilters.set(id, (set = new Set()));
    for (const filter of filters) {
      this.#filterSubId.set(filter, id);
      set.add(filter);
    }
  }

  /** The number of Subscription Identifiers still in use (bounded by the subscribed filters). */
  get subscriptionIdCount(): number {
    return this.#subIdFilters.size;
  }

  #forgetSubscriptionId(filter: string): void {
    const id = this.#filterSubId.get(filter);
    if (id === undefined) return;
    this.#filterSubId.delete(filter);
    const set = this.#subIdFilters.get(id);
    set?.delete(filter);
    if (set?.size === 0) this.#subIdFilters.delete(id);
  }

  /** Calls the handlers that `packet` reaches. */
  dispatch(packet: IPublishPacket): void {
    if (this.#handlers.size === 0) return;
    const payload = packet.payload as Buffer;
    // With Subscription Identifiers, this copy is for those subscriptions only.
    const ids = packet.properties?.subscriptionIdentifier;
    let only: Set<string> | undefined;
    if (ids !== undefined) {
      only = new Set();
      for (const id of typeof ids === "number" ? [ids] : ids) for (const filter of this.#subIdFilters.get(id) ?? []) only.add(filter);
    }
    for (const [filter, handlers] of this.#handlers) {
      if (only ? !only.has(filter) : !matches(filter, packet.topic)) continue;
      for (const handler of handlers) {
        try {
          handler(packet.topic, payload, packet);
        } catch (error) {
          this.#onError(error as Error);
        }
      }
    }
  }
}
