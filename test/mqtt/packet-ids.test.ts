import { describe, expect, it } from "vitest";
import { PacketIdsExhaustedError } from "../../src/mqtt/errors.js";
import { PacketIds } from "../../src/mqtt/packet-ids.js";

describe("PacketIds", () => {
  it("hands out 1, 2, 3 … and never 0", () => {
    const ids = new PacketIds();
    expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual([1, 2, 3]);
    expect(ids.inUse).toBe(3);
  });

  it("wraps from 65535 to 1, skipping ids still in flight", () => {
    const ids = new PacketIds(65_534);
    expect(ids.allocate()).toBe(65_534);
    expect(ids.allocate()).toBe(65_535);
    expect(ids.reserve(1)).toBe(true);
    expect(ids.allocate()).toBe(2);
    ids.release(65_534);
    expect(ids.allocate()).toBe(3);
  });

  it("does not reuse a released id before the others (round robin)", () => {
    const ids = new PacketIds();
    const a = ids.allocate();
    ids.release(a);
    expect(ids.allocate()).toBe(a + 1);
  });

  it("never collides, and throws a typed error when all 65535 are in flight", () => {
    const ids = new PacketIds();
    const seen = new Set<number>();
    for (let i = 0; i < 65_535; i++) seen.add(ids.allocate());
    expect(seen.size).toBe(65_535);
    expect(seen.has(0)).toBe(false);
    expect(() => ids.allocate()).toThrow(PacketIdsExhaustedError);
    ids.release(40_000);
    expect(ids.allocate()).toBe(40_000);
  });

  it("reserve refuses ids in use and out of range", () => {
    const ids = new PacketIds();
    expect(ids.reserve(7)).toBe(true);
    expect(ids.reserve(7)).toBe(false);
    expect(ids.reserve(0)).toBe(false);
    expect(ids.reserve(65_536)).toBe(false);
    expect(ids.has(7)).toBe(true);
    ids.release(7);
    ids.release(7);
    expect(ids.inUse).toBe(0);
  });
});
