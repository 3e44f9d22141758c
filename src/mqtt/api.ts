// What edgews/mqtt offers in Node and in browsers alike (index.ts adds the Node-only FileStore,
// browser.ts is the browser build's entry).
export { MqttClient, connect, connectAsync } from "./client.js";
export type {
  MqttClientOptions, MqttClientEvents, PublishOptions, SubscribeOptions, SubscriptionGrant, MessageHandler, WillOptions, QoS, UserProperties,
  PublishCallback, SubscribeCallback, DoneCallback, SubscribeFilters, UnsubscribeOptions, EndOptions,
} from "./options.js";
export type { TlsOptions } from "./transport/transport.js";
export {
  MqttError, ConnackError, SubackError, UnsubackError, PublishError, InvalidTopicError, PacketTooLargeError, OfflineQueueFullError,
  MessageDroppedError, MessageExpiredError, PacketIdsExhaustedError, ClientEndedError, MqttProtocolError, MqttTimeoutError, reasonName,
} from "./errors.js";
export { matches, validateTopicName, validateTopicFilter, topicNameProblem, topicFilterProblem, splitShared } from "./topics.js";
export { Backoff, type ReconnectOptions } from "./backoff.js";
export type { OfflineQueueOptions } from "./offline-queue.js";
// Message stores: the interface, MemoryStore, and the browser's crash-safe IndexedDbStore.
export * from "./store/store.js";
export { StoreClosedError } from "./store/entries.js";
export * from "./store/memory-store.js";
export * from "./store/indexeddb-store.js";
