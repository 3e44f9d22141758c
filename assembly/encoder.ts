// RFC 6455 §5.2 frame encoder: header, client masking with pooled CSPRNG keys, fragmentation.
import { MASK_POOL_BYTES, maskPoolBase, outputBase, outputBytes } from "./layout";
import { maskCopy } from "./mask";

let maskPoolUsed: u32 = MASK_POOL_BYTES;
export let encodedLength: u32 = 0;

/** Mask keys left in the pool; the host refills it from its CSPRNG. */
export function maskKeysLeft(): u32 {
  return (MASK_POOL_BYTES - maskPoolUsed) >>> 2;
}

/** The host has written MASK_POOL_BYTES fresh random bytes at the pool. */
export function maskPoolRefilled(): void {
  maskPoolUsed = 0;
}

// @ts-ignore: decorator
@inline function headerLength(n: u64, masked: bool): usize {
  return 2 + (n > 65535 ? 8 : n > 125 ? 2 : 0) + (masked ? 4 : 0);
}

/** Writes a header at `out` and returns where the payload goes. Takes a key from the pool when masked. */
function writeHeader(out: usize, b0: u32, n: u64, masked: bool): usize {
  store<u8>(out, <u8>b0);
  const maskBit: u32 = masked ? 0x80 : 0;
  let p = out + 2;
  if (n > 65535) {
    store<u8>(out, <u8>(maskBit | 127), 1);
    store<u64>(p, bswap<u64>(n));
    p += 8;
  } else if (n > 125) {
    store<u8>(out, <u8>(maskBit | 126), 1);
    store<u16>(p, bswap<u16>(<u16>n));
    p += 2;
  } else {
    store<u8>(out, <u8>(maskBit | <u32>n), 1);
  }
  if (masked) {
    store<u32>(p, load<u32>(maskPoolBase + maskPoolUsed));
    maskPoolUsed += 4;
    p += 4;
  }
  return p;
}

// @ts-ignore: decorator
@inline function firstByte(opcode: u32, rsv1: bool, fin: bool): u32 {
  return opcode | (rsv1 ? 0x40 : 0) | (fin ? 0x80 : 0);
}

/**
 * Encodes `len` payload bytes at `src` into the output region as frames of at most
 * `fragmentSize` bytes (0: one frame). The first frame carries `opcode` and RSV1, the others
 * are continuations; the last carries FIN when `fin`. Stops early when the output region or the
 * mask pool runs out; returns the payload bytes consumed, and `encodedLength` the bytes written.
 */
export function encode(opcode: u32, rsv1: bool, fin: bool, src: usize, len: u32, fragmentSize: u32, masked: bool): u32 {
  const limit = outputBase + outputBytes;
  let out = outputBase;
  let consumed: u32 = 0;
  do {
    let n = len - consumed;
    if (fragmentSize != 0 && n > fragmentSize) n = fragmentSize;
    if (out + headerLength(n, masked) + n > limit) break;
    if (masked && maskPoolUsed + 4 > MASK_POOL_BYTES) break;
    const first = consumed == 0;
    const b0 = firstByte(first ? opcode : 0, first && rsv1, fin && consumed + n == len);
    const p = writeHeader(out, b0, n, masked);
    if (masked) maskCopy(src + consumed, p, n, load<u32>(p - 4));
    else memory.copy(p, src + consumed, n);
    out = p + n;
    consumed += n;
  } while (consumed < len);
  encodedLength = <u32>(out - outputBase);
  return consumed;
}

/**
 * Writes only the header of a frame of `length` bytes at the output region (for frames larger
 * than the arena, whose payload the host masks in pieces with `mask` and the key at the
 * header's last 4 bytes). Returns the header length, or 0 when the mask pool is empty.
 */
export function encodeHeader(opcode: u32, rsv1: bool, fin: bool, length: f64, masked: bool): u32 {
  if (masked && maskPoolUsed + 4 > MASK_POOL_BYTES) return 0;
  return <u32>(writeHeader(outputBase, firstByte(opcode, rsv1, fin), <u64>length, masked) - outputBase);
}
