// RFC 6455 §5.3: octet i of the payload is XORed with octet (i MOD 4) of the masking key.
// `key` holds the key's four octets in memory order (little-endian u32), already rotated so
// that its low byte applies to the first byte at `src`.

/**
 * XORs `len` bytes from `src` with the key into `dst` (which may equal `src`). Returns true
 * when every unmasked byte is ASCII: for text, that makes UTF-8 validation free in the same pass.
 */
export function maskCopy(src: usize, dst: usize, len: usize, key: u32): bool {
  let i: usize = 0;
  let high: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const k = i32x4.splat(key);
    let seen = i64x2.splat(0);
    while (i + 64 <= len) {
      const a = v128.xor(v128.load(src + i), k);
      const b = v128.xor(v128.load(src + i, 16), k);
      const c = v128.xor(v128.load(src + i, 32), k);
      const d = v128.xor(v128.load(src + i, 48), k);
      v128.store(dst + i, a);
      v128.store(dst + i, b, 16);
      v128.store(dst + i, c, 32);
      v128.store(dst + i, d, 48);
      seen = v128.or(seen, v128.or(v128.or(a, b), v128.or(c, d)));
      i += 64;
    }
    while (i + 16 <= len) {
      const a = v128.xor(v128.load(src + i), k);
      v128.store(dst + i, a);
      seen = v128.or(seen, a);
      i += 16;
    }
    high = i8x16.bitmask(seen);
  } else {
    const k = (<u64>key << 32) | <u64>key;
    let seen: u64 = 0;
    while (i + 32 <= len) {
      const a = load<u64>(src + i) ^ k;
      const b = load<u64>(src + i, 8) ^ k;
      const c = load<u64>(src + i, 16) ^ k;
      const d = load<u64>(src + i, 24) ^ k;
      store<u64>(dst + i, a);
      store<u64>(dst + i, b, 8);
      store<u64>(dst + i, c, 16);
      store<u64>(dst + i, d, 24);
      seen |= a | b | c | d;
      i += 32;
    }
    while (i + 8 <= len) {
      const a = load<u64>(src + i) ^ k;
      store<u64>(dst + i, a);
      seen |= a;
      i += 8;
    }
    high = <u32>((seen & 0x8080808080808080) != 0);
  }
  // i is a multiple of 4 here, so the key phase is unchanged.
  if (i + 4 <= len) {
    const a = load<u32>(src + i) ^ key;
    store<u32>(dst + i, a);
    high |= a & 0x80808080;
    i += 4;
  }
  let k = key;
  while (i < len) {
    const a = load<u8>(src + i) ^ <u8>k;
    store<u8>(dst + i, a);
    high |= a & 0x80;
    k = rotr<u32>(k, 8);
    i++;
  }
  return high == 0;
}

/** The key as it applies to the byte `n` positions later. */
// @ts-ignore: decorator
@inline export function advanceKey(key: u32, n: usize): u32 {
  return rotr<u32>(key, <u32>(n & 3) << 3);
}
