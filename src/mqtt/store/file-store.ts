// A message store in an append-only file (Node only): survives a process crash, and with
// fsync "always" a power cut. The log format is in log-format.ts, the lock in lock-file.ts.
import { constants } from "node:fs";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { ByteArena } from "../arena.js";
import { LiveEntries, StoreClosedError } from "./entries.js";
import { acquireLock, releaseLock } from "./lock-file.js";
import { LOG_HEADER, Op, RECORD_OVERHEAD, decodeRecord, encodeDel, encodePut } from "./log-format.js";
import type { MessageStore, StoreLimits } from "./store.js";

export interface FileStoreOptions extends StoreLimits {
  /**
   * "always" (default): each batch of writes is followed by fdatasync before its promises
   * resolve; a resolved put/del survives a power cut. "never": resolved once write() returned;
   * survives a crash of the process (the kernel has the bytes), not a power cut.
   */
  fsync?: "always" | "never";
  /** Compact once dead bytes in the log exceed live bytes times this (default 1). */
  compactRatio?: number;
  /** ...and the log is larger than this many bytes (default 1 MiB). */
  compactMinBytes?: number;
}

/** A write to the store's file failed; the store takes no more operations. */
export class StoreFailedError extends Error {
  readonly code = "EDGEWS_STORE_FAILED";
  constructor(path: string, cause: unknown) {
    super(
      `message store ${path} failed to write (${cause instanceof Error ? cause.message : String(cause)}); ` +
        "close it and open it again to recover every operation that reached the disk",
      { cause },
    );
    this.name = "StoreFailedError";
  }
}

/** The file exists but does not start with the store's header; it is left untouched. */
export class StoreFormatError extends Error {
  readonly code = "EDGEWS_STORE_FORMAT";
  constructor(readonly path: string) {
    super(`${path} is not an edgews message store (it does not start with the store header); point the store at another file`);
    this.name = "StoreFormatError";
  }
}

const DEFAULT_COMPACT_MIN_BYTES = 1 << 20;
/** Size of the reads that replay the log at open. */
const READ_CHUNK = 1 << 20;

/** Operations accepted while a write is in flight; they go to disk in one write (+ fsync). */
interface Batch {
  readonly records: Buffer[];
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * A `MessageStore` in an append-only log file at `path`, with every live entry also held in
 * memory (so memory use is bounded by the limits). Open it with `FileStore.open`.
 *
 * Durability: operations issued while a write is in flight are grouped into the next single
 * write (and fdatasync, with fsync "always"); each promise resolves only once the write (and
 * fsync) covering it has finished. With fsync "always" `durability` is "power-cut", with
 * "never" "process-crash". `get`, `iterate`, `size` and `bytes` show every accepted operation,
 * including those whose write has not finished yet.
 *
 * Recovery: `open` replays the log and stops at the first record that is short (a torn write)
 * or fails its checksum, truncating the file there (`truncatedBytes` says how much). Replay
 * also stops at corruption in the middle of the log: the records after it are dropped. Entries
 * on disk beyond the limits (a store reopened with smaller limits) are all kept; `put` then
 * rejects until the store has room again.
 *
 * Compaction: when dead bytes exceed live bytes × `compactRatio` and the log is over
 * `compactMinBytes`, the live entries are written in order to `path.compact`, which is fsynced,
 * renamed over `path`, and the directory fsynced. A crash at any moment leaves either the old
 * or the new log, both complete; `open` deletes a leftover `path.compact`.
 *
 * A write that fails (disk full, I/O error) rejects its operations and every later one with
 * `StoreFailedError`; reopening the store recovers what reached the disk. `put` copies the value
 * (the caller may reuse its buffer); `get` and `iterate` hand out copies. Keys are stored as
 * UTF-8 (at most 65,535 bytes; a lone surrogate would come back as U+FFFD). `path.lock`, holding
 * the PID, keeps other processes out while the store is open (see `acquireLock`).
 */
export class FileStore implements MessageStore {
  readonly durability: "process-crash" | "power-cut";
  /** Bytes of a torn or corrupt tail that `open` cut from the log. */
  readonly truncatedBytes: number;
  readonly #path: string;
  readonly #entries: LiveEntries;
  /** Where the values put are copied to, packed (see arena.ts; replay keeps a buffer per value: most of a log may be dead). */
  readonly #arena = new ByteArena();
  readonly #fsyncAlways: boolean;
  readonly #compactRatio: number;
  readonly #compactMinBytes: number;
  #handle: FileHandle;
  /** Where the next write goes: the end of what has been written. */
  #writeOffset: number;
  /** The log's size once every accepted operation is written. */
  #logBytes: number;
  #pending: Batch | undefined;
  /** The loop writing batches, while there are any. */
  #flushing: Promise<void> | undefined;
  #failure: StoreFailedError | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Opens (creating it, and its directory, if needed) the store at `path`: takes `path.lock`,
   * deletes a leftover `path.compact`, replays the log. Throws `StoreLockedError` if another live
   * process holds the lock, `StoreFormatError` if `path` is some other file, and an error naming
   * the directory if it cannot be created.
   */
  static async open(path: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const lockPath = `${path}.lock`;
    await createDirectory(dirname(path));
    await acquireLock(lockPath);
    try {
      await rm(`${path}.compact`, { force: true });
      const handle = await open(path, constants.O_RDWR | constants.O_CREAT);
      try {
        const entries = new LiveEntries(options);
        const { end, truncated } = await loadLog(handle, path, entries);
        return new FileStore(path, handle, entries, end, truncated, options);
      } catch (error) {
        await handle.close();
        throw error;
      }
    } catch (error) {
      await releaseLock(lockPath);
      throw error;
    }
  }

