/** Error kinds reported by the WASM core, by number: assembly/events.ts `ErrorKind` (test/core/boundary.test.ts keeps them equal). */
export const enum ErrorKind {
  Rsv1Unexpected = 1,
  Rsv2Rsv3 = 2,
  InvalidOpcode = 3,
  ControlFragmented = 4,
  ControlTooLong = 5,
  ContinuationWithoutMessage = 6,
  MessageNotFinished = 7,
  MaskExpected = 8,
  MaskUnexpected = 9,
  LengthMsbSet = 10,
  FrameTooBig = 11,
  MessageTooBig = 12,
  TooManyFragments = 13,
  CloseOneByte = 14,
  CloseCodeInvalid = 15,
  TextInvalidUtf8 = 16,
  CloseReasonInvalidUtf8 = 17,
}

interface ErrorInfo {
  /** Stable string code; `ws`'s where `ws` has the same error. */
  code: string;
  message: string;
}

// The one table from core error kinds to codes and human messages. The close code comes from
// the core with the event (1002 protocol error, 1007 invalid data, 1009 too big).
const ERRORS: Record<number, ErrorInfo> = {
  [ErrorKind.Rsv1Unexpected]: { code: "WS_ERR_UNEXPECTED_RSV_1", message: "RSV1 set without permessage-deflate, or on a control or continuation frame" },
  [ErrorKind.Rsv2Rsv3]: { code: "WS_ERR_UNEXPECTED_RSV_2_3", message: "RSV2 and RSV3 must be clear: no extension defines them" },
  [ErrorKind.InvalidOpcode]: { code: "WS_ERR_INVALID_OPCODE", message: "reserved opcode" },
  [ErrorKind.ControlFragmented]: { code: "WS_ERR_EXPECTED_FIN", message: "control frames must not be fragmented" },
  [ErrorKind.ControlTooLong]: { code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", message: "control frame payload longer than 125 bytes" },
  [ErrorKind.ContinuationWithoutMessage]: { code: "WS_ERR_UNEXPECTED_CONTINUATION", message: "continuation frame without a message to continue" },
  [ErrorKind.MessageNotFinished]: { code: "WS_ERR_EXPECTED_CONTINUATION", message: "new data frame before the fragmented message was finished" },
  [ErrorKind.MaskExpected]: { code: "WS_ERR_EXPECTED_MASK", message: "a client must mask its frames" },
  [ErrorKind.MaskUnexpected]: { code: "WS_ERR_UNEXPECTED_MASK", message: "a server must not mask its frames" },
  [ErrorKind.LengthMsbSet]: { code: "WS_ERR_INVALID_PAYLOAD_LENGTH", message: "64-bit payload length with the most significant bit set" },
  [ErrorKind.FrameTooBig]: { code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", message: "frame payload exceeds maxPayload" },
  [ErrorKind.MessageTooBig]: { code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", message: "message exceeds maxMessage" },
  [ErrorKind.TooManyFragments]: { code: "WS_ERR_TOO_MANY_FRAGMENTS", message: "message split into more fragments than maxFragments" },
  [ErrorKind.CloseOneByte]: { code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", message: "close frame payload of 1 byte (a status code takes 2)" },
  [ErrorKind.CloseCodeInvalid]: { code: "WS_ERR_INVALID_CLOSE_CODE", message: "invalid close status code" },
  [ErrorKind.TextInvalidUtf8]: { code: "WS_ERR_INVALID_UTF8", message: "text message is not valid UTF-8" },
  [ErrorKind.CloseReasonInvalidUtf8]: { code: "WS_ERR_INVALID_UTF8", message: "close reason is not valid UTF-8" },
};

/** A peer broke RFC 6455; `closeCode` is what to send back before closing. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Stable string code such as `WS_ERR_INVALID_UTF8`. */
  readonly code: string;
  /** 1002 (protocol error), 1007 (invalid payload data) or 1009 (message too big). */
  readonly closeCode: number;
  /** The core's numeric error kind. */
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, closeCode: number) {
    const info = ERRORS[kind] ?? { code: "WS_ERR_UNKNOWN", message: `unknown core error kind ${kind}` };
    super(`Invalid WebSocket frame: ${info.message}`);
    this.kind = kind;
    this.code = info.code;
    this.closeCode = closeCode;
  }
}

/** The core was used in a way it can't serve (no free slot, bad options). */
export class CoreError extends Error {
  override readonly name = "CoreError";
}
