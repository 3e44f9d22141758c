// Typed values and the byte reader/writer the message encodings (messages.ts) are built from:
// docs/link-protocol.md §7.1. Multi-byte numbers are little-endian, as the MCUs are.
import { PayloadError, hex } from "./errors.js";

/** The type code before (or declared for) a value, and how many bytes the value takes. */
export const ValueType = {
  /** No value (a command without argument, a result without value): 0 bytes. */
  None: 0x00,
  /** 1 byte: 0 or 1. */
  Bool: 0x01,
  U8: 0x02,
  I8: 0x03,
  U16: 0x04,
  I16: 0x05,
  U32: 0x06,
  I32: 0x07,
  /** IEEE 754 binary32. */
  F32: 0x08,
  /** IEEE 754 binary64. */
  F64: 0x09,
  /** A length byte, then that many bytes of UTF-8. */
  String: 0x0a,
  /** A length byte, then that many bytes. */
  Bytes: 0x0b,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** A value as JavaScript holds it: null for None, Uint8Array for Bytes. */
export type Value = null | boolean | number | string | Uint8Array;

const INTEGER_RANGES: Partial<Record<ValueType, [number, number, number]>> = {
  [ValueType.U8]: [0, 0xff, 1],
  [ValueType.I8]: [-0x80, 0x7f, 1],
  [ValueType.U16]: [0, 0xffff, 2],
  [ValueType.I16]: [-0x8000, 0x7fff, 2],
  [ValueType.U32]: [0, 0xffffffff, 4],
  [ValueType.I32]: [-0x80000000, 0x7fffffff, 4],
};

export function isValueType(code: number): code is ValueType {
  return Number.isInteger(code) && code >= ValueType.None && code <= ValueType.Bytes;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Builds a message body; grows as needed. */
export class ByteWriter {
  #bytes = new Uint8Array(64);
  #view = new DataView(this.#bytes.buffer);
  #length = 0;
  readonly #kind: number;

  constructor(kind: number) {
    this.#kind = kind;
  }

  /** The bytes written so far (a copy the caller owns). */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  u8(value: number): void {
    this.#room(1);
    this.#bytes[this.#length++] = value;
  }

  u16(value: number): void {
    this.#room(2);
    this.#view.setUint16(this.#length, value, true);
    this.#length += 2;
  }

  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** A length byte and the UTF-8 of `text` (at most 255 bytes). */
  str8(text: string, what: string): void {
    this.bytes8(utf8.encode(text), what);
  }

  bytes8(bytes: Uint8Array, what: string): void {
    if (bytes.length > 255) throw this.#error(`${what} is ${bytes.length} bytes long; at most 255 fit its length byte`);
    this.u8(bytes.length);
    this.raw(bytes);
  }

  /** `value` in the encoding of `type` (the type code itself is not written). */
  value(type: ValueType, value: Value, what: string): void {
    const range = INTEGER_RANGES[type];
    if (range) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) {
        throw this.#error(`${what} must be an integer from ${range[0]} to ${range[1]} (type 0x${hex(type)}), got ${String(value)}`);
      }
      this.#integer(value, type, range[2]);
      return;
    }
    switch (type) {
      case ValueType.None:
        if (value !== null) throw this.#error(`${what} takes no value (type None), got ${String(value)}`);
        return;
      case ValueType.Bool:
        if (typeof value !== "boolean") throw this.#error(`${what} must be a boolean, got ${String(value)}`);
        return this.u8(value ? 1 : 0);
      case ValueType.F32:
      case ValueType.F64:
        return this.#float(type, value, what);
      case ValueType.String:
        if (typeof value !== "string") throw this.#error(`${what} must be a string, got ${typeof value}`);
        return this.str8(value, what);
      case ValueType.Bytes:
        if (!(value instanceof Uint8Array)) throw this.#error(`${what} must be a Uint8Array, got ${typeof value}`);
        return this.bytes8(value, what);
      default:
        throw this.#error(`${what} has an unknown type 0x${hex(type)}`);
    }
  }

  #integer(value: number, type: ValueType, size: number): void {
    this.#room(size);
    const view = this.#view;
    const at = this.#length;
    const signed = type === ValueType.I8 || type === ValueType.I16 || type === ValueType.I32;
    if (size === 1) signed ? view.setInt8(at, value) : view.setUint8(at, value);
    else if (size === 2) signed ? view.setInt16(at, value, true) : view.setUint16(at, value, true);
    else signed ? view.setInt32(at, value, true) : view.setUint32(at, value, true);
    this.#length += size;
  }

  #float(type: ValueType, value: Value, what: string): void {
    if (typeof value !== "number") throw this.#error(`${what} must be a number, got ${typeof value}`);
    const size = type === ValueType.F32 ? 4 : 8;
    this.#room(size);
    if (size === 4) this.#view.setFloat32(this.#length, value, true);
    else this.#view.setFloat64(this.#length, value, true);
    this.#length += size;
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    bigger.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  #error(message: string): PayloadError {
    return new PayloadError(this.#kind, -1, `cannot encode a message of kind 0x${hex(this.#kind)}: ${message}`);
  }
}

