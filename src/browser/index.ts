// edgews in a browser (package.json "exports" condition "browser" of `edgews`, built into
// dist/browser/index.js): our WebSocket over the page's own, with heartbeat and reconnect.
// The server, and the client's Node options (headers, TLS, proxy, deflate), are Node's.
export { WebSocket, type BrowserWebSocketOptions, type BrowserHeartbeatOptions, type ReconnectDetail } from "./websocket.js";
export type { ReconnectOptions } from "../mqtt/backoff.js";
