// Memory of messages held in a FileStore: each value once, packed, never a view that pins a
// larger buffer. Measured as the ArrayBuffer bytes alive after full collections (deterministic,
// unlike RSS). A FileStore filled through the client used to hold every message twice (the
// client's record and the store's copy). A reopened store must not hold its dead records either
// (a copy per live value, not packed with the dead ones it read: packing them pinned them all).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { connect, FileStore } from "../../src/mqtt/index.js";
import { liveBufferBytes } from "../support/memory.js";
import { freePorts } from "../support/mosquitto.js";
import { waitFor } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "edgews-store-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const payload = Buffer.alloc(640, 0x61);

it("a client publishing offline into a FileStore holds each message once", async () => {
  const store = await FileStore.open(join(dir, "client.log"), { fsync: "never" });
  const [port] = await freePorts(1);
  const client = connect(`ws://127.0.0.1:${port}`, { store, reconnect: false });
  client.on("error", () => {});
  const before = liveBufferBytes();
  for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 1000 }, () => client.publish("t/held", payload, { qos: 1 })));
  await waitFor(() => store.size === 20_000, "20,000 messages stored");
  const grown = liveBufferBytes() - before;
  expect(grown).toBeLessThan(store.bytes * 1.25);
  await client.end(true);
  await store.close();
});

it("a reopened FileStore holds its live values, not the log it read them from", async () => {
  const path = join(dir, "reopen.log");
  const store = await FileStore.open(path, { fsync: "never", compactRatio: 1000 });
  const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
  await Promise.all(keys.map((key) => store.put(key, payload)));
  await Promise.all(keys.filter((_, i) => i % 10 !== 0).map((key) => store.del(key))); // 90 % dead
  await store.close();
  const before = liveBufferBytes();
  const reopened = await FileStore.open(path, { fsync: "never", compactRatio: 1000 });
  expect(reopened.size).toBe(2000);
  const grown = liveBufferBytes() - before;
  expect(grown).toBeLessThan(reopened.bytes * 1.25 + 64 * 1024);
  await reopened.close();
});
