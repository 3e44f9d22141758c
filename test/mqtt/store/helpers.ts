// Shared by the store tests: temporary directories, the value each test key maps to, and reading entries.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageStore } from "../../../src/mqtt/store/store.js";

/** A fresh directory under the OS temp dir; `remove` deletes it and everything in it. */
export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "edgews-store-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The crash test's child deletes each key again this many puts after putting it. */
export const CRASH_LIVE_WINDOW = 100;

/** The 64-byte value the crash tests store under `key` (keys are shorter than 64 characters). */
export function valueFor(key: string): Uint8Array {
  return new TextEncoder().encode(key.padEnd(64, "#"));
}

/** Every entry of `store`, values as strings, in iteration order. */
export async function entriesOf(store: MessageStore): Promise<Array<[string, string]>> {
  const entries: Array<[string, string]> = [];
  for await (const [key, value] of store.iterate()) entries.push([key, new TextDecoder().decode(value)]);
  return entries;
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Puts a, b, c, re-puts b, deletes a and puts it again: leaves b=2', c=3, a=1' in that order. */
export async function shuffleSample(store: MessageStore): Promise<void> {
  await store.put("a", bytesOf("1"));
  await store.put("b", bytesOf("2"));
  await store.put("c", bytesOf("3"));
  await store.put("b", bytesOf("2'"));
  await store.del("a");
  await store.put("a", bytesOf("1'"));
}
