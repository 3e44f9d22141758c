// One FileStore memory measurement, in a fresh `node --expose-gc --import tsx` process: fills a
// FileStore at <path> to <maxBytes> (or its 100,000 entries) with values of 256 B to 4 KiB
// (MQTT-sized, sizes from a fixed seed) or all of [valueBytes], then collects garbage and reads
// RSS. Prints one JSON line: "rssGrowth", "held", "entries", and the heap and buffer growth.
// usage: node --expose-gc --import tsx memory-child.ts <path> <maxBytes> [valueBytes]
import { FileStore } from "../../../src/mqtt/store/index.js";
import { StoreFullError } from "../../../src/mqtt/store/store.js";

const [path, maxBytesArg, valueBytesArg] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !path || !maxBytesArg) throw new Error("usage: node --expose-gc --import tsx memory-child.ts <path> <maxBytes>");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function settled(): Promise<NodeJS.MemoryUsage> {
  await sleep(50);
  gc!();
  gc!();
  return process.memoryUsage();
}

const store = await FileStore.open(path, { fsync: "never", maxBytes: Number(maxBytesArg) });
const before = await settled();
let seed = 1;
const nextSize = () =>
  valueBytesArg ? Number(valueBytesArg) : 256 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % (4096 - 256 + 1));
const source = Buffer.alloc(4096, 0x61);
let full = false;
const putUntilFull = (key: string, value: Uint8Array) =>
  store.put(key, value).catch((error: unknown) => {
    if (!(error instanceof StoreFullError)) throw error;
    full = true;
  });
for (let i = 0; !full; ) {
  const batch: Promise<void>[] = [];
  for (let n = 0; n < 100; n++, i++) batch.push(putUntilFull(`client/out/${i}`, source.subarray(0, nextSize())));
  await Promise.all(batch);
}
const after = await settled();
process.stdout.write(JSON.stringify({ rssGrowth: after.rss - before.rss, heapGrowth: after.heapUsed - before.heapUsed, heapTotalGrowth: after.heapTotal - before.heapTotal, buffersGrowth: after.arrayBuffers - before.arrayBuffers, held: store.bytes, entries: store.size }) + "\n");
await store.close();
