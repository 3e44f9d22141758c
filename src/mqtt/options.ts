// The client's public option, argument and event types, apart from the client so that reading
// what can be configured does not mean reading how the client works. Types only: no code.
import type { IAuthPacket, IConnackPacket, IConnectPacket, IDisconnectPacket, IPublishPacket, ISubscribePacket, Packet, QoS, UserProperties } from "mqtt-packet";
import type { ClientOptions } from "../client/connect.js";
import type { MessageStore, StoreLimits } from "./store/store.js";
import type { ReconnectOptions } from "./backoff.js";
import type { OfflineQueueOptions } from "./offline-queue.js";

export type { QoS, UserProperties };

export interface WillOptions {
  topic: string;
  payload: string | Buffer | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  properties?: NonNullable<IConnectPacket["will"]>["properties"];
}

export interface MqttClientOptions {
  /** 4 (MQTT 3.1.1) or 5. Default 4. */
  protocolVersion?: 4 | 5;
  /** Default: "edgews_" and 16 random hex digits. */
  clientId?: string;
  /** Clean session (3.1.1) / clean start (5). Default true. */
  clean?: boolean;
  username?: string;
  /** `undefined` means none, so that `password: process.env.X` type-checks under exactOptionalPropertyTypes. */
  password?: string | Buffer | undefined;
  /** Seconds; PINGREQ after this long without sending. 0 disables. Default 60. */
  keepalive?: number;
  /** ms to wait for PINGRESP before the connection counts as dead. Default keepalive/2. */
  pingTimeout?: number;
  will?: WillOptions;
  /** MQTT 5 CONNECT properties. */
  properties?: IConnectPacket["properties"];
  /** ms from opening the WebSocket to CONNACK. Default 30,000. */
  connectTimeout?: number;
  /** Backoff of automatic reconnects, or false for none. */
  reconnect?: ReconnectOptions | false;
  /** Subscribe again after a reconnect when the broker kept no session. Default true. */
  resubscribe?: boolean;
  /**
   * Where QoS 1/2 messages and QoS 2 state are kept, to survive a restart (a FileStore) or be
   * handed to a later client (a MemoryStore). Default: none; the client holds them in its own
   * memory only, as bytes, within `outgoingLimits`.
   */
  store?: MessageStore;
  /**
   * Without a store: most QoS 1/2 messages held unacknowledged (default 100,000) and most bytes
   * of them, encoded (default 64 MiB); beyond either, publish rejects with StoreFullError.
   * (A store has limits of its own.)
   */
  outgoingLimits?: StoreLimits;
  /** Most QoS 1/2 messages in flight (also capped by the broker's Receive Maximum). Default 20. */
  maxInflight?: number;
  /** Bounds of the in-memory queue of QoS 0 messages published while offline. */
  offlineQueue?: OfflineQueueOptions;
  /** ms `end()` waits for in-flight messages before disconnecting anyway. Default 10,000. */
  endTimeout?: number;
  /**
   * Let mqtt-packet encode packet ids and lengths from a table of all 65,536 two-byte numbers
   * (~6 MiB of heap, made on the first packet) instead of allocating them as needed. Default
   * false: memory is scarcer than that allocation on a gateway. Like MQTT.js's `writeCache`, it
   * is mqtt-packet's process-wide setting: the last client made decides.
   */
  writeCache?: boolean;
  /** Options for the WebSocket (headers, TLS, proxy…). permessage-deflate is off unless set here. */
  ws?: ClientOptions;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 PUBLISH properties (topicAlias is managed by the client and ignored here). */
  properties?: IPublishPacket["properties"];
}

export interface SubscribeOptions {
  qos?: QoS;
  /** MQTT 5 No Local. */
  nl?: boolean;
  /** MQTT 5 Retain As Published. */
  rap?: boolean;
  /** MQTT 5 Retain Handling (0, 1, 2). */
  rh?: number;
  /** MQTT 5 SUBSCRIBE properties. */
  properties?: ISubscribePacket["properties"];
}

export interface SubscriptionGrant {
  topic: string;
  /** The granted QoS, or the failure code. */
  qos: number;
}

export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

export interface MqttClientEvents {
  connect: [connack: IConnackPacket];
  reconnect: [];
  offline: [];
  close: [];
  error: [error: Error];
  message: [topic: string, payload: Buffer, packet: IPublishPacket];
  end: [];
  disconnect: [packet: IDisconnectPacket];
  auth: [packet: IAuthPacket];
  packetsend: [packet: Packet];
  packetreceive: [packet: Packet];
}
