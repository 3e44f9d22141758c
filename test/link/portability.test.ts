// src/link runs in browsers (Web Serial) and in the firmware simulator as well as in Node: it
// must bundle for the browser with nothing from Node.
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

describe("src/link", () => {
  it("bundles for the browser without any Node built-in or global", async () => {
    const result = await build({
      entryPoints: [new URL("../../src/link/index.ts", import.meta.url).pathname],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/\b(Buffer|process|require|setTimeout|setInterval)\b/);
    expect(code.length).toBeLessThan(60_000);
  });
});
