// A message store in memory: what it holds is lost with the process. Works in Node and browsers.
import { copyOut } from "../../core/bytes.js";
import { ByteArena } from "../arena.js";
import { LiveEntries, StoreClosedError } from "./entries.js";
import type { MessageStore, StoreLimits } from "./store.js";

export interface MemoryStoreOptions extends StoreLimits {
  /**
   * Keep the values given to `put` instead of copying them, for a caller that never modifies a
   * value once it is put (the MQTT client never modifies its records: with this, a message is
   * held once, not once by the client and once by the store). Default false.
   */
  shareValues?: boolean;
}

/**
 * Entries in a `Map`, in first-insertion order, within its limits (defaults: 100,000 entries,
 * 64 MiB of keys + values). `put` copies the value (packed into chunks of the store's own, see
 * arena.ts), so the caller may reuse its buffer once the call returns, unless `shareValues`;
 * `get` and `iterate` hand out copies, so the caller may modify what it gets.
 * A `put` that would exceed a limit rejects with `StoreFullError` and changes nothing; replacing
 * a key counts only the difference in value size. After `close` every operation rejects with
 * `StoreClosedError`.
 */
export class MemoryStore implements MessageStore {
  readonly durability = "memory" as const;
  readonly #entries: LiveEntries;
  readonly #arena: ByteArena | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#entries = new LiveEntries(options);
    this.#arena = options.shareValues ? undefined : new ByteArena();
  }

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#entries.bytes;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.putSync(key, value);
  }

  putSync(key: string, value: Uint8Array): void {
    this.#assertOpen("put");
    this.#entries.checkRoom(key, value.length);
    this.#entries.set(key, this.#arena ? this.#arena.copy(value) : value);
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
