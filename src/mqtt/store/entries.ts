// What every message store keeps in memory: its live entries in first-insertion order, the
// limits on them, and the byte accounting. The stores add durability (or not) around it.
import { DEFAULT_STORE_LIMITS, StoreFullError, type StoreLimits } from "./store.js";

/** An operation on a store that has been closed; open a new one. */
export class StoreClosedError extends Error {
  readonly code = "EDGEWS_STORE_CLOSED";
  constructor(operation: string) {
    super(`message store is closed: cannot ${operation}; open the store again to use it`);
    this.name = "StoreClosedError";
  }
}

/**
 * The live entries of a store. Keys count their UTF-8 length towards `bytes`. Values are
 * kept as given: callers pass bytes nobody else will modify, or (FileStore) the number of a
 * slot holding them, with `lengthOf` telling its length.
 */
export class LiveEntries<V = Uint8Array> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #map = new Map<string, V>();
  readonly #lengthOf: (value: V) => number;
  #bytes = 0;

  constructor(limits: StoreLimits = {}, lengthOf: (value: V) => number = (value) => (value as Uint8Array).length) {
    this.maxEntries = limits.maxEntries ?? DEFAULT_STORE_LIMITS.maxEntries;
    this.maxBytes = limits.maxBytes ?? DEFAULT_STORE_LIMITS.maxBytes;
    this.#lengthOf = lengthOf;
  }

  get size(): number {
    return this.#map.size;
  }
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** Throws `StoreFullError` if putting `key` with a value of `valueLength` bytes would exceed a limit. */
  checkRoom(key: string, valueLength: number): void {
    const old = this.#map.get(key);
    if (old === undefined && this.#map.size >= this.maxEntries) throw new StoreFullError("maxEntries", this.maxEntries);
    const growth = old === undefined ? utf8Length(key) + valueLength : valueLength - this.#lengthOf(old);
    if (this.#bytes + growth > this.maxBytes) throw new StoreFullError("maxBytes", this.maxBytes);
  }

  /** Adds or replaces (in place) without checking the limits: see `checkRoom`. */
  set(key: string, value: V): void {
    const old = this.#map.get(key);
    const length = this.#lengthOf(value);
    this.#bytes += old === undefined ? utf8Length(key) + length : length - this.#lengthOf(old);
    this.#map.set(key, value);
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: string): boolean {
    const old = this.#map.get(key);
    if (old === undefined) return false;
    this.#map.delete(key);
    this.#bytes -= utf8Length(key) + this.#lengthOf(old);
    return true;
  }

  /** The entries now, in first-insertion order; later changes do not affect the array. */
  snapshot(): Array<[string, V]> {
    return [...this.#map];
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

/** UTF-8 length of `text` as `TextEncoder` and `Buffer.from` encode it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      length += 1;
    } else if (isHighSurrogate(unit) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 2; // two UTF-16 units, four bytes
      i++;
    } else {
      length += 2; // one UTF-16 unit, three bytes
    }
  }
  return length;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
