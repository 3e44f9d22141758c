// Shared tables and assertions for the conformance suites against our server and our client.
import { constants, createDeflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import { expect } from "vitest";
import type { ParsedFrame, RawPeer } from "../support/raw-peer.js";

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export const FRAME_SIZES = [0, 125, 126, 127, 65535, 65536] as const;

export const RESERVED_OPCODES = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] as const;

export const RESERVED_BITS: Array<{ name: string; rsv1?: boolean; rsv2?: boolean; rsv3?: boolean; opcode: number }> = [
  { name: "RSV1 on text", rsv1: true, opcode: OP.text },
  { name: "RSV2 on text", rsv2: true, opcode: OP.text },
  { name: "RSV3 on text", rsv3: true, opcode: OP.text },
  { name: "RSV1+RSV3 on binary", rsv1: true, rsv3: true, opcode: OP.binary },
  { name: "RSV2+RSV3 on ping", rsv2: true, rsv3: true, opcode: OP.ping },
  { name: "RSV1+RSV2+RSV3 on close", rsv1: true, rsv2: true, rsv3: true, opcode: OP.close },
];

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

export const VALID_UTF8: Array<{ name: string; bytes: Buffer }> = [
  { name: "κόσμε", bytes: Buffer.from("κόσμε") },
  { name: "astral 𝄞😀", bytes: Buffer.from("𝄞😀 astral") },
  { name: "U+0000", bytes: hex("00") },
  { name: "U+D7FF (last before surrogates)", bytes: hex("ed9fbf") },
  { name: "U+E000 (first after surrogates)", bytes: hex("ee8080") },
  { name: "U+FFFF", bytes: hex("efbfbf") },
  { name: "U+10FFFF", bytes: hex("f48fbfbf") },
];

/** Sequences invalid as soon as their last byte arrives, whatever follows. */
export const INVALID_UTF8: Array<{ name: string; bytes: Buffer }> = [
  { name: "overlong 2-byte '/' (C0 AF)", bytes: hex("c0af") },
  { name: "overlong 3-byte '/' (E0 80 AF)", bytes: hex("e080af") },
  { name: "overlong 4-byte '/' (F0 80 80 AF)", bytes: hex("f08080af") },
  { name: "surrogate U+D800 (ED A0 80)", bytes: hex("eda080") },
  { name: "surrogate U+DFFF (ED BF BF)", bytes: hex("edbfbf") },
  { name: "above U+10FFFF (F4 90 80 80)", bytes: hex("f4908080") },
  { name: "F5 lead byte", bytes: hex("f5808080") },
  { name: "lone continuation 80", bytes: hex("80") },
  { name: "byte FE", bytes: hex("fe") },
  { name: "truncated (CE then 'A')", bytes: hex("ce41") },
  { name: "truncated 3-byte (E0 A0 then 'A')", bytes: hex("e0a041") },
];

export const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000] as const;
export const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as const;

/** Reads frames until a close arrives (failing on any data frame when `strict`); checks its bytes. */
export async function expectClose(peer: RawPeer, code: number | null, opts: { masked: boolean; strict?: boolean; ms?: number }): Promise<ParsedFrame> {
  for (;;) {
    const f = await peer.nextFrame(opts.ms ?? 5000);
    if (f.opcode !== OP.close) {
      if (opts.strict !== false) expect.fail(`expected a close ${code}, got opcode ${f.opcode} (${f.payload.length} bytes)`);
      continue;
    }
    expect(f.raw[0], "close frame's first byte").toBe(0x88);
    expect(f.masked, "close frame's mask bit").toBe(opts.masked);
    if (code === null) {
      expect(f.payload.length).toBe(0);
    } else {
      expect(f.payload.length).toBeGreaterThanOrEqual(2);
      expect(f.payload.readUInt16BE(0), "close code").toBe(code);
    }
    return f;
  }
}

/** One data frame's checks: opcode, FIN, no RSV bits, the payload. */
export function expectData(f: ParsedFrame, opcode: number, payload: Uint8Array, masked: boolean): void {
  expect(f.opcode, "opcode").toBe(opcode);
  expect(f.fin, "FIN").toBe(true);
  expect([f.rsv1, f.rsv2, f.rsv3], "RSV bits").toEqual([false, false, false]);
  expect(f.masked, "mask bit").toBe(masked);
  expect(f.payload.length, "payload length").toBe(payload.length);
  expect(f.payload.equals(Buffer.from(payload)), "payload bytes").toBe(true);
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** One message compressed on its own (no context), with the 00 00 FF FF tail stripped (RFC 7692 §7.2.1). */
export function compressAlone(data: Uint8Array, windowBits = 15): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, windowBits: Math.max(9, windowBits) });
  expect(out.subarray(out.length - 4).equals(TAIL)).toBe(true);
  return out.subarray(0, out.length - 4);
}

/** A compressor that keeps its context across messages (context takeover). */
export class ContextDeflater {
  readonly #d;
  constructor(windowBits = 15) {
    this.#d = createDeflateRaw({ windowBits: Math.max(9, windowBits) });
  }
  compress(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const onData = (c: Buffer) => chunks.push(c);
      this.#d.on("data", onData);
      this.#d.write(data);
      this.#d.flush(constants.Z_SYNC_FLUSH, () => {
        this.#d.off("data", onData);
        const out = Buffer.concat(chunks);
        expect(out.subarray(out.length - 4).equals(TAIL)).toBe(true);
        resolve(out.subarray(0, out.length - 4));
      });
    });
  }
  close(): void {
    this.#d.close();
  }
}

/** Decompresses the peer's messages, keeping the context unless told otherwise. */
export class MessageInflater {
  #stream: Buffer = Buffer.alloc(0);
  #produced = 0;
  constructor(readonly noContext = false) {}
  inflate(payload: Uint8Array): Buffer {
    if (this.noContext) return inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
    this.#stream = Buffer.concat([this.#stream, payload, TAIL]);
    const all = inflateRawSync(this.#stream, { finishFlush: constants.Z_SYNC_FLUSH });
    const out = all.subarray(this.#produced);
    this.#produced = all.length;
    return Buffer.from(out);
  }
}
