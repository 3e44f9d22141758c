// Hand-built frames for tests: every header bit settable, including the illegal ones.
import { randomBytes } from "node:crypto";

export interface RawFrame {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** A 4-byte key masks the payload; null sends it unmasked. Default: a random key. */
  mask?: Uint8Array | null;
  /** Force the 7-bit length field (126/127 pick the 16/64-bit forms). */
  len7?: number;
  /** Declared length when it should differ from the payload's (64-bit form). */
  declaredLength?: bigint;
}

export function frame(f: RawFrame): Buffer {
  const payload = typeof f.payload === "string" ? Buffer.from(f.payload) : Buffer.from(f.payload ?? []);
  const declared = f.declaredLength ?? BigInt(payload.length);
  const len7 = f.len7 ?? (declared > 65535n ? 127 : declared > 125n ? 126 : Number(declared));
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const key = f.mask === undefined ? randomBytes(4) : f.mask;
  const head = Buffer.alloc(2 + ext + (key ? 4 : 0));
  head[0] = (f.fin === false ? 0 : 0x80) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | f.opcode;
  head[1] = (key ? 0x80 : 0) | len7;
  if (len7 === 126) head.writeUInt16BE(Number(declared), 2);
  if (len7 === 127) head.writeBigUInt64BE(declared, 2);
  const body = Buffer.from(payload);
  if (key) {
    key.forEach((b, i) => (head[2 + ext + i] = b));
    for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  }
  return Buffer.concat([head, body]);
}

export function closePayload(code: number, reason: Uint8Array | string = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason) : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

/** Splits `data` into chunks of the given sizes, cycling through them. */
export function chunked(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return out;
}
