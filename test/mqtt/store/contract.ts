// The MessageStore contract, run against every store: call `describeStoreContract` inside a describe.
import { afterEach, expect, it } from "vitest";
import { StoreClosedError } from "../../../src/mqtt/store/entries.js";
import { StoreFullError, type MessageStore, type StoreLimits } from "../../../src/mqtt/store/store.js";
import { bytesOf, entriesOf, shuffleSample } from "./helpers.js";

/** `sharesValues`: the store keeps what is put as given (MemoryStore's shareValues), so only its hand-outs are copies. */
export function describeStoreContract(openStore: (limits?: StoreLimits) => Promise<MessageStore>, { sharesValues = false } = {}): void {
  const opened: MessageStore[] = [];
  const make = async (limits?: StoreLimits) => {
    const store = await openStore(limits);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it("iterates in first-insertion order; re-putting a key keeps its place, deleting it loses it", async () => {
    const store = await make();
    await shuffleSample(store);
    expect(await entriesOf(store)).toEqual([
      ["b", "2'"],
      ["c", "3"],
      ["a", "1'"],
    ]);
  });

  it("gets what was put, undefined for absent keys; deleting an absent key is harmless", async () => {
    const store = await make();
    await store.put("x", bytesOf("value"));
    expect(new TextDecoder().decode(await store.get("x"))).toBe("value");
    expect(await store.get("y")).toBeUndefined();
    await store.del("y");
    await store.del("x");
    await store.del("x");
    expect(await store.get("x")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("counts entries and bytes of keys (as UTF-8) and values, replacing by the difference", async () => {
    const store = await make();
    await store.put("k1", new Uint8Array(10));
    expect([store.size, store.bytes]).toEqual([1, 12]);
    await store.put("é€😀", new Uint8Array(3)); // 2 + 3 + 4 bytes of UTF-8
    expect([store.size, store.bytes]).toEqual([2, 12 + 9 + 3]);
    await store.put("k1", new Uint8Array(4));
    expect([store.size, store.bytes]).toEqual([2, 6 + 12]);
    await store.del("é€😀");
    expect([store.size, store.bytes]).toEqual([1, 6]);
  });

  it(sharesValues ? "hands out copies" : "copies the value on put and hands out copies", async () => {
    const store = await make();
    const buffer = Buffer.from("original"); // Buffer#slice is a view: a store must not rely on it
    await store.put("k", buffer);
    if (!sharesValues) buffer.write("CHANGED!");
    const got = (await store.get("k"))!;
    expect(new TextDecoder().decode(got)).toBe("original");
    got.fill(0);
    for await (const [, value] of store.iterate()) value.fill(0);
    expect(await entriesOf(store)).toEqual([["k", "original"]]);
  });

  it("runs 100 concurrent puts, keeping their order", async () => {
    const store = await make();
    const keys = Array.from({ length: 100 }, (_, i) => `key-${i}`);
    await Promise.all(keys.map((key) => store.put(key, bytesOf(key))));
    expect(await entriesOf(store)).toEqual(keys.map((key) => [key, key]));
  });

  it("iterates over the entries held when iteration started", async () => {
    const store = await make();
    for (const key of ["a", "b", "c"]) await store.put(key, bytesOf(key));
    const seen: string[] = [];
    for await (const [key] of store.iterate()) {
      seen.push(key);
      if (key === "a") {
        await store.del("b");
        await store.put("d", bytesOf("d"));
      }
    }
    expect(seen).toEqual(["a", "b", "c"]);
    expect((await entriesOf(store)).map(([key]) => key)).toEqual(["a", "c", "d"]);
  });

  it("rejects a put beyond maxEntries with StoreFullError and changes nothing; replacing still works", async () => {
    const store = await make({ maxEntries: 2 });
    await store.put("a", bytesOf("1"));
    await store.put("b", bytesOf("2"));
    const error = await store.put("c", bytesOf("3")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFullError);
    expect(error).toMatchObject({ code: "EDGEWS_STORE_FULL", limit: "maxEntries", max: 2 });
    expect([store.size, store.bytes]).toEqual([2, 4]);
    expect(await store.get("c")).toBeUndefined();
    await store.put("a", bytesOf("1'"));
    expect(await entriesOf(store)).toEqual([
      ["a", "1'"],
      ["b", "2"],
    ]);
  });

  it("rejects a put beyond maxBytes with StoreFullError and changes nothing, counting a replacement by its difference", async () => {
    const store = await make({ maxBytes: 20 });
    await store.put("a", bytesOf("123456789"));
    await store.put("b", bytesOf("123456789"));
    expect(store.bytes).toBe(20);
    await expect(store.put("a", bytesOf("1234567890"))).rejects.toMatchObject({ name: "StoreFullError", limit: "maxBytes", max: 20 });
    expect(await entriesOf(store)).toEqual([
      ["a", "123456789"],
      ["b", "123456789"],
    ]);
    expect(store.bytes).toBe(20);
    await store.put("a", bytesOf("1234"));
    await store.put("c", bytesOf("1234"));
    expect(store.bytes).toBe(20);
    await expect(store.put("d", new Uint8Array(0))).rejects.toBeInstanceOf(StoreFullError);
    expect([store.size, store.bytes]).toEqual([3, 20]);
  });

  it("rejects every operation after close with StoreClosedError; closing twice is harmless", async () => {
    const store = await make();
    await store.put("a", bytesOf("1"));
    await store.close();
    await store.close();
    await expect(store.put("b", bytesOf("2"))).rejects.toBeInstanceOf(StoreClosedError);
    await expect(store.get("a")).rejects.toThrow(/closed: cannot get/);
    await expect(store.del("a")).rejects.toMatchObject({ code: "EDGEWS_STORE_CLOSED" });
    await expect(entriesOf(store)).rejects.toBeInstanceOf(StoreClosedError);
  });
}
