import type { Core } from "./core.js";
import { allocBytes } from "./bytes.js";
import { CoreError } from "./errors.js";

/** Measured by `npm run bench -- crossover`: below this, masking in JavaScript beats a call into the core. */
export const MASK_IN_JS_BELOW = 64;

export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const;

export interface EncodeOptions {
  /** Set FIN on the last frame. Default true; false leaves the message open for continuations. */
  fin?: boolean;
  /** RSV1: the payload is permessage-deflate compressed (first frame of a message only). */
  rsv1?: boolean;
  /** Split into frames of at most this many payload bytes. Default 0: one frame. */
  fragmentSize?: number;
}

/** Frame header bytes for a payload of `n` bytes. */
export function headerSize(n: number, masked: boolean): number {
  return 2 + (n > 65535 ? 8 : n > 125 ? 2 : 0) + (masked ? 4 : 0);
}

/** Bytes the frames of `length` payload bytes take on the wire. */
export function encodedSize(length: number, masked: boolean, fragmentSize = 0): number {
  if (fragmentSize <= 0 || length <= fragmentSize) return headerSize(length, masked) + length;
  const full = Math.floor(length / fragmentSize);
  const rest = length - full * fragmentSize;
  return full * (headerSize(fragmentSize, masked) + fragmentSize) + (rest > 0 ? headerSize(rest, masked) + rest : 0);
}

/** Writes an unmasked frame header for a payload of `length` bytes at the start of `out`; returns its size. */
function writeUnmaskedHeader(out: Uint8Array, opcode: number, length: number, rsv1: boolean): number {
  out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (length <= 125) {
    out[1] = length;
    return 2;
  }
  if (length <= 0xffff) {
    out[1] = 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    return 4;
  }
  out[1] = 127;
  const high = Math.floor(length / 0x100000000);
  const low = length >>> 0;
  out[2] = 0; out[3] = 0; out[4] = high >>> 8; out[5] = high & 0xff;
  out[6] = low >>> 24; out[7] = (low >>> 16) & 0xff; out[8] = (low >>> 8) & 0xff; out[9] = low & 0xff;
  return 10;
}

/**
 * The header of one unmasked, final frame (a server's), built in JavaScript: for a server
 * there is nothing to mask, so the payload need not enter the core at all.
 */
export function unmaskedHeader(opcode: number, length: number, rsv1 = false): Uint8Array {
  const out = allocBytes(headerSize(length, false));
  writeUnmaskedHeader(out, opcode, length, rsv1);
  return out;
}

/** One unmasked, final frame (a server's) in one buffer: header and a copy of `payload`. */
export function unmaskedFrame(opcode: number, payload: Uint8Array, rsv1 = false): Uint8Array {
  const out = allocBytes(headerSize(payload.length, false) + payload.length);
  out.set(payload, writeUnmaskedHeader(out, opcode, payload.length, rsv1));
  return out;
}

/**
 * Encodes frames with the core: masked with fresh CSPRNG keys when `mask` (client role),
 * plain otherwise (server role).
 */
export class FrameEncoder {
  readonly #core: Core;
  readonly #mask: boolean;

  constructor(core: Core, options: { mask: boolean }) {
    this.#core = core;
    this.#mask = options.mask;
  }

  /**
   * The frames of one message (or of its next part, with `fin: false` and then opcode 0), as
   * one buffer ready for the socket.
   */
  encode(opcode: number, payload: Uint8Array, options: EncodeOptions = {}): Uint8Array {
    const { fin = true, rsv1 = false, fragmentSize = 0 } = options;
    if (!Number.isInteger(fragmentSize) || fragmentSize < 0) {
      throw new CoreError(`fragmentSize must be a non-negative integer, got ${fragmentSize}`);
    }
    if (opcode >= 8 && (payload.length > 125 || !fin)) {
      throw new CoreError("a control frame carries at most 125 bytes and is never fragmented");
    }
    if (this.#mask && fin && fragmentSize === 0 && payload.length < MASK_IN_JS_BELOW) return this.#smallMaskedFrame(opcode, payload, rsv1);
    // Every byte is written below: no need to zero-fill.
    const out = allocBytes(encodedSize(payload.length, this.#mask, fragmentSize));
    const frameSize = fragmentSize > 0 ? Math.min(fragmentSize, payload.length) : payload.length;
    const arena = this.#core.arenaSize;
    // Frames that fit the arena are encoded many per call; larger ones header first, then
    // the payload in pieces.
    const piece = frameSize <= arena ? (frameSize > 0 ? arena - (arena % frameSize) : arena) : frameSize;
    let written = 0;
    for (let off = 0; off === 0 || off < payload.length; off += piece) {
      const part = payload.subarray(off, off + piece);
      const first = off === 0;
      const last = off + part.length === payload.length;
      const args = [first ? opcode : 0, first && rsv1, last && fin] as const;
      written += frameSize <= arena
        ? this.#encodeFrames(...args, part, fragmentSize, out, written)
        : this.#encodeLargeFrame(...args, part, out, written);
    }
    return out;
  }

  /**
   * A client's small frame, built and masked in JavaScript: below MASK_IN_JS_BELOW bytes the
   * calls into the core and the copies in and out cost more than the work.
   */
  #smallMaskedFrame(opcode: number, payload: Uint8Array, rsv1: boolean): Uint8Array {
    const n = payload.length;
    const out = allocBytes(6 + n);
    out[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
    out[1] = 0x80 | n;
    this.#core.takeMaskKey(out, 2);
    for (let i = 0; i < n; i++) out[6 + i] = payload[i]! ^ out[2 + (i & 3)]!;
    return out;
  }

  /** Encodes a payload that fits the arena as frames of `fragmentSize` into `out` at `at`. */
  #encodeFrames(opcode: number, rsv1: boolean, fin: boolean, payload: Uint8Array, fragmentSize: number, out: Uint8Array, at: number): number {
    const core = this.#core;
    const masked = this.#mask;
    core.mem.set(payload, core.scratchPtr);
    let consumed = 0;
    let written = 0;
    do {
      // At least one key: an empty payload is still one frame.
      if (masked) core.ensureMaskKeys(fragmentSize > 0 ? Math.max(1, Math.ceil((payload.length - consumed) / fragmentSize)) : 1);
      const first = consumed === 0;
      consumed += core.x.encode(first ? opcode : 0, first && rsv1 ? 1 : 0, fin ? 1 : 0,
        core.scratchPtr + consumed, payload.length - consumed, fragmentSize, masked ? 1 : 0);
      const size = core.x.encodedSize();
      out.set(core.mem.subarray(core.outputPtr, core.outputPtr + size), at + written);
      written += size;
    } while (consumed < payload.length);
    return written;
  }

  /** One frame bigger than the arena: the core writes the header, the payload is masked in pieces. */
  #encodeLargeFrame(opcode: number, rsv1: boolean, fin: boolean, payload: Uint8Array, out: Uint8Array, at: number): number {
    const core = this.#core;
    const masked = this.#mask;
    if (masked) core.ensureMaskKeys(1);
    const h = core.x.encodeHeader(opcode, rsv1 ? 1 : 0, fin ? 1 : 0, payload.length, masked ? 1 : 0);
    out.set(core.mem.subarray(core.outputPtr, core.outputPtr + h), at);
    out.set(payload, at + h);
    if (masked) {
      const key = core.mem.slice(core.outputPtr + h - 4, core.outputPtr + h);
      core.mask(out.subarray(at + h, at + h + payload.length), key);
    }
    return h + payload.length;
  }
}
