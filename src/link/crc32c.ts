// CRC-32C (Castagnoli): the check on every link packet. Chosen over the IEEE 802.3 CRC-32
// because at link packet lengths (up to 512 bytes) it detects every error of up to 5 flipped
// bits (Hamming distance 6), where IEEE's misses some 5-bit errors beyond 268 data bits; both
// detect every burst of up to 32 bits. test/link/crc.test.ts checks this at 256-byte packets;
// docs/link-protocol.md §3 has the figures.

/** The polynomial 0x1EDC6F41, bit-reflected (the register shifts right, least significant bit first). */
export const CRC32C_POLYNOMIAL_REFLECTED = 0x82f63b78;

const TABLE = makeTable(CRC32C_POLYNOMIAL_REFLECTED);

/** The 256-entry table of a reflected CRC-32 with this polynomial (1 KiB; an MCU may keep it in flash). */
function makeTable(reflectedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ reflectedPolynomial : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
}

/**
 * CRC-32C of `bytes[from, to)`: initial value 0xFFFFFFFF, reflected input and output, final
 * XOR 0xFFFFFFFF (as iSCSI, RFC 3720 §B.4). The check value of "123456789" is 0xE3069283.
 */
export function crc32c(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = from; i < to; i++) crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
