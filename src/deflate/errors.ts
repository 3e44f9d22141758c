// What a received compressed message can be refused for. Each carries the close code that
// fails the connection (RFC 6455 §7.4.1) and a stable string code.

/** A decompressed message would exceed maxMessage (close with 1009). */
export class MessageTooBigError extends RangeError {
  readonly code = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
  readonly closeCode = 1009;
  constructor(limit: number) {
    super(`decompressed message exceeds maxMessage (${limit} bytes)`);
  }
}

/**
 * Inflating a message took longer than maxInflateTime (close with 1009). RFC 6455 §7.4.1: 1009
 * is for "a message that is too big for it to process", and 1008 only "when there is no other
 * more suitable status code": a message too costly to inflate is too big to process, and the
 * peer's remedy is the same as for size (smaller messages).
 */
export class InflateTimeExceededError extends RangeError {
  readonly code = "WS_ERR_INFLATE_TIME_EXCEEDED";
  readonly closeCode = 1009;
  constructor(limit: number) {
    super(`inflating the message took more than maxInflateTime (${limit} ms): too costly to process`);
  }
}

/** The compressed data is not a valid deflate stream (close with 1007). */
export class InvalidDeflateDataError extends Error {
  readonly code = "WS_ERR_INVALID_DEFLATE_DATA";
  readonly closeCode = 1007;
  constructor(cause: Error) {
    super(`invalid permessage-deflate data: ${cause.message}`, { cause });
  }
}
