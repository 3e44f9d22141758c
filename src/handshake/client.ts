// The client's half of the opening handshake (RFC 6455 §4.1): build the request, check the response.
import { HandshakeError, HandshakeSyntaxError, quote, withWsMessage } from "./errors.js";
import { formatExtensions, parseExtensions, type ExtensionOffer } from "./extensions.js";
import {
  checkFieldValue,
  hasField,
  headBytes,
  listValue,
  lowerCaseTokens,
  serializeHead,
  singleValue,
  trimOws,
  userHeaderFields,
  type HeaderField,
  type IncomingHeaders,
  type UserHeaders,
} from "./headers.js";
import { acceptKey, generateKey, isValidKey } from "./key.js";
import { checkPerMessageDeflateResponse, PERMESSAGE_DEFLATE, type PerMessageDeflateParams } from "./permessage-deflate.js";
import { checkSubprotocols } from "./subprotocols.js";

export interface ClientRequestOptions {
  /**
   * `ws:` or `wss:`; `http:` and `https:` are taken as `ws:` and `wss:`, as `ws` and browsers do.
   * `ws+unix:/path/to/socket:/request/path` (as `ws`) reaches a server on a Unix domain socket.
   */
  url: string | URL;
  /** Subprotocols in order of preference. */
  protocols?: string | readonly string[];
  origin?: string;
  /**
   * Extra headers (Authorization, Cookie, ...). They may not replace the handshake's own; a Host
   * header replaces the one derived from the URL, and an Origin header is sent unless `origin` is set.
   */
  headers?: UserHeaders;
  /** The `Sec-WebSocket-Extensions` offer: a header value (see `offerPerMessageDeflate`) or elements. */
  extensions?: string | readonly ExtensionOffer[];
  /** A fixed Sec-WebSocket-Key, for tests; otherwise 16 fresh random bytes. */
  key?: string;
  /**
   * The Sec-WebSocket-Version to send: 13 (RFC 6455, the default) or, as ws allows, 8 (the last
   * hybi draft, whose framing is the same; the origin then goes as Sec-WebSocket-Origin).
   */
  protocolVersion?: number;
}

const PROTOCOL_VERSIONS = [8, 13];

export interface ClientRequest {
  /** The URL after `http:`/`https:` were mapped to `ws:`/`wss:`. */
  readonly url: string;
  readonly secure: boolean;
  /** Where to connect: the host name, or the IPv6 address without brackets. */
  readonly hostname: string;
  /** A `ws+unix:` URL's socket path, to connect to instead of `hostname`. */
  readonly socketPath?: string;
  readonly port: number;
  readonly method: "GET";
  /** The request-target: path and query. */
  readonly path: string;
  /** The Host header value: IPv6 literals in brackets, the port left out when it is the default. */
  readonly host: string;
  readonly key: string;
  readonly protocols: readonly string[];
  readonly offeredExtensions: readonly ExtensionOffer[];
  /** Header lines in the order they are sent. */
  readonly headers: readonly HeaderField[];
  /** The request head, one character per byte. */
  toString(): string;
  toBytes(): Buffer;
}

/** What the client sent, as needed to check the response. A `ClientRequest` is one. */
export interface ClientHandshake {
  readonly key: string;
  readonly protocols?: readonly string[];
  readonly offeredExtensions?: readonly ExtensionOffer[];
}

/** The server's response head, as Node's `http.IncomingMessage` gives it. */
export interface ServerResponse {
  readonly statusCode: number;
  readonly statusMessage?: string;
  /** Lower-cased names. */
  readonly headers: IncomingHeaders;
  /** The start of the body of a non-101 response, for the error message. */
  readonly bodyExcerpt?: string;
}

export interface HandshakeResult {
  /** The subprotocol the server selected, if any. */
  readonly protocol?: string;
  /** The extensions the server accepted, in its order. */
  readonly extensions: readonly ExtensionOffer[];
  /** The negotiated permessage-deflate configuration, when the server accepted it. */
  readonly perMessageDeflate?: PerMessageDeflateParams;
}

const HANDSHAKE = "it is part of the WebSocket handshake";
const CLIENT_OWNED: ReadonlyMap<string, string> = new Map([
  ["upgrade", HANDSHAKE],
  ["connection", HANDSHAKE],
  ["sec-websocket-key", HANDSHAKE],
  ["sec-websocket-version", HANDSHAKE],
  ["sec-websocket-accept", HANDSHAKE],
  ["sec-websocket-protocol", "use the `protocols` option"],
  ["sec-websocket-extensions", "use the `extensions` option"],
]);

