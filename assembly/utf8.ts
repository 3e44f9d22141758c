// Incremental UTF-8 validation (RFC 3629), carried across frames and chunks by a DFA state.
//
// The scalar path is Bjoern Hoehrmann's DFA: every byte moves the state, so it fails at the first
// byte that makes the sequence invalid. The SIMD path is the lookup algorithm of Keiser & Lemire
// ("Validating UTF-8 in less than one instruction per byte", 2021): it checks 16-byte blocks that
// start on a character boundary, and hands the last, possibly unfinished character to the DFA so
// the state carried to the next chunk is exact.

export const UTF8_ACCEPT: u32 = 0;
export const UTF8_REJECT: u32 = 12;

// 256 byte classes, then 9 states x 12 classes of transitions.
const DFA: usize = memory.data(256 + 108);

function fill(from: u32, to: u32, cls: u8): void {
  for (let b = from; b <= to; b++) store<u8>(DFA + b, cls);
}

export function initUtf8Tables(): void {
  fill(0x00, 0x7f, 0);
  fill(0x80, 0x8f, 1);
  fill(0x90, 0x9f, 9);
  fill(0xa0, 0xbf, 7);
  fill(0xc0, 0xc1, 8);
  fill(0xc2, 0xdf, 2);
  fill(0xe0, 0xe0, 10);
  fill(0xe1, 0xec, 3);
  fill(0xed, 0xed, 4);
  fill(0xee, 0xef, 3);
  fill(0xf0, 0xf0, 11);
  fill(0xf1, 0xf3, 6);
  fill(0xf4, 0xf4, 5);
  fill(0xf5, 0xff, 8);
  const t: StaticArray<u8> = [
    0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, // accept
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, // reject
    12, 0, 12, 12, 12, 12, 12, 0, 12, 0, 12, 12, // one continuation byte left
    12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12, // two left
    12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, // after E0: A0..BF (no overlongs)
    12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, // after ED: 80..9F (no surrogates)
    12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, // after F0: 90..BF (no overlongs)
    12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, // three left
    12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, // after F4: 80..8F (max U+10FFFF)
  ];
  for (let i = 0; i < 108; i++) store<u8>(DFA + 256 + i, unchecked(t[i]));
}

// @ts-ignore: decorator
@inline function step(state: u32, byte: u32): u32 {
  return <u32>load<u8>(DFA + 256 + state + <u32>load<u8>(DFA + byte));
}

/**
 * Advances `state` over `len` bytes at `ptr`. Returns UTF8_ACCEPT when they end on a character
 * boundary, UTF8_REJECT when they can't be the start of valid UTF-8, or an in-progress state.
 */
export function utf8Validate(ptr: usize, len: usize, state: u32): u32 {
  let i: usize = 0;
  // Finish a character that the previous piece left open.
  while (state != UTF8_ACCEPT) {
    if (i == len) return state;
    state = step(state, load<u8>(ptr + i++));
    if (state == UTF8_REJECT) return UTF8_REJECT;
  }
  if (ASC_FEATURE_SIMD) {
    const blocks = (len - i) & ~(<usize>15);
    if (blocks != 0) {
      const tail = simdValidate(ptr + i, blocks);
      if (tail < 0) return UTF8_REJECT;
      i += <usize>tail;
    }
  }
  while (i < len) {
    if (state == UTF8_ACCEPT) {
      while (i + 8 <= len && (load<u64>(ptr + i) & 0x8080808080808080) == 0) i += 8;
      if (i == len) break;
    }
    state = step(state, load<u8>(ptr + i++));
    if (state == UTF8_REJECT) return UTF8_REJECT;
  }
  return state;
}

