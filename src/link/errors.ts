// Typed errors of the serial link. Line noise is never an error (it is counted, see LinkStats);
// these are for callers that ask the impossible and for peers that break the protocol.

export type LinkErrorCode =
  /** send() with more reliable messages or bytes waiting than the queue's bounds. */
  | "LINK_QUEUE_FULL"
  /** A message larger than the peer accepts, or than one packet can carry when best-effort. */
  | "LINK_MESSAGE_TOO_BIG"
  /** A message kind outside 0x10..0xFF (the link's own packet types are below). */
  | "LINK_BAD_KIND"
  /** send() after close(). */
  | "LINK_CLOSED"
  /** An option out of its range. */
  | "LINK_BAD_OPTION"
  /** The peer sent a reliable message larger than this end's maxMessage (it was discarded). */
  | "LINK_PEER_MESSAGE_TOO_BIG"
  /** The peer broke the fragment order of a message (it was discarded). */
  | "LINK_PEER_BAD_FRAGMENT";

export class LinkError extends Error {
  override readonly name = "LinkError";
  readonly code: LinkErrorCode;
  /** The message this error is about, for errors about one of ours: its id from send(). */
  readonly messageId: number | undefined;

  constructor(code: LinkErrorCode, message: string, messageId?: number) {
    super(message);
    this.code = code;
    this.messageId = messageId;
  }
}

/** A message body that does not follow its kind's encoding (docs/link-protocol.md §7). */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
  /** The message kind being decoded or encoded. */
  readonly kind: number;
  /** Byte offset in the body where decoding stopped (-1 when encoding). */
  readonly offset: number;

  constructor(kind: number, offset: number, message: string) {
    super(message);
    this.kind = kind;
    this.offset = offset;
  }
}

/** A byte as two hex digits, for messages. */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
