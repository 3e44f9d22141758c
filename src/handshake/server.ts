// The server's half of the opening handshake (RFC 6455 §4.2): check the request, build the answer.
import { HandshakeError, quote, type HandshakeErrorCode } from "./errors.js";
import { formatExtensions, parseExtensions, type ExtensionOffer } from "./extensions.js";
import {
  fieldValues,
  hasField,
  hasToken,
  headBytes,
  listValue,
  serializeHead,
  singleValue,
  userHeaderFields,
  type HeaderField,
  type IncomingHeaders,
  type UserHeaders,
} from "./headers.js";
import { acceptKey, isValidKey } from "./key.js";
import { checkPerMessageDeflateOffers } from "./permessage-deflate.js";
import { checkSubprotocols, parseSubprotocols } from "./subprotocols.js";

/** The parts of Node's `http.IncomingMessage` the check reads. */
export interface UpgradeRequest {
  readonly method: string;
  /** "1.1", as `IncomingMessage.httpVersion` has it. */
  readonly httpVersion: string;
  /** The request-target: path and query. */
  readonly url: string;
  /** Lower-cased names. */
  readonly headers: IncomingHeaders;
  /** Node's flat `[name, value, ...]` list; when given, header limits count repeated fields exactly. */
  readonly rawHeaders?: readonly string[];
}

export interface UpgradeCheckOptions {
  /** Bound on the header section: names, values, ": " and CRLF. Default 16 KiB, Node's own. */
  maxHeaderBytes?: number;
  /** Bound on the number of header fields. Default 100, Apache's `LimitRequestFields`. */
  maxHeaderCount?: number;
  /**
   * Allowed `Origin` values (compared case-insensitively), or a predicate. The list only applies to
   * requests that carry an Origin: browsers always send one, and it is browsers' users that the check
   * protects from cross-site pages (RFC 6455 §10.2); any other client could send whatever Origin it
   * liked. The predicate also sees `undefined`, so it can require an Origin.
   */
  origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /**
   * Picks a subprotocol from those the client offered (called only when it offered some), or
   * `false` for none. Same contract as `ws`'s `handleProtocols`.
   */
  handleProtocols?: (protocols: Set<string>, request: UpgradeRequest) => string | false;
  /** Accept only this exact path (the query is ignored), as `ws`'s `path` option. */
  path?: string;
  /**
   * Refuse (400) a request whose permessage-deflate offer has an unknown parameter, an invalid
   * value or a repeated parameter, as `ws` does with compression enabled. Default false: such an
   * offer is declined (RFC 7692 §5) and the connection goes on without it.
   */
  refuseInvalidDeflateOffers?: boolean;
}

export const DEFAULT_UPGRADE_LIMITS = { maxHeaderBytes: 16 * 1024, maxHeaderCount: 100 } as const;

export interface UpgradeAccepted {
  readonly ok: true;
  readonly key: string;
  /** The protocol version the client speaks (Sec-WebSocket-Version). */
  readonly version: 13 | 8;
  /** The selected subprotocol, if any. */
  readonly protocol?: string;
  /** The subprotocols the client offered, in its order of preference. */
  readonly protocols: readonly string[];
  /** The client's extension offers in header order; see `acceptPerMessageDeflate`. */
  readonly requestedExtensions: readonly ExtensionOffer[];
  readonly origin?: string;
  readonly host: string;
  /** The request path without the query. */
  readonly path: string;
}

export interface UpgradeRejected {
  readonly ok: false;
  /** The status to answer with; send it with `buildErrorResponse(status, body, headers)`. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A short text naming the problem. */
  readonly body: string;
  readonly error: HandshakeError;
}

export type UpgradeCheck = UpgradeAccepted | UpgradeRejected;

