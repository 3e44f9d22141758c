// ws's tests that inspect ws's private internals, which edgews does not have (and should not
// imitate): excluded from the count, each with its reason. Only the internals issue 13 names
// count: `_receiver`, `_req`, `_socket` (edgews's public equivalent is `ws.socket`),
// `_closeTimer`, `kListener`, EMPTY_BUFFER identity, `instanceof` ws's internal event classes,
// `generateMask`. Tests reading other private fields stay counted: `_server`, `_state` and
// `_redirects` are read through edgews's public equivalents (compat.cjs). Full mocha titles, as
// of ws a2f4e7c0 (8.21.0); the runner says which titles a checkout doesn't have.
'use strict';

module.exports = [
  {
    title: "WebSocket #ctor options accepts the receiver limit options",
    reason: "reads ws's private `_receiver` (its frame parser's state)",
  },
  {
    title: "WebSocket #ctor options honors the `generateMask` option",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; uses ws's `generateMask` option (ws's masking internals)",
  },
  {
    title: "WebSocket #ctor options honors the `closeTimeout` option",
    reason: "reads ws's private `_closeTimer`",
  },
  {
    title: "WebSocket Attributes `bufferedAmount` takes into account the data in the socket queue",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket Events emits an 'error' event if an error occurs (1/2)",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Events emits the 'error' event only once (1/2)",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket Events emits the 'error' event only once (2/2)",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket Events does not emit 'error' after 'close'",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket Events does not re-emit `net.Socket` errors",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection establishing fails if the Upgrade header field value cannot be read",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing close event is raised when server closes connection",
    reason: "expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection establishing uses the first url userinfo when following redirects",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When moving away from a secure context If there is no 'redirect' event listener drops the `auth` option",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When moving away from a secure context If there is no 'redirect' event listener drops the Authorization and Cookie headers",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When moving away from a secure context If there is at least one 'redirect' event listener does not drop any headers by default",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is no 'redirect' event listener drops the `auth` option",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is no 'redirect' event listener drops the Authorization, Cookie and Host headers (1/4)",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is no 'redirect' event listener drops the Authorization, Cookie and Host headers (2/4)",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is no 'redirect' event listener drops the Authorization, Cookie and Host headers (3/4)",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is no 'redirect' event listener drops the Authorization, Cookie and Host headers (4/4)",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Connection establishing When the redirect host is different If there is at least one 'redirect' event listener does not drop any headers by default",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket #pause pauses the socket",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket #resume resumes the socket",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket #send works when the `data` argument is falsy",
    reason: "expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket #send honors the `mask` option",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket #close sends the close status code only when necessary",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket #close sets a timer for the closing handshake to complete",
    reason: "reads ws's private `_closeTimer`",
  },
  {
    title: "WebSocket WHATWG API emulation doesn't remove listeners added with `on`",
    reason: "reads ws's private `kListener` symbol on listeners",
  },
  {
    title: "WebSocket WHATWG API emulation supports the `addEventListener` method",
    reason: "reads ws's private `kListener` symbol on listeners",
  },
  {
    title: "WebSocket WHATWG API emulation doesn't return listeners added with `addEventListener`",
    reason: "reads ws's private `kListener` symbol on listeners",
  },
  {
    title: "WebSocket WHATWG API emulation doesn't remove listeners added with `addEventListener`",
    reason: "reads ws's private `kListener` symbol on listeners",
  },
  {
    title: "WebSocket WHATWG API emulation supports the `removeEventListener` method",
    reason: "reads ws's private `kListener` symbol on listeners",
  },
  {
    title: "WebSocket WHATWG API emulation wraps text data in a `MessageEvent`",
    reason: "checks `instanceof` ws's internal event classes (lib/event-target.js)",
  },
  {
    title: "WebSocket WHATWG API emulation receives a `CloseEvent` when server closes (1000)",
    reason: "checks `instanceof` ws's internal event classes (lib/event-target.js)",
  },
  {
    title: "WebSocket WHATWG API emulation receives a `CloseEvent` when server closes (4000)",
    reason: "checks `instanceof` ws's internal event classes (lib/event-target.js)",
  },
  {
    title: "WebSocket WHATWG API emulation sets `target` and `type` on events",
    reason: "checks `instanceof` ws's internal event classes (lib/event-target.js)",
  },
  {
    title: "WebSocket Request headers excludes default ports from host header",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket Request headers honors the `finishRequest` option",
    reason: "reads ws's private `_req` (the handshake's http.ClientRequest)",
  },
  {
    title: "WebSocket permessage-deflate consumes all received data when connection is closed (1/2)",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket permessage-deflate consumes all received data when connection is closed (2/2)",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket permessage-deflate handles a close frame received while compressing data",
    reason: "reads ws's private `_receiver` (its frame parser's state)",
  },
  {
    title: "WebSocket permessage-deflate #close can be used while data is being decompressed",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket permessage-deflate #send calls the callback if the socket is closed prematurely",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "WebSocket permessage-deflate #terminate can be used while data is being decompressed",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection close closes cleanly after simultaneous errors (1/2)",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection close closes cleanly after simultaneous errors (2/2)",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection close resumes the socket when an error occurs",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocket Connection close resumes the socket when the close frame is received",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`; expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "WebSocketServer #ctor options accepts the receiver limit options",
    reason: "reads ws's private `_receiver` (its frame parser's state)",
  },
  {
    title: "WebSocketServer #ctor options honors the `closeTimeout` option",
    reason: "reads ws's private `_closeTimer`",
  },
  {
    title: "createWebSocketStream The returned stream buffers writes if `readyState` is `CONNECTING`",
    reason: "expects ws's own EMPTY_BUFFER object (identity), not any empty Buffer",
  },
  {
    title: "createWebSocketStream The returned stream errors if a write occurs when `readyState` is `CLOSING`",
    reason: "reads ws's private `_receiver` (its frame parser's state)",
  },
  {
    title: "createWebSocketStream The returned stream makes `_final()` a noop if no socket is assigned",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream reemits errors",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream does not swallow errors that may occur while destroying",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream does not suppress the throwing behavior of 'error' events",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream handles backpressure (2/3)",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream handles backpressure (3/3)",
    reason: "reads ws's private `_receiver` (its frame parser's state); reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
  {
    title: "createWebSocketStream The returned stream resumes the socket if `readyState` is `CLOSING`",
    reason: "reads ws's private `_socket`; edgews's public equivalent is `ws.socket`",
  },
];
