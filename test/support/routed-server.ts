// Our WebSocketServer for peers that are separate programs (Python, Chromium): a node:http server
// on 127.0.0.1 (port chosen by the OS) that serves a blank page at GET / (an http://127.0.0.1
// origin is a secure context for a browser) and upgrades every other path. The path tells our
// server-side WebSocket what to do, like test/support/python/echo_server.py:
//   /echo...              echo every message with its type (also any path not listed here)
//   /close/CODE/REASON    close at once with CODE and the url-encoded REASON; CODE "none": no code
//   /ping/DATA            ping with DATA; on the pong, send the text "pong DATA"
//   /send/SIZE            send SIZE zero bytes as a binary message, then echo
// A query string (e.g. ?t=3, to tell connections apart) is ignored for routing.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket, type WebSocketServerOptions } from "../../src/index.js";
import { closeOf, echo, sha256, withDeadline, type CloseInfo } from "./interop.js";

export interface ServerSide {
  ws: WebSocket;
  /** The request URL (path and query) the peer opened. */
  url: string;
  /** Every message received: size, type and SHA-256 (hex). */
  messages: Array<{ size: number; isBinary: boolean; sha256: string }>;
  /** Payloads of pings received, as text. */
  pings: string[];
  errors: Error[];
  closed: Promise<CloseInfo>;
  /** For /ping/…: our ping's round-trip time. */
  rtt?: Promise<number>;
}

export interface RoutedServer {
  wss: WebSocketServer;
  port: number;
  /** ws://127.0.0.1:PORT */
  url: string;
  /** http://127.0.0.1:PORT/ (the blank page) */
  origin: string;
  /** The server side of the connection opened at `url` (path and query), waiting for it if needed. */
  connection(url: string, ms?: number): Promise<ServerSide>;
  close(): Promise<void>;
}

export const BLANK_PAGE = "<!doctype html><meta charset=utf-8><title>edgews interop</title><p>edgews interop</p>\n";

export async function startRoutedServer(options: Omit<WebSocketServerOptions, "port" | "host" | "server" | "noServer"> = {}): Promise<RoutedServer> {
  const server = http.createServer((req, res) => {
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
      res.end(BLANK_PAGE);
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
    }
  });
  const wss = new WebSocketServer({ ...options, server });
  const sides = new Map<string, { promise: Promise<ServerSide>; resolve(side: ServerSide): void }>();
  const slot = (url: string) => {
    let entry = sides.get(url);
    if (!entry) {
      let resolve!: (side: ServerSide) => void;
      const promise = new Promise<ServerSide>((r) => (resolve = r));
      entry = { promise, resolve };
      sides.set(url, entry);
    }
    return entry;
  };
  wss.on("connection", (ws, req) => {
    const url = req.url ?? "/";
    const side: ServerSide = { ws, url, messages: [], pings: [], errors: [], closed: closeOf(ws, 120_000) };
    side.closed.catch(() => {});
    ws.on("message", (data, isBinary) => side.messages.push({ size: data.length, isBinary, sha256: sha256(data) }));
    ws.on("ping", (data) => side.pings.push(data.toString()));
    ws.on("error", (error) => side.errors.push(error));
    act(side);
    slot(url).resolve(side);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    connection: (url, ms = 10_000) => withDeadline(slot(url).promise, ms, `a connection to ${url} on our server`),
    close: async () => {
      await wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function act(side: ServerSide): void {
  const { ws } = side;
  const route = side.url.split("?")[0]!.split("/").slice(1).map(decodeURIComponent);
  switch (route[0]) {
    case "close":
      if (route[1] === "none") ws.close();
      else ws.close(Number(route[1]), route[2] ?? "");
      return;
    case "ping": {
      const data = route[1] ?? "";
      side.rtt = ws.ping(data);
      side.rtt.then(() => ws.send(`pong ${data}`)).catch(() => {});
      break;
    }
    case "send":
      ws.send(Buffer.alloc(Number(route[1])), { binary: true });
      break;
  }
  echo(ws);
}
