// A static server on 127.0.0.1 (port picked by the OS) for a page that imports one bundled
// module: / is an HTML page whose module script imports /app.js and sets `window.appLoaded` to
// "ok" or to why the import failed, so a broken bundle fails a test with its reason.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";

const INDEX_HTML = `<!doctype html>
<meta charset="utf-8">
<title>edgews test page</title>
<link rel="icon" href="data:,">
<script type="module">
  import("./app.js").then(() => { window.appLoaded = "ok"; }, (e) => { window.appLoaded = String(e && e.stack || e); });
</script>
`;

export interface PageServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): Promise<void>;
}

/** Serves the page, `appJs` at /app.js, and `files` (path → contents, e.g. "/x.wasm") beside it; logs the paths asked for. */
export async function servePage(appJs: string, files: Record<string, Uint8Array> = {}, requested: string[] = []): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    requested.push(path);
    const file = files[path];
    const [status, type, body] =
      path === "/" ? [200, "text/html; charset=utf-8", INDEX_HTML]
      : path === "/app.js" ? [200, "text/javascript; charset=utf-8", appJs]
      : file ? [200, path.endsWith(".wasm") ? "application/wasm" : "application/octet-stream", file]
      : [404, "text/plain", "not found"];
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Opens the page and waits for its module (its top-level await settled); throws with the reason if the import failed. */
export async function openPage(page: Page, url: string, timeoutMs = 10_000): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { appLoaded?: string }).appLoaded !== undefined, null, { timeout: timeoutMs });
  const loaded = await page.evaluate(() => (window as unknown as { appLoaded: string }).appLoaded);
  if (loaded !== "ok") throw new Error(`the page could not import its app: ${loaded}`);
}
