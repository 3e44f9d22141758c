// edgews/core as a web app gets it: bundled for the browser from the built package with no
// flags (its "browser" export, dist/browser/core.js), the two .wasm files copied next to the
// bundle as the README says, and loadCore() with no options in headless Chromium.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForBrowser, installPackage, type InstalledPackage } from "../support/browser-bundle.js";
import { launchChromium, type ChromiumSession } from "../support/chromium.js";
import { openPage, servePage, type PageServer } from "../support/page-server.js";

// The app: load a core, encode a masked text frame, parse it back as a server.
const APP = `
import { loadCore, FrameEncoder, FrameParser, Opcode } from "edgews/core";
window.run = async () => {
  const core = await loadCore();
  const frame = new FrameEncoder(core, { mask: true }).encode(Opcode.Text, new TextEncoder().encode("héllo"));
  const messages = [];
  const parser = new FrameParser(core, { role: "server" }, { onMessage: (data) => messages.push(new TextDecoder().decode(data)) });
  parser.push(frame);
  return { flavour: core.flavour, messages };
};
`;

let installed: InstalledPackage | undefined;
let site: PageServer | undefined;
let browser: ChromiumSession | undefined;
const requested: string[] = [];

beforeAll(async () => {
  installed = await installPackage();
  const bundle = await bundleForBrowser(APP, installed.dir);
  expect(bundle.nodeOnly).toEqual([]);
  const browserBuild = join(installed.dir, "node_modules", "edgews", "dist", "browser");
  const files: Record<string, Uint8Array> = {};
  for (const name of ["edgews-simd.wasm", "edgews-scalar.wasm"]) files[`/${name}`] = await readFile(join(browserBuild, name));
  site = await servePage(bundle.js, files, requested);
  browser = await launchChromium();
  await openPage(browser.page, site.url);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await installed?.remove();
});

describe("edgews/core bundled for a page", () => {
  it("loads its SIMD module from next to the bundle with loadCore() and no options, and works", async () => {
    const result = await browser!.page.evaluate(() => (window as unknown as { run(): Promise<unknown> }).run());
    expect(result).toEqual({ flavour: "simd", messages: ["héllo"] });
    expect(requested.filter((path) => path.endsWith(".wasm"))).toEqual(["/edgews-simd.wasm"]);
  });
});