/** Builds the opening handshake request for `options.url`. Throws `HandshakeError` on bad input. */
export function createClientRequest(options: ClientRequestOptions): ClientRequest {
  const url = parseWebSocketUrl(options.url);
  const secure = url.protocol === "wss:";
  const unix = url.protocol === "ws+unix:" ? unixTarget(url) : undefined;
  const version = options.protocolVersion ?? 13;
  if (!PROTOCOL_VERSIONS.includes(version)) {
    throw new RangeError(`Unsupported protocol version: ${version} (supported versions: ${PROTOCOL_VERSIONS.join(", ")})`);
  }
  const key = options.key ?? generateKey();
  if (!isValidKey(key)) throw new HandshakeError("WS_ERR_INVALID_KEY", `Invalid key ${quote(key)}: it must be 16 bytes in base64`);

  // As `ws`: anything but an array (null too) is one subprotocol, checked as such.
  const protocols = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? [...options.protocols] : [options.protocols as string];
  checkOfferedSubprotocols(protocols);
  const offeredExtensions = typeof options.extensions === "string" ? parseExtensions(options.extensions) : [...(options.extensions ?? [])];

  // RFC 7230 §5.4: "a user agent SHOULD generate Host as the first header field following the
  // request-line". WHATWG URL's `host` already brackets IPv6 and leaves out the scheme's default port.
  const extra = userHeaderFields(options.headers, CLIENT_OWNED);
  const fields: HeaderField[] = [
    ["Host", unix ? "localhost" : url.host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", String(version)],
  ];
  if (protocols.length > 0) fields.push(["Sec-WebSocket-Protocol", protocols.join(", ")]);
  if (offeredExtensions.length > 0) fields.push(["Sec-WebSocket-Extensions", formatExtensions(offeredExtensions)]);
  if (options.origin !== undefined) fields.push([version === 8 ? "Sec-WebSocket-Origin" : "Origin", checkFieldValue("Origin", options.origin)]);
  // As in `ws` (through Node's `http`), credentials in the URL become Basic authentication unless
  // the caller set an Authorization header, which wins.
  if ((url.username !== "" || url.password !== "") && !hasField(extra, "authorization")) {
    fields.push(["Authorization", `Basic ${Buffer.from(`${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`).toString("base64")}`]);
  }
  // As in `ws`, the caller's Host wins over the URL's, and the `origin` option over an Origin header.
  if (hasField(extra, "host")) fields.shift();
  const originSet = options.origin !== undefined && version !== 8;
  fields.push(...extra.filter(([name]) => !originSet || name.toLowerCase() !== "origin"));

  const path = unix?.path ?? url.pathname + url.search;
  const head = serializeHead(`GET ${path} HTTP/1.1`, fields);
  return {
    url: url.href,
    secure,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    socketPath: unix?.socketPath,
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    method: "GET",
    path,
    host: url.host,
    key,
    protocols,
    offeredExtensions,
    headers: fields,
    toString: () => head,
    toBytes: () => headBytes(head),
  };
}

function parseWebSocketUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new HandshakeSyntaxError("WS_ERR_INVALID_URL", `Invalid URL: ${String(input)}`, `Invalid URL ${quote(String(input))}: it does not parse as an absolute URL`, cause);
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    url = new URL(url);
    url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:" && url.protocol !== "ws+unix:") {
    throw new HandshakeSyntaxError("WS_ERR_INVALID_URL", 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"', `Invalid URL ${quote(url.href)}: the scheme must be ws:, wss:, http:, https: or ws+unix:, not ${url.protocol}`);
  }
  // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and MUST NOT
  // be used on these URIs." An empty fragment ("ws://h/#") counts too, as in the WHATWG WebSocket
  // constructor; `ws` lets that one through.
  if (url.href.includes("#")) {
    throw new HandshakeSyntaxError("WS_ERR_INVALID_URL", "The URL contains a fragment identifier", `Invalid URL ${quote(url.href)}: it has a fragment identifier (#...); a "#" in the path or query must be written %23`);
  }
  return url;
}

/** `ws+unix:/run/app.sock:/chat?x=1`: the socket path before the first ":", the request path after it. */
function unixTarget(url: URL): { socketPath: string; path: string } {
  const [socketPath = "", path = "/"] = (url.pathname + url.search).split(":");
  if (socketPath === "") throw new HandshakeSyntaxError("WS_ERR_INVALID_URL", "The URL's pathname is empty", `Invalid URL ${quote(url.href)}: a ws+unix: URL needs a socket path (ws+unix:/path/to.sock:/request-path)`);
  return { socketPath, path };
}

function decodeUserinfo(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch (cause) {
    const detail = `Invalid URL: the credentials ${quote(value)} contain a malformed %-escape`;
    throw new HandshakeSyntaxError("WS_ERR_INVALID_URL", detail, detail, cause);
  }
}

/**
 * Checks the server's response to `request` (RFC 6455 §4.1, the client's "MUST _Fail the WebSocket
 * Connection_" list) and returns what was negotiated. Throws `HandshakeError`.
 */
export function verifyServerResponse(request: ClientHandshake, response: ServerResponse): HandshakeResult {
  const { headers } = response;
  // RFC 6455 §4.1: "If the status code received from the server is not 101, the client handles the
  // response per HTTP [RFC2616] procedures." Nothing here follows redirects or authenticates: the
  // error carries what the caller needs to do so.
  if (response.statusCode !== 101) throw unexpectedStatus(response);

  // RFC 6455 §4.1: "If the response lacks an |Upgrade| header field or the |Upgrade| header field
  // contains a value that is not an ASCII case-insensitive match for the value "websocket", the
  // client MUST _Fail the WebSocket Connection_." So the list must be exactly that one protocol.
  const upgrade = listValue(headers, "upgrade");
  const upgradeTokens = upgrade === undefined ? [] : lowerCaseTokens(upgrade);
  if (upgradeTokens.length !== 1 || upgradeTokens[0] !== "websocket") {
    const detail = upgrade === undefined ? "Invalid handshake response: no Upgrade header (expected Upgrade: websocket)" : `Invalid handshake response: Upgrade is ${quote(upgrade)}, expected "websocket"`;
    throw new HandshakeError("WS_ERR_INVALID_UPGRADE", detail, { message: "Invalid Upgrade header" });
  }
  // RFC 6455 §4.1: "If the response lacks a |Connection| header field or the |Connection| header
  // field doesn't contain a token that is an ASCII case-insensitive match for the value "Upgrade",
  // the client MUST _Fail the WebSocket Connection_." `ws` leaves this to Node, which does not check.
  const connection = listValue(headers, "connection");
  if (connection === undefined || !lowerCaseTokens(connection).includes("upgrade")) {
    throw new HandshakeError("WS_ERR_INVALID_UPGRADE", connection === undefined ? "Invalid handshake response: no Connection header (expected Connection: Upgrade)" : `Invalid handshake response: Connection is ${quote(connection)}, which lacks the "Upgrade" token`);
  }

  // RFC 6455 §4.1: "If the response lacks a |Sec-WebSocket-Accept| header field or the
  // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
  // concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string
  // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" ..., the client MUST _Fail the WebSocket Connection_."
  const accept = singleValue(headers, "sec-websocket-accept");
  const expected = acceptKey(request.key);
  if (accept !== expected) {
    const found = accept === undefined ? "it is missing" : accept === null ? "it appears more than once" : `got ${quote(accept)}`;
    const detail = `Invalid Sec-WebSocket-Accept header: expected ${quote(expected)} for the key sent, ${found}. The server (or a proxy) did not answer this WebSocket request`;
    throw new HandshakeError("WS_ERR_INVALID_ACCEPT", detail, { message: "Invalid Sec-WebSocket-Accept header" });
  }

  return {
    ...selectedProtocol(request.protocols ?? [], headers),
    ...acceptedExtensions(request.offeredExtensions ?? [], headers),
  };
}

function selectedProtocol(offered: readonly string[], headers: IncomingHeaders): { protocol?: string } {
  const protocol = singleValue(headers, "sec-websocket-protocol");
  // RFC 6455 §11.3.4: "the |Sec-WebSocket-Protocol| header field in an HTTP response MUST NOT appear
  // more than once."
  if (protocol === null) throw unexpectedProtocol("Invalid handshake response: Sec-WebSocket-Protocol appears more than once", "Server sent an invalid subprotocol");
  if (protocol === undefined) {
    // RFC 6455 lets a server decline every subprotocol, but `ws` and the WHATWG WebSocket fail the
    // connection when one was requested and none was selected; edgews does the same, so that an
    // application never runs a subprotocol-less session it did not ask for.
    if (offered.length > 0) {
      throw unexpectedProtocol(`The server selected no subprotocol; the client requires one of ${offered.map(quote).join(", ")}`, "Server sent no subprotocol");
    }
    return {};
  }
  // RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field and this header
  // field indicates the use of a subprotocol that was not present in the client's handshake ..., the
  // client MUST _Fail the WebSocket Connection_."
  if (!offered.includes(protocol)) {
    throw offered.length === 0
      ? unexpectedProtocol(`The server selected subprotocol ${quote(protocol)}, but the client requested none`, "Server sent a subprotocol but none was requested")
      : unexpectedProtocol(`The server selected subprotocol ${quote(protocol)}, which is not one of those requested (${offered.map(quote).join(", ")})`, "Server sent an invalid subprotocol");
  }
  return { protocol };
}

function acceptedExtensions(offered: readonly ExtensionOffer[], headers: IncomingHeaders): Omit<HandshakeResult, "protocol"> {
  // RFC 6455 §11.3.2: the header "MAY appear multiple times in an HTTP response", so fields join.
  const value = listValue(headers, "sec-websocket-extensions");
  if (value === undefined) return { extensions: [] };
  if (offered.length === 0) {
    throw new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", `The server accepted extensions (${quote(value)}), but the client offered none`, { message: NO_EXTENSION_REQUESTED });
  }
  let extensions: ExtensionOffer[];
  try {
    extensions = parseExtensions(value);
  } catch (cause) {
    throw new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", (cause as Error).message, { cause, message: INVALID_EXTENSIONS });
  }
  let perMessageDeflate: PerMessageDeflateParams | undefined;
  const seen = new Set<string>();
  for (const extension of extensions) {
    // RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Extensions| header field and this
    // header field indicates the use of an extension that was not present in the client's handshake
    // ..., the client MUST _Fail the WebSocket Connection_."
    if (!offered.some((offer) => offer.name === extension.name)) {
      throw new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", `The server accepted extension ${quote(extension.name)}, which the client did not offer`, { message: "Server indicated an extension that was not requested" });
    }
    // `ws` reads only the first of several permessage-deflate answers; two answers for one
    // extension leave its configuration ambiguous, so edgews fails instead.
    if (seen.has(extension.name)) {
      throw new HandshakeError("WS_ERR_UNEXPECTED_EXTENSION", `The server accepted extension ${quote(extension.name)} more than once`, { message: INVALID_EXTENSIONS });
    }
    seen.add(extension.name);
    if (extension.name === PERMESSAGE_DEFLATE) perMessageDeflate = checkedDeflateResponse(extension, offered);
  }
  return perMessageDeflate === undefined ? { extensions } : { extensions, perMessageDeflate };
}

/** `ws`'s messages for a Sec-WebSocket-Extensions answer it refuses. */
export const INVALID_EXTENSIONS = "Invalid Sec-WebSocket-Extensions header";
const NO_EXTENSION_REQUESTED = "Server sent a Sec-WebSocket-Extensions header but no extension was requested";

function checkedDeflateResponse(extension: ExtensionOffer, offered: readonly ExtensionOffer[]): PerMessageDeflateParams {
  try {
    return checkPerMessageDeflateResponse(extension, offered);
  } catch (error) {
    throw error instanceof HandshakeError ? withWsMessage(error, INVALID_EXTENSIONS) : error;
  }
}

function unexpectedProtocol(detail: string, wsMessage: string): HandshakeError {
  return new HandshakeError("WS_ERR_UNEXPECTED_PROTOCOL", detail, { message: wsMessage });
}

/** The subprotocols the caller offers; bad ones are a SyntaxError, as in `ws`. */
function checkOfferedSubprotocols(protocols: readonly string[]): void {
  try {
    checkSubprotocols(protocols);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    throw new HandshakeSyntaxError(error.code, "An invalid or duplicated subprotocol was specified", error.detail);
  }
}

const EXCERPT_LIMIT = 200;

// What a person can do about the common refusals.
const STATUS_HINTS: Readonly<Record<number, string>> = {
  400: "the server rejected the handshake request as malformed",
  401: "the server requires authentication: check the credentials or Authorization header",
  403: "the server refused the connection: check the Origin and credentials",
  404: "there is no WebSocket endpoint at this path",
  405: "the server does not accept GET at this URL",
  426: "the server requires another WebSocket version or a plain upgrade request",
  429: "the server is rate-limiting: retry later",
  431: "the request headers are too large: send fewer or smaller headers (cookies?)",
  503: "the server is unavailable or shutting down: retry later",
};

function unexpectedStatus(response: ServerResponse): HandshakeError {
  const { statusCode, headers } = response;
  const status = `${statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ""}`;
  const location = singleValue(headers, "location");
  const version = listValue(headers, "sec-websocket-version");
  let hint = STATUS_HINTS[statusCode];
  if (statusCode >= 300 && statusCode < 400 && location) hint = `the server redirects to ${quote(location)}; redirects are not followed`;
  if (statusCode === 426 && version !== undefined) hint = `the server supports Sec-WebSocket-Version ${quote(version)}, this client speaks 13`;
  const excerpt = response.bodyExcerpt === undefined ? undefined : cleanExcerpt(response.bodyExcerpt);
  const detail = `Unexpected server response: ${status} (expected 101 Switching Protocols)${hint ? `: ${hint}` : ""}${excerpt ? `. Body: ${excerpt}` : ""}`;
  return new HandshakeError("WS_ERR_UNEXPECTED_STATUS", detail, { message: `Unexpected server response: ${statusCode}`, statusCode, bodyExcerpt: excerpt });
}

/** The body's start on one line: control characters and runs of whitespace become single spaces. */
function cleanExcerpt(body: string): string {
  const flat = trimOws(body.replace(/[\x00-\x20\x7f]+/g, " "));
  return flat.length > EXCERPT_LIMIT ? `${flat.slice(0, EXCERPT_LIMIT)}…` : flat;
}
