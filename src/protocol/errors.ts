/**
 * An operation the connection's state doesn't allow (send before open or after close). Named
 * "Error", as `ws`'s plain Error for the same case prints: `code` tells it apart.
 */
export class InvalidStateError extends Error {
  override readonly name = "Error";
  readonly code = "WS_ERR_INVALID_STATE";
}

/**
 * A ping or pong of more than 125 bytes (RFC 6455 §5.5). The message is `ws`'s; `detail` says
 * which frame and how long.
 */
export class ControlPayloadTooLongError extends RangeError {
  override readonly name = "RangeError";
  readonly code = "WS_ERR_CONTROL_PAYLOAD_TOO_LONG";
  readonly detail: string;
  constructor(detail: string) {
    super("The data size must not be greater than 125 bytes");
    this.detail = detail;
  }
}

/** A close code or reason the application may not send (RFC 6455 §7.4). */
export class InvalidCloseError extends RangeError {
  override readonly name = "InvalidCloseError";
  readonly code = "WS_ERR_INVALID_CLOSE_ARGUMENTS";
}

/** The peer exceeded a policy limit (message or control-frame rate): close with 1008. */
export class PolicyViolationError extends Error {
  override readonly name = "PolicyViolationError";
  readonly code: string;
  readonly closeCode = 1008;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The endpoint sheds this connection to protect itself (1013 Try Again Later: "the server is
 * terminating the connection due to a temporary condition, e.g. it is overloaded and is casting
 * off some of its clients", IANA WebSocket Close Code registry). Nothing the peer sent was
 * invalid or over its own limits: it may reconnect later.
 */
export class OverloadedError extends Error {
  override readonly name = "OverloadedError";
  readonly code: string;
  readonly closeCode = 1013;
  /** What the peer is told in the close frame (the message, for the log, says more). */
  readonly closeReason: string;
  constructor(code: string, message: string, closeReason: string) {
    super(message);
    this.code = code;
    this.closeReason = closeReason;
  }
}
