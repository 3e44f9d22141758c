// MQTT.js helpers for the support tests: connect with a deadline and no reconnects, wait for a message.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import { afterEach } from "vitest";
import { withDeadline } from "../support/interop.js";

/**
 * Connects MQTT.js to `url` without reconnecting; resolves on CONNACK, rejects with the client's
 * error (e.g. `code` 5 or 135 for a refused password) or on a close before CONNACK. With
 * `manualConnect` it resolves with the client right away.
 */
export function connectMqtt(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  if (options.manualConnect) return Promise.resolve(client);
  const connected = new Promise<MqttClient>((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
    client.once("close", () => reject(new Error(`MQTT.js: connection to ${url} closed before CONNACK`)));
  });
  return withDeadline(connected, 10_000, `CONNACK from ${url}`).catch((error) => {
    client.end(true);
    throw error;
  });
}

export interface Message {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** The next message on `topic` that `client` receives, within `ms`. */
export function nextMessage(client: MqttClient, topic: string, ms = 10_000): Promise<Message> {
  let listener: ((topic: string, payload: Buffer, packet: IPublishPacket) => void) | undefined;
  const received = new Promise<Message>((resolve) => {
    listener = (t, payload, packet) => {
      if (t === topic) resolve({ topic: t, payload, packet });
    };
    client.on("message", listener);
  });
  return withDeadline(received, ms, `a message on ${topic}`).finally(() => client.off("message", listener!));
}

/** A `connectMqtt` whose clients are ended (forcibly) after each test of the calling suite. */
export function useMqttClients(): (url: string, options?: IClientOptions) => Promise<MqttClient> {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  return async (url, options = {}) => {
    const c = await connectMqtt(url, options);
    clients.push(c);
    return c;
  };
}
