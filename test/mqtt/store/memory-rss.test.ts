// RSS of a FileStore filled to its limit, per byte it holds: measured in a fresh process (see
// memory-child.ts) with MQTT-sized values, after full collections. Filled to 64 MiB, RSS grew
// ~1.45× the bytes held (a Uint8Array and a record Buffer per put grew V8's heap; 640 B values:
// ~1.75×); with values packed outside V8's heap and records encoded into reused batch buffers,
// ~1.1–1.3×. The bounds leave room for the allocator's noise, not for a Buffer per entry again
// (the old store measured ~1.4× with mixed values, ~1.7× with 640 B ones at 32 MiB).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

const CHILD = join(import.meta.dirname, "memory-child.ts");
const HELD_BYTES = 32 << 20;
const dir = mkdtempSync(join(tmpdir(), "edgews-store-rss-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function measure(name: string, valueBytes?: number): Promise<{ rssGrowth: number; held: number }> {
  const args = ["--expose-gc", "--import", "tsx", CHILD, join(dir, `${name}.log`), String(HELD_BYTES)];
  const { stdout } = await promisify(execFile)(process.execPath, valueBytes ? [...args, String(valueBytes)] : args);
  return JSON.parse(stdout) as { rssGrowth: number; held: number };
}

it("a FileStore holding 32 MiB of 256 B–4 KiB values grows RSS by at most 1.35× that", async () => {
  const { rssGrowth, held } = await measure("mixed");
  expect(held).toBeGreaterThan(HELD_BYTES - 4096);
  expect(rssGrowth / held).toBeLessThan(1.35);
}, 60_000);

it("a FileStore holding 32 MiB of 640 B values grows RSS by at most 1.6× that", async () => {
  const { rssGrowth, held } = await measure("small", 640);
  expect(held).toBeGreaterThan(HELD_BYTES - 1024);
  expect(rssGrowth / held).toBeLessThan(1.6);
}, 60_000);
