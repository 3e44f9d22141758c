import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { open, readFile, stat, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FileStore, StoreFailedError, StoreFormatError, type FileStoreOptions } from "../../../src/mqtt/store/file-store.js";
import { StoreLockedError } from "../../../src/mqtt/store/lock-file.js";
import { LOG_HEADER } from "../../../src/mqtt/store/log-format.js";
import { describeStoreContract } from "./contract.js";
import { bytesOf, entriesOf, makeTempDir, shuffleSample } from "./helpers.js";

let dir: string;
let removeDir: () => Promise<void>;
let path: string;
const opened: FileStore[] = [];

beforeEach(async () => {
  ({ dir, remove: removeDir } = await makeTempDir());
  path = join(dir, "messages.log");
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const store of opened.splice(0)) await store.close();
  await removeDir();
});

async function openStore(options: FileStoreOptions = {}): Promise<FileStore> {
  const store = await FileStore.open(path, options);
  opened.push(store);
  return store;
}

/** Opens the store, checks it holds `expected`, closes it; returns what open truncated. */
async function reopenExpecting(expected: Array<[string, string]>): Promise<number> {
  const store = await FileStore.open(path);
  try {
    expect(await entriesOf(store)).toEqual(expected);
    return store.truncatedBytes;
  } finally {
    await store.close();
  }
}

/** Writes `count` entries k0.. with 64-byte values; returns the file offset where each record starts, and the end. */
async function writeEntries(count: number): Promise<{ starts: number[]; end: number; expected: Array<[string, string]> }> {
  const store = await FileStore.open(path, { fsync: "never" });
  const starts: number[] = [];
  const expected: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    starts.push((await stat(path)).size);
    const value = `value-${i}`.padEnd(64, ".");
    await store.put(`k${i}`, bytesOf(value));
    expected.push([`k${i}`, value]);
  }
  await store.close();
  return { starts, end: (await stat(path)).size, expected };
}

/** The prototype of Node's FileHandle, to watch the store's writes and fsyncs. */
async function fileHandlePrototype(): Promise<FileHandle> {
  const handle = await open(join(dir, "probe"), "w");
  await handle.close();
  return Object.getPrototypeOf(handle) as FileHandle;
}

