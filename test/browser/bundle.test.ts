// Every browser-capable entry point of the built package, bundled by esbuild for
// platform=browser with no flags and no externals, as an app's bundler would: no Node built-in
// and no npm polyfill of one may reach the bundle. Also checks the browser build itself
// (dist/browser/): from node_modules it may take only mqtt-packet and bl's BufferList.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without declarations
import { buildBrowser } from "../../scripts/browser-build.mjs";
import { bundleForBrowser, installPackage, nodeOnlyIn, type InstalledPackage } from "../support/browser-bundle.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, unknown> };

/** The gateway is a Node server (broker, HTTP, serial ports): it has no browser build. */
const NODE_ONLY_ENTRIES = ["./gateway"];
/** Every other entry has a browser build or needs none (edgews/link is platform-neutral). */
const browserEntries = Object.keys(pkg.exports).filter((entry) => !NODE_ONLY_ENTRIES.includes(entry));
/** "./mqtt" → "edgews/mqtt", as an app imports it. */
const specifierOf = (entry: string) => `edgews${entry.slice(1)}`;

let installed: InstalledPackage | undefined;

beforeAll(async () => {
  installed = await installPackage();
}, 180_000);

afterAll(async () => {
  await installed?.remove();
});

describe("bundling the package for the browser", () => {
  it("covers the entries that must run in a page", () => {
    expect(browserEntries).toEqual(expect.arrayContaining([".", "./core", "./mqtt", "./link", "./bridge"]));
  });

  it.each(browserEntries.map(specifierOf))("%s bundles with no Node built-in and no polyfill", async (specifier) => {
    const bundle = await bundleForBrowser(`export * from ${JSON.stringify(specifier)};`, installed!.dir);
    expect(bundle.nodeOnly).toEqual([]);
    expect(bundle.minBytes).toBeGreaterThan(1000);
  });

  it.each([
    ["edgews", "dist/browser/index.js"],
    ["edgews/core", "dist/browser/core.js"],
    ["edgews/mqtt", "dist/browser/mqtt.js"],
    ["edgews/bridge", "dist/browser/bridge.js"],
  ])("%s resolves to its browser build through the exports conditions", async (specifier, file) => {
    const bundle = await bundleForBrowser(`export * from "${specifier}";`, installed!.dir);
    // The package's files in the bundle (it lives in a temp dir edgews-package-*): the entry and chunks of dist/browser/ only.
    const fromPackage = bundle.inputs.filter((input) => input.includes("/edgews-package-")).map((input) => input.replace(/^.*\/edgews-package-[^/]+\//, ""));
    expect(fromPackage).toContain(file);
    expect(fromPackage.filter((input) => !/^dist\/browser\/(chunks\/)?[\w-]+\.js$/.test(input))).toEqual([]);
  });

  it("builds dist/browser/ from our sources, mqtt-packet and bl's BufferList alone", async () => {
    const out = await mkdtemp(join(tmpdir(), "edgews-browser-build-"));
    try {
      const metafile = (await buildBrowser(ROOT, out)) as Metafile;
      expect(nodeOnlyIn(metafile)).toEqual([]);
      const fromPackages = Object.keys(metafile.inputs).filter((file) => file.includes("node_modules/"));
      const packages = new Set(fromPackages.map((file) => /node_modules\/(.+?)\/[^/]+$/.exec(file)?.[1]));
      expect([...packages].sort()).toEqual(["bl", "mqtt-packet"]);
      expect(fromPackages.filter((file) => file.includes("node_modules/bl/"))).toEqual([expect.stringMatching(/node_modules\/bl\/BufferList\.js$/)]);
      // The page's WebSocket, not ours; our Buffer and EventEmitter shims.
      const ours = Object.keys(metafile.inputs).filter((file) => file.startsWith("src/"));
      expect(ours).toEqual(expect.arrayContaining(["src/mqtt/transport/browser.ts", "src/browser/buffer.ts", "src/browser/events.ts"]));
      expect(ours.filter((file) => /^src\/(websocket|client|server|transport|deflate)\/|transport\/node\.ts$/.test(file))).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
