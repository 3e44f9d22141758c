// Stands in for ws's public exports (index.js and lib/stream.js) inside a copy of ws's checkout,
// so that ws's own tests run against edgews. The runner (run.mjs) puts it in place; EDGEWS_DIST
// names edgews's built dist/index.js. ws's other lib files stay as they are: the tests use them
// to build frames (Sender) and compare constants.
//
// Beyond the exports, what compat.cjs lists (and the runner prints): ws's private `_server`,
// `_state` and `_redirects` read through edgews's public equivalents ("mapped internals"), and a server whose
// options default to ws's behaviour where edgews differs on purpose.
'use strict';

const edgews = require(process.env.EDGEWS_DIST);
const { mappedInternals, serverDefaults } = require('./edgews-compat.cjs');

const { WebSocket, createWebSocketStream } = edgews;

const defaults = Object.fromEntries(serverDefaults.map(({ option, value }) => [option, value]));

class WebSocketServer extends edgews.WebSocketServer {
  constructor(options, callback) {
    super({ ...defaults, ...options }, callback);
  }
}

const classes = { WebSocket, WebSocketServer };
for (const { name, on, read } of mappedInternals) {
  Object.defineProperty(classes[on].prototype, name, {
    get() {
      return read(this);
    }
  });
}

// ws's index.js hangs its public API on the WebSocket class.
WebSocket.WebSocket = WebSocket;
WebSocket.Server = WebSocketServer;
WebSocket.WebSocketServer = WebSocketServer;
WebSocket.createWebSocketStream = createWebSocketStream;

module.exports = WebSocket;
