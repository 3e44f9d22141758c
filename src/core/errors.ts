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

/** The limits a parser enforces, as its 1009 messages report them (0: no limit). */
export interface LimitsInForce {
  maxPayload: number;
  maxMessage: number;
  maxFragments: number;
  /** Data frames shorter than this are charged the difference... */
  smallFragmentBytes: number;
  /** ...against this many bytes per message (0: no limit). */
  fragmentOverhead: number;
}

interface ErrorInfo {
  /** Stable string code; `ws`'s where `ws` has the same error. */
  code: string;
  /** Also the close frame's reason: at most 123 bytes of UTF-8 (test/core/fragments.test.ts checks). */
  message: string;
  /** The message naming the limit that was hit and its value, when the limits are known. */
  limitMessage?: (limits: LimitsInForce) => string;
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
  [ErrorKind.FrameTooBig]: {
    code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
    message: "frame payload exceeds maxPayload",
    limitMessage: (l) => `frame payload exceeds maxPayload (${l.maxPayload} bytes)`,
  },
  [ErrorKind.MessageTooBig]: {
    code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
    message: "message exceeds maxMessage",
    limitMessage: (l) => `message exceeds maxMessage (${l.maxMessage} bytes)`,
  },
  [ErrorKind.TooManyFragments]: {
    code: "WS_ERR_TOO_MANY_FRAGMENTS",
    message: "message in too many fragments: over maxFragments, or small ones costing over maxMessage",
    limitMessage: tooManyFragments,
  },
  [ErrorKind.CloseOneByte]: { code: "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH", message: "close frame payload of 1 byte (a status code takes 2)" },
  [ErrorKind.CloseCodeInvalid]: { code: "WS_ERR_INVALID_CLOSE_CODE", message: "invalid close status code" },
  [ErrorKind.TextInvalidUtf8]: { code: "WS_ERR_INVALID_UTF8", message: "text message is not valid UTF-8" },
  [ErrorKind.CloseReasonInvalidUtf8]: { code: "WS_ERR_INVALID_UTF8", message: "close reason is not valid UTF-8" },
};

/** The core reports one kind for both fragment limits: name the ones in force. */
function tooManyFragments(l: LimitsInForce): string {
  const count = `message over maxFragments (${l.maxFragments})`;
  const small = `fragments under ${l.smallFragmentBytes} bytes`;
  if (l.fragmentOverhead === 0) return count;
  if (l.maxFragments === 0) return `message in too many ${small} (overhead over ${l.fragmentOverhead} bytes, from maxMessage)`;
  return `${count}, or ${small} cost over ${l.fragmentOverhead} bytes (maxMessage)`;
}

/** A peer broke RFC 6455 or a limit; `closeCode` is what to send back before closing. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Stable string code such as `WS_ERR_INVALID_UTF8`. */
  readonly code: string;
  /** 1002 (protocol error), 1007 (invalid payload data) or 1009 (message too big). */
  readonly closeCode: number;
  /**
   * What went wrong, short enough for the close frame (RFC 6455 §5.5: a control frame's payload
   * is at most 125 bytes, 2 of them the status code); it names the limit that was hit.
   */
  readonly closeReason: string;
  /** The core's numeric error kind. */
  readonly kind: ErrorKind;

  /** `limits`: the parser's, so that a limit's reason can give its value. */
  constructor(kind: ErrorKind, closeCode: number, limits?: LimitsInForce) {
    const info = ERRORS[kind] ?? { code: "WS_ERR_UNKNOWN", message: `unknown core error kind ${kind}` };
    const reason = limits && info.limitMessage ? info.limitMessage(limits) : info.message;
    super(`Invalid WebSocket frame: ${reason}`);
    this.kind = kind;
    this.code = info.code;
    this.closeCode = closeCode;
    this.closeReason = reason;
  }
}

/** The core was used in a way it can't serve (no free slot, bad options). */
export class CoreError extends Error {
  override readonly name = "CoreError";
}
