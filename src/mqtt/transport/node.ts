// The MQTT client's transport in Node: edgews's own WebSocket, which already has the shape.
import type { ClientOptions } from "../../client/connect.js";
import { WebSocket } from "../../websocket/websocket.js";
import type { MqttTransport, TransportHandlers } from "./transport.js";

/** Opens a WebSocket to `url` offering `protocol`; `options` are edgews's client options. */
export function openTransport(url: string, protocol: string, handlers: TransportHandlers, options?: ClientOptions): MqttTransport {
  const ws = new WebSocket(url, protocol, { perMessageDeflate: false, ...options });
  ws.on("open", () => handlers.onOpen());
  ws.on("message", (data) => handlers.onMessage(data));
  ws.on("error", (error) => handlers.onError(error));
  ws.on("close", () => handlers.onClose());
  return ws;
}
