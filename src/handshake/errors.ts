/**
 * Stable codes for every way an opening handshake can fail. Where `ws` reports the same failure
 * it does so with a message only; these codes are edgews's own, in `ws`'s `WS_ERR_*` style.
 */
export type HandshakeErrorCode =
  // Building a client request (caller's input).
  | "WS_ERR_INVALID_URL"
  | "WS_ERR_INVALID_HEADER"
  | "WS_ERR_INVALID_OPTION"
  // Either side: a header value that breaks its grammar.
  | "WS_ERR_INVALID_SUBPROTOCOL"
  | "WS_ERR_INVALID_EXTENSION_HEADER"
  | "WS_ERR_INVALID_KEY"
  // Client side: the server's response.
  | "WS_ERR_UNEXPECTED_STATUS"
  | "WS_ERR_HANDSHAKE_TIMEOUT"
  | "WS_ERR_INVALID_UPGRADE"
  | "WS_ERR_INVALID_ACCEPT"
  | "WS_ERR_UNEXPECTED_PROTOCOL"
  | "WS_ERR_UNEXPECTED_EXTENSION"
  // Server side: the client's request.
  | "WS_ERR_HEADERS_TOO_LARGE"
  | "WS_ERR_PATH_NOT_FOUND"
  | "WS_ERR_INVALID_METHOD"
  | "WS_ERR_INVALID_HTTP_VERSION"
  | "WS_ERR_INVALID_HOST"
  | "WS_ERR_UPGRADE_REQUIRED"
  | "WS_ERR_INVALID_VERSION"
  | "WS_ERR_UNSUPPORTED_VERSION"
  | "WS_ERR_ORIGIN_NOT_ALLOWED";

export interface HandshakeErrorDetails {
  /**
   * `ws`'s message for the same failure, word for word, so that code checking `err.message`
   * keeps working; the error's `detail` then says more. Default: the detail.
   */
  message?: string;
  /** Client side: the status code the server answered with. */
  statusCode?: number;
  /** Client side: the start of the server's response body, cleaned for printing. */
  bodyExcerpt?: string;
  /** Server side: the status to answer the client with. */
  status?: number;
  /** Server side: headers the answer must carry (`Allow`, `Sec-WebSocket-Version`, ...). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/**
 * The opening handshake failed, or could not be built from the given input. `message` is `ws`'s
 * text where `ws` reports the same failure; `detail` says what went wrong and what to do about it.
 */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
  readonly code: HandshakeErrorCode;
  /** What went wrong, specifically (values received, what was expected, a hint). */
  readonly detail: string;
  readonly statusCode?: number;
  readonly bodyExcerpt?: string;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;

  constructor(code: HandshakeErrorCode, detail: string, details: HandshakeErrorDetails = {}) {
    super(details.message ?? detail, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.detail = detail;
    if (details.statusCode !== undefined) this.statusCode = details.statusCode;
    if (details.bodyExcerpt !== undefined) this.bodyExcerpt = details.bodyExcerpt;
    if (details.status !== undefined) this.status = details.status;
    if (details.headers !== undefined) this.headers = details.headers;
  }
}

/** `error` with `ws`'s message for it (its code and detail kept). */
export function withWsMessage(error: HandshakeError, message: string): HandshakeError {
  const { statusCode, bodyExcerpt, status, headers } = error;
  return new HandshakeError(error.code, error.detail, { message, cause: error.cause, statusCode, bodyExcerpt, status, headers });
}

/**
 * A client's input that `ws` rejects with a SyntaxError (a bad URL, a bad or repeated
 * subprotocol): one here too, with `ws`'s message, edgews's code and a specific `detail`.
 */
export class HandshakeSyntaxError extends SyntaxError {
  override readonly name = "SyntaxError";
  readonly code: HandshakeErrorCode;
  readonly detail: string;

  constructor(code: HandshakeErrorCode, message: string, detail: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.detail = detail;
  }
}

const QUOTE_LIMIT = 80;

/** A peer's or caller's value for an error message: quoted, control characters escaped, bounded. */
export function quote(value: string): string {
  const cut = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
  return JSON.stringify(cut);
}
