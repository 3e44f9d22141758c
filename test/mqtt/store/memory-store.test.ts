import { describe, expect, it } from "vitest";
import { StoreFullError } from "../../../src/mqtt/store/store.js";
import { MemoryStore } from "../../../src/mqtt/store/memory-store.js";
import { ByteArena } from "../../../src/mqtt/arena.js";
import { describeStoreContract } from "./contract.js";

describe("MemoryStore", () => {
  describeStoreContract(async (limits) => new MemoryStore(limits));

  describe("with shareValues", () => {
    describeStoreContract(async (limits) => new MemoryStore({ ...limits, shareValues: true }), { sharesValues: true });
  });

  it("promises durability 'memory'", () => {
    expect(new MemoryStore().durability).toBe("memory");
  });

  it("putSync writes at once and throws what put rejects with", async () => {
    const store = new MemoryStore({ maxEntries: 1 });
    store.putSync("a", Uint8Array.of(1));
    expect(store.size).toBe(1);
    expect(() => store.putSync("b", Uint8Array.of(2))).toThrow(StoreFullError);
    await expect(store.put("b", Uint8Array.of(2))).rejects.toBeInstanceOf(StoreFullError);
    expect([...(await store.get("a"))!]).toEqual([1]);
  });

  it("copies what is put, unless shareValues; hands out copies either way", async () => {
    for (const shareValues of [false, true]) {
      const store = new MemoryStore({ shareValues });
      const value = Uint8Array.of(1, 2, 3);
      await store.put("k", value);
      value[0] = 9;
      expect((await store.get("k"))![0]).toBe(shareValues ? 9 : 1);
      const got = (await store.get("k"))!;
      got[1] = 7;
      expect((await store.get("k"))![1]).toBe(2);
    }
  });
});

describe("ByteArena", () => {
  it("packs small copies into shared chunks without overlap, and gives large ones their own buffer", () => {
    const arena = new ByteArena();
    const copies = Array.from({ length: 300 }, (_, i) => arena.copy(new Uint8Array(100).fill(i & 0xff)));
    expect(new Set(copies.map((c) => c.buffer)).size).toBeLessThan(5);
    copies.forEach((c, i) => expect(c.every((b) => b === (i & 0xff))).toBe(true));
    const large = arena.copy(new Uint8Array(64 << 10));
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(64 << 10);
  });
});
