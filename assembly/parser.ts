// Incremental RFC 6455 §5 frame parser. `feed` takes any split of the byte stream, unmasks
// payload in place, validates as early as the bytes allow and writes events (see events.ts).
import {
  FLAG_FIN, FLAG_MASKED, FLAG_RSV1, OPT_DEFLATE, Role, Stage,
  S_CONTROL_BUF, S_CONTROL_HAVE, S_FRAGMENT_OVERHEAD, S_FRAGMENTS, S_FRAME_FLAGS, S_FRAME_OPCODE, S_FRAME_REMAINING,
  S_HEADER_BUF, S_HEADER_HAVE, S_MASK_KEY, S_MAX_FRAGMENT_OVERHEAD, S_MAX_FRAGMENTS, S_MAX_MESSAGE, S_MAX_PAYLOAD,
  S_MESSAGE_BYTES, S_MESSAGE_FLAGS, S_MESSAGE_OPCODE, S_OPTIONS, S_ROLE, S_STAGE, S_UTF8_STATE,
  SLOT_SIZE, maxSlots, slotPtr,
} from "./layout";
import { ErrorKind, Event, emit, resetEvents, roomForFrame } from "./events";
import { advanceKey, maskCopy } from "./mask";
import { UTF8_ACCEPT, UTF8_REJECT, utf8Validate } from "./utf8";

const OP_CONTINUATION: u32 = 0;
const OP_TEXT: u32 = 1;
const OP_BINARY: u32 = 2;
const OP_CLOSE: u32 = 8;
const OP_PONG: u32 = 10;

// RFC 6455 §10.4: implementations "MUST protect themselves against exceeding those limits. (For
// example, a malicious endpoint can try to exhaust its peer's memory or mount a denial-of-service
// attack by sending either a single big frame (e.g., of size 2**60) or by sending a long stream of
// small frames that are a part of a fragmented message.)" maxMessage bounds the bytes; a frame
// also costs a header, events and host work whatever it carries, so a data frame shorter than
// SMALL_FRAGMENT bytes is charged the difference, and a message's charges may not pass its
// overhead budget. Honest fragments (64 bytes or more) are never charged: a peer that sends many
// of them is bounded by maxMessage alone, while a flood of empty fragments ends after
// budget / 64 frames (16 MiB: 262,144 frames, 1.5 MiB of masked headers).
/** Host twin: SMALL_FRAGMENT_BYTES in src/core/parser.ts (test/core/boundary.test.ts). */
const SMALL_FRAGMENT: u64 = 64;
/**
 * The budget is maxMessage, but never less than this: a small maxMessage still admits 16,384
 * empty fragments (as many fragments as ws admits by default). Host twin: MIN_FRAGMENT_OVERHEAD.
 */
const MIN_FRAGMENT_OVERHEAD: u64 = 1 << 20;

/** Initialises slot `slot`; limits of 0 mean "no limit". Returns false for a bad slot index. */
export function openSlot(slot: u32, role: u32, options: u32, maxPayload: f64, maxMessage: f64, maxFragments: u32): bool {
  if (slot >= maxSlots) return false;
  const s = slotPtr(slot);
  memory.fill(s, 0, SLOT_SIZE);
  store<u8>(s, <u8>Stage.Header, S_STAGE);
  store<u8>(s, <u8>role, S_ROLE);
  store<u8>(s, <u8>options, S_OPTIONS);
  store<u64>(s, maxPayload > 0 ? <u64>maxPayload : u64.MAX_VALUE, S_MAX_PAYLOAD);
  store<u64>(s, maxMessage > 0 ? <u64>maxMessage : u64.MAX_VALUE, S_MAX_MESSAGE);
  store<u32>(s, maxFragments > 0 ? maxFragments : u32.MAX_VALUE, S_MAX_FRAGMENTS);
  store<u64>(s, maxMessage > 0 ? max<u64>(<u64>maxMessage, MIN_FRAGMENT_OVERHEAD) : u64.MAX_VALUE, S_MAX_FRAGMENT_OVERHEAD);
  return true;
}

