import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../src/mqtt/store/memory-store.js";
import { describeStoreContract } from "./contract.js";

describe("MemoryStore", () => {
  describeStoreContract(async (limits) => new MemoryStore(limits));

  it("promises durability 'memory'", () => {
    expect(new MemoryStore().durability).toBe("memory");
  });
});
