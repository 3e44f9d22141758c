/**
 * Where the MQTT client keeps what it has promised not to lose: outgoing QoS 1/2 messages
 * (and their flow state) and incoming QoS 2 packet ids awaiting PUBREL.
 *
 * Keys are the client's own strings; values are opaque bytes. `iterate()` yields entries in
 * the order their key was first put (re-putting a key replaces its value in place), so the
 * client can resend in the order the application published.
 *
 * A resolved `put`/`del` is as durable as the store promises (see each implementation's
 * `durability`); a store that is full rejects `put` with `StoreFullError` and changes nothing.
 */
export interface MessageStore {
  /** What a resolved `put`/`del` survives: nothing across a restart, a process crash, or a power cut. */
  readonly durability: "memory" | "process-crash" | "power-cut";
  /** Entries held now. */
  readonly size: number;
  /** Bytes held now (keys + values). */
  readonly bytes: number;
  put(key: string, value: Uint8Array): Promise<void>;
  /**
   * Optional, for stores whose writes complete at once (MemoryStore): `put` without the promise,
   * throwing what `put` would reject with. The client then accepts a publish in the same turn,
   * holding nothing per message while a burst of publishes is stored.
   */
  putSync?(key: string, value: Uint8Array): void;
  /**
   * Optional: `put`, except that the store may keep `value` itself instead of a copy; the caller
   * promises never to modify it. The client's records never change once made, so a store need
   * not hold a second copy of every message (FileStore).
   */
  putShared?(key: string, value: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  del(key: string): Promise<void>;
  iterate(): AsyncIterable<[key: string, value: Uint8Array]>;
  close(): Promise<void>;
}

export interface StoreLimits {
  /** Most entries held at once (default 100,000). */
  maxEntries?: number;
  /** Most bytes held at once, keys + values (default 64 MiB). */
  maxBytes?: number;
}

/** The limits of a store that sets none (also the client's own, when it has no store). */
export const DEFAULT_STORE_LIMITS: Readonly<Required<StoreLimits>> = { maxEntries: 100_000, maxBytes: 64 << 20 };

/** `put` would take the store beyond one of its limits; nothing was written. */
export class StoreFullError extends Error {
  readonly code = "EDGEWS_STORE_FULL";
  constructor(
    readonly limit: "maxEntries" | "maxBytes",
    readonly max: number,
  ) {
    super(`message store is full (${limit} ${max}); wait for acknowledgements or raise the limit`);
    this.name = "StoreFullError";
  }
}