export function closeSlot(slot: u32): void {
  if (slot < maxSlots) store<u8>(slotPtr(slot), <u8>Stage.Free, S_STAGE);
}

/**
 * Parses `len` bytes at `ptr` for `slot`. Returns how many bytes were consumed: less than `len`
 * only when the event buffer filled up or the slot's control buffer still backs an event of this
 * feed (drain the events and feed the rest), or -1 for a free slot.
 */
export function feed(slot: u32, ptr: usize, len: u32): i32 {
  resetEvents();
  controlBufferInUse = false;
  if (slot >= maxSlots) return -1;
  const s = slotPtr(slot);
  const end = ptr + len;
  let pos = ptr;
  while (pos < end) {
    const stage = <u32>load<u8>(s, S_STAGE);
    if (stage == Stage.Header) {
      if (!roomForFrame()) break;
      pos = readHeader(s, pos, end);
    } else if (stage == Stage.Payload) {
      pos = readPayload(s, pos, end);
    } else if (stage == Stage.Control) {
      const next = readControl(s, pos, end);
      if (next == pos) break;
      pos = next;
    } else if (stage == Stage.Free) {
      return -1;
    } else {
      // Closed or Failed: nothing after a close frame or an error is meaningful.
      pos = end;
    }
  }
  return <i32>(pos - ptr);
}

function fail(s: usize, kind: ErrorKind, closeCode: u32): void {
  emit(Event.Error, 0, 0, <u32>kind, 0, closeCode);
  store<u8>(s, <u8>Stage.Failed, S_STAGE);
}

// @ts-ignore: decorator
@inline function headerLength(b1: u32): u32 {
  const len7 = b1 & 0x7f;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) != 0 ? 4 : 0);
}

/** Reads a frame header, from the stream directly when it is whole, else via the slot's buffer. */
function readHeader(s: usize, pos: usize, end: usize): usize {
  let have = <u32>load<u8>(s, S_HEADER_HAVE);
  if (have == 0 && pos + 2 <= end) {
    const need = headerLength(<u32>load<u8>(pos, 1));
    if (pos + need <= end) return onHeader(s, pos, pos + need, end);
  }
  const buf = s + S_HEADER_BUF;
  // Gather the two fixed bytes first: they tell how long the header is, and whether the
  // frame is already wrong.
  while (have < 2 && pos < end) store<u8>(buf + have++, load<u8>(pos++));
  if (have < 2) {
    store<u8>(s, <u8>have, S_HEADER_HAVE);
    return pos;
  }
  const b1 = <u32>load<u8>(buf, 1);
  const early = firstBytesError(s, <u32>load<u8>(buf), b1);
  if (early != 0) return failAt(s, early, 1002, end);
  const need = headerLength(b1);
  const take = min<usize>(<usize>(need - have), end - pos);
  memory.copy(buf + have, pos, take);
  have += <u32>take;
  pos += take;
  if (have < need) {
    store<u8>(s, <u8>have, S_HEADER_HAVE);
    return pos;
  }
  store<u8>(s, 0, S_HEADER_HAVE);
  return onHeader(s, buf, pos, end);
}

/**
 * The checks the first two header bytes decide on their own (all are protocol errors, 1002),
 * so a bad frame fails before its extended length and mask key arrive. Returns 0 when fine.
 */
