// The edgews core: an RFC 6455 codec over fixed memory. Bytes in, events and frames out;
// it knows nothing of sockets. See src/core/ for the host side.
import { EVENT_SIZE, MASK_POOL_BYTES, SLOT_SIZE, eventsBase, inputBase, inputBytes, layout, maskPoolBase, outputBase, outputBytes, scratchBase } from "./layout";
import { eventCount } from "./events";
import { encodedLength } from "./encoder";
import { maskCopy } from "./mask";
import { UTF8_ACCEPT, initUtf8Tables, utf8Validate } from "./utf8";

export { openSlot, closeSlot, feed, isValidCloseCode } from "./parser";
export { encode, encodeHeader, maskKeysLeft, maskPoolRefilled } from "./encoder";

/** Reserves all memory for `connections` slots and an arena of `arenaBytes`. Call once. */
export function init(connections: u32, arenaBytes: u32, events: u32): bool {
  initUtf8Tables();
  return layout(connections, arenaBytes, events);
}

/** XORs `len` bytes at `ptr` in place with `key` (four octets in memory order). */
export function mask(ptr: usize, len: usize, key: u32): void {
  maskCopy(ptr, ptr, len, key);
}

export function isValidUtf8(ptr: usize, len: usize): bool {
  return utf8Validate(ptr, len, UTF8_ACCEPT) == UTF8_ACCEPT;
}

/** Incremental form for callers that validate a stream: returns the state to pass next time. */
export function utf8Step(ptr: usize, len: usize, state: u32): u32 {
  return utf8Validate(ptr, len, state);
}

// Layout, read once by the host.
export function eventsPtr(): usize { return eventsBase; }
export function eventsCount(): u32 { return eventCount; }
export function inputPtr(): usize { return inputBase; }
export function inputSize(): u32 { return inputBytes; }
export function scratchPtr(): usize { return scratchBase; }
export function outputPtr(): usize { return outputBase; }
export function outputSize(): u32 { return outputBytes; }
export function maskPoolPtr(): usize { return maskPoolBase; }
export function encodedSize(): u32 { return encodedLength; }
export const MASK_POOL_SIZE = MASK_POOL_BYTES;
export const SLOT_BYTES = SLOT_SIZE;
export const EVENT_BYTES = EVENT_SIZE;
