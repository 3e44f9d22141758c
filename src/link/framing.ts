// Layer 1 of the serial link (docs/link-protocol.md §2): packets on a byte stream. Each packet
// ends with its CRC-32C, is COBS-encoded (Cheshire & Baker, 1999) so that it contains no 0x00,
// and is followed by a 0x00 delimiter. A receiver that lost its place (garbage, a dropped or
// inserted byte) is back in step at the next 0x00: no packet can straddle a delimiter.
import { crc32c } from "./crc32c.js";

/** The byte that ends every frame, and that COBS removes from its content. */
export const DELIMITER = 0x00;
/** The CRC-32C that closes every packet, least significant byte first. */
export const CRC_BYTES = 4;
/** Decoded bytes a receiver accepts per packet (header, body and CRC) unless told otherwise: fits a small MCU's buffer. */
export const DEFAULT_MAX_PACKET = 256;
/** The smallest `maxPacket` a link may announce: a SYNC (2 + 15 + 4 bytes) and a useful fragment must fit. */
export const MIN_MAX_PACKET = 32;
/**
 * The largest: CRC-32C keeps a Hamming distance of 6 (every error of up to 5 flipped bits
 * caught) up to 5,243 bits of data, i.e. packets of 659 bytes; beyond that it drops to 4.
 */
export const MAX_MAX_PACKET = 512;
/** COBS code byte of a full block: 254 data bytes and no implied zero after them. */
const FULL_BLOCK = 0xff;

/**
 * The most bytes `n` bytes of data take once COBS-encoded (without the delimiter): one code
 * byte per started 254-byte run. Zeros in the data can make it one less per run.
 */
export function cobsMaxSize(n: number): number {
  return n === 0 ? 1 : n + Math.ceil(n / 254);
}

/** Writes the CRC-32C of `packet[0, length - 4)` into its last 4 bytes, little-endian. */
export function sealPacket(packet: Uint8Array): Uint8Array {
  const end = packet.length - CRC_BYTES;
  const crc = crc32c(packet, 0, end);
  packet[end] = crc & 0xff;
  packet[end + 1] = (crc >>> 8) & 0xff;
  packet[end + 2] = (crc >>> 16) & 0xff;
  packet[end + 3] = crc >>> 24;
  return packet;
}

/**
 * COBS-encodes `data` into `out` at `at`, followed by the delimiter; returns the offset after
 * it. A final full block gets no empty block after it (the canonical form of the paper); a
 * decoder accepts either.
 */
export function writeFrame(data: Uint8Array, out: Uint8Array, at: number): number {
  let codeAt = at;
  let code = 1;
  let o = at + 1;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte !== 0) {
      out[o++] = byte;
      code++;
    }
    if (byte === 0 || (code === FULL_BLOCK && i + 1 < data.length)) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  out[o++] = DELIMITER;
  return o;
}

/**
 * The bytes a sender writes for `packets` (each with its CRC): a leading delimiter, which ends
 * whatever garbage the line carried before so that the first packet is not lost with it, then
 * each packet COBS-encoded and delimited.
 */
export function frameAll(packets: readonly Uint8Array[]): Uint8Array {
  let size = 1;
  for (const packet of packets) size += cobsMaxSize(packet.length) + 1;
  const bytes = new Uint8Array(size);
  let at = 1;
  for (const packet of packets) at = writeFrame(packet, bytes, at);
  return bytes.subarray(0, at);
}

/** What the receiver did with each frame between delimiters. Counts only grow. */
export interface FrameCounters {
  /** Frames that decoded to a packet with a good CRC. */
  packets: number;
  /** Frames whose CRC-32C did not match: corrupted on the line. */
  crcErrors: number;
  /** Frames that ended inside a COBS block (a code byte promised more bytes than came). */
  cobsErrors: number;
  /** Frames that decoded to more than `maxPacket` bytes; the excess was never stored. */
  oversize: number;
  /** Frames that decoded to fewer bytes than the smallest packet (a 2-byte header and the CRC). */
  truncated: number;
}

/** The smallest packet: a control byte, a type byte and the CRC. */
export const MIN_PACKET = 2 + CRC_BYTES;

/**
 * Turns a byte stream into packets, whatever the chunking: COBS is undone byte by byte into one
 * buffer of `maxPacket` bytes, so memory stays fixed however long a garbage run lasts (an MCU
 * implementation needs nothing more). Empty frames (0x00 0x00, a sender's resync) are ignored.
 */
export class FrameDecoder {
  readonly counters: FrameCounters = { packets: 0, crcErrors: 0, cobsErrors: 0, oversize: 0, truncated: 0 };
  readonly #buffer: Uint8Array;
  readonly #onPacket: (packet: Uint8Array) => void;
  /** Decoded bytes of the current frame; past the buffer's size once the frame is known to be too long. */
  #length = 0;
  /** A byte other than the delimiter came since the last delimiter. */
  #inFrame = false;
  /** Data bytes still to come in the current COBS block (0: the next byte is a code byte). */
  #blockLeft = 0;
  /** The current block was not full: a zero comes before the next block. */
  #zeroPending = false;

  /**
   * @param maxPacket decoded bytes accepted per packet, CRC included; longer frames are dropped and counted.
   * @param onPacket called with each good packet, CRC removed: a view valid only during the call.
   */
  constructor(maxPacket: number, onPacket: (packet: Uint8Array) => void) {
    this.#buffer = new Uint8Array(maxPacket);
    this.#onPacket = onPacket;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === DELIMITER) {
        this.#endFrame();
        continue;
      }
      this.#inFrame = true;
      if (this.#blockLeft > 0) {
        this.#store(byte);
        this.#blockLeft--;
      } else this.#startBlock(byte);
    }
  }

  #startBlock(code: number): void {
    if (this.#zeroPending) this.#store(0);
    this.#blockLeft = code - 1;
    this.#zeroPending = code !== FULL_BLOCK;
  }

  #store(byte: number): void {
    if (this.#length < this.#buffer.length) this.#buffer[this.#length] = byte;
    this.#length++;
  }

  #endFrame(): void {
    const length = this.#length;
    const inFrame = this.#inFrame;
    const brokenBlock = this.#blockLeft > 0;
    this.#length = 0;
    this.#inFrame = false;
    this.#blockLeft = 0;
    this.#zeroPending = false;
    if (!inFrame) return;
    const counters = this.counters;
    if (length > this.#buffer.length) counters.oversize++;
    else if (brokenBlock) counters.cobsErrors++;
    else if (length < MIN_PACKET) counters.truncated++;
    else if (!crcMatches(this.#buffer, length)) counters.crcErrors++;
    else {
      counters.packets++;
      this.#onPacket(this.#buffer.subarray(0, length - CRC_BYTES));
    }
  }
}

function crcMatches(packet: Uint8Array, length: number): boolean {
  const end = length - CRC_BYTES;
  const sent = (packet[end] | (packet[end + 1] << 8) | (packet[end + 2] << 16) | (packet[end + 3] << 24)) >>> 0;
  return crc32c(packet, 0, end) === sent;
}
