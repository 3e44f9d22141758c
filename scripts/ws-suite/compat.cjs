// What the shim (shim.cjs) adds to edgews's public exports so that ws's tests run as ws users'
// code would, listed here so that the runner (run.mjs) can say so in its output:
// - mapped internals: private fields of ws's that its tests read, mapped to edgews's public
//   equivalents (counted as tests, not excluded);
// - server defaults: where edgews differs from ws on purpose (a row each of the README's
//   "Differences from ws"), the option that restores ws's behaviour, set by the shim.
'use strict';

const SERVER_STATES = ['running', 'closing', 'closed'];

module.exports = {
  mappedInternals: [
    {
      name: '_server',
      on: 'WebSocketServer',
      to: 'httpServer',
      read: (wss) => wss.httpServer ?? null,
      describe: "WebSocketServer's `_server` is edgews's `httpServer` (the http.Server it takes upgrades from)",
    },
    {
      name: '_state',
      on: 'WebSocketServer',
      to: 'state',
      read: (wss) => SERVER_STATES.indexOf(wss.state),
      describe: "WebSocketServer's `_state` 0/1/2 is edgews's `state` 'running'/'closing'/'closed'",
    },
    {
      name: '_redirects',
      on: 'WebSocket',
      to: 'redirects',
      read: (ws) => ws.redirects,
      describe: "WebSocket's `_redirects` is edgews's `redirects` (redirects followed, and one refused by `maxRedirects`)",
    },
  ],
  serverDefaults: [
    {
      option: 'host',
      value: null,
      describe: '`host: null`: listen on every address, as ws (edgews: 127.0.0.1)',
    },
    {
      option: 'refuseInvalidDeflateOffers',
      value: true,
      describe: '`refuseInvalidDeflateOffers: true`: 400 for an invalid permessage-deflate offer, as ws (edgews: declines it)',
    },
  ],
};
