// MQTT.js's call shapes of the client: publish, subscribe, unsubscribe and end return a promise,
// or, given a callback, the client and call back once with the outcome. MqttClient (client.ts)
// extends this class with the promise forms (the ...Async methods) that do the work.
import { Emitter } from "./emitter.js";
import type { SubackError } from "./errors.js";
import type {
  DoneCallback, EndOptions, MqttClientEvents, PublishCallback, PublishOptions, SubscribeCallback, SubscribeFilters, SubscribeOptions, SubscriptionGrant, UnsubscribeOptions,
} from "./options.js";

export abstract class MqttJsClient extends Emitter<MqttClientEvents> {
  abstract publishAsync(topic: string, payload: string | Buffer | Uint8Array, options?: PublishOptions): Promise<void>;
  abstract subscribeAsync(filters: SubscribeFilters, options?: SubscribeOptions): Promise<SubscriptionGrant[]>;
  abstract unsubscribeAsync(filters: string | string[], options?: UnsubscribeOptions): Promise<void>;
  abstract endAsync(force?: boolean, options?: EndOptions): Promise<void>;
  /** `onOutcome` (QoS 1/2): told of the message's outcome instead of the promise, which then resolves once it is stored. */
  protected abstract publishWithOutcome(topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions, onOutcome?: PublishCallback): Promise<void>;

  /**
   * Publishes a message. QoS 0: resolves when handed to the WebSocket (queued in memory while
   * offline). QoS 1/2: written to the store first; resolves when the broker acknowledges it
   * (PUBACK / PUBCOMP) or, while offline, as soon as it is stored (it is sent on reconnect).
   *
   * With a callback (MQTT.js's form), it returns the client and the callback is called once with
   * the message's one outcome: QoS 0 handed over; QoS 1/2 acknowledged by the broker (also for a
   * message published offline: the callback waits for the acknowledgement after the reconnect),
   * or the error (refused, expired, store full, client ended).
   */
  publish(topic: string, payload: string | Buffer | Uint8Array, options?: PublishOptions): Promise<void>;
  publish(topic: string, payload: string | Buffer | Uint8Array, callback: PublishCallback): this;
  publish(topic: string, payload: string | Buffer | Uint8Array, options: PublishOptions | undefined, callback: PublishCallback): this;
  publish(topic: string, payload: string | Buffer | Uint8Array, options?: PublishOptions | PublishCallback, callback?: PublishCallback): Promise<void> | this {
    if (typeof options === "function") [callback, options] = [options, undefined];
    if (!callback) return this.publishAsync(topic, payload, options);
    const done = callback;
    // QoS 1/2: the promise resolves once the message is stored; the entry tells `done` of its outcome.
    const later = (options?.qos ?? 0) > 0;
    this.publishWithOutcome(topic, payload, options ?? {}, later ? done : undefined).then(
      () => later || done(),
      (error: Error) => done(error),
    );
    return this;
  }

  /**
   * Subscribes to one or more filters. Resolves with the grants once the broker answers; rejects
   * with SubackError when it refuses one. A filter's `onMessage` handler, if given, is called for
   * messages whose topic matches it (as well as the 'message' event). With a callback (MQTT.js's
   * form), returns the client and calls back with (error or null, grants).
   */
  subscribe(filters: SubscribeFilters, options?: SubscribeOptions): Promise<SubscriptionGrant[]>;
  subscribe(filters: SubscribeFilters, callback: SubscribeCallback): this;
  subscribe(filters: SubscribeFilters, options: SubscribeOptions | undefined, callback: SubscribeCallback): this;
  subscribe(filters: SubscribeFilters, options?: SubscribeOptions | SubscribeCallback, callback?: SubscribeCallback): Promise<SubscriptionGrant[]> | this {
    if (typeof options === "function") [callback, options] = [options, undefined];
    if (!callback) return this.subscribeAsync(filters, options);
    const done = callback;
    this.subscribeAsync(filters, options).then(
      (grants) => done(null, grants),
      (error: Error) => done(error, (error as Partial<SubackError>).grants),
    );
    return this;
  }

  /**
   * Unsubscribes; drops the filters' handlers at once. Rejects with UnsubackError on an MQTT 5
   * failure code. With a callback (MQTT.js's form), returns the client and calls back with the error, if any.
   */
  unsubscribe(filters: string | string[], options?: UnsubscribeOptions): Promise<void>;
  unsubscribe(filters: string | string[], callback: DoneCallback): this;
  unsubscribe(filters: string | string[], options: UnsubscribeOptions | undefined, callback: DoneCallback): this;
  unsubscribe(filters: string | string[], options?: UnsubscribeOptions | DoneCallback, callback?: DoneCallback): Promise<void> | this {
    if (typeof options === "function") [callback, options] = [options, undefined];
    return withCallback(this, this.unsubscribeAsync(filters, options), callback);
  }

  /**
   * Ends the client: no more reconnects. Graceful (default): waits up to endTimeout for the
   * publishes still being stored and, while connected, for in-flight messages, then sends
   * DISCONNECT and closes the WebSocket with 1000. force: drops the connection at once.
   * Unacknowledged QoS 1/2 messages stay in the store (their promises reject with
   * ClientEndedError); QoS 0 still queued are dropped. A store the client opened itself (given
   * as a path) is closed, releasing its lock; a store object given stays open (its owner closes it).
   * With a callback (MQTT.js's forms: `end(cb)`, `end(force, cb)`, `end(force, options, cb)`,
   * `end(options, cb)`), returns the client and calls back once ended.
   */
  end(force?: boolean, options?: EndOptions): Promise<void>;
  end(callback: DoneCallback): this;
  end(force: boolean, callback: DoneCallback): this;
  end(options: EndOptions, callback: DoneCallback): this;
  end(force: boolean | undefined, options: EndOptions | undefined, callback: DoneCallback): this;
  end(...args: Array<boolean | EndOptions | DoneCallback | undefined>): Promise<void> | this {
    const callback = typeof args.at(-1) === "function" ? (args.pop() as DoneCallback) : undefined;
    const [first, second] = args;
    const options = (typeof first === "object" ? first : second) as EndOptions | undefined;
    return withCallback(this, this.endAsync(first === true, options ?? {}), callback);
  }

}

/** MQTT.js's callback form of a call: the client, with `callback` told of the outcome; else the promise itself. */
function withCallback<Client>(client: Client, promise: Promise<void>, callback: DoneCallback | undefined): Promise<void> | Client {
  if (!callback) return promise;
  promise.then(() => callback(), (error: Error) => callback(error));
  return client;
}

