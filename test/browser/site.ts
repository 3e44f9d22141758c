// Serves the core to a browser the way a web app would ship it: src/core/index.ts bundled by
// esbuild for the browser at /dist/core/index.js (where the package puts it), and the repo's
// build/*.wasm at /build/, which is where the loader's `new URL("../../build/edgews-<flavour>.wasm",
// import.meta.url)` points from the bundle. A static server on 127.0.0.1, port picked by the OS.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUILD = fileURLToPath(new URL("../../build/", import.meta.url));
export const BUNDLE_PATH = "/dist/core/index.js";
const WASM = /^\/build\/(edgews-(?:simd|scalar)\.wasm)$/;

// The module script exposes the bundle's exports as `window.edgews`; `window.edgewsLoaded` says
// whether the import worked ("ok") or why not, so a broken bundle fails the test with a reason.
const INDEX_HTML = `<!doctype html>
<meta charset="utf-8">
<title>edgews core</title>
<link rel="icon" href="data:,">
<script type="module">
  import(${JSON.stringify(`.${BUNDLE_PATH}`)}).then(
    (m) => { window.edgews = m; window.edgewsLoaded = "ok"; },
    (e) => { window.edgewsLoaded = String(e && e.stack || e); },
  );
</script>
`;

export interface BundleImport {
  path: string;
  kind: string;
  external: boolean;
}

export interface ServedRequest {
  path: string;
  status: number;
  contentType: string;
}

export interface CoreSite {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** The imports esbuild left in the bundle (externals), from its metafile. */
  bundleImports: BundleImport[];
  bundleBytes: number;
  /** Every request the server answered, in order. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

/** Bundles the core for the browser and serves it with the .wasm files. */
export async function serveCoreSite(): Promise<CoreSite> {
  for (const flavour of ["simd", "scalar"]) {
    if (!existsSync(`${BUILD}edgews-${flavour}.wasm`)) {
      throw new Error(`build/edgews-${flavour}.wasm is missing: run \`npm run build:wasm\` first`);
    }
  }
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["src/core/index.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // The Node-only branch (readFileOrFetch on a file: URL) is a dynamic import never taken in a
    // browser; the tests check that it is the only external import and that it stays dynamic.
    external: ["node:*"],
    outfile: `dist${BUNDLE_PATH.slice("/dist".length)}`,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  if (!js) throw new Error("esbuild produced no JavaScript output");
  const output = Object.values(result.metafile.outputs)[0];
  const bundleImports = (output?.imports ?? []).map((i) => ({ path: i.path, kind: i.kind, external: i.external === true }));

  const requests: ServedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const send = (status: number, contentType: string, body: string | Uint8Array): void => {
      requests.push({ path, status, contentType });
      res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
      res.end(body);
    };
    const wasm = WASM.exec(path);
    if (req.method !== "GET") send(405, "text/plain", "GET only");
    else if (path === "/" || path === "/index.html") send(200, "text/html; charset=utf-8", INDEX_HTML);
    else if (path === BUNDLE_PATH) send(200, "text/javascript; charset=utf-8", js.contents);
    else if (wasm) {
      readFile(`${BUILD}${wasm[1]}`).then(
        (bytes) => send(200, "application/wasm", bytes),
        (error: Error) => send(500, "text/plain", error.message),
      );
    } else send(404, "text/plain", "not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    bundleImports,
    bundleBytes: js.contents.length,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
