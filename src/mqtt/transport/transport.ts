// What the MQTT client needs from its connection: binary messages both ways over a WebSocket
// that negotiated the "mqtt" subprotocol. In Node that is edgews's WebSocket (node.ts); in a page,
// the browser's own (browser.ts). The browser build (package.json "exports" condition "browser")
// puts browser.ts where the client imports node.ts; nothing else in the client differs.

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
}
