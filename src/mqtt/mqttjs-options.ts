// MQTT.js's names for options that the client has under names of its own, resolved into ours:
// `reconnectPeriod` into `reconnect`, `incomingStore` / `outgoingStore` into `store`. Giving both
// names of one option is a TypeError, so that neither is silently ignored.
import type { ReconnectOptions } from "./backoff.js";
import type { MqttClientOptions } from "./options.js";
import type { MessageStore } from "./store/store.js";

/** The reconnect policy of `options`: false for none. */
export function reconnectOption(options: MqttClientOptions): ReconnectOptions | false | undefined {
  const period = options.reconnectPeriod;
  if (period === undefined) return options.reconnect;
  if (options.reconnect !== undefined) throw new TypeError("give either reconnect or reconnectPeriod (MQTT.js's name), not both");
  if (!Number.isFinite(period) || period < 0) throw new RangeError(`reconnectPeriod must be a number of ms >= 0, not ${String(period)}`);
  if (period === 0) return false;
  // A fixed period as MQTT.js has it, with full jitter kept: each delay random in [0, period].
  return { initialDelay: period, maxDelay: period, factor: 1 };
}

/** The store of `options`: `store`, or the one store named by `incomingStore` / `outgoingStore`. */
export function storeOption(options: MqttClientOptions): MessageStore | string | undefined {
  const named = [options.incomingStore, options.outgoingStore].filter((s) => s !== undefined);
  for (const store of named) {
    if (typeof (store as { createStream?: unknown }).createStream === "function" || typeof store.iterate !== "function") {
      throw new TypeError("incomingStore/outgoingStore must be an edgews MessageStore (MemoryStore, FileStore); MQTT.js's Store objects are not supported");
    }
  }
  if (named.length === 0) return options.store;
  if (options.store !== undefined) throw new TypeError("give either store or incomingStore/outgoingStore (MQTT.js's names), not both");
  if (named.length === 2 && named[0] !== named[1]) {
    throw new TypeError("incomingStore and outgoingStore must be the same MessageStore: the client keeps both halves of its state in one store");
  }
  return named[0];
}
