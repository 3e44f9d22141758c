// The encoder alone: header fields, length forms, fragmentation, masking with pooled keys.
import { describe, expect, it } from "vitest";
import { FrameEncoder, Opcode, encodedSize, loadCoreSync, unmaskedFrame, unmaskedHeader } from "../../src/core/node.js";

interface Decoded { fin: boolean; rsv1: boolean; opcode: number; key?: Buffer; payload: Buffer; headerBytes: number }

/** A deliberately naive reference decoder, independent of the core. */
function decodeAll(wire: Uint8Array): Decoded[] {
  const buf = Buffer.from(wire);
  const out: Decoded[] = [];
  for (let p = 0; p < buf.length; ) {
    const start = p;
    const b0 = buf[p++]!, b1 = buf[p++]!;
    let len = b1 & 0x7f;
    if (len === 126) { len = buf.readUInt16BE(p); p += 2; }
    else if (len === 127) { len = Number(buf.readBigUInt64BE(p)); p += 8; }
    let key: Buffer | undefined;
    if (b1 & 0x80) { key = buf.subarray(p, p + 4); p += 4; }
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (key) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
    out.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, key, payload, headerBytes: p - start });
    p += len;
  }
  return out;
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

for (const simd of [true, false]) {
  describe(`encoder (${simd ? "simd" : "scalar"} core)`, () => {
    const core = loadCoreSync({ simd, maxConnections: 4, arenaBytes: 4096 });
    const server = new FrameEncoder(core, { mask: false });
    const client = new FrameEncoder(core, { mask: true });

    for (const [n, header] of [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [100_000, 10]] as const) {
      it(`a ${n}-byte payload takes a ${header}-byte header (+4 masked), also beyond the 4 KiB arena`, () => {
        const payload = pattern(n);
        for (const [enc, extra] of [[server, 0], [client, 4]] as const) {
          const wire = enc.encode(Opcode.Binary, payload);
          expect(wire.length).toBe(header + extra + n);
          expect(wire.length).toBe(encodedSize(n, extra === 4));
          const [f, ...rest] = decodeAll(wire);
          expect(rest).toEqual([]);
          expect(f).toMatchObject({ fin: true, rsv1: false, opcode: Opcode.Binary, headerBytes: header + extra });
          expect(f!.payload.equals(payload)).toBe(true);
        }
      });
    }

    it("fragments at the given size: opcode and RSV1 on the first frame, FIN on the last", () => {
      const payload = pattern(10_000);
      const frames = decodeAll(client.encode(Opcode.Text, payload, { fragmentSize: 3000, rsv1: true }));
      expect(frames.map((f) => [f.opcode, f.rsv1, f.fin, f.payload.length])).toEqual([
        [Opcode.Text, true, false, 3000], [0, false, false, 3000], [0, false, false, 3000], [0, false, true, 1000],
      ]);
      expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
    });

    it("fragments larger than the arena, and many small fragments across arena pieces", () => {
      const payload = pattern(20_000);
      for (const fragmentSize of [5000, 7, 4096, 4097]) {
        const frames = decodeAll(client.encode(Opcode.Binary, payload, { fragmentSize }));
        expect(frames).toHaveLength(Math.ceil(20_000 / fragmentSize));
        expect(frames.every((f, i) => f.opcode === (i === 0 ? Opcode.Binary : 0) && f.fin === (i === frames.length - 1))).toBe(true);
        expect(Buffer.concat(frames.map((f) => f.payload)).equals(payload)).toBe(true);
      }
    });

    it("fin: false leaves a message open for continuation frames", () => {
      const wire = Buffer.concat([
        server.encode(Opcode.Text, Buffer.from("ab"), { fin: false }),
        server.encode(Opcode.Continuation, Buffer.from("cd")),
      ]);
      expect(decodeAll(wire).map((f) => [f.opcode, f.fin, f.payload.toString()])).toEqual([[Opcode.Text, false, "ab"], [0, true, "cd"]]);
    });

    it("server frames are byte-exact and unmasked", () => {
      expect([...server.encode(Opcode.Text, Buffer.from("Hi"))]).toEqual([0x81, 0x02, 0x48, 0x69]);
      expect([...server.encode(Opcode.Close, Buffer.from([0x03, 0xe8]))]).toEqual([0x88, 0x02, 0x03, 0xe8]);
    });

    it("every client frame gets a fresh key from the CSPRNG pool, across pool refills", () => {
      const keys = new Set<string>();
      const frames = decodeAll(client.encode(Opcode.Binary, pattern(3 * 5000), { fragmentSize: 3 }));
      for (const f of frames) keys.add(f.key!.toString("hex"));
      // 5000 frames use the 1024-key pool five times over; random 32-bit keys rarely repeat.
      expect(frames).toHaveLength(5000);
      expect(keys.size).toBeGreaterThan(4990);
      expect(keys.has("00000000")).toBe(false);
    });

    it("small client frames (masked in JavaScript) get fresh keys too, and decode to their payload", () => {
      const keys = new Set<string>();
      for (let i = 0; i < 3000; i++) {
        const payload = pattern(i % 64);
        const [frame] = decodeAll(client.encode(Opcode.Text, payload));
        expect(frame!.payload.equals(payload)).toBe(true);
        expect(frame!.headerBytes).toBe(6);
        keys.add(frame!.key!.toString("hex"));
      }
      // 3000 frames use the 256-key JavaScript pool over ten times; random 32-bit keys rarely repeat.
      expect(keys.size).toBeGreaterThan(2990);
    });

    it("refuses control frames it must not send", () => {
      expect(() => client.encode(Opcode.Ping, Buffer.alloc(126))).toThrow(/125 bytes/);
      expect(() => client.encode(Opcode.Close, Buffer.alloc(2), { fin: false })).toThrow(/never fragmented/);
      expect(() => client.encode(Opcode.Text, Buffer.alloc(2), { fragmentSize: -1 })).toThrow(/fragmentSize/);
    });

    it("core.mask matches a byte loop at every key offset and length", () => {
      const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
      for (const n of [0, 1, 3, 4, 15, 16, 17, 31, 32, 63, 64, 65, 200, 5000]) {
        for (const offset of [0, 1, 2, 3]) {
          const data = pattern(n);
          const expected = Buffer.from(data.map((b, i) => b ^ key[(i + offset) & 3]!));
          core.mask(data, key, offset);
          expect(data.equals(expected), `n=${n} offset=${offset}`).toBe(true);
        }
      }
    });
  });
}

