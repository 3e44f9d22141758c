// The gateway's HTTP server: /healthz, /metrics, and the dashboard's static files when there
// is a dashboard directory. (MQTT over WebSocket is upgraded at /mqtt by broker.ts.)
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

/** Each part of the gateway: null when healthy, else why not. */
export type Health = Record<string, string | null>;

export interface HttpOptions {
  health(): Health;
  registry: Registry;
  /** Directory of the dashboard's static files, if any. */
  dashboard: string | undefined;
  log: Logger;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".wasm": "application/wasm", ".ico": "image/x-icon", ".map": "application/json",
};

export function createHttpServer(options: HttpOptions): http.Server {
  return http.createServer((request, response) => {
    route(request, response, options).catch((error: Error) => {
      options.log.error({ err: error.message, url: request.url }, "HTTP request failed");
      if (!response.headersSent) send(response, 500, "text/plain", "internal error\n");
      else response.destroy();
    });
  });
}

async function route(request: http.IncomingMessage, response: http.ServerResponse, options: HttpOptions): Promise<void> {
  const path = new URL(request.url ?? "/", "http://gateway").pathname;
  if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, "text/plain", "GET or HEAD only\n", { Allow: "GET, HEAD" });
  if (path === "/healthz") return healthz(response, options.health());
  if (path === "/metrics") return send(response, 200, options.registry.contentType, await options.registry.metrics());
  if (options.dashboard) return serveStatic(response, options.dashboard, path);
  send(response, 404, "text/plain", "edgews gateway: MQTT over WebSocket at /mqtt, /healthz, /metrics (no dashboard directory)\n");
}

function healthz(response: http.ServerResponse, health: Health): void {
  const ok = Object.values(health).every((problem) => problem === null);
  const parts = Object.fromEntries(Object.entries(health).map(([name, problem]) => [name, problem === null ? "ok" : problem]));
  send(response, ok ? 200 : 503, "application/json", `${JSON.stringify({ status: ok ? "ok" : "failing", ...parts })}\n`);
}

async function serveStatic(response: http.ServerResponse, root: string, path: string): Promise<void> {
  const base = resolve(root);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return send(response, 400, "text/plain", "bad percent-encoding in the path\n");
  }
  const file = resolve(join(base, normalize(decoded)));
  if (file !== base && !file.startsWith(base + sep)) return send(response, 404, "text/plain", "not found\n");
  const target = (await stat(file).catch(() => undefined))?.isDirectory() ? join(file, "index.html") : file;
  const found = await stat(target).catch(() => undefined);
  if (!found?.isFile()) return send(response, 404, "text/plain", "not found\n");
  response.writeHead(200, { "Content-Type": TYPES[extname(target)] ?? "application/octet-stream", "Content-Length": found.size });
  createReadStream(target).on("error", () => response.destroy()).pipe(response);
}

function send(response: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), ...headers });
  response.end(body);
}
