// Builds dist/: the package's JavaScript as one ES module per file in package.json's "exports"
// (dist/index.js, dist/core/index.js, Node's dist/core/node.js, ...) plus chunks shared between
// them (dist/chunks/), bundled by esbuild; and the type declarations, one .d.ts per source file
// with its doc comments, by tsc. Then the browser build (package.json's "browser" conditions):
// dist/browser/index.js, mqtt.js, bridge.js and core.js, with mqtt-packet inside and the core's
// .wasm files beside them (see browser-build.mjs); and the dashboard, dist/dashboard/.
//
// Why bundle: Node keeps every module's source text and loader records for the life of the
// process. Bundled without comments, the MQTT client imports ~25% faster, with 1.6 MiB less RSS
// and ~0.6 MB less surviving V8's first scavenges (what makes V8 double its young generation)
// than as ~50 tsc-emitted modules. Splitting keeps one copy of every class and of the shared WASM
// core pool, whichever entries an app imports.
//
// usage: node scripts/build-dist.mjs [--outdir DIR] [--no-types]
//   --outdir DIR  write there instead of dist/ (the package test builds a copy)
//   --no-types    skip the declarations
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { buildBrowser } from "./browser-build.mjs";
import { buildDashboard } from "../examples/dashboard/build.mjs";

const { values: args } = parseArgs({ options: { outdir: { type: "string" }, "no-types": { type: "boolean" } } });
const root = fileURLToPath(new URL("../", import.meta.url));
const outdir = args.outdir ? resolve(args.outdir) : resolve(root, "dist");
const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));

/** src/<x>.ts for every dist/<x>.js file that package.json exports, under any condition but "browser" (dist/browser/, below). */
const entryPoints = [...new Set(Object.values(pkg.exports).flatMap(javascriptFiles))].filter((file) => !file.startsWith("./dist/browser/")).map((file) => {
  const match = /^\.\/dist\/(.+)\.js$/.exec(file);
  if (!match) throw new Error(`package.json exports ${file}: expected ./dist/<path>.js`);
  return `src/${match[1]}.ts`;
});
// The `edgews` command (package.json "bin"), bundled with the simulator it runs (firmware-sim/).
entryPoints.push("src/cli/main.ts");

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints,
  outbase: "src",
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  packages: "external",
  keepNames: true,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
});
checkWasmDir(metafile);
await buildBrowser(root, resolve(outdir, "browser"));
// The dashboard `edgews gateway` serves (examples/dashboard/, built as a static folder).
await buildDashboard(resolve(outdir, "dashboard"));
if (!args["no-types"]) {
  execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", outdir], { cwd: root, stdio: "inherit" });
}

/**
 * The files an export maps to, through nested conditions ("node": {...}), except the .d.ts ones
 * and the browser build's (dist/browser/, built by buildBrowser).
 */
function javascriptFiles(target) {
  if (typeof target === "string") return target.endsWith(".d.ts") ? [] : [target];
  return Object.entries(target).flatMap(([condition, value]) => (condition === "types" || condition === "browser" ? [] : javascriptFiles(value)));
}

/**
 * src/core/wasm.ts finds build/*.wasm at "../../build/" from its own module: that holds for
 * src/core/ and must hold for the output it lands in (dist/chunks/ or dist/core/), or no
 * Node app could load the core.
 */
function checkWasmDir({ outputs }) {
  for (const [file, { inputs }] of Object.entries(outputs)) {
    if (!("src/core/wasm.ts" in inputs)) continue;
    if (relative(outdir, resolve(root, file)).split(sep).length !== 2) throw new Error(`src/core/wasm.ts was bundled into ${file}, from where "../../build/" is not the package's build/: keep it two folders deep`);
  }
}