/**
 * Checks a client's opening handshake (RFC 6455 §4.2.1). RFC 6455 §4.2.1: "If the server, while
 * reading the handshake, finds that the client did not send a handshake that matches the description
 * below ..., the server MUST stop processing the client's handshake and return an HTTP response with
 * an appropriate error code (such as 400 Bad Request)."
 *
 * Checks run in this order, the first failure answering: header limits (431), path (404), method
 * (405), HTTP version, Host, Upgrade (426 when absent), Connection, Sec-WebSocket-Version (426 when
 * another version), Sec-WebSocket-Key, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions, Origin
 * (403). Malformed input answers 400, as does a repeated Host, Upgrade, Sec-WebSocket-Version,
 * Sec-WebSocket-Key or Origin field (counted in `rawHeaders` when given: Node's `headers` hides
 * repeats). The list-valued Connection, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions may repeat.
 */
export function checkUpgradeRequest(request: UpgradeRequest, options: UpgradeCheckOptions = {}): UpgradeCheck {
  try {
    return check(request, options);
  } catch (error) {
    if (!(error instanceof HandshakeError) || error.status === undefined) throw error;
    return { ok: false, status: error.status, headers: error.headers ?? {}, body: error.message, error };
  }
}

/** The checks run in `ws`'s order where `ws` makes them (method, Upgrade, key, version), so that a request with several problems is refused for the one `ws` names. */
function check(request: UpgradeRequest, options: UpgradeCheckOptions): UpgradeAccepted {
  const { headers } = request;
  checkHeaderLimits(request, options);

  const query = request.url.indexOf("?");
  const path = query === -1 ? request.url : request.url.slice(0, query);
  // `ws` answers a path mismatch with 400; there is simply no resource here, which is 404.
  if (options.path !== undefined && path !== options.path) {
    throw reject(404, "WS_ERR_PATH_NOT_FOUND", `No WebSocket endpoint at ${quote(path)}`);
  }

  // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST be at least
  // 1.1." RFC 7231 §6.5.5: "The origin server MUST generate an Allow header field in a 405
  // response", which `ws` leaves out.
  if (request.method !== "GET") {
    throw reject(405, "WS_ERR_INVALID_METHOD", `Invalid method ${quote(request.method)}: a WebSocket handshake is a GET request`, { Allow: "GET" });
  }
  if (!isHttp11OrLater(request.httpVersion)) {
    throw reject(400, "WS_ERR_INVALID_HTTP_VERSION", `Invalid HTTP version ${quote(request.httpVersion)}: a WebSocket handshake needs HTTP/1.1 or later`);
  }

  // RFC 6455 §4.2.1 asks for "An |Upgrade| header field containing the value "websocket", treated as
  // an ASCII case-insensitive value": any element of the list will do (`ws` wants the whole value).
  // Without any Upgrade header this is a plain HTTP request to a WebSocket endpoint, which `ws`'s
  // own HTTP server answers with 426. RFC 7231 §6.5.15: "The server MUST send an Upgrade header
  // field in a 426 response to indicate the required protocol(s)". A client sends one Upgrade
  // field (RFC 6455 §4.1); a repeated one is refused as `ws` does (it wants the exact value).
  const upgrade = singleField(request, "upgrade");
  if (upgrade === undefined) {
    throw reject(426, "WS_ERR_UPGRADE_REQUIRED", "This is a WebSocket endpoint: the request needs Upgrade: websocket and Connection: Upgrade headers", UPGRADE_REQUIRED_HEADERS);
  }
  if (upgrade === null) throw reject(400, "WS_ERR_INVALID_UPGRADE", "Upgrade header appears more than once");
  if (!hasToken(upgrade, "websocket")) {
    throw reject(400, "WS_ERR_INVALID_UPGRADE", `Invalid Upgrade header ${quote(upgrade)}: it must include "websocket"`);
  }
  // RFC 6455 §4.2.1: "A |Connection| header field that includes the token "Upgrade", treated as an
  // ASCII case-insensitive value."
  const connection = listValue(headers, "connection");
  if (connection === undefined || !hasToken(connection, "upgrade")) {
    throw reject(400, "WS_ERR_INVALID_UPGRADE", connection === undefined ? 'Missing Connection header: it must include "Upgrade"' : `Invalid Connection header ${quote(connection)}: it must include "Upgrade"`);
  }

  // RFC 7230 §5.4: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
  // request message that lacks a Host header field and to any request message that contains more
  // than one Host header field".
  const host = singleField(request, "host");
  if (host === undefined || host === null) {
    throw reject(400, "WS_ERR_INVALID_HOST", host === undefined ? "Missing Host header" : "Host header appears more than once");
  }

  // RFC 6455 §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than once in an
  // HTTP request."
  const key = singleField(request, "sec-websocket-key");
  if (key === undefined || key === null || !isValidKey(key)) {
    const problem = key === undefined ? "Missing" : key === null ? "Repeated" : "Invalid";
    throw reject(400, "WS_ERR_INVALID_KEY", `${problem} Sec-WebSocket-Key header: it must be 16 random bytes in base64`);
  }

  const version = checkVersion(singleField(request, "sec-websocket-version"));

  // RFC 6455 §11.3.4 and §11.3.2: both headers "MAY appear multiple times in an HTTP request", the
  // fields forming one list.
  const protocolHeader = listValue(headers, "sec-websocket-protocol");
  const protocols = protocolHeader === undefined ? [] : badRequest(() => parseSubprotocols(protocolHeader));
  const extensionHeader = listValue(headers, "sec-websocket-extensions");
  // `ws` parses the offers only when it has permessage-deflate enabled, and then answers a malformed
  // list with 400; edgews always parses them, so a malformed list is always a 400.
  const requestedExtensions = extensionHeader === undefined ? [] : badRequest(() => parseExtensions(extensionHeader));
  if (options.refuseInvalidDeflateOffers) badRequest(() => checkPerMessageDeflateOffers(requestedExtensions));

  // Version 8 clients (draft-ietf-hybi-thewebsocketprotocol-10 §4.1) name their origin in Sec-WebSocket-Origin.
  const origin = checkOrigin(singleField(request, version === 8 ? "sec-websocket-origin" : "origin"), options.origins);
  const protocol = selectProtocol(protocols, request, options.handleProtocols);
  return {
    ok: true,
    key,
    version,
    ...(protocol === undefined ? {} : { protocol }),
    protocols,
    requestedExtensions,
    ...(origin === undefined ? {} : { origin }),
    host,
    path,
  };
}

