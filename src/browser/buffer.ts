// A minimal Buffer for the browser build: the part of Node's Buffer that mqtt-packet (with bl's
// BufferList) and the MQTT client use, on Uint8Array, TextEncoder and TextDecoder (~1 KB
// minified, where the `buffer` polyfill is ~20 KB). scripts/build-dist.mjs injects it into
// dist/browser/ in place of Node's; Node never loads it. UTF-8 is its only encoding.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Uint8Array, typed so that Buffer's statics (from with an offset) may differ from its own. */
const Bytes = Uint8Array as unknown as new (...args: [number] | [ArrayBufferLike, number, number]) => Uint8Array;

export class Buffer extends Bytes {
  static alloc(size: number): Buffer {
    return new Buffer(size);
  }

  static allocUnsafe(size: number): Buffer {
    return new Buffer(size);
  }

  /** A copy of a string (UTF-8) or of bytes; a view of an ArrayBuffer (as Node's). */
  static from(value: string | ArrayLike<number> | ArrayBufferLike, byteOffset = 0, length?: number): Buffer {
    if (typeof value === "string") return Buffer.#view(encoder.encode(value));
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer)) {
      return new Buffer(value, byteOffset, length ?? value.byteLength - byteOffset);
    }
    const out = new Buffer((value as ArrayLike<number>).length);
    out.set(value as ArrayLike<number>);
    return out;
  }

  static isBuffer(value: unknown): value is Buffer {
    return value instanceof Buffer;
  }

  static byteLength(value: string | ArrayBufferView): number {
    return typeof value === "string" ? encoder.encode(value).length : value.byteLength;
  }

  static concat(list: readonly Uint8Array[], total = list.reduce((n, b) => n + b.length, 0)): Buffer {
    const out = new Buffer(total);
    let at = 0;
    for (const part of list) {
      if (at >= total) break;
      out.set(part.subarray(0, total - at), at);
      at += part.length;
    }
    return out;
  }

  static #view(bytes: Uint8Array): Buffer {
    return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  readUInt8(offset = 0): number {
    this.#check(offset, 1);
    return this[offset]!;
  }

  readUInt16BE(offset = 0): number {
    this.#check(offset, 2);
    return (this[offset]! << 8) | this[offset + 1]!;
  }

  readUInt32BE(offset = 0): number {
    this.#check(offset, 4);
    return this[offset]! * 0x1000000 + ((this[offset + 1]! << 16) | (this[offset + 2]! << 8) | this[offset + 3]!);
  }

  writeUInt8(value: number, offset = 0): number {
    this.#check(offset, 1);
    this[offset] = value;
    return offset + 1;
  }

  writeUInt16BE(value: number, offset = 0): number {
    this.#check(offset, 2);
    this[offset] = value >>> 8;
    this[offset + 1] = value;
    return offset + 2;
  }

  writeUInt32BE(value: number, offset = 0): number {
    this.#check(offset, 4);
    this[offset] = value >>> 24;
    this[offset + 1] = value >>> 16;
    this[offset + 2] = value >>> 8;
    this[offset + 3] = value;
    return offset + 4;
  }

  /** Writes `text` as UTF-8 at `offset`; returns the bytes written. */
  write(text: string, offset = 0): number {
    return encoder.encodeInto(text, this.subarray(offset)).written;
  }

  override toString(encoding = "utf8", start = 0, end = this.length): string {
    if (encoding !== "utf8" && encoding !== "utf-8") throw new TypeError(`edgews's browser Buffer decodes UTF-8 only, not ${encoding}`);
    return decoder.decode(this.subarray(start, end));
  }

  /** A view, as Node's Buffer#slice (not a copy, as Uint8Array#slice). */
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end) as Uint8Array<ArrayBuffer>;
  }

  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  #check(offset: number, size: number): void {
    if (!(offset >= 0 && offset + size <= this.length)) throw new RangeError(`offset ${offset} + ${size} is outside a ${this.length}-byte buffer`);
  }
}
