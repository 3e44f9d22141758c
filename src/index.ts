// edgews: a WebSocket client and server for Node on a WASM core.
export { WebSocket, type BinaryType, type ConnectionSettings, type SendData, type SendOptions, type ControlData, type WriteCallback } from "./websocket/websocket.js";
export { CloseEvent, ErrorEvent, MessageEvent, type MessageData, type WsEventMap } from "./websocket/events.js";
export {
  WebSocketServer, AuthenticationError, type WebSocketServerOptions, type VerifyClient, type VerifyClientCallback, type VerifyClientInfo,
} from "./server/server.js";
export type { ClientOptions } from "./client/connect.js";
export { HandshakeError, HandshakeSyntaxError } from "./handshake/index.js";
export { ProtocolError, CoreError } from "./core/index.js";
export { ControlPayloadTooLongError, InvalidStateError, InvalidCloseError, OverloadedError, PolicyViolationError } from "./protocol/errors.js";
export { MessageTooBigError, InvalidDeflateDataError, InflateTimeExceededError } from "./deflate/permessage-deflate.js";
export { createWebSocketStream } from "./transport/websocket-stream.js";
export { WriteBudget } from "./transport/write-budget.js";
export { ReceiveBudget } from "./protocol/receive-budget.js";
