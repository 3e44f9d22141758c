// edgews/mqtt: an MQTT 3.1.1 / 5.0 client over WebSocket (edgews's in Node, the page's in a browser build).
export * from "./api.js";
// The crash-safe FileStore (Node only).
export * from "./store/file-store.js";
export { StoreLockedError } from "./store/lock-file.js";
