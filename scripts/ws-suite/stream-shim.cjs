// Stands in for ws's lib/stream.js (its public `createWebSocketStream`) in a copy of ws's
// checkout: the runner (run.mjs) puts it in place. See shim.cjs.
'use strict';

module.exports = require(process.env.EDGEWS_DIST).createWebSocketStream;
