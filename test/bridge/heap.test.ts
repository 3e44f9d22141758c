// The bridge keeps V8's young generation small (src/bridge/heap.ts): under a steady allocation
// rate with survivors, V8 would double it up to 32 MiB; the bridge's default keeps it at the few
// MiB it has when the bridge starts. Each case is a process of its own (the setting is process-wide).
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { spawnTsx } from "../support/processes.js";
import { useScratchDir } from "./helpers.js";

const fixture = fileURLToPath(new URL("fixtures/young-generation.ts", import.meta.url));
const dir = useScratchDir("bridge-heap");

/** The young generation's size (MiB) after the load. */
async function youngGenerationMiB(mode: "default" | "grow"): Promise<number> {
  const child = await spawnTsx(fixture, [mode, join(dir, `${mode}.store`)]);
  const [, json] = (await child.waitForLine(/^(\{"youngMiB".*)$/, 20_000))!;
  await child.kill();
  return (JSON.parse(json!) as { youngMiB: number }).youngMiB;
}

describe("the bridge's young generation", () => {
  it("stays at 8 MiB or less by default, where V8 alone grows it past 16 MiB", async () => {
    // The control: the same load grows it when the bridge lets it (V8's default cap: 32 MiB).
    expect(await youngGenerationMiB("grow")).toBeGreaterThan(16);
    // What the process had grown to before the bridge started (tsx's transpiling: 8 MiB; the bundle: 4).
    expect(await youngGenerationMiB("default")).toBeLessThanOrEqual(8);
  }, 60_000);
});
