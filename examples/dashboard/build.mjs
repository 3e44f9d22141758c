// Builds the dashboard into one folder a static server (or `edgews gateway`) serves as it is:
// index.html, dashboard.js (the app, edgews/mqtt for the browser and uPlot, minified),
// chunks/ (the page's serial bridge, loaded on "Connect a device") and dashboard.css (uPlot's
// stylesheet and ours). Prints what each file costs, gzip'd.
//
// usage: node examples/dashboard/build.mjs [--outdir DIR]   (default dist/dashboard)
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { browserBuildOptions } from "../../scripts/browser-build.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

/** Builds into `outdir`; resolves with each file's size and gzip'd size in bytes. */
export async function buildDashboard(outdir = resolve(root, "dist/dashboard")) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // edgews from its sources, built as dist/browser is (so that this works before dist/ exists, and
  // in a build into another folder); the serial bridge is a chunk of its own, loaded when a
  // device is connected.
  await build({
    ...browserBuildOptions(root),
    entryPoints: { dashboard: join(here, "src/main.ts") },
    outdir,
    alias: { "edgews/mqtt": join(root, "src/mqtt/browser.ts"), "edgews/bridge": join(root, "src/bridge/browser.ts") },
    minify: true,
  });
  copyFileSync(join(here, "index.html"), join(outdir, "index.html"));
  const css = readFileSync(resolve(root, "node_modules/uplot/dist/uPlot.min.css"), "utf8") + readFileSync(join(here, "dashboard.css"), "utf8");
  writeFileSync(join(outdir, "dashboard.css"), css);
  const chunks = readdirSync(join(outdir, "chunks")).filter((name) => name.endsWith(".js")).map((name) => `chunks/${name}`);
  return Object.fromEntries(
    ["index.html", "dashboard.js", "dashboard.css", ...chunks].map((name) => {
      const bytes = readFileSync(join(outdir, name));
      return [name, { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }];
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: "string" } } });
  const sizes = await buildDashboard(values.outdir && resolve(values.outdir));
  for (const [name, { bytes, gzip }] of Object.entries(sizes)) console.log(`${name.padEnd(28)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB  ${(gzip / 1024).toFixed(1).padStart(6)} KiB gzip`);
}