const SUPPORTED_VERSION = { "Sec-WebSocket-Version": "13, 8" } as const;
const UPGRADE_REQUIRED_HEADERS = { Upgrade: "websocket", ...SUPPORTED_VERSION } as const;
// RFC 6455 §4.1: version = DIGIT | (NZDIGIT DIGIT) | ("1" DIGIT DIGIT) | ("2" DIGIT DIGIT), 0 to 255.
const VERSION = /^(?:0|[1-9][0-9]{0,2})$/;

/** The version the client speaks: 13 (RFC 6455), or 8 (the last draft, as `ws` accepts it: the same framing). */
function checkVersion(version: string | undefined | null): 13 | 8 {
  // RFC 6455 §11.3.5: "The |Sec-WebSocket-Version| header field MUST NOT appear more than once in an
  // HTTP request." Missing, repeated or not a version at all is a malformed request (400); `ws` adds
  // the supported versions to its 400, and so does edgews.
  if (version === undefined || version === null || !VERSION.test(version) || Number(version) > 255) {
    const problem = version === undefined ? "Missing" : version === null ? "Repeated" : "Invalid";
    throw reject(400, "WS_ERR_INVALID_VERSION", `${problem} Sec-WebSocket-Version header: this server speaks versions 13 and 8`, SUPPORTED_VERSION);
  }
  // RFC 6455 §4.2.2: "If this version does not match a version understood by the server, the server
  // MUST abort the WebSocket handshake described in this section and instead send an appropriate HTTP
  // error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating
  // the version(s) the server is capable of understanding." `ws` answers 400.
  if (version !== "13" && version !== "8") {
    throw reject(426, "WS_ERR_UNSUPPORTED_VERSION", `Unsupported Sec-WebSocket-Version ${quote(version)}: this server speaks versions 13 and 8`, UPGRADE_REQUIRED_HEADERS);
  }
  return version === "13" ? 13 : 8;
}

/**
 * A header that may appear only once, as `singleValue` gives it (`null`: repeated). Node's
 * `headers` hides repeats: it keeps only the first Host and joins repeated Sec-WebSocket-Key,
 * Sec-WebSocket-Version, Upgrade and Origin fields with ", ". So `rawHeaders`, when given, decides.
 */