  private constructor(path: string, handle: FileHandle, entries: LiveEntries, end: number, truncated: number, options: FileStoreOptions) {
    this.#path = path;
    this.#handle = handle;
    this.#entries = entries;
    this.#writeOffset = end;
    this.#logBytes = end;
    this.truncatedBytes = truncated;
    this.#fsyncAlways = (options.fsync ?? "always") === "always";
    this.durability = this.#fsyncAlways ? "power-cut" : "process-crash";
    this.#compactRatio = options.compactRatio ?? 1;
    this.#compactMinBytes = options.compactMinBytes ?? DEFAULT_COMPACT_MIN_BYTES;
  }

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#entries.bytes;
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    return this.#put(key, value, this.#arena.copy(value));
  }

  /** As `put`, keeping `value` itself in memory instead of a copy: the caller never modifies it. */
  async putShared(key: string, value: Uint8Array): Promise<void> {
    return this.#put(key, value, value);
  }

  /**
   * The record written is dropped once written; what stays in memory is `held`: the caller's
   * own bytes, or a copy packed into the store's arena chunks (a buffer per entry cost ~2× the
   * bytes held in RSS: an ArrayBuffer and its backing store apiece).
   */
  #put(key: string, value: Uint8Array, held: Uint8Array): Promise<void> {
    this.#assertUsable("put");
    this.#entries.checkRoom(key, value.length);
    const record = encodePut(key, value);
    this.#entries.set(key, held);
    return this.#enqueue(record);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.#assertUsable("get");
    const value = this.#entries.get(key);
    return value && new Uint8Array(value);
  }

  async del(key: string): Promise<void> {
    this.#assertUsable("del");
    // Deleting an absent key still waits for the writes in flight: one of them may be its deletion.
    if (!this.#entries.delete(key) && this.#flushing === undefined) return;
    return this.#enqueue(encodeDel(key));
  }

  /** Yields the entries held when iteration starts, in first-insertion order. */
  async *iterate(): AsyncIterable<[key: string, value: Uint8Array]> {
    this.#assertUsable("iterate");
    for (const [key, value] of this.#entries.snapshot()) yield [key, new Uint8Array(value)];
  }

  /** Waits for the writes in flight, closes the file and releases the lock. Closing twice is harmless. */
  close(): Promise<void> {
    return (this.#closing ??= this.#shutDown());
  }

  async #shutDown(): Promise<void> {
    await this.#flushing;
    this.#entries.clear();
    await this.#handle.close();
    await releaseLock(`${this.#path}.lock`);
  }

  #assertUsable(operation: string): void {
    if (this.#closing) throw new StoreClosedError(operation);
    if (this.#failure) throw this.#failure;
  }

  #enqueue(record: Buffer): Promise<void> {
    const batch = (this.#pending ??= newBatch());
    batch.records.push(record);
    this.#logBytes += record.length;
    this.#flushing ??= this.#flush();
    return batch.done;
  }

  /** Writes batches one after another until none is pending; never rejects. */
  async #flush(): Promise<void> {
    await undefined; // operations issued in the same tick join the first batch
    while (this.#pending !== undefined) {
      const batch = this.#pending;
      this.#pending = undefined;
      try {
        // A compaction writes every live entry, including this batch's.
        if (this.#shouldCompact()) await this.#compact();
        else await this.#append(batch.records);
        batch.resolve();
      } catch (error) {
        this.#fail(error, batch);
      }
    }
    this.#flushing = undefined;
  }

  /** Rejects `batch` and the operations queued behind it, and every later operation. */
  #fail(error: unknown, batch: Batch): void {
    this.#failure = new StoreFailedError(this.#path, error);
    batch.reject(this.#failure);
    this.#pending?.reject(this.#failure);
    this.#pending = undefined;
  }

  async #append(records: Buffer[]): Promise<void> {
    await writeAll(this.#handle, records, this.#writeOffset);
    this.#writeOffset += byteLength(records);
    if (this.#fsyncAlways) await this.#handle.datasync();
  }

  #shouldCompact(): boolean {
    const live = this.#liveLogBytes();
    return this.#logBytes > this.#compactMinBytes && this.#logBytes - live > live * this.#compactRatio;
  }

  /** The size of a log holding only the live entries. */
  #liveLogBytes(): number {
    return LOG_HEADER.length + this.#entries.bytes + this.#entries.size * RECORD_OVERHEAD;
  }

  async #compact(): Promise<void> {
    const live = this.#entries.snapshot();
    this.#logBytes = this.#liveLogBytes();
    const compactPath = `${this.#path}.compact`;
    const handle = await open(compactPath, "w");
    let size: number;
    try {
      size = await writeLog(handle, live);
      await handle.datasync();
      await rename(compactPath, this.#path);
    } catch (error) {
      await handle.close();
      throw error;
    }
    const old = this.#handle;
    this.#handle = handle;
    this.#writeOffset = size;
    await old.close();
    await syncDirectory(dirname(this.#path));
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { records: [], done, resolve, reject };
}

/**
 * Checks the header (writing it to an empty or torn-at-creation file), replays the records into
 * `entries`, and truncates the log after the last good one.
 */
async function loadLog(handle: FileHandle, path: string, entries: LiveEntries): Promise<{ end: number; truncated: number }> {
  const { size } = await handle.stat();
  const head = await readAt(handle, 0, LOG_HEADER.length);
  if (size < LOG_HEADER.length) {
    if (!LOG_HEADER.subarray(0, head.length).equals(head)) throw new StoreFormatError(path);
    await writeAll(handle, [LOG_HEADER], 0);
    await handle.truncate(LOG_HEADER.length);
    await handle.datasync();
    await syncDirectory(dirname(path));
    return { end: LOG_HEADER.length, truncated: 0 };
  }
  if (!LOG_HEADER.equals(head)) throw new StoreFormatError(path);
  const end = await replay(handle, size, entries);
  if (end < size) {
    await handle.truncate(end);
    await handle.datasync();
  }
  return { end, truncated: size - end };
}

/** Applies the log's records to `entries`; returns where the valid log ends. */
async function replay(handle: FileHandle, size: number, entries: LiveEntries): Promise<number> {
  let offset = LOG_HEADER.length;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = offset;
  for (;;) {
    const decoded = decodeRecord(chunk, offset - chunkStart);
    if (decoded.kind === "corrupt") return offset;
    if (decoded.kind === "incomplete") {
      if (offset + decoded.need > size) return offset; // a torn write, or the end of the log
      chunk = await readAt(handle, offset, Math.min(Math.max(decoded.need, READ_CHUNK), size - offset));
      chunkStart = offset;
      if (chunk.length < decoded.need) return offset; // the file shrank under us
      continue;
    }
    if (decoded.op === Op.Put) entries.set(decoded.key, decoded.value);
    else entries.delete(decoded.key);
    offset += decoded.length;
  }
}

/** Writes a complete log holding `live` to `handle`; returns its size. */
async function writeLog(handle: FileHandle, live: Array<[string, Uint8Array]>): Promise<number> {
  let offset = 0;
  let records: Buffer[] = [LOG_HEADER];
  let pendingBytes = LOG_HEADER.length;
  for (const [key, value] of live) {
    const record = encodePut(key, value);
    records.push(record);
    pendingBytes += record.length;
    if (pendingBytes < READ_CHUNK) continue;
    await writeAll(handle, records, offset);
    offset += pendingBytes;
    records = [];
    pendingBytes = 0;
  }
  if (records.length > 0) await writeAll(handle, records, offset);
  return offset + pendingBytes;
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** libuv's writev retries short writes; a short total means it hit an error after some bytes. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  const expected = byteLength(buffers);
  const { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten !== expected) throw new Error(`short write: ${bytesWritten} of ${expected} bytes (is the disk full?)`);
}

function byteLength(buffers: Buffer[]): number {
  let total = 0;
  for (const buffer of buffers) total += buffer.length;
  return total;
}

/** Creates the store's directory and its parents when missing; an error names the directory. */
async function createDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`could not create the message store's directory ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

/** Makes a rename or a file creation in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
