// A message store in memory: what it holds is lost with the process. Works in Node and browsers.
import { copyOut } from "../../core/bytes.js";
import { LiveEntries, StoreClosedError } from "./entries.js";
import type { MessageStore, StoreLimits } from "./store.js";

/**
 * Entries in a `Map`, in first-insertion order, within `limits` (defaults: 100,000 entries,
 * 64 MiB of keys + values). `put` copies the value, so the caller may reuse its buffer once the
 * call returns; `get` and `iterate` hand out copies, so the caller may modify what it gets.
 * A `put` that would exceed a limit rejects with `StoreFullError` and changes nothing; replacing
 * a key counts only the difference in value size. After `close` every operation rejects with
 * `StoreClosedError`.
 */
export class MemoryStore implements MessageStore {
  readonly durability = "memory" as const;
  readonly #entries: LiveEntries;
  #closed = false;

  constructor(limits: StoreLimits = {}) {
    this.#entries = new LiveEntries(limits);
  }

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#entries.bytes;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.#assertOpen("put");
    this.#entries.checkRoom(key, value.length);
    // A copy in pooled memory (Node's Buffer pool where there is one): an ArrayBuffer of its
    // own per message would cost more than most messages.
    this.#entries.set(key, copyOut(value, 0, value.length));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.#assertOpen("get");
    const value = this.#entries.get(key);
    return value && copyOut(value, 0, value.length);
  }

  async del(key: string): Promise<void> {
    this.#assertOpen("del");
    this.#entries.delete(key);
  }

  /** Yields the entries held when iteration starts, in first-insertion order. */
  async *iterate(): AsyncIterable<[key: string, value: Uint8Array]> {
    this.#assertOpen("iterate");
    for (const [key, value] of this.#entries.snapshot()) yield [key, copyOut(value, 0, value.length)];
  }

  /** Drops every entry. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(operation);
  }
}