/** Reads a message body; every read past the end or of a malformed value throws a PayloadError with its offset. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #kind: number;
  offset = 0;

  constructor(kind: number, bytes: Uint8Array) {
    this.#kind = kind;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.offset >= this.#bytes.length;
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.offset++];
  }

  u16(what: string): number {
    this.#need(2, what);
    const value = this.#view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  /** The rest of the body. */
  rest(): Uint8Array {
    const bytes = this.#bytes.slice(this.offset);
    this.offset = this.#bytes.length;
    return bytes;
  }

  str8(what: string): string {
    const at = this.offset;
    return this.utf8(this.bytes8(what), what, at + 1);
  }

  bytes8(what: string): Uint8Array {
    const length = this.u8(`the length of ${what}`);
    this.#need(length, what);
    const bytes = this.#bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  /** Strict UTF-8 (no replacement characters: a bad byte is a broken message). */
  utf8(bytes: Uint8Array, what: string, at: number): string {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw this.error(at, `${what} is not valid UTF-8`);
    }
  }

  /** A value encoded as `type`. */
  value(type: ValueType, what: string): Value {
    const view = this.#view;
    const at = this.offset;
    switch (type) {
      case ValueType.None:
        return null;
      case ValueType.Bool: {
        const byte = this.u8(what);
        if (byte > 1) throw this.error(at, `${what} is a boolean but holds ${byte} (0 or 1 expected)`);
        return byte === 1;
      }
      case ValueType.String:
        return this.str8(what);
      case ValueType.Bytes:
        return this.bytes8(what);
    }
    const size = type === ValueType.F64 ? 8 : type === ValueType.F32 || type === ValueType.U32 || type === ValueType.I32 ? 4 : type >= ValueType.U16 ? 2 : 1;
    this.#need(size, what);
    this.offset += size;
    switch (type) {
      case ValueType.U8: return view.getUint8(at);
      case ValueType.I8: return view.getInt8(at);
      case ValueType.U16: return view.getUint16(at, true);
      case ValueType.I16: return view.getInt16(at, true);
      case ValueType.U32: return view.getUint32(at, true);
      case ValueType.I32: return view.getInt32(at, true);
      case ValueType.F32: return shortestFloat32(view.getFloat32(at, true));
      default: return view.getFloat64(at, true);
    }
  }

  /** A type code, checked. */
  type(what: string, allowNone: boolean): ValueType {
    const at = this.offset;
    const code = this.u8(what);
    if (!isValueType(code) || (code === ValueType.None && !allowNone)) throw this.error(at, `${what} is 0x${hex(code)}, not a value type${allowNone ? "" : " other than None"}`);
    return code;
  }

  error(at: number, message: string): PayloadError {
    return new PayloadError(this.#kind, at, `malformed message of kind 0x${hex(this.#kind)} at byte ${at}: ${message}`);
  }

  #need(n: number, what: string): void {
    if (this.offset + n > this.#bytes.length) throw this.error(this.offset, `the body ends before ${what} (${n} more bytes needed, ${this.#bytes.length - this.offset} left)`);
  }
}

/**
 * The shortest decimal that is the same float32: a device's 18.43 arrives as the float32 nearest
 * it, which as a double prints 18.43000030517578; this gives back 18.43 (the JSON a person reads).
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}
