// Hostile permessage-deflate messages for the zip-bomb tests, as a peer sends them (RFC 7692
// §7.2.1: without the 00 00 ff ff tail, which the receiver appends before inflating).
import zlib from "node:zlib";

const SEGMENT = 16 << 20;
const TAIL_LENGTH = 4;

/**
 * Zeros compressed as self-contained sync-flushed segments (each refers only to itself and ends
 * byte-aligned), so one compressed segment repeated inflates to `size` bytes: ~1 KB per MiB.
 */
export function zerosBomb(size: number): Buffer {
  const segment = zlib.deflateRawSync(Buffer.alloc(SEGMENT), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const count = Math.ceil(size / SEGMENT);
  return Buffer.concat(Array.from({ length: count }, () => segment)).subarray(0, count * segment.length - TAIL_LENGTH);
}

/**
 * A bomb for an inflater that, at the limit, resets and carries on with the rest of the message
 * (issue 11): zeros cut exactly where zlib's output first passes `limit`, then a new stream of
 * `after` zeros, which such an inflater parses in full after its decision. zlib hands out 16 KiB
 * of output per call, so the cut is where the call that passes the limit left its input.
 */
export async function resetAndContinueBomb(limit: number, after: number): Promise<Buffer> {
  const lead = zlib.deflateRawSync(Buffer.alloc(2 * limit), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const rest = zerosBomb(after);
  const cut = await inputConsumedAt(Buffer.concat([lead, rest]), limit);
  return Buffer.concat([lead.subarray(0, cut), rest]);
}

/** How much input zlib had taken when its output first passed `limit`. */
function inputConsumedAt(data: Buffer, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = zlib.createInflateRaw();
    let size = 0;
    inflate.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return;
      resolve(inflate.bytesWritten);
      inflate.destroy();
    });
    inflate.on("error", reject);
    inflate.write(data);
  });
}

/**
 * A message of empty dynamic-Huffman blocks, ~`size` bytes: it inflates to nothing, so no
 * output limit sees it, yet each 12-byte block makes zlib build three Huffman tables (~1.2 s
 * of zlib work per 16 MiB on a 2-core x86 VM).
 */
export function workBomb(size: number): Buffer {
  const unit = emptyDynamicBlocks(4); // 4 × 94 bits: a whole number of bytes, so it repeats
  const units = Math.max(1, Math.floor(size / unit.length));
  const message = Buffer.alloc(units * unit.length + 1);
  message.fill(unit, 0, units * unit.length);
  // The last byte starts the empty stored block that the receiver's 00 00 ff ff completes.
  message[message.length - 1] = 0x00;
  return message;
}

/** RFC 1951 §3.2.7 blocks with one literal and end-of-block, 1-bit codes, no distance codes. */
function emptyDynamicBlocks(count: number): Buffer {
  const bits = new BitWriter();
  // Code-length code (order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1): 18 → "0", 0 → "10", 1 → "11".
  const codeLengthCodeLengths = [0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  for (let i = 0; i < count; i++) {
    bits.value(0, 1).value(2, 2); // not final, dynamic Huffman
    bits.value(0, 5).value(0, 5).value(codeLengthCodeLengths.length - 4, 4); // 257 lit/len codes, 1 distance code
    for (const length of codeLengthCodeLengths) bits.value(length, 3);
    bits.code(0b11, 2); // literal 0: length 1
    bits.code(0, 1).value(138 - 11, 7).code(0, 1).value(117 - 11, 7); // literals 1..255: none
    bits.code(0b11, 2); // 256 (end of block): length 1
    bits.code(0b10, 2); // the distance code: length 0
    bits.code(1, 1); // end of block
  }
  return bits.finish();
}

class BitWriter {
  readonly #bytes: number[] = [];
  #current = 0;
  #used = 0;

  /** A number, least significant bit first (RFC 1951 §3.1.1). */
  value(value: number, length: number): this {
    for (let i = 0; i < length; i++) this.#bit((value >> i) & 1);
    return this;
  }

  /** A Huffman code, most significant bit first. */
  code(code: number, length: number): this {
    for (let i = length - 1; i >= 0; i--) this.#bit((code >> i) & 1);
    return this;
  }

  finish(): Buffer {
    if (this.#used > 0) throw new Error(`${this.#used} bits left over: not a whole number of bytes`);
    return Buffer.from(this.#bytes);
  }

  #bit(bit: number): void {
    this.#current |= bit << this.#used++;
    if (this.#used < 8) return;
    this.#bytes.push(this.#current);
    this.#current = 0;
    this.#used = 0;
  }
}
