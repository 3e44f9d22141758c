// RFC 6455 §5.3: octet i of the payload is XORed with octet (i MOD 4) of the masking key.
// `key` holds the key's four octets in memory order (little-endian u32), already rotated so
// that its low byte applies to the first byte at `ptr`.

/** XORs `len` bytes from `src` with the key into `dst` (which may equal `src`). */
export function maskCopy(src: usize, dst: usize, len: usize, key: u32): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const k = i32x4.splat(key);
    while (i + 64 <= len) {
      v128.store(dst + i, v128.xor(v128.load(src + i), k));
      v128.store(dst + i, v128.xor(v128.load(src + i, 16), k), 16);
      v128.store(dst + i, v128.xor(v128.load(src + i, 32), k), 32);
      v128.store(dst + i, v128.xor(v128.load(src + i, 48), k), 48);
      i += 64;
    }
    while (i + 16 <= len) {
      v128.store(dst + i, v128.xor(v128.load(src + i), k));
      i += 16;
    }
  } else {
    const k = (<u64>key << 32) | <u64>key;
    while (i + 32 <= len) {
      store<u64>(dst + i, load<u64>(src + i) ^ k);
      store<u64>(dst + i, load<u64>(src + i, 8) ^ k, 8);
      store<u64>(dst + i, load<u64>(src + i, 16) ^ k, 16);
      store<u64>(dst + i, load<u64>(src + i, 24) ^ k, 24);
      i += 32;
    }
    while (i + 8 <= len) {
      store<u64>(dst + i, load<u64>(src + i) ^ k);
      i += 8;
    }
  }
  // i is a multiple of 4 here, so the key phase is unchanged.
  if (i + 4 <= len) {
    store<u32>(dst + i, load<u32>(src + i) ^ key);
    i += 4;
  }
  let k = key;
  while (i < len) {
    store<u8>(dst + i, load<u8>(src + i) ^ <u8>k);
    k = rotr<u32>(k, 8);
    i++;
  }
}

/** The key as it applies to the byte `n` positions later. */
// @ts-ignore: decorator
@inline export function advanceKey(key: u32, n: usize): u32 {
  return rotr<u32>(key, <u32>(n & 3) << 3);
}
