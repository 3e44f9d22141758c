// The client's public option, argument and event types, apart from the client so that reading
// what can be configured does not mean reading how the client works. Types only: no code.
import type { IAuthPacket, IConnackPacket, IConnectPacket, IDisconnectPacket, IPublishPacket, ISubscribePacket, IUnsubscribePacket, Packet, QoS, UserProperties } from "mqtt-packet";
import type { ClientOptions } from "../client/connect.js";
import type { MessageStore, StoreLimits } from "./store/store.js";
import type { ReconnectOptions } from "./backoff.js";
import type { OfflineQueueOptions } from "./offline-queue.js";
import type { TlsOptions } from "./transport/transport.js";

export type { QoS, UserProperties };

export interface WillOptions {
  topic: string;
  payload: string | Buffer | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  properties?: NonNullable<IConnectPacket["will"]>["properties"];
}

/**
 * The client's options. The URL's scheme picks the transport, as in MQTT.js: ws:/wss: (a
 * WebSocket, subprotocol "mqtt"), mqtt:/tcp: (plain TCP, default port 1883), mqtts:/ssl:/tls:
 * (TLS, default port 8883; `ca`, `cert`, `key`, `rejectUnauthorized`, `servername` here, as
 * MQTT.js takes them, or any TLS option in `tls`).
 */
export interface MqttClientOptions extends Pick<TlsOptions, "ca" | "cert" | "key" | "rejectUnauthorized" | "servername"> {
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
  /**
   * MQTT.js's form of `reconnect` (not both): ms between reconnects, 0 for none. Ours jitters:
   * each delay is random in [0, reconnectPeriod] (see ReconnectOptions), so a fleet spreads out.
   */
  reconnectPeriod?: number;
  /** Subscribe again after a reconnect when the broker kept no session. Default true. */
  resubscribe?: boolean;
  /**
   * Where QoS 1/2 messages and QoS 2 state are kept, to survive a restart (a FileStore) or be
   * handed to a later client (a MemoryStore). A path: the client opens a FileStore there (default
   * options) and `end()` closes it, releasing its lock; a store object stays its owner's to close.
   * Default: none; the client holds them in its own memory only, as bytes, within `outgoingLimits`.
   */
  store?: MessageStore | string;
  /**
   * MQTT.js's names for `store` (not both): our client keeps incoming QoS 2 state and outgoing
   * messages in one MessageStore, so each given must be that same store. MQTT.js's own Store
   * objects (packets, callbacks, createStream) are refused with a TypeError.
   */
  incomingStore?: MessageStore;
  outgoingStore?: MessageStore;
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
  /**
   * Bytes waiting to be written (in the client and the WebSocket) above which publishes wait:
   * a QoS 0 publish's promise resolves once it is handed over below this mark, QoS 1/2 messages
   * stay in the session. Default 256 KiB.
   */
  highWaterMark?: number;
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
  /** TLS options of an mqtts: connection (override the top-level `ca`, `cert`…). */
  tls?: TlsOptions;
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
  /**
   * Called for each message whose topic matches this filter (as well as the 'message' event),
   * from the SUBSCRIBE until it is unsubscribed or refused.
   */
  onMessage?: MessageHandler;
}

/** One filter, several with the same options, or each with its own. */
export type SubscribeFilters = string | string[] | Record<string, SubscribeOptions>;

export interface SubscriptionGrant {
  topic: string;
  /** The granted QoS, or the failure code. */
  qos: number;
}

/** MQTT.js's callback of unsubscribe and end: the error, if any. */
export type DoneCallback = (error?: Error) => void;

export interface UnsubscribeOptions {
  /** MQTT 5 UNSUBSCRIBE properties. */
  properties?: IUnsubscribePacket["properties"];
}

export interface EndOptions {
  /** MQTT 5 DISCONNECT properties. */
  properties?: IDisconnectPacket["properties"];
  /** MQTT 5 DISCONNECT reason code. Default 0 (normal disconnection). */
  reasonCode?: number;
}

/** MQTT.js's publish callback: no error once the message's outcome is success (see `publish`). */
export type PublishCallback = (error?: Error) => void;
/** MQTT.js's subscribe callback: the grants, and the error if the broker refused a filter. */
export type SubscribeCallback = (error: Error | null, granted?: SubscriptionGrant[]) => void;

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
  /**
   * The broker acknowledged (PUBACK / PUBCOMP) a QoS 1/2 message whose promise had already
   * resolved when it was stored (published offline, or left in the store by an earlier client).
   */
  acknowledged: [packet: IPublishPacket];
  /**
   * Such a message was given up: refused by the broker (PublishError, with its reason code),
   * expired before it could be sent (MessageExpiredError) or above the broker's Maximum Packet
   * Size (PacketTooLargeError). Also reported as an 'error'.
   */
  dropped: [packet: IPublishPacket, error: Error];
}
