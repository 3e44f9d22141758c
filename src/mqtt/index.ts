// edgews/mqtt: an MQTT 3.1.1 / 5.0 client over edgews's WebSocket.
export { MqttClient, connect, connectAsync } from "./client.js";
export type {
  MqttClientOptions, MqttClientEvents, PublishOptions, SubscribeOptions, SubscriptionGrant, MessageHandler, WillOptions, QoS, UserProperties,
} from "./options.js";
export {
  MqttError, ConnackError, SubackError, UnsubackError, PublishError, InvalidTopicError, PacketTooLargeError, OfflineQueueFullError,
  MessageDroppedError, MessageExpiredError, PacketIdsExhaustedError, ClientEndedError, MqttProtocolError, MqttTimeoutError, reasonName,
} from "./errors.js";
export { matches, validateTopicName, validateTopicFilter, topicNameProblem, topicFilterProblem, splitShared } from "./topics.js";
export { Backoff, type ReconnectOptions } from "./backoff.js";
export type { OfflineQueueOptions } from "./offline-queue.js";
// Message stores: the interface, MemoryStore, and the crash-safe FileStore (Node only).
export * from "./store/index.js";
