// Run by crash.test.ts as `node --import tsx crash-child.ts <path> <fsync> <prefix>`: puts
// `<prefix><i>` for i = 0, 1, … with 16 puts in flight, deletes each key again LIVE_WINDOW puts
// later (so the log compacts now and then), and prints "put KEY" / "del KEY" only after the
// operation resolved. It runs until killed.
// The lines go out with printSync: a line lost at the SIGKILL ("put n + LIVE_WINDOW", after which
// n is deleted) made the test count a deleted key as lost (seen on a loaded machine).
import { FileStore } from "../../../src/mqtt/store/file-store.js";
import { printSync as print } from "../../support/print-sync.js";
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
    print(`put ${key}`);
    // Every put before this one has resolved too (batches resolve in order), so this key's put has.
    if (i >= LIVE_WINDOW) {
      const old = `${prefix}${i - LIVE_WINDOW}`;
      await store.del(old);
      print(`del ${old}`);
    }
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

