// The browser's crash-safe message store: entries in an IndexedDB object store, so that what a
// page's MQTT client promised not to lose survives a reload, a closed tab or a browser crash.
// The live entries are also kept in memory (LiveEntries: limits, byte accounting, order); the
// database is read once, when the store opens.
import { LiveEntries, StoreClosedError } from "./entries.js";
import type { MessageStore, StoreLimits } from "./store.js";

const OBJECT_STORE = "entries";
const ORDER_INDEX = "order";

/** One entry as it sits in IndexedDB: `order` keeps first-insertion order across reloads. */
interface Row {
  key: string;
  order: number;
  value: Uint8Array;
}

/** IndexedDB failed (or is missing, as in Node): what was asked, and the browser's reason. */
export class IndexedDbStoreError extends Error {
  readonly code = "EDGEWS_INDEXEDDB";
  constructor(what: string, cause?: unknown) {
    super(`IndexedDB message store: ${what}${cause ? `: ${(cause as Error).message ?? String(cause)}` : ""}`);
    this.name = "IndexedDbStoreError";
  }
}

/**
 * A MessageStore in the IndexedDB database `name`, held by one store at a time across the
 * origin's tabs (a Web Lock: a second open, in this tab or another, is refused until the first
 * closes, as two clients resending and deleting the same messages would). A resolved `put`/`del` is a committed transaction, which survives the page and the
 * browser process (`durability` "process-crash"); whether it survives a power cut is up to the
 * browser. Same limits and errors as MemoryStore; `get` and `iterate` hand out copies.
 */
export class IndexedDbStore implements MessageStore {
  readonly durability = "process-crash" as const;
  readonly name: string;
  readonly #db: IDBDatabase;
  readonly #entries: LiveEntries;
  readonly #orders = new Map<string, number>();
  readonly #releaseLock: () => void;
  #nextOrder = 0;
  #closed = false;

  private constructor(name: string, db: IDBDatabase, limits: StoreLimits, releaseLock: () => void) {
    this.name = name;
    this.#db = db;
    this.#entries = new LiveEntries(limits);
    this.#releaseLock = releaseLock;
  }

  /** Opens (creating if needed) the database `name` and loads its entries; refused while another store holds it. */
  static async open(name: string, limits: StoreLimits = {}): Promise<IndexedDbStore> {
    const releaseLock = await holdLock(name);
    if (!releaseLock) throw inUse(name);
    let db: IDBDatabase | undefined;
    try {
      db = await request(`open database ${name}`, () => {
        const opening = indexedDB.open(name, 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore(OBJECT_STORE, { keyPath: "key" }).createIndex(ORDER_INDEX, "order");
        return opening;
      });
      const opened = db;
      const rows = await request(`read ${name}`, () => opened.transaction(OBJECT_STORE).objectStore(OBJECT_STORE).index(ORDER_INDEX).getAll() as IDBRequest<Row[]>);
      const store = new IndexedDbStore(name, opened, limits, releaseLock);
      for (const row of rows) store.#load(row);
      return store;
    } catch (error) {
      db?.close();
      releaseLock();
      throw error;
    }
  }

  /** Deletes the database `name`; refused while a store holds it. */
  static async destroy(name: string): Promise<void> {
    const releaseLock = await holdLock(name);
    if (!releaseLock) throw inUse(name);
    try {
      await request(`delete database ${name}`, () => indexedDB.deleteDatabase(name));
    } finally {
      releaseLock();
    }
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
    const copy = value.slice();
    let order = this.#orders.get(key);
    if (order === undefined) this.#orders.set(key, (order = this.#nextOrder++));
    this.#entries.set(key, copy);
    await this.#write(`put ${key}`, (objects) => objects.put({ key, order, value: copy } satisfies Row));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.#assertOpen("get");
    return this.#entries.get(key)?.slice();
  }

  async del(key: string): Promise<void> {
    this.#assertOpen("del");
    if (!this.#entries.delete(key)) return;
    this.#orders.delete(key);
    await this.#write(`delete ${key}`, (objects) => objects.delete(key));
  }

  /** Yields the entries held when iteration starts, in first-insertion order. */
  async *iterate(): AsyncIterable<[key: string, value: Uint8Array]> {
    this.#assertOpen("iterate");
    for (const [key, value] of this.#entries.snapshot()) yield [key, value.slice()];
  }

  /** Closes the database (its entries stay in it). Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#entries.clear();
    this.#db.close();
    this.#releaseLock();
  }

  #load(row: Row): void {
    this.#entries.set(row.key, row.value);
    this.#orders.set(row.key, row.order);
    this.#nextOrder = Math.max(this.#nextOrder, row.order + 1);
  }

  /** One readwrite transaction; resolves once it has committed. */
  #write(what: string, change: (objects: IDBObjectStore) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const transaction = this.#db.transaction(OBJECT_STORE, "readwrite");
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(new IndexedDbStoreError(what, transaction.error));
      transaction.onabort = () => reject(new IndexedDbStoreError(`${what} (aborted)`, transaction.error));
      change(transaction.objectStore(OBJECT_STORE));
    });
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(operation);
  }
}

function inUse(name: string): IndexedDbStoreError {
  return new IndexedDbStoreError(`${name} is in use by another client (in this tab or another of this origin); close it there first`);
}

/**
 * Takes the Web Lock for store `name` if it is free: resolves with its release, or undefined
 * when another holder has it. Without Web Locks (older browsers) nothing is guarded.
 */
function holdLock(name: string): Promise<(() => void) | undefined> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    locks
      .request(`edgews-store:${name}`, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(undefined);
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

/**
 * The result of an IndexedDB request, as a promise. (A "blocked" open or delete is not a failure:
 * it waits for connections still closing, which the Web Lock says are ours and going.)
 */
function request<T>(what: string, start: () => IDBRequest<T>): Promise<T> {
  if (typeof indexedDB === "undefined") return Promise.reject(new IndexedDbStoreError(`cannot ${what}: this runtime has no IndexedDB (in Node, use FileStore)`));
  return new Promise((resolve, reject) => {
    const pending = start();
    pending.onsuccess = () => resolve(pending.result);
    pending.onerror = () => reject(new IndexedDbStoreError(what, pending.error));
  });
}