function singleField(request: UpgradeRequest, name: string): string | undefined | null {
  const raw = request.rawHeaders;
  if (raw !== undefined) {
    let count = 0;
    // Names of another length are skipped unread: no lower-cased copy of every name, per field, per handshake.
    for (let i = 0; i < raw.length; i += 2) {
      const field = raw[i]!;
      if (field.length === name.length && field.toLowerCase() === name && ++count > 1) return null;
    }
  }
  return singleValue(request.headers, name);
}

function checkHeaderLimits(request: UpgradeRequest, options: UpgradeCheckOptions): void {
  const maxBytes = options.maxHeaderBytes ?? DEFAULT_UPGRADE_LIMITS.maxHeaderBytes;
  const maxCount = options.maxHeaderCount ?? DEFAULT_UPGRADE_LIMITS.maxHeaderCount;
  let count = 0;
  let bytes = 0; // names, values, ": " and CRLF
  const raw = request.rawHeaders;
  if (raw !== undefined) {
    count = raw.length >>> 1;
    for (let i = 0; i < 2 * count; i++) bytes += raw[i]!.length;
  } else {
    for (const name of Object.keys(request.headers)) {
      for (const value of fieldValues(request.headers, name)) {
        count++;
        bytes += name.length + value.length;
      }
    }
  }
  bytes += 4 * count;
  // RFC 6585 §5: "The 431 status code indicates that the server is unwilling to process the request
  // because its header fields are too large."
  if (count > maxCount) throw reject(431, "WS_ERR_HEADERS_TOO_LARGE", `Too many header fields: ${count}, the limit is ${maxCount}`);
  if (bytes > maxBytes) throw reject(431, "WS_ERR_HEADERS_TOO_LARGE", `Header fields too large: ${bytes} bytes, the limit is ${maxBytes}`);
}

function isHttp11OrLater(version: string): boolean {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (match === null) return false;
  const major = Number(match[1]);
  return major > 1 || (major === 1 && Number(match[2]) >= 1);
}

function checkOrigin(origin: string | undefined | null, allowed: UpgradeCheckOptions["origins"]): string | undefined {
  // RFC 6454 §7.3: "The user agent MUST NOT include more than one Origin header field in any HTTP
  // request."
  if (origin === null) throw reject(400, "WS_ERR_INVALID_HEADER", "Origin header appears more than once");
  if (allowed === undefined) return origin;
  const permitted =
    typeof allowed === "function" ? allowed(origin) : origin === undefined || allowed.some((entry) => entry.toLowerCase() === origin.toLowerCase());
  // RFC 6455 §4.2.2: "If the server does not wish to accept this connection, it MUST return an
  // appropriate HTTP error code (e.g., 403 Forbidden) and abort the WebSocket handshake".
  if (!permitted) throw reject(403, "WS_ERR_ORIGIN_NOT_ALLOWED", origin === undefined ? "Forbidden: the request has no Origin" : `Forbidden: origin ${quote(origin)} is not allowed`);
  return origin;
}

function selectProtocol(protocols: readonly string[], request: UpgradeRequest, handle: UpgradeCheckOptions["handleProtocols"]): string | undefined {
  if (protocols.length === 0) return undefined;
  // Without a handler, the client's first preference, as in `ws`.
  if (handle === undefined) return protocols[0];
  const chosen = handle(new Set(protocols), request);
  if (chosen === false) return undefined;
  // RFC 6455 §4.2.2: "The value chosen MUST be derived from the client's handshake, specifically by
  // selecting one of the values from the |Sec-WebSocket-Protocol| field". `ws` sends whatever the
  // handler returns; here a handler returning anything else is a bug in the handler.
  if (!protocols.includes(chosen)) {
    throw new TypeError(`handleProtocols returned ${quote(String(chosen))}, which the client did not offer (${protocols.map(quote).join(", ")})`);
  }
  return chosen;
}

