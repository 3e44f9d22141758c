// CRC-32C: the published check values, and the reason it was chosen over IEEE 802.3's CRC-32,
// checked rather than quoted: at the default packet size (256 bytes, 2,048 bits with the CRC)
// CRC-32C detects every error of up to 5 flipped bits, IEEE's CRC-32 does not.
import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/link/crc32c.js";

const ascii = (text: string) => new TextEncoder().encode(text);

describe("crc32c", () => {
  it("gives the published check values (CRC catalogue; RFC 3720 §B.4)", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("covers a range of a buffer", () => {
    const bytes = ascii("xx123456789yy");
    expect(crc32c(bytes, 2, 11)).toBe(0xe3069283);
  });
});

/**
 * The smallest number of flipped bits (up to 5) that a CRC with generator `polynomial` (normal
 * form, x^32 implied) misses in a codeword of `bits` bits, or 6 when it misses none of up to 5.
 * A CRC is linear: an error pattern goes unseen exactly when the XOR of x^i mod G over its
 * flipped positions i is zero, whatever the data. Shifting a pattern keeps it unseen, so its
 * lowest position can be taken as 0; the weight 4 and 5 cases meet in the middle on the sorted
 * XORs of all pairs of positions.
 */
function smallestUndetectedWeight(polynomial: number, bits: number): number {
  const syndromes = new Uint32Array(bits);
  let s = 1;
  for (let i = 0; i < bits; i++) {
    syndromes[i] = s;
    s = ((s << 1) ^ (s & 0x80000000 ? polynomial : 0)) >>> 0;
  }
  const position = new Map<number, number>();
  for (let i = 0; i < bits; i++) {
    if (position.has(syndromes[i])) return 2;
    position.set(syndromes[i], i);
  }
  for (let a = 1; a < bits; a++) if ((position.get((1 ^ syndromes[a]) >>> 0) ?? 0) > a) return 3;
  // Pairs of positions >= 1: a match below can't reuse a position without a lighter pattern, excluded above.
  const pairs = new Uint32Array(((bits - 1) * (bits - 2)) / 2);
  let n = 0;
  for (let b = 1; b < bits; b++) for (let c = b + 1; c < bits; c++) pairs[n++] = syndromes[b] ^ syndromes[c];
  pairs.sort();
  const has = (value: number) => {
    let lo = 0;
    let hi = pairs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (pairs[mid] === value) return true;
      if (pairs[mid] < value) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  };
  for (let a = 1; a < bits; a++) if (has((1 ^ syndromes[a]) >>> 0)) return 4;
  for (let a = 1; a < bits; a++) for (let b = a + 1; b < bits; b++) if (has((1 ^ syndromes[a] ^ syndromes[b]) >>> 0)) return 5;
  return 6;
}

describe("CRC-32C against CRC-32 (IEEE 802.3) on 256-byte packets", () => {
  const bits = 256 * 8;

  it("CRC-32C misses no error of up to 5 flipped bits (Hamming distance 6)", () => {
    expect(smallestUndetectedWeight(0x1edc6f41, bits)).toBe(6);
  });

  it("IEEE's CRC-32 misses some 5-bit errors (Hamming distance 5)", () => {
    expect(smallestUndetectedWeight(0x04c11db7, bits)).toBe(5);
  });
});
