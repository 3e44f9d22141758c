// edgews/mqtt in a browser (package.json "exports" condition "browser", built into dist/browser/):
// the same client over the page's own WebSocket, stores in memory or IndexedDB.
export * from "./api.js";