function reject(status: number, code: HandshakeErrorCode, message: string, headers?: Readonly<Record<string, string>>): HandshakeError {
  return new HandshakeError(code, message, headers === undefined ? { status } : { status, headers });
}

/** Runs a header parser, turning its error into a 400 answer. */
function badRequest<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof HandshakeError) throw reject(400, error.code, error.message);
    throw error;
  }
}

export interface UpgradeResponseOptions {
  /** The client's Sec-WebSocket-Key. */
  key: string;
  protocol?: string;
  /** Accepted extensions: a header value, or elements (see `perMessageDeflateExtension`). */
  extensions?: string | readonly ExtensionOffer[];
  /** Extra headers (Set-Cookie, ...). They may not replace the handshake's own. */
  headers?: UserHeaders;
}

const HANDSHAKE = "it is part of the WebSocket handshake";
const UPGRADE_OWNED: ReadonlyMap<string, string> = new Map([
  ["upgrade", HANDSHAKE],
  ["connection", HANDSHAKE],
  ["sec-websocket-accept", HANDSHAKE],
  ["sec-websocket-protocol", "use the `protocol` option"],
  ["sec-websocket-extensions", "use the `extensions` option"],
]);

/** The 101 response head accepting the handshake (RFC 6455 §4.2.2), headers in `ws`'s order. */
export function buildUpgradeResponse(options: UpgradeResponseOptions): Buffer {
  return headBytes(`${upgradeResponseLines(options).join("\r\n")}\r\n\r\n`);
}

/**
 * The lines of the 101 response head, the status line first, without the blank line that ends
 * it: what a `ws` server hands its 'headers' listeners to add to (see `buildUpgradeResponse`).
 */
export function upgradeResponseLines(options: UpgradeResponseOptions): string[] {
  if (!isValidKey(options.key)) throw new HandshakeError("WS_ERR_INVALID_KEY", `Invalid key ${quote(options.key)}: it must be 16 bytes in base64`);
  const fields: HeaderField[] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptKey(options.key)],
  ];
  if (options.protocol !== undefined) {
    checkSubprotocols([options.protocol]);
    fields.push(["Sec-WebSocket-Protocol", options.protocol]);
  }
  const extensions = typeof options.extensions === "string" ? parseExtensions(options.extensions) : (options.extensions ?? []);
  if (extensions.length > 0) fields.push(["Sec-WebSocket-Extensions", formatExtensions(extensions)]);
  if (options.headers !== undefined) fields.push(...userHeaderFields(options.headers, UPGRADE_OWNED));
  return ["HTTP/1.1 101 Switching Protocols", ...fields.map(([name, value]) => `${name}: ${value}`)];
}

const FRAMING = "buildErrorResponse sets the message framing";
const ERROR_OWNED: ReadonlyMap<string, string> = new Map([
  ["connection", FRAMING],
  ["content-length", FRAMING],
  ["transfer-encoding", FRAMING],
]);

const REASONS: Readonly<Record<number, string>> = {
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * A complete response refusing the handshake: `body` as UTF-8 text, the connection closed after it.
 * A `Content-Type` in `headers` replaces the default text/plain.
 */
export function buildErrorResponse(status: number, body: string, headers?: UserHeaders): Buffer {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new HandshakeError("WS_ERR_INVALID_OPTION", `Invalid status ${status} for a refused handshake: expected 300 to 599`);
  }
  const payload = Buffer.from(body, "utf8");
  const extra = userHeaderFields(headers, ERROR_OWNED);
  // RFC 7230 §6.7: "A sender of Upgrade MUST also send an "Upgrade" connection option in the
  // Connection header field", as a 426 does.
  const fields: HeaderField[] = [["Connection", hasField(extra, "upgrade") ? "Upgrade, close" : "close"]];
  if (!hasField(extra, "content-type")) fields.push(["Content-Type", "text/plain; charset=utf-8"]);
  fields.push(["Content-Length", String(payload.length)], ...extra);
  // RFC 7230 §3.1.2: the SP before the reason-phrase stays even when the phrase is empty.
  return Buffer.concat([headBytes(serializeHead(`HTTP/1.1 ${status} ${REASONS[status] ?? ""}`, fields)), payload]);
}
