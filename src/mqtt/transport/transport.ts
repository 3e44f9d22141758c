// What the MQTT client needs from its connection: bytes both ways, over a WebSocket that
// negotiated the "mqtt" subprotocol or (in Node) plain TCP / TLS, chosen by the URL's scheme as
// MQTT.js does. In Node that is edgews's WebSocket or a socket (node.ts, socket.ts); in a page,
// the browser's own WebSocket (browser.ts). The browser build (package.json "exports" condition
// "browser") puts browser.ts where the client imports node.ts; nothing else in the client differs.
import type { ClientOptions } from "../../client/connect.js";

/** readyState values, as the WebSocket API numbers them. */
export const OPEN = 1;
export const CLOSED = 3;

export interface TransportHandlers {
  onOpen(): void;
  /** One binary WebSocket message (a Buffer, which mqtt-packet's parser takes). */
  onMessage(data: Buffer): void;
  onError(error: Error): void;
  /** Once, when the connection is gone (closed, failed, or terminated). */
  onClose(): void;
}

export interface MqttTransport {
  readonly readyState: number;
  /** The subprotocol the server accepted ("" before open or if none). */
  readonly protocol: string;
  /** Bytes handed to `send` and not yet written out. */
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  /** Closes with the WebSocket close handshake. */
  close(code?: number): void;
  /** Drops the connection now; `onClose` follows. */
  terminate(): void;
  /**
   * Calls `listener` once, when the bytes waiting may have gone down (or the connection closed).
   * Absent where the platform gives no such signal (the browser's WebSocket): the client polls.
   */
  onceDrained?(listener: () => void): void;
}

type Pem = string | Uint8Array;

/**
 * TLS options of an mqtts: connection, as node:tls takes them (MQTT.js takes them at the top
 * level of its options). Declared here, not taken from @types/node, so that a page's project
 * type-checks the client's options without Node's types.
 */
export interface TlsOptions {
  ca?: Pem | Pem[];
  cert?: Pem | Pem[];
  key?: Pem | Pem[];
  passphrase?: string;
  pfx?: Pem | Pem[];
  rejectUnauthorized?: boolean;
  servername?: string;
  ALPNProtocols?: string[];
}

export interface TransportOptions {
  /** edgews's WebSocket client options (headers, TLS, proxy…); Node only. */
  ws?: ClientOptions;
  /** TLS options of an mqtts: connection; Node only. */
  tls?: TlsOptions;
}

export const WEBSOCKET_SCHEMES: ReadonlySet<string> = new Set(["ws:", "wss:"]);
export const TCP_SCHEMES: ReadonlySet<string> = new Set(["mqtt:", "tcp:"]);
export const TLS_SCHEMES: ReadonlySet<string> = new Set(["mqtts:", "ssl:", "tls:"]);

/** Throws a TypeError naming the schemes the client takes unless `url` has one of them. */
export function checkScheme(url: URL): void {
  if (WEBSOCKET_SCHEMES.has(url.protocol) || TCP_SCHEMES.has(url.protocol) || TLS_SCHEMES.has(url.protocol)) return;
  throw new TypeError(`an MQTT URL needs one of the schemes ws:, wss:, mqtt:, tcp:, mqtts:, ssl:, tls:, not ${url.protocol}`);
}
