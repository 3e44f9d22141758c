// Layer 1: COBS framing with a CRC-32C, fed in every chunking, through garbage.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, cobsMaxSize, frameAll, sealPacket, writeFrame, type FrameCounters } from "../../src/link/framing.js";

const hex = (text: string) => Uint8Array.from(text.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

function cobs(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxSize(data.length) + 1);
  return out.subarray(0, writeFrame(data, out, 0));
}

/** An independent COBS decoder (the paper's algorithm, whole frame at once) to check the encoder against. */
function referenceDecode(frame: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < frame.length) {
    const code = frame[i++];
    for (let k = 1; k < code; k++) out.push(frame[i++]);
    if (code < 0xff && i < frame.length) out.push(0);
  }
  return Uint8Array.from(out);
}

/** A packet of `length` bytes (CRC included) with a valid CRC. */
function packet(length: number, fill: (i: number) => number = (i) => (i * 37 + 11) & 0xff): Uint8Array {
  return sealPacket(Uint8Array.from({ length }, (_, i) => fill(i)));
}

function decoder(maxPacket = 256): { decoder: FrameDecoder; packets: Uint8Array[]; counters: FrameCounters } {
  const packets: Uint8Array[] = [];
  const d = new FrameDecoder(maxPacket, (p) => packets.push(p.slice()));
  return { decoder: d, packets, counters: d.counters };
}

describe("COBS encoding", () => {
  // The examples of the COBS article on Wikipedia (the paper's canonical form), delimiter included.
  it.each([
    ["", "01 00"],
    ["00", "01 01 00"],
    ["00 00", "01 01 01 00"],
    ["00 11 00", "01 02 11 01 00"],
    ["11 22 00 33", "03 11 22 02 33 00"],
    ["11 22 33 44", "05 11 22 33 44 00"],
    ["11 00 00 00", "02 11 01 01 01 00"],
  ])("encodes [%s] as [%s]", (input, output) => {
    expect(cobs(hex(input))).toEqual(hex(output));
  });

  it("encodes the 254- and 255-byte runs without a needless empty block", () => {
    expect(cobs(range(1, 254))).toEqual(concat(hex("ff"), range(1, 254), hex("00")));
    expect(cobs(concat(hex("00"), range(1, 254)))).toEqual(concat(hex("01 ff"), range(1, 254), hex("00")));
    expect(cobs(range(1, 255))).toEqual(concat(hex("ff"), range(1, 254), hex("02 ff 00")));
    expect(cobs(concat(range(2, 255), hex("00")))).toEqual(concat(hex("ff"), range(2, 255), hex("01 01 00")));
    expect(cobs(concat(range(3, 255), hex("00 01")))).toEqual(concat(hex("fe"), range(3, 255), hex("02 01 00")));
  });

  it("round-trips any bytes, with no zero before the delimiter and within the stated size", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (data) => {
        const frame = cobs(data);
        expect(frame.length).toBeLessThanOrEqual(cobsMaxSize(data.length) + 1);
        expect(frame.indexOf(0)).toBe(frame.length - 1);
        expect(referenceDecode(frame.subarray(0, -1))).toEqual(data);
      }),
    );
  });
});

describe("FrameDecoder", () => {
  it("delivers each packet without its CRC, in any chunking down to single bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 6, max: 256 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
        fc.integer(),
        (lengths, cuts, seed) => {
          const sent = lengths.map((n, k) => packet(n, (i) => (i * (seed | 1) + k) & 0xff));
          const wire = frameAll(sent);
          const { decoder: d, packets, counters } = decoder();
          for (let at = 0, c = 0; at < wire.length; at += cuts[c++ % cuts.length]) d.push(wire.subarray(at, at + cuts[c % cuts.length]));
          expect(packets).toEqual(sent.map((p) => p.subarray(0, -4)));
          expect(counters).toEqual({ packets: sent.length, crcErrors: 0, cobsErrors: 0, oversize: 0, truncated: 0 });
        },
      ),
    );
  });

  it("finds its place again after any garbage: the leading delimiter ends it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 6, max: 256 }), (garbage, length) => {
        const sent = packet(length);
        const { decoder: d, packets } = decoder();
        d.push(garbage);
        d.push(frameAll([sent]));
        expect(packets.at(-1)).toEqual(sent.subarray(0, -4));
      }),
    );
  });

  it("drops and counts a frame with a bad CRC", () => {
    const wire = frameAll([packet(40)]);
    wire[10] ^= 0x04;
    const { decoder: d, packets, counters } = decoder();
    d.push(wire);
    expect(packets).toEqual([]);
    expect(counters.crcErrors).toBe(1);
  });

  it("drops and counts a frame that ends inside a COBS block", () => {
    const { decoder: d, packets, counters } = decoder();
    d.push(hex("00 09 01 02 03 00"));
    expect(packets).toEqual([]);
    expect(counters.cobsErrors).toBe(1);
  });

  it("drops and counts a frame shorter than a header and a CRC", () => {
    const { decoder: d, counters } = decoder();
    d.push(frameAll([sealPacket(new Uint8Array(5))]));
    expect(counters.truncated).toBe(1);
  });

  it("drops and counts an oversized frame without storing it, then takes the next packet", () => {
    const { decoder: d, packets, counters } = decoder(64);
    d.push(frameAll([packet(65)]));
    // A megabyte of garbage without a zero is still one frame: counted once, memory unchanged.
    d.push(new Uint8Array(1 << 20).fill(0x55));
    d.push(frameAll([packet(64)]));
    expect(counters).toEqual({ packets: 1, crcErrors: 0, cobsErrors: 0, oversize: 2, truncated: 0 });
    expect(packets).toEqual([packet(64).subarray(0, -4)]);
  });

  it("ignores empty frames (delimiters in a row)", () => {
    const { decoder: d, counters } = decoder();
    d.push(new Uint8Array(10));
    expect(counters).toEqual({ packets: 0, crcErrors: 0, cobsErrors: 0, oversize: 0, truncated: 0 });
  });
});
