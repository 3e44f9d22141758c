// Loopback helpers: start our server on a free port, speak raw HTTP to it.
import net from "node:net";
import { afterEach } from "vitest";
import { WebSocketServer, type WebSocketServerOptions } from "../../src/index.js";

/** Starts a WebSocketServer on 127.0.0.1: on `port`, or one the OS picks. */
export async function startServer(options: Omit<WebSocketServerOptions, "port">, port = 0): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = await new Promise<WebSocketServer>((resolve, reject) => {
    const server: WebSocketServer = new WebSocketServer({ ...options, port, host: "127.0.0.1" }, () => resolve(server));
    server.once("error", reject);
  });
  const bound = (wss.address() as net.AddressInfo).port;
  return { wss, port: bound, url: `ws://127.0.0.1:${bound}` };
}

export type StartedServer = Awaited<ReturnType<typeof startServer>>;

/**
 * For a test file: `cleanups` run after each test, last first; `serve` starts a server whose
 * close is the first of them (so it runs last).
 */
export function useServers(): { cleanups: Array<() => unknown>; serve: (options?: Parameters<typeof startServer>[0]) => Promise<StartedServer> } {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const serve = async (options: Parameters<typeof startServer>[0] = {}) => {
    const started = await startServer(options);
    cleanups.push(() => started.wss.close());
    return started;
  };
  return { cleanups, serve };
}

export const upgradeHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
  Host: "127.0.0.1",
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version": "13",
  ...extra,
});

/** Sends a raw request head and resolves with everything the server sent until it closed (or `waitMs`). */
export function rawRequest(port: number, head: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, waitMs);
    socket.on("data", (d) => (received += d.toString("latin1")));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on("error", reject);
    socket.write(head);
  });
}

export function requestHead(path: string, headers: Record<string, string>, method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
}

export const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
