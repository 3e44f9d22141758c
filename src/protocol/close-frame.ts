// The body of a close frame (RFC 6455 §5.5.1), from an application's close() or from a failure.
import type { Core } from "../core/index.js";
import { InvalidCloseError } from "./errors.js";

/** RFC 6455 §5.5: a close reason fits in 125 bytes with its 2-byte code. */
const MAX_CLOSE_REASON = 123;

const textEncoder = new TextEncoder();

/** The body of a close frame, validated like a browser validates `close(code, reason)`. */
export function closeBody(core: Core, code: number | undefined, reason: string): Uint8Array {
  if (code === undefined) {
    if (reason) throw new InvalidCloseError("a close reason needs a close code");
    return new Uint8Array(0);
  }
  if (!Number.isInteger(code) || !core.x.isValidCloseCode(code)) {
    throw new InvalidCloseError(`invalid close code ${code}: use 1000, 1001-1003, 1007-1014 or 3000-4999`);
  }
  const text = textEncoder.encode(reason);
  if (text.length > MAX_CLOSE_REASON) throw new InvalidCloseError(`a close reason takes at most ${MAX_CLOSE_REASON} bytes of UTF-8, got ${text.length}`);
  const body = new Uint8Array(2 + text.length);
  body[0] = code >> 8;
  body[1] = code & 0xff;
  body.set(text, 2);
  return body;
}

/**
 * What the peer is told about a failure we detected: the limit or rule it broke, cut to fit a
 * close frame. An error without a close code is our own (1011: a handler threw): its message
 * stays here.
 */
export function closeReasonOf(error: Error & { closeCode?: number; closeReason?: string }): string {
  if (error.closeCode === undefined) return "";
  return truncateUtf8(error.closeReason ?? error.message, MAX_CLOSE_REASON);
}

/** `text` cut to at most `max` bytes of UTF-8, never inside a character. */
function truncateUtf8(text: string, max: number): string {
  const bytes = textEncoder.encode(text);
  if (bytes.length <= max) return text;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
