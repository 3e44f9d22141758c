// Stands in for ws's public exports (index.js and lib/stream.js) inside a copy of ws's checkout,
// so that ws's own tests run against edgews. The runner (run.mjs) puts it in place; EDGEWS_DIST
// names edgews's built dist/index.js. ws's other lib files stay as they are: the tests use them
// to build frames (Sender) and compare constants.
'use strict';

const edgews = require(process.env.EDGEWS_DIST);

const { WebSocket, WebSocketServer, createWebSocketStream } = edgews;

// ws's index.js hangs its public API on the WebSocket class.
WebSocket.WebSocket = WebSocket;
WebSocket.Server = WebSocketServer;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.createWebSocketStream = createWebSocketStream;

module.exports = WebSocket;
