/** An operation the connection's state doesn't allow (send before open or after close). */
export class InvalidStateError extends Error {
  override readonly name = "InvalidStateError";
  readonly code = "WS_ERR_INVALID_STATE";
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
