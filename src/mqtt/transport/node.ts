// The MQTT client's platform in Node: its transports, edgews's own WebSocket (ws:, wss:) or a
// TCP / TLS socket (mqtt:, mqtts: ..., socket.ts), both telling the client when a backlog drains
// (`onceDrained`); and the FileStore it opens for a `store` given as a path.
import { WebSocket } from "../../websocket/websocket.js";
import { FileStore } from "../store/file-store.js";
import type { MessageStore } from "../store/store.js";
import { onceDrained, openSocket } from "./socket.js";
import { TLS_SCHEMES, WEBSOCKET_SCHEMES, type MqttTransport, type TransportHandlers, type TransportOptions } from "./transport.js";

/** Opens the transport the scheme of `url` names; a WebSocket offers `protocol`. */
export function openTransport(url: string, protocol: string, handlers: TransportHandlers, options: TransportOptions = {}): MqttTransport {
  const parsed = new URL(url);
  if (!WEBSOCKET_SCHEMES.has(parsed.protocol)) return openSocket(parsed, TLS_SCHEMES.has(parsed.protocol) ? (options.tls ?? {}) : undefined, handlers);
  const ws = new WebSocket(url, protocol, { perMessageDeflate: false, ...options.ws });
  ws.on("open", () => handlers.onOpen());
  ws.on("message", (data) => handlers.onMessage(data));
  ws.on("error", (error) => handlers.onError(error));
  ws.on("close", () => handlers.onClose());
  return {
    get readyState() {
      return ws.readyState;
    },
    get protocol() {
      return ws.protocol;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send: (data) => ws.send(data),
    close: (code) => ws.close(code),
    terminate: () => ws.terminate(),
    onceDrained: (listener) => onceDrained(ws.socket, listener),
  };
}

/** The store of a `store: path` option: a FileStore there, with its default options. */
export function openFileStore(path: string): Promise<MessageStore> {
  return FileStore.open(path);
}