// Error bits of the lookup algorithm, named for the two-byte patterns they flag.
// byte1High/byte1Low classify the previous byte, byte2High the current one; an error is
// any bit set in all three. Values precomputed from the paper's tables.
// @ts-ignore: decorator
@inline function specialCases(input: v128, prev1: v128): v128 {
  const byte1High = i8x16.swizzle(
    i8x16(2, 2, 2, 2, 2, 2, 2, 2, -128, -128, -128, -128, 33, 1, 21, 73),
    i8x16.shr_u(prev1, 4),
  );
  const byte1Low = i8x16.swizzle(
    i8x16(-25, -93, -125, -125, -117, -53, -53, -53, -53, -53, -53, -53, -53, -37, -53, -53),
    v128.and(prev1, i8x16.splat(0x0f)),
  );
  const byte2High = i8x16.swizzle(
    i8x16(1, 1, 1, 1, 1, 1, 1, 1, -26, -82, -70, -70, 1, 1, 1, 1),
    i8x16.shr_u(input, 4),
  );
  return v128.and(v128.and(byte1High, byte1Low), byte2High);
}

// @ts-ignore: decorator
@inline function blockErrors(input: v128, prev: v128): v128 {
  const prev1 = i8x16.shuffle(prev, input, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
  const prev2 = i8x16.shuffle(prev, input, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  const prev3 = i8x16.shuffle(prev, input, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28);
  const sc = specialCases(input, prev1);
  // Bytes 2 and 3 after a 3- or 4-byte lead must be continuations (bit 7 of sc says "two conts").
  const third = i8x16.sub_sat_u(prev2, i8x16.splat(<i8>(0xe0 - 0x80)));
  const fourth = i8x16.sub_sat_u(prev3, i8x16.splat(<i8>(0xf0 - 0x80)));
  const must23 = v128.and(v128.or(third, fourth), i8x16.splat(-128));
  return v128.xor(must23, sc);
}

// @ts-ignore: decorator
@inline function incompleteAtEnd(input: v128): v128 {
  // Non-zero when the block ends inside a multi-byte character.
  return i8x16.sub_sat_u(input, i8x16(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -17, -33, -65));
}

/**
 * Checks `len` bytes (a multiple of 16) starting on a character boundary. Returns -1 on an
 * error, else the offset where the last, possibly unfinished, character starts: the DFA
 * re-checks from there so that the carried state is exact.
 */
function simdValidate(ptr: usize, len: usize): isize {
  const zero = i64x2.splat(0);
  let prev = zero;
  let incomplete = zero;
  let error = zero;
  let i: usize = 0;
  while (i + 64 <= len) {
    const a = v128.load(ptr + i);
    const b = v128.load(ptr + i, 16);
    const c = v128.load(ptr + i, 32);
    const d = v128.load(ptr + i, 48);
    if (i8x16.bitmask(v128.or(v128.or(a, b), v128.or(c, d))) == 0) {
      error = v128.or(error, incomplete);
      incomplete = zero;
    } else {
      error = v128.or(error, blockErrors(a, prev));
      error = v128.or(error, blockErrors(b, a));
      error = v128.or(error, blockErrors(c, b));
      error = v128.or(error, blockErrors(d, c));
      incomplete = incompleteAtEnd(d);
    }
    prev = d;
    i += 64;
  }
  while (i < len) {
    const a = v128.load(ptr + i);
    if (i8x16.bitmask(a) == 0) {
      error = v128.or(error, incomplete);
      incomplete = zero;
    } else {
      error = v128.or(error, blockErrors(a, prev));
      incomplete = incompleteAtEnd(a);
    }
    prev = a;
    i += 16;
  }
  if (v128.any_true(error)) return -1;
  return <isize>lastCharacterStart(ptr, len);
}

/** Offset of the last character's lead byte when that character runs past `len`, else `len`. */
function lastCharacterStart(ptr: usize, len: usize): usize {
  for (let back: usize = 1; back <= 3; back++) {
    const b = <u32>load<u8>(ptr + len - back);
    if ((b & 0xc0) == 0x80) continue;
    const need: usize = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? len - back : len;
  }
  return len;
}