describe("unmasked frames built in JavaScript (a server's sends)", () => {
  const core = loadCoreSync({ maxConnections: 1 });
  const viaCore = new FrameEncoder(core, { mask: false });

  it("are byte for byte what the core encodes, at every length form and its edges", () => {
    for (const n of [0, 1, 125, 126, 127, 4095, 4096, 65535, 65536, 70_000]) {
      for (const [opcode, rsv1] of [[Opcode.Text, false], [Opcode.Binary, true]] as const) {
        const payload = pattern(n);
        const expected = Buffer.from(viaCore.encode(opcode, payload, { rsv1 }));
        expect(Buffer.from(unmaskedFrame(opcode, payload, rsv1)), `${n} bytes`).toEqual(expected);
        const header = unmaskedHeader(opcode, n, rsv1);
        expect(Buffer.concat([header, payload]), `${n} bytes, split`).toEqual(expected);
      }
    }
  });

  it("write 64-bit lengths beyond 2^32 in full", () => {
    const header = Buffer.from(unmaskedHeader(Opcode.Binary, 2 ** 32 + 0x01020304));
    expect(header[1]).toBe(127);
    expect(header.readBigUInt64BE(2)).toBe(2n ** 32n + 0x01020304n);
  });
});

describe("Core conveniences", () => {
  it("createParser, createEncoder and encodeFrame are the same machinery", () => {
    const core = loadCoreSync({ maxConnections: 2 });
    const got: string[] = [];
    const parser = core.createParser({ role: "server" }, { onMessage: (d) => got.push(Buffer.from(d).toString()), onError: (e) => got.push(e.code) });
    parser.push(core.encodeFrame(Opcode.Text, Buffer.from("one"), { mask: true }));
    parser.push(core.createEncoder({ mask: true }).encode(Opcode.Text, Buffer.from("two"), { fragmentSize: 1 }));
    parser.push(core.encodeFrame(Opcode.Text, Buffer.from("unmasked"), { mask: false }));
    parser.destroy();
    expect(got).toEqual(["one", "two", "WS_ERR_EXPECTED_MASK"]);
  });
});
