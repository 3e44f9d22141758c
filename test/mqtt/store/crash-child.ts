// Run by crash.test.ts as `node --import tsx crash-child.ts <path> <fsync> <prefix>`: puts
// `<prefix><i>` for i = 0, 1, … with 16 puts in flight, deletes each key again LIVE_WINDOW puts
// later (so the log compacts now and then), and prints "put KEY" / "del KEY" only after the
// operation resolved. It runs until killed.
//
// The lines are written synchronously: process.stdout.write to a pipe is asynchronous, so a
// SIGKILL could drop "put n + LIVE_WINDOW" after the deletion of n it precedes had reached the
// store, and the test would count n as lost (seen on a loaded machine).
import { writeSync } from "node:fs";
import { FileStore } from "../../../src/mqtt/store/file-store.js";
import { CRASH_LIVE_WINDOW as LIVE_WINDOW, valueFor } from "./helpers.js";

const [path, fsync, prefix] = process.argv.slice(2) as [string, "always" | "never", string];
const IN_FLIGHT = 16;

const store = await FileStore.open(path, { fsync, compactMinBytes: 16 * 1024 });
let next = 0;

async function worker(): Promise<never> {
  for (;;) {
    const i = next++;
    const key = `${prefix}${i}`;
    await store.put(key, valueFor(key));
    print(`put ${key}\n`);
    // Every put before this one has resolved too (batches resolve in order), so this key's put has.
    if (i >= LIVE_WINDOW) {
      const old = `${prefix}${i - LIVE_WINDOW}`;
      await store.del(old);
      print(`del ${old}\n`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

/** Writes the whole line into the pipe before returning (stdout may be non-blocking: retry on EAGAIN). */
function print(line: string): void {
  const bytes = Buffer.from(line);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}
