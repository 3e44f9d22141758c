// Layer 2: the packet header and the SYNC body, byte for byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CloseReason, PacketError, PacketType, decodePacket, decodeSync, encodePacket, encodeSync, type Packet, type SyncInfo } from "../../src/link/packet.js";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
/** Decodes a packet given without its CRC (framing checked and removed it). */
const decode = (bytes: number[]) => decodePacket(Uint8Array.from(bytes));
const withoutCrc = (packet: Packet) => encodePacket(packet).subarray(0, -4);

describe("packet header", () => {
  it("lays out control, type and the optional seq, ack and fragment bytes in that order", () => {
    expect(hex(withoutCrc({ type: 0x11, body: Uint8Array.of(0xaa) }))).toBe("40 11 aa");
    expect(hex(withoutCrc({ type: 0x12, seq: 7, body: Uint8Array.of(0xaa) }))).toBe("60 12 07 aa");
    expect(hex(withoutCrc({ type: 0x12, seq: 7, ack: 9, fragment: { index: 2, last: true }, body: Uint8Array.of(0xaa) }))).toBe("78 12 07 09 82 aa");
    expect(hex(withoutCrc({ type: PacketType.Ack, ack: 200, body: new Uint8Array(0) }))).toBe("50 02 c8");
  });

  it("round-trips every well-formed message packet", () => {
    const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    fc.assert(
      fc.property(
        fc.integer({ min: 0x10, max: 0xff }),
        optional(fc.integer({ min: 0, max: 255 })),
        optional(fc.integer({ min: 0, max: 255 })),
        optional(fc.record({ index: fc.integer({ min: 0, max: 126 }), last: fc.boolean() })),
        fc.uint8Array({ maxLength: 300 }),
        (type, seq, ack, fragment, body) => {
          const packet: Packet = { type, body };
          if (seq !== undefined) packet.seq = seq;
          if (ack !== undefined) packet.ack = ack;
          if (fragment && seq !== undefined) packet.fragment = fragment;
          expect(decodePacket(withoutCrc(packet))).toEqual(packet);
        },
      ),
    );
  });

  it("refuses another version, reserved bits, and fields a type does not allow", () => {
    expect(decode([0x80, 0x11])).toBe(PacketError.BadVersion);
    expect(decode([0x00, 0x11])).toBe(PacketError.BadVersion);
    expect(decode([0x41, 0x11])).toBe(PacketError.BadHeader);
    // A fragment without a sequence number: best-effort messages are never split.
    expect(decode([0x48, 0x11, 0x80])).toBe(PacketError.BadHeader);
    // A 128th fragment that is not the last.
    expect(decode([0x68, 0x11, 0x00, 0x7f])).toBe(PacketError.BadHeader);
    // Header bytes announced but missing.
    expect(decode([0x70, 0x12, 0x01])).toBe(PacketError.BadHeader);
    // Link packets: unknown types, a seq on a control packet, an ACK without its byte, bodies of the wrong size.
    expect(decode([0x40, 0x00])).toBe(PacketError.BadHeader);
    expect(decode([0x40, 0x06])).toBe(PacketError.BadHeader);
    expect(decode([0x60, PacketType.Ping, 0x01])).toBe(PacketError.BadHeader);
    expect(decode([0x40, PacketType.Ack])).toBe(PacketError.BadHeader);
    expect(decode([0x50, PacketType.Ack, 0x01, 0x00])).toBe(PacketError.BadHeader);
    expect(decode([0x40, PacketType.Ping, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(PacketError.BadHeader);
    expect(decode([0x40, PacketType.Close])).toBe(PacketError.BadHeader);
    expect(decode([0x50, PacketType.Sync, 0x00, ...new Array(15).fill(1)])).toBe(PacketError.BadHeader);
    expect(decode([0x40, PacketType.Sync, ...new Array(14).fill(1)])).toBe(PacketError.BadHeader);
  });

  it("accepts link packets with a piggybacked acknowledgement", () => {
    expect(decode([0x50, PacketType.Ping, 0x05])).toEqual({ type: PacketType.Ping, ack: 5, body: new Uint8Array(0) });
    expect(decode([0x50, PacketType.Close, 0x05, CloseReason.GoingAway])).toEqual({ type: PacketType.Close, ack: 5, body: Uint8Array.of(1) });
  });
});

describe("SYNC body", () => {
  const info: SyncInfo = { session: 0x11223344, peerSession: 0xa1b2c3d4, maxPacket: 256, maxMessage: 4096, resumeSeq: 3, expectedSeq: 250, established: true };

  it("is 15 bytes, little-endian", () => {
    expect(hex(encodeSync(info))).toBe("44 33 22 11 d4 c3 b2 a1 00 01 00 10 03 fa 01");
    expect(decodeSync(encodeSync(info))).toEqual(info);
  });

  it("ignores reserved flag bits, refuses a zero session and sizes out of range", () => {
    const body = encodeSync(info);
    body[14] = 0xfe;
    expect(decodeSync(body)?.established).toBe(false);
    expect(decodeSync(encodeSync({ ...info, session: 0 }))).toBeUndefined();
    expect(decodeSync(encodeSync({ ...info, maxPacket: 31 }))).toBeUndefined();
    expect(decodeSync(encodeSync({ ...info, maxPacket: 513 }))).toBeUndefined();
    expect(decodeSync(encodeSync({ ...info, maxMessage: 0 }))).toBeUndefined();
  });
});