function firstBytesError(s: usize, b0: u32, b1: u32): ErrorKind {
  const rsv1 = (b0 & 0x40) != 0;
  const opcode = b0 & 0x0f;
  const len7 = b1 & 0x7f;
  // RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
  // non-zero values." Only permessage-deflate exists here, and it only defines RSV1.
  if ((b0 & 0x30) != 0) return ErrorKind.Rsv2Rsv3;
  if (rsv1 && (<u32>load<u8>(s, S_OPTIONS) & OPT_DEFLATE) == 0) return ErrorKind.Rsv1Unexpected;
  const messageOpcode = <u32>load<u8>(s, S_MESSAGE_OPCODE);
  if (opcode >= 8) {
    if (opcode > OP_PONG) return ErrorKind.InvalidOpcode;
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
    // be fragmented." RFC 7692 §6.1 defines RSV1 for data messages only. Like ws, a control
    // frame using an extended length form is refused even if that length is small.
    if ((b0 & 0x80) == 0) return ErrorKind.ControlFragmented;
    if (rsv1) return ErrorKind.Rsv1Unexpected;
    if (len7 > 125) return ErrorKind.ControlTooLong;
    // §5.5.1: a close body, if present, starts with a 2-byte status code.
    if (opcode == OP_CLOSE && len7 == 1) return ErrorKind.CloseOneByte;
  } else if (opcode == OP_CONTINUATION) {
    if (messageOpcode == 0) return ErrorKind.ContinuationWithoutMessage;
    // RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only.
    if (rsv1) return ErrorKind.Rsv1Unexpected;
  } else if (opcode <= OP_BINARY) {
    if (messageOpcode != 0) return ErrorKind.MessageNotFinished;
  } else {
    return ErrorKind.InvalidOpcode;
  }
  // §5.1: a server MUST close on an unmasked frame; a client MUST close on a masked one.
  const server = <u32>load<u8>(s, S_ROLE) == Role.Server;
  const masked = (b1 & 0x80) != 0;
  if (server && !masked) return ErrorKind.MaskExpected;
  if (!server && masked) return ErrorKind.MaskUnexpected;
  return 0;
}

/**
 * Validates a whole header at `h` and starts the frame; `pos` is where its payload begins.
 * Returns the new stream position.
 */
function onHeader(s: usize, h: usize, pos: usize, end: usize): usize {
  const b0 = <u32>load<u8>(h);
  const b1 = <u32>load<u8>(h, 1);
  const early = firstBytesError(s, b0, b1);
  if (early != 0) return failAt(s, early, 1002, end);
  const fin = (b0 & 0x80) != 0;
  const rsv1 = (b0 & 0x40) != 0;
  const opcode = b0 & 0x0f;
  const masked = (b1 & 0x80) != 0;
  const len7 = b1 & 0x7f;
  let length: u64 = len7;
  let keyAt: usize = 2;
  if (len7 == 126) {
    length = <u64>bswap<u16>(load<u16>(h, 2));
    keyAt = 4;
  } else if (len7 == 127) {
    length = bswap<u64>(load<u64>(h, 2));
    // §5.2: "the most significant bit MUST be 0".
    if ((length >> 63) != 0) return failAt(s, ErrorKind.LengthMsbSet, 1002, end);
    keyAt = 10;
  }
  const key = masked ? load<u32>(h + keyAt) : 0;
  store<u32>(s, key, S_MASK_KEY);
  store<u64>(s, length, S_FRAME_REMAINING);
  store<u8>(s, <u8>opcode, S_FRAME_OPCODE);
  const flags = (fin ? FLAG_FIN : 0) | (rsv1 ? FLAG_RSV1 : 0) | (masked ? FLAG_MASKED : 0);
  store<u8>(s, flags, S_FRAME_FLAGS);
  if (opcode >= 8) {
    if (length == 0) return onControl(s, pos, 0, pos, end);
    store<u32>(s, 0, S_CONTROL_HAVE);
    store<u8>(s, <u8>Stage.Control, S_STAGE);
    return pos;
  }
  return startDataFrame(s, opcode, fin, rsv1, length, pos, end);
}

/**
 * The limits hold for a message as the application sees it. A compressed (permessage-deflate)
 * message crosses the wire deflated, and incompressible data grows when deflated: by 0.03% with
 * zlib's defaults, by up to 14% with a small memLevel (Python's websockets uses 5). Its frames
 * are allowed zlib's conservative deflateBound, so a message within maxMessage once inflated is
 * never refused for its wire size (the decompressor holds the inflated size to maxMessage
 * exactly). An uncompressed message gets no allowance.
 */
function wireLimit(limit: u64, compressed: bool): u64 {
  if (!compressed || limit == u64.MAX_VALUE) return limit;
  return limit + (limit + 7) / 8 + (limit + 63) / 64 + 5;
}

