// Typed errors of the MQTT client: each has a stable `code` and a message a person can act on.

import type { SubscriptionGrant } from "./options.js";

/** Base class: every error the MQTT client raises on purpose. */
export class MqttError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
const V4_CONNACK: Record<number, [name: string, hint: string]> = {
  1: ["Unacceptable protocol version", "the broker does not speak this MQTT version; try protocolVersion 4 or 5"],
  2: ["Identifier rejected", "the broker refused the client id; use another clientId (1-23 alphanumerics always work)"],
  3: ["Server unavailable", "the broker is up but the MQTT service is not; retry later"],
  4: ["Bad user name or password", "check username and password"],
  5: ["Not authorized", "the broker refused this client; check the credentials and the broker's ACL"],
};

/** MQTT 5 reason codes (§2.4) that are failures (>= 0x80), by value. */
export const REASON_NAMES: Record<number, string> = {
  0x80: "Unspecified error",
  0x81: "Malformed Packet",
  0x82: "Protocol Error",
  0x83: "Implementation specific error",
  0x84: "Unsupported Protocol Version",
  0x85: "Client Identifier not valid",
  0x86: "Bad User Name or Password",
  0x87: "Not authorized",
  0x88: "Server unavailable",
  0x89: "Server busy",
  0x8a: "Banned",
  0x8b: "Server shutting down",
  0x8c: "Bad authentication method",
  0x8d: "Keep Alive timeout",
  0x8e: "Session taken over",
  0x8f: "Topic Filter invalid",
  0x90: "Topic Name invalid",
  0x91: "Packet Identifier in use",
  0x92: "Packet Identifier not found",
  0x93: "Receive Maximum exceeded",
  0x94: "Topic Alias invalid",
  0x95: "Packet too large",
  0x96: "Message rate too high",
  0x97: "Quota exceeded",
  0x98: "Administrative action",
  0x99: "Payload format invalid",
  0x9a: "Retain not supported",
  0x9b: "QoS not supported",
  0x9c: "Use another server",
  0x9d: "Server moved",
  0x9e: "Shared Subscriptions not supported",
  0x9f: "Connection rate exceeded",
  0xa0: "Maximum connect time",
  0xa1: "Subscription Identifiers not supported",
  0xa2: "Wildcard Subscriptions not supported",
};

export function reasonName(code: number): string {
  return REASON_NAMES[code] ?? `reason code 0x${code.toString(16)}`;
}

const V5_CONNACK_HINTS: Record<number, string> = {
  0x84: "the broker does not speak MQTT 5; try protocolVersion 4",
  0x85: "the broker refused the client id; use another clientId",
  0x86: "check username and password",
  0x87: "the broker refused this client; check the credentials and the broker's ACL",
  0x88: "retry later",
  0x89: "retry later",
  0x8a: "this client is banned by the broker",
  0x8c: "the broker does not accept this authenticationMethod",
  0x95: "the CONNECT packet is too large for the broker (a long will payload?)",
  0x9c: "connect to the server the broker names in serverReference",
  0x9d: "connect to the server the broker names in serverReference",
  0x9f: "too many connection attempts; back off",
};

/** The broker refused the connection (MQTT 3.1.1 return code 1-5, or an MQTT 5 reason code >= 0x80). */
export class ConnackError extends MqttError {
  /** The return code (v3.1.1) or reason code (v5). */
  readonly returnCode: number;
  readonly reason: string;
  constructor(
    returnCode: number,
    readonly protocolVersion: 4 | 5,
    readonly reasonString?: string,
  ) {
    // A broker that does not speak MQTT 5 answers a v5 CONNECT with a 3.1.1 CONNACK (return code 1).
    const [reason, hint] =
      protocolVersion === 5 && returnCode >= 0x80
        ? [reasonName(returnCode), V5_CONNACK_HINTS[returnCode] ?? "see the broker's log"]
        : (V4_CONNACK[returnCode] ?? [`return code ${returnCode}`, "see the broker's log"]);
    super("EDGEWS_MQTT_CONNACK", `the broker refused the connection: ${reason} (${returnCode})${reasonString ? `: ${reasonString}` : ""}; ${hint}`);
    this.returnCode = returnCode;
    this.reason = reason;
  }
}

/** The broker refused a subscription (SUBACK 0x80, or an MQTT 5 reason code >= 0x80). */
export class SubackError extends MqttError {
  constructor(
    readonly filter: string,
    readonly reasonCode: number,
    readonly granted: number[],
    /** Every filter of the SUBSCRIBE with its grant or failure code, when known. */
    readonly grants?: SubscriptionGrant[],
  ) {
    super("EDGEWS_MQTT_SUBACK", `the broker refused the subscription to "${filter}": ${reasonName(reasonCode)} (0x${reasonCode.toString(16)}); check the broker's ACL and the filter`);
  }
}

