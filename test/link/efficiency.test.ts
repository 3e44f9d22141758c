// Link efficiency (payload ÷ wire bytes) from the real encodings, against the byte accounting
// of docs/link-protocol.md §8, and the target: at least 85% for 64-byte telemetry.
import { describe, expect, it } from "vitest";
import { linkEfficiency } from "../../src/link/efficiency.js";

describe("linkEfficiency", () => {
  it("meets the 85% target for 64-byte telemetry, and for 64-byte reliable messages even with an ack", () => {
    expect(linkEfficiency(64).efficiency).toBeGreaterThanOrEqual(0.85);
    expect(linkEfficiency(64, { reliable: true, withAck: true }).efficiency).toBeGreaterThanOrEqual(0.85);
  });

  it("charges what §8 says: 2 delimiters, 1 COBS byte per started 254, a 2-byte header (+1 seq, +1 ack, +1 fragment) and 4 CRC bytes", () => {
    // Best-effort, one packet: payload + 2 header + 4 CRC, plus 1 COBS byte and 2 delimiters.
    for (const n of [0, 16, 64, 200, 248]) expect(linkEfficiency(n).wireBytes).toBe(n + 6 + 1 + 2);
    expect(linkEfficiency(249).wireBytes).toBe(249 + 6 + 2 + 2);
    expect(linkEfficiency(64, { reliable: true }).wireBytes).toBe(64 + 7 + 1 + 2);
    expect(linkEfficiency(64, { reliable: true, withAck: true }).wireBytes).toBe(64 + 8 + 1 + 2);
    // 256 bytes at the default 256-byte packets: fragments of 247 and 9 bytes (room kept for an
    // ack), 4 header and 4 CRC bytes each. The first packet is 255 bytes, but its seq (0) is a
    // zero, which COBS turns into the second code byte: one COBS byte each.
    const big = linkEfficiency(256);
    expect(big).toMatchObject({ reliable: true, packets: 2 });
    expect(big.wireBytes).toBe(1 + (247 + 8 + 1 + 1) + (9 + 8 + 1 + 1));
    console.log(["16B", "64B", "256B"].map((name, i) => `${name}-efficiency ${(linkEfficiency([16, 64, 256][i]).efficiency * 100).toFixed(1)}%`).join(", "));
  });

  it("refuses a best-effort message that does not fit one packet", () => {
    expect(() => linkEfficiency(250, { reliable: false })).toThrow(/at most 249 bytes/);
  });
});
