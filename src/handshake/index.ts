// The HTTP/1.1 WebSocket opening handshake (RFC 6455 §4, RFC 7692 §5) as pure functions: no sockets.
export { HandshakeError, HandshakeSyntaxError, type HandshakeErrorCode, type HandshakeErrorDetails } from "./errors.js";
export { isToken, type HeaderField, type HeaderValue, type IncomingHeaders, type UserHeaders } from "./headers.js";
export { WEBSOCKET_GUID, acceptKey, generateKey, isValidKey } from "./key.js";
export { checkSubprotocols, parseSubprotocols } from "./subprotocols.js";
export { formatExtensions, parseExtensions, type ExtensionOffer, type ExtensionParam } from "./extensions.js";
export {
  PERMESSAGE_DEFLATE,
  acceptPerMessageDeflate,
  checkPerMessageDeflateResponse,
  offerPerMessageDeflate,
  perMessageDeflateExtension,
  type PerMessageDeflateOptions,
  type PerMessageDeflateParams,
} from "./permessage-deflate.js";
export {
  createClientRequest,
  verifyServerResponse,
  type ClientHandshake,
  type ClientRequest,
  type ClientRequestOptions,
  type HandshakeResult,
  type ServerResponse,
} from "./client.js";
export {
  DEFAULT_UPGRADE_LIMITS,
  buildErrorResponse,
  buildUpgradeResponse,
  checkUpgradeRequest,
  upgradeResponseLines,
  type UpgradeAccepted,
  type UpgradeCheck,
  type UpgradeCheckOptions,
  type UpgradeRejected,
  type UpgradeRequest,
  type UpgradeResponseOptions,
} from "./server.js";
