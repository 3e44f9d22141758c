// Fixed memory layout. `init` reserves every region once; nothing is allocated afterwards,
// so the host's views on `memory.buffer` never detach.
//
//   [static data][slots][events][mask pool][input arena][scratch arena][output arena]
//
// The input arena belongs to `feed`; encoding and the mask/UTF-8 utilities work in the scratch
// arena, so a message handler may encode a reply while the feed's other payloads still wait in
// the input arena.

/** Bytes of per-connection state. Offsets below are relative to a slot's base. */
export const SLOT_SIZE: u32 = 256;

// Slot fields.
export const S_STAGE: u32 = 0; // u8, Stage
export const S_ROLE: u32 = 1; // u8, Role
export const S_OPTIONS: u32 = 2; // u8, OPT_* bits
export const S_HEADER_HAVE: u32 = 3; // u8, header bytes buffered in S_HEADER_BUF
export const S_FRAME_OPCODE: u32 = 4; // u8
export const S_FRAME_FLAGS: u32 = 5; // u8, FLAG_* bits of the current frame
export const S_MESSAGE_OPCODE: u32 = 6; // u8, 0 when no data message is in progress
export const S_MESSAGE_FLAGS: u32 = 7; // u8, FLAG_RSV1 when the message is compressed
export const S_MASK_KEY: u32 = 8; // u32, already rotated to the current payload phase
export const S_FRAME_REMAINING: u32 = 16; // u64
export const S_MESSAGE_BYTES: u32 = 24; // u64
export const S_MAX_PAYLOAD: u32 = 32; // u64
export const S_MAX_MESSAGE: u32 = 40; // u64
export const S_MAX_FRAGMENTS: u32 = 48; // u32
export const S_FRAGMENTS: u32 = 52; // u32
export const S_UTF8_STATE: u32 = 56; // u32
export const S_CONTROL_HAVE: u32 = 60; // u32
export const S_HEADER_BUF: u32 = 64; // 14 bytes (a header is at most 14 bytes)
export const S_CONTROL_BUF: u32 = 80; // 125 bytes (a control payload is at most 125 bytes)
export const S_FRAGMENT_OVERHEAD: u32 = 208; // u64, what the message's small fragments cost so far
export const S_MAX_FRAGMENT_OVERHEAD: u32 = 216; // u64

export const enum Stage {
  Free = 0,
  Header = 1,
  Payload = 2,
  Control = 3,
  /** A close frame was received: everything after it is ignored (RFC 6455 §5.5.1). */
  Closed = 4,
  /** A protocol error was reported: everything after it is discarded. */
  Failed = 5,
}

export const enum Role {
  Client = 0,
  Server = 1,
}

/** Slot option: permessage-deflate was negotiated, so RSV1 may be set on a message's first frame. */
export const OPT_DEFLATE: u8 = 1;

export const FLAG_FIN: u8 = 1;
export const FLAG_RSV1: u8 = 2;
export const FLAG_MASKED: u8 = 4;

/** One event: 4 little-endian u32 words: kind | opcode << 8 | flags << 16, then a, b, c. */
export const EVENT_SIZE: u32 = 16;
export const MASK_POOL_BYTES: u32 = 4096;

export let maxSlots: u32 = 0;
export let slotsBase: usize = 0;
export let eventsBase: usize = 0;
export let eventCapacity: u32 = 0;
export let maskPoolBase: usize = 0;
export let inputBase: usize = 0;
export let inputBytes: u32 = 0;
export let scratchBase: usize = 0;
export let outputBase: usize = 0;
export let outputBytes: u32 = 0;

function align(n: usize, to: usize): usize {
  return (n + to - 1) & ~(to - 1);
}

/**
 * Lays out all regions for `connections` slots and an arena of `arenaBytes` (input) and grows
 * memory to fit, once. Returns false when called twice or when the sizes don't fit in 4 GiB.
 */
export function layout(connections: u32, arenaBytes: u32, events: u32): bool {
  if (maxSlots != 0 || connections == 0 || arenaBytes < 1024 || events < 16) return false;
  let p = align(__heap_base, 64);
  slotsBase = p;
  p += <usize>connections * SLOT_SIZE;
  eventsBase = align(p, 64);
  p = eventsBase + <usize>events * EVENT_SIZE;
  maskPoolBase = align(p, 64);
  p = maskPoolBase + MASK_POOL_BYTES;
  inputBase = align(p, 64);
  p = inputBase + arenaBytes;
  scratchBase = align(p, 64);
  p = scratchBase + arenaBytes;
  outputBase = align(p, 64);
  // Room for the frame headers of a piece split into small fragments: the host sizes each
  // piece so that payload + headers fit (see `encode`).
  const outBytes = arenaBytes + (arenaBytes >>> 2);
  p = outputBase + outBytes;
  const needPages = <i32>((align(p, 65536) >>> 16));
  const havePages = memory.size();
  // Grown pages are zero, and untouched ones cost no resident memory: slots are not cleared
  // here, so a core's RSS grows with the slots in use, not with the slots reserved.
  if (needPages > havePages && memory.grow(needPages - havePages) < 0) return false;
  maxSlots = connections;
  eventCapacity = events;
  inputBytes = arenaBytes;
  outputBytes = outBytes;
  return true;
}

// @ts-ignore: decorator
@inline export function slotPtr(slot: u32): usize {
  return slotsBase + <usize>slot * SLOT_SIZE;
}
