// Message stores of the MQTT client: the interface, one in memory, one in IndexedDB (browsers), one in a file (Node only).
export * from "./store.js";
export { StoreClosedError } from "./entries.js";
export * from "./memory-store.js";
export * from "./indexeddb-store.js";
export * from "./file-store.js";
export { StoreLockedError } from "./lock-file.js";
