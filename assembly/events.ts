// The event buffer the host drains after every `feed`: fixed 16-byte records.
import { EVENT_SIZE, eventsBase, eventCapacity } from "./layout";

export const enum Event {
  /** A data frame header: opcode (0 for a continuation), FIN/RSV1 flags, a/b = length low/high. */
  FrameStart = 1,
  /** Unmasked payload bytes of the current data message: a = pointer, b = length. */
  Chunk = 2,
  /** The current data message is complete (and, for text, valid UTF-8). */
  MessageEnd = 3,
  /** A whole single-frame message within this feed: opcode, RSV1 flag, a = pointer, b = length. */
  Message = 4,
  /** A ping, pong or close frame: opcode, a = pointer, b = length, c = close code (close only). */
  Control = 5,
  /** A protocol violation: a = ErrorKind, c = the close code to send. Nothing follows it. */
  Error = 6,
}

/** Numeric error kinds; the host maps each to a stable string code and a message. */
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

export let eventCount: u32 = 0;

export function resetEvents(): void {
  eventCount = 0;
}

/** True when a frame's worth of events (at most 3, or an error) still fits. */
// @ts-ignore: decorator
@inline export function roomForFrame(): bool {
  return eventCount + 4 <= eventCapacity;
}

// @ts-ignore: decorator
@inline export function emit(kind: u32, opcode: u32, flags: u32, a: u32, b: u32, c: u32): void {
  const p = eventsBase + <usize>eventCount * EVENT_SIZE;
  store<u32>(p, kind | (opcode << 8) | (flags << 16));
  store<u32>(p, a, 4);
  store<u32>(p, b, 8);
  store<u32>(p, c, 12);
  eventCount++;
}