function startDataFrame(s: usize, opcode: u32, fin: bool, rsv1: bool, length: u64, pos: usize, end: usize): usize {
  let fragments: u32 = 1;
  let messageBytes: u64 = 0;
  let overhead: u64 = 0;
  if (opcode != OP_CONTINUATION) {
    store<u8>(s, <u8>opcode, S_MESSAGE_OPCODE);
    store<u8>(s, rsv1 ? FLAG_RSV1 : 0, S_MESSAGE_FLAGS);
    store<u32>(s, UTF8_ACCEPT, S_UTF8_STATE);
  } else {
    fragments = load<u32>(s, S_FRAGMENTS) + 1;
    messageBytes = load<u64>(s, S_MESSAGE_BYTES);
    overhead = load<u64>(s, S_FRAGMENT_OVERHEAD);
  }
  if (length < SMALL_FRAGMENT) overhead += SMALL_FRAGMENT - length;
  const compressed = (load<u8>(s, S_MESSAGE_FLAGS) & FLAG_RSV1) != 0;
  if (length > wireLimit(load<u64>(s, S_MAX_PAYLOAD), compressed)) return failAt(s, ErrorKind.FrameTooBig, 1009, end);
  if (length > wireLimit(load<u64>(s, S_MAX_MESSAGE), compressed) - messageBytes) return failAt(s, ErrorKind.MessageTooBig, 1009, end);
  if (fragments > load<u32>(s, S_MAX_FRAGMENTS)) return failAt(s, ErrorKind.TooManyFragments, 1009, end);
  if (overhead > load<u64>(s, S_MAX_FRAGMENT_OVERHEAD)) return failAt(s, ErrorKind.TooManyFragments, 1009, end);
  store<u32>(s, fragments, S_FRAGMENTS);
  store<u64>(s, messageBytes + length, S_MESSAGE_BYTES);
  store<u64>(s, overhead, S_FRAGMENT_OVERHEAD);

  if (fin && opcode != OP_CONTINUATION && <u64>(end - pos) >= length) {
    return wholeMessage(s, opcode, rsv1, pos, <usize>length, end);
  }
  emit(Event.FrameStart, opcode, (fin ? FLAG_FIN : 0) | (rsv1 ? FLAG_RSV1 : 0), <u32>length, <u32>(length >> 32), 0);
  if (length == 0) return endDataFrame(s, pos, end);
  store<u8>(s, <u8>Stage.Payload, S_STAGE);
  return pos;
}

/** The common case: a single-frame message whose payload is all in this feed. One event. */
function wholeMessage(s: usize, opcode: u32, rsv1: bool, pos: usize, length: usize, end: usize): usize {
  const ascii = unmask(s, pos, length);
  store<u8>(s, 0, S_MESSAGE_OPCODE);
  if (opcode == OP_TEXT && !rsv1 && !ascii && utf8Validate(pos, length, UTF8_ACCEPT) != UTF8_ACCEPT) {
    return failAt(s, ErrorKind.TextInvalidUtf8, 1007, end);
  }
  emit(Event.Message, opcode, rsv1 ? FLAG_RSV1 : 0, <u32>pos, <u32>length, 0);
  return pos + length;
}

/**
 * Unmasks `n` payload bytes in place when the frame is masked. Returns true when they are all
 * ASCII, as learned in the same pass (unmasked frames report false and take the validator's path).
 */
// @ts-ignore: decorator
@inline function unmask(s: usize, pos: usize, n: usize): bool {
  return (load<u8>(s, S_FRAME_FLAGS) & FLAG_MASKED) != 0 && maskCopy(pos, pos, n, load<u32>(s, S_MASK_KEY));
}

// @ts-ignore: decorator
@inline function checksUtf8(s: usize): bool {
  return <u32>load<u8>(s, S_MESSAGE_OPCODE) == OP_TEXT && (load<u8>(s, S_MESSAGE_FLAGS) & FLAG_RSV1) == 0;
}