/** The broker refused an unsubscription (MQTT 5 UNSUBACK reason code >= 0x80). */
export class UnsubackError extends MqttError {
  constructor(
    readonly filter: string,
    readonly reasonCode: number,
  ) {
    super("EDGEWS_MQTT_UNSUBACK", `the broker refused to unsubscribe "${filter}": ${reasonName(reasonCode)} (0x${reasonCode.toString(16)})`);
  }
}

/** The broker refused a QoS 1/2 message (MQTT 5 PUBACK/PUBREC reason code >= 0x80); it was removed from the store. */
export class PublishError extends MqttError {
  constructor(
    readonly topic: string,
    readonly reasonCode: number,
    readonly reasonString?: string,
  ) {
    super("EDGEWS_MQTT_PUBLISH", `the broker refused the message to "${topic}": ${reasonName(reasonCode)} (0x${reasonCode.toString(16)})${reasonString ? `: ${reasonString}` : ""}; check the broker's ACL and quotas`);
  }
}

/** A topic name or filter breaks MQTT §4.7. */
export class InvalidTopicError extends MqttError {
  constructor(
    readonly topic: string,
    readonly kind: "name" | "filter",
    why: string,
  ) {
    super("EDGEWS_MQTT_INVALID_TOPIC", `invalid topic ${kind} ${JSON.stringify(topic.length > 80 ? topic.slice(0, 80) + "…" : topic)}: ${why}`);
  }
}

/** A packet is larger than the broker's Maximum Packet Size (MQTT 5 CONNACK); it was not sent. */
export class PacketTooLargeError extends MqttError {
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super("EDGEWS_MQTT_PACKET_TOO_LARGE", `the packet is ${size} bytes but the broker accepts at most ${max}; send a smaller payload`);
  }
}

/** The offline queue for QoS 0 messages is full and nothing older could be dropped for this one. */
export class OfflineQueueFullError extends MqttError {
  constructor(
    readonly limit: "maxMessages" | "maxBytes",
    readonly max: number,
  ) {
    super("EDGEWS_MQTT_OFFLINE_QUEUE_FULL", `the offline queue is full (${limit} ${max}) and holds no older QoS 0 message to drop; wait for the connection or raise offlineQueue.${limit}`);
  }
}

/** A QoS 0 message queued while offline was dropped to make room for a newer one. */
export class MessageDroppedError extends MqttError {
  constructor(readonly topic: string) {
    super("EDGEWS_MQTT_MESSAGE_DROPPED", `the QoS 0 message to "${topic}" was dropped from the full offline queue to make room for a newer one; use QoS 1 for messages that must arrive`);
  }
}

/** A message's Message Expiry Interval passed before it could be sent; it was removed from the store. */
export class MessageExpiredError extends MqttError {
  constructor(readonly topic: string) {
    super("EDGEWS_MQTT_MESSAGE_EXPIRED", `the message to "${topic}" expired (messageExpiryInterval) before it could be sent`);
  }
}

/** All 65,535 packet identifiers are taken by unacknowledged messages and requests. */
export class PacketIdsExhaustedError extends MqttError {
  constructor() {
    super("EDGEWS_MQTT_PACKET_IDS_EXHAUSTED", "all 65535 packet identifiers are in use by unacknowledged messages; wait for acknowledgements before publishing more");
  }
}

/** The client was ended (`end()`) before the operation completed; stored QoS 1/2 messages stay in the store. */
export class ClientEndedError extends MqttError {
  constructor(what = "the operation") {
    super("EDGEWS_MQTT_CLIENT_ENDED", `the client was ended before ${what} completed; QoS 1/2 messages stay in the store and are resent by the next client using it`);
  }
}

/** The broker broke the protocol (or sent something this client cannot accept); the connection is dropped. */
export class MqttProtocolError extends MqttError {
  constructor(
    message: string,
    /** The MQTT 5 reason code sent in our DISCONNECT. */
    readonly reasonCode = 0x82,
  ) {
    super("EDGEWS_MQTT_PROTOCOL", message);
  }
}

/** No CONNACK within connectTimeout, or no PINGRESP within the ping timeout. */
export class MqttTimeoutError extends MqttError {
  constructor(message: string) {
    super("EDGEWS_MQTT_TIMEOUT", message);
  }
}
