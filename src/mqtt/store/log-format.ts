// The bytes of FileStore's log: a header, then records appended one after another.
//
//   header   "edgews message store v1\n" (24 bytes)
//   record   u32 LE body length | u32 LE CRC-32 of the body | body
//   body     u8 op (1 put, 2 del) | u16 LE key length | key (UTF-8) | value (the rest; empty for del)
//
// The checksum is `zlib.crc32` (Node ≥ 20.15), the CRC-32 of zlib, PNG and Ethernet.
import { crc32 } from "node:zlib";

export const LOG_HEADER = Buffer.from("edgews message store v1\n", "latin1");

/** Bytes a record adds to its key and value: the length, the checksum, the op and the key length. */
export const RECORD_OVERHEAD = 11;
const PREFIX = 8;
const MAX_KEY_BYTES = 0xffff;

export enum Op {
  Put = 1,
  Del = 2,
}

export type Decoded =
  | { kind: "record"; op: Op; key: string; value: Uint8Array; length: number }
  /** `bytes` must hold at least `need` bytes from the offset before the record can be read. */
  | { kind: "incomplete"; need: number }
  | { kind: "corrupt"; reason: string };

/** A record putting `value` under `key`; the value is copied into it and is its last `value.length` bytes. */
export function encodePut(key: string, value: Uint8Array): Buffer {
  return encode(Op.Put, key, value);
}

export function encodeDel(key: string): Buffer {
  return encode(Op.Del, key, new Uint8Array(0));
}

function encode(op: Op, key: string, value: Uint8Array): Buffer {
  const keyLength = Buffer.byteLength(key, "utf8");
  if (keyLength > MAX_KEY_BYTES) {
    throw new RangeError(`message store key is ${keyLength} bytes of UTF-8; the most a file store takes is ${MAX_KEY_BYTES}`);
  }
  // From Node's pool: a record lives until it is written (the store holds values elsewhere), and
  // one small allocation per record left RSS fragmented well past the bytes held.
  const record = Buffer.allocUnsafe(RECORD_OVERHEAD + keyLength + value.length);
  record.writeUInt32LE(record.length - PREFIX, 0);
  record.writeUInt8(op, PREFIX);
  record.writeUInt16LE(keyLength, PREFIX + 1);
  record.write(key, RECORD_OVERHEAD, "utf8");
  record.set(value, RECORD_OVERHEAD + keyLength);
  record.writeUInt32LE(crc32(record.subarray(PREFIX)), 4);
  return record;
}

/** Reads the record at `offset` of `bytes`. The value returned is a copy. */
export function decodeRecord(bytes: Buffer, offset: number): Decoded {
  if (bytes.length - offset < PREFIX) return { kind: "incomplete", need: PREFIX };
  const bodyLength = bytes.readUInt32LE(offset);
  if (bodyLength < RECORD_OVERHEAD - PREFIX) return { kind: "corrupt", reason: `record body of ${bodyLength} bytes is too short` };
  const length = PREFIX + bodyLength;
  if (bytes.length - offset < length) return { kind: "incomplete", need: length };
  const body = bytes.subarray(offset + PREFIX, offset + length);
  if (crc32(body) !== bytes.readUInt32LE(offset + 4)) return { kind: "corrupt", reason: "checksum mismatch" };
  const op = body[0]!;
  const keyLength = body.readUInt16LE(1);
  const valueStart = RECORD_OVERHEAD - PREFIX + keyLength;
  if (op !== Op.Put && op !== Op.Del) return { kind: "corrupt", reason: `unknown op ${op}` };
  if (valueStart > body.length) return { kind: "corrupt", reason: "key runs past the record" };
  if (op === Op.Del && valueStart !== body.length) return { kind: "corrupt", reason: "del record with a value" };
  const key = body.toString("utf8", RECORD_OVERHEAD - PREFIX, valueStart);
  return { kind: "record", op, key, value: new Uint8Array(body.subarray(valueStart)), length };
}
