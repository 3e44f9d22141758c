// The browser build of edgews, edgews/mqtt, edgews/core and edgews/bridge (dist/browser/), which package.json's
// "browser" export conditions point to, so that a bundler targeting browsers picks it with no
// flags. The MQTT client's transport is the page's WebSocket (src/mqtt/transport/browser.ts) and
// mqtt-packet is bundled in, its Node needs met by small shims of our own instead of polyfills:
// Buffer (src/browser/buffer.ts, injected), EventEmitter (src/browser/events.ts), `debug` (off),
// process-nextick-args (queueMicrotask), and bl's BufferList without bl's stream half. The core's
// .wasm files are copied beside core.js, where its loadCore looks for them.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { build } from "esbuild";

/** Node built-ins and npm polyfills of them that must never reach a browser bundle. */
export const NODE_ONLY = /^(node:|(assert|buffer|child_process|crypto|dgram|dns|events|fs|http|https|net|os|path|process|punycode|querystring|readable-stream|stream|string_decoder|timers|tls|tty|url|util|zlib)(\/|$))/;

/** esbuild plugin: the shims above in place of what mqtt-packet and the client import from Node. */
export function browserShims(root) {
  const fromMqttPacket = createRequire(createRequire(resolve(root, "package.json")).resolve("mqtt-packet"));
  const bufferList = resolve(fromMqttPacket.resolve("bl/package.json"), "../BufferList.js");
  const inline = {
    debug: "module.exports = () => function debug() {}",
    "process-nextick-args": "exports.nextTick = (fn, ...args) => queueMicrotask(() => fn(...args))",
  };
  return {
    name: "edgews-browser-shims",
    setup(build) {
      build.onResolve({ filter: /^(node:)?events$/ }, () => ({ path: resolve(root, "src/browser/events.ts") }));
      build.onResolve({ filter: /^(node:)?buffer$/ }, () => ({ path: resolve(root, "src/browser/buffer.ts") }));
      build.onResolve({ filter: /^bl$/ }, () => ({ path: bufferList }));
      build.onResolve({ filter: /^(debug|process-nextick-args)$/ }, ({ path }) => ({ path, namespace: "edgews-shim" }));
      build.onLoad({ filter: /.*/, namespace: "edgews-shim" }, ({ path }) => ({ contents: inline[path], loader: "js" }));
      // The MQTT client's transport (the page's WebSocket) and the bridge's platform (Web Serial, IndexedDB).
      const swaps = { "src/mqtt/client.ts": "src/mqtt/transport/browser.ts", "src/bridge/bridge.ts": "src/bridge/platform/browser.ts" };
      build.onResolve({ filter: /\/(transport|platform)\/node\.js$/ }, ({ importer }) => {
        const swap = Object.entries(swaps).find(([from]) => importer.endsWith(from));
        return swap ? { path: resolve(root, swap[1]) } : undefined;
      });
    },
  };
}

/** esbuild's options for edgews's sources in a page: split ES modules, our shims in place of Node's. */
export function browserBuildOptions(root) {
  return {
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform: "browser",
    target: "es2022",
    inject: [resolve(root, "src/browser/buffer.ts")],
    plugins: [browserShims(root)],
    sourcemap: true,
    logLevel: "warning",
  };
}

/**
 * Builds dist/browser/ (index.js, mqtt.js, core.js, bridge.js, the chunks they share, the .wasm
 * files) into `outdir`; resolves with esbuild's metafile. Split, so that a page using edgews/mqtt
 * and edgews/bridge gets one MQTT client, not two.
 */
export async function buildBrowser(root, outdir) {
  const { metafile } = await build({
    ...browserBuildOptions(root),
    entryPoints: { index: "src/browser/index.ts", mqtt: "src/mqtt/browser.ts", core: "src/core/browser.ts", bridge: "src/bridge/browser.ts" },
    outdir,
    // Error classes are told apart by name (error.name): an app's minifier must not rename them.
    keepNames: true,
    metafile: true,
  });
  for (const [file, { imports }] of Object.entries(metafile.outputs)) {
    const nodeOnly = imports.filter((i) => NODE_ONLY.test(i.path));
    if (nodeOnly.length > 0) throw new Error(`${file} imports Node built-ins: ${nodeOnly.map((i) => i.path).join(", ")}`);
  }
  mkdirSync(outdir, { recursive: true });
  for (const flavour of ["simd", "scalar"]) copyFileSync(resolve(root, `build/edgews-${flavour}.wasm`), resolve(outdir, `edgews-${flavour}.wasm`));
  return metafile;
}