function readPayload(s: usize, pos: usize, end: usize): usize {
  const remaining = load<u64>(s, S_FRAME_REMAINING);
  const n = <usize>min<u64>(remaining, <u64>(end - pos));
  const ascii = unmask(s, pos, n);
  store<u32>(s, advanceKey(load<u32>(s, S_MASK_KEY), n), S_MASK_KEY);
  if (checksUtf8(s)) {
    // Fail on the chunk holding the first invalid byte, not at the end of the message.
    let state = load<u32>(s, S_UTF8_STATE);
    if (!ascii || state != UTF8_ACCEPT) {
      state = utf8Validate(pos, n, state);
      if (state == UTF8_REJECT) return failAt(s, ErrorKind.TextInvalidUtf8, 1007, end);
      store<u32>(s, state, S_UTF8_STATE);
    }
  }
  emit(Event.Chunk, 0, 0, <u32>pos, <u32>n, 0);
  store<u64>(s, remaining - n, S_FRAME_REMAINING);
  pos += n;
  return remaining == <u64>n ? endDataFrame(s, pos, end) : pos;
}

function endDataFrame(s: usize, pos: usize, end: usize): usize {
  store<u8>(s, <u8>Stage.Header, S_STAGE);
  if ((load<u8>(s, S_FRAME_FLAGS) & FLAG_FIN) == 0) return pos;
  // §8.1: a text message must be valid UTF-8 as a whole; a character cut at its end is not.
  if (checksUtf8(s) && load<u32>(s, S_UTF8_STATE) != UTF8_ACCEPT) {
    return failAt(s, ErrorKind.TextInvalidUtf8, 1007, end);
  }
  store<u8>(s, 0, S_MESSAGE_OPCODE);
  emit(Event.MessageEnd, 0, 0, 0, 0, 0);
  return pos;
}

/** A Control event of the current feed points at the slot's control buffer. */
let controlBufferInUse = false;

function readControl(s: usize, pos: usize, end: usize): usize {
  const length = <u32>load<u64>(s, S_FRAME_REMAINING);
  const have = load<u32>(s, S_CONTROL_HAVE);
  const key = load<u32>(s, S_MASK_KEY);
  const available = <u32>min<usize>(<usize>(length - have), end - pos);
  let payload = pos;
  if (have != 0 || available < length) {
    // Split across feeds: collect it in the slot so the event can carry it whole. When an event
    // of this feed already points at that buffer, consume nothing: `feed` returns, the host
    // drains the event, then feeds the rest.
    if (have == 0 && controlBufferInUse) return pos;
    payload = s + S_CONTROL_BUF;
    maskCopy(pos, payload + have, available, advanceKey(key, have));
    store<u32>(s, have + available, S_CONTROL_HAVE);
    if (have + available < length) return pos + available;
    controlBufferInUse = true;
  } else {
    maskCopy(pos, pos, length, key);
  }
  return onControl(s, payload, length, pos + available, end);
}

function onControl(s: usize, payload: usize, length: u32, pos: usize, end: usize): usize {
  const opcode = <u32>load<u8>(s, S_FRAME_OPCODE);
  store<u8>(s, <u8>Stage.Header, S_STAGE);
  let code: u32 = 0;
  if (opcode == OP_CLOSE) {
    code = 1005; // §7.1.5: no status code was present.
    if (length >= 2) {
      code = <u32>bswap<u16>(load<u16>(payload));
      if (!isValidCloseCode(code)) return failAt(s, ErrorKind.CloseCodeInvalid, 1002, end);
      if (utf8Validate(payload + 2, length - 2, UTF8_ACCEPT) != UTF8_ACCEPT) {
        return failAt(s, ErrorKind.CloseReasonInvalidUtf8, 1007, end);
      }
    }
    // §5.5.1: after a close frame the peer sends nothing more; ignore whatever follows.
    store<u8>(s, <u8>Stage.Closed, S_STAGE);
  }
  emit(Event.Control, opcode, 0, <u32>payload, length, code);
  return opcode == OP_CLOSE ? end : pos;
}

/** §7.4: codes a peer may send; 1004-1006 and 1015 are reserved, 3000-4999 are registered or private. */
export function isValidCloseCode(code: u32): bool {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) || (code >= 3000 && code <= 4999);
}

// @ts-ignore: decorator
@inline function failAt(s: usize, kind: ErrorKind, closeCode: u32, end: usize): usize {
  fail(s, kind, closeCode);
  return end;
}