describe("FileStore", () => {
  describe("contract", () => {
    describeStoreContract(async (limits) => {
      const store = await FileStore.open(path, limits);
      opened.push(store);
      return store;
    });
  });

  it("promises 'power-cut' with fsync always (the default) and 'process-crash' with never", async () => {
    const always = await FileStore.open(path);
    expect(always.durability).toBe("power-cut");
    await always.close();
    const never = await FileStore.open(path, { fsync: "never" });
    expect(never.durability).toBe("process-crash");
    await never.close();
  });

  it("finds the same entries, order, size and bytes after reopening", async () => {
    const store = await openStore();
    await shuffleSample(store);
    await store.put("é", new Uint8Array(0));
    const before = [store.size, store.bytes];
    await store.close();
    const reopened = await openStore();
    expect(await entriesOf(reopened)).toEqual([
      ["b", "2'"],
      ["c", "3"],
      ["a", "1'"],
      ["é", ""],
    ]);
    expect([reopened.size, reopened.bytes]).toEqual(before);
    expect(reopened.truncatedBytes).toBe(0);
  });

  it("replays a log of several MiB, with records across read chunks and one larger than a chunk", async () => {
    const store = await openStore({ fsync: "never" });
    const expected: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 60; i++) {
      const value = new Uint8Array(i === 30 ? 1.5 * 2 ** 20 : 40_000 + i).fill(i);
      await store.put(`k${i}`, value);
      expected.push([`k${i}`, value]);
    }
    await store.close();
    expect((await stat(path)).size).toBeGreaterThan(3 * 2 ** 20);
    const reopened = await openStore();
    const entries: Array<[string, Uint8Array]> = [];
    for await (const entry of reopened.iterate()) entries.push(entry);
    expect(entries.map(([key]) => key)).toEqual(expected.map(([key]) => key));
    // (toEqual on MiB-sized arrays takes seconds)
    for (const [i, [, value]] of entries.entries()) expect(Buffer.from(value).equals(expected[i]![1]), `value ${i}`).toBe(true);
    expect(reopened.truncatedBytes).toBe(0);
  });

  it("resolves a put only once its record is in the file", async () => {
    const store = await openStore({ fsync: "never" });
    await store.put("key", bytesOf("a value to look for"));
    expect((await readFile(path)).includes("a value to look for")).toBe(true);
  });

  it("writes a rejected put nowhere", async () => {
    const store = await openStore({ maxEntries: 1 });
    await store.put("a", bytesOf("1"));
    const size = (await stat(path)).size;
    await expect(store.put("b", bytesOf("2"))).rejects.toMatchObject({ name: "StoreFullError" });
    await store.close();
    expect((await stat(path)).size).toBe(size);
  });

  it("groups puts issued together into one write and one fsync, resolving them after it", async () => {
    const proto = await fileHandlePrototype();
    const store = await openStore();
    const events: string[] = [];
    const writev = vi.spyOn(proto, "writev");
    const datasync = proto.datasync;
    vi.spyOn(proto, "datasync").mockImplementation(async function (this: FileHandle) {
      await datasync.call(this);
      events.push("fsync");
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`k${i}`, new Uint8Array(64)).then(() => events.push("put"))));
    expect(writev).toHaveBeenCalledTimes(1);
    expect(events).toEqual(["fsync", ...Array<string>(100).fill("put")]);
  });

  it("truncates a torn last record, at every byte, and keeps the entries before it", async () => {
    const { starts, end, expected } = await writeEntries(5);
    const full = await readFile(path);
    const last = starts[4]!;
    for (let cut = last; cut < end; cut++) {
      await writeFile(path, full.subarray(0, cut));
      expect(await reopenExpecting(expected.slice(0, 4))).toBe(cut - last);
      expect((await stat(path)).size).toBe(last);
    }
    await writeFile(path, full);
    expect(await reopenExpecting(expected)).toBe(0);
  });

  it("stops replay at a record with any byte flipped, dropping it and everything after it", async () => {
    const { starts, end, expected } = await writeEntries(4);
    const full = await readFile(path);
    for (let offset = starts[1]!; offset < starts[2]!; offset++) {
      const damaged = Buffer.from(full);
      damaged[offset]! ^= 0xff;
      await writeFile(path, damaged);
      expect(await reopenExpecting(expected.slice(0, 1))).toBe(end - starts[1]!);
    }
  });

  it("keeps appending after a truncated tail", async () => {
    const { end, expected } = await writeEntries(3);
    await writeFile(path, (await readFile(path)).subarray(0, end - 5));
    const store = await openStore();
    await store.put("after", bytesOf("crash"));
    await store.close();
    expect(await reopenExpecting([...expected.slice(0, 2), ["after", "crash"]])).toBe(0);
  });

  it("refuses a file that is not a store, leaving it and the lock untouched", async () => {
    await writeFile(path, "some other file, longer than the store header\n");
    const error = await FileStore.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFormatError);
    expect((error as Error).message).toContain(path);
    expect(await readFile(path, "utf8")).toBe("some other file, longer than the store header\n");
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("creates a missing directory, with its parents, on open", async () => {
    path = join(dir, "var", "lib", "gateway", "mqtt.log");
    const store = await openStore();
    await store.put("a", bytesOf("1"));
    await store.close();
    expect(await reopenExpecting([["a", "1"]])).toBe(0);
  });

  it("names the directory it could not create", async () => {
    await writeFile(join(dir, "file"), "a file where a directory should be");
    path = join(dir, "file", "gateway", "mqtt.log");
    const error = await FileStore.open(path).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`could not create the message store's directory ${join(dir, "file", "gateway")}: ${((error as Error).cause as Error).message}`);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe("ENOTDIR");
  });

  it("completes a header torn at creation", async () => {
    await writeFile(path, LOG_HEADER.subarray(0, 10));
    const store = await openStore();
    await store.put("a", bytesOf("1"));
    await store.close();
    expect(await reopenExpecting([["a", "1"]])).toBe(0);
  });

  describe("compaction", () => {
    it("keeps the entries and their order and bounds the file", async () => {
      const store = await openStore({ fsync: "never", compactMinBytes: 4096 });
      const latest = new Map<string, string>();
      for (let i = 0; i < 600; i++) {
        const key = `k${i % 20}`;
        const value = `${key}=${i}`.padEnd(64, ".");
        await store.put(key, bytesOf(value));
        latest.set(key, value);
      }
      await store.del("k3");
      latest.delete("k3");
      const written = 600 * (11 + 3 + 64);
      const { size } = await stat(path);
      expect(size).toBeLessThan(4096 + 200);
      expect(size).toBeLessThan(written / 5);
      expect(await entriesOf(store)).toEqual([...latest]);
      await store.close();
      expect(await reopenExpecting([...latest])).toBe(0);
    });

    it("loses nothing issued while it runs", async () => {
      const store = await openStore({ compactMinBytes: 2048 });
      const latest = new Map<string, string>();
      const done: Array<Promise<void>> = [];
      for (let wave = 0; wave < 20; wave++) {
        for (let i = 0; i < 50; i++) {
          const key = `k${(wave * 50 + i) % 30}`;
          const value = `${key}@${wave}.${i}`;
          done.push(store.put(key, bytesOf(value)));
          latest.set(key, value);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(done);
      expect((await stat(path)).size).toBeLessThan(2048 * 3);
      await store.close();
      expect(await reopenExpecting([...latest])).toBe(0);
    });

    it("failing before its rename fails the store and leaves the old log whole", async () => {
      const proto = await fileHandlePrototype();
      const store = await openStore({ fsync: "never", compactMinBytes: 2048 });
      // With fsync "never" only a compaction syncs: the first sync fails the first compaction.
      vi.spyOn(proto, "datasync").mockRejectedValue(new Error("EIO: i/o error, fdatasync"));
      const latest = new Map<string, string>();
      let failure: unknown;
      for (let i = 0; i < 200 && failure === undefined; i++) {
        const value = `v${i}`;
        failure = await store.put(`k${i % 5}`, bytesOf(value)).then(
          () => void latest.set(`k${i % 5}`, value),
          (error: unknown) => error,
        );
      }
      expect(failure).toBeInstanceOf(StoreFailedError);
      await store.close();
      vi.restoreAllMocks();
      expect(await reopenExpecting([...latest])).toBe(0);
      expect(existsSync(`${path}.compact`)).toBe(false);
    });

    it("is harmless when a crash left a .compact file, complete or not", async () => {
      const { expected } = await writeEntries(3);
      const other = Buffer.concat([LOG_HEADER, (await readFile(path)).subarray(LOG_HEADER.length, LOG_HEADER.length + 40)]);
      for (const leftover of [other, Buffer.from("garbage"), await readFile(path)]) {
        await writeFile(`${path}.compact`, leftover);
        expect(await reopenExpecting(expected)).toBe(0);
        expect(existsSync(`${path}.compact`)).toBe(false);
      }
    });
  });

  describe("lock", () => {
    it("refuses a second open while the store is open, naming the PID", async () => {
      await openStore();
      const error = await FileStore.open(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreLockedError);
      expect(error).toMatchObject({ code: "EDGEWS_STORE_LOCKED", pid: process.pid });
      expect((error as Error).message).toContain(String(process.pid));
    });

    it("refuses a lock held by another live process", async () => {
      await writeFile(`${path}.lock`, `${process.ppid}\n`);
      await expect(FileStore.open(path)).rejects.toMatchObject({ name: "StoreLockedError", pid: process.ppid });
      expect(await readFile(`${path}.lock`, "utf8")).toBe(`${process.ppid}\n`);
    });

    it("takes over a lock left by a dead process, or naming none, and removes it on close", async () => {
      const child = spawn(process.execPath, ["-e", ""]);
      await new Promise((resolve) => child.once("exit", resolve));
      for (const holder of [`${child.pid}\n`, ""]) {
        await writeFile(`${path}.lock`, holder);
        const store = await FileStore.open(path);
        expect(await readFile(`${path}.lock`, "utf8")).toBe(`${process.pid}\n`);
        await store.close();
        expect(existsSync(`${path}.lock`)).toBe(false);
      }
    });
  });

  it("after a failed write, rejects that and every later operation; reopening recovers what was written", async () => {
    const proto = await fileHandlePrototype();
    const store = await openStore();
    await store.put("a", bytesOf("1"));
    vi.spyOn(proto, "writev").mockRejectedValueOnce(Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }));
    const failed = store.put("b", bytesOf("2"));
    await expect(failed).rejects.toBeInstanceOf(StoreFailedError);
    await expect(failed).rejects.toThrow(/EIO: i\/o error.*open it again/);
    await expect(store.put("c", bytesOf("3"))).rejects.toBeInstanceOf(StoreFailedError);
    await expect(store.get("a")).rejects.toMatchObject({ code: "EDGEWS_STORE_FAILED" });
    await store.close();
    expect(await reopenExpecting([["a", "1"]])).toBe(0);
  });
});
