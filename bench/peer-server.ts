// A WebSocket server in its own process, for the network benches (echo, conns): spawned by
// bench/server-process.ts as `node --import tsx peer-server.ts <ours|theirs|bare> <echo|idle>`.
// `bare` is no WebSocket server at all, the floor any Node server stands on. Idle: it answers
// each upgrade with a 101 and keeps the socket with a listener that drops what arrives. Echo:
// plain TCP that sends back the bytes it gets (for a raw TCP client, no handshake).
// Listens on 127.0.0.1 on a port the OS picks and prints `{"port":N}` on stdout. On stdin it
// answers `mem` with one line of process.memoryUsage() taken after gc() (when --expose-gc), and
// exits when stdin closes, so it never outlives the bench that spawned it.
import http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";
import { acceptKey } from "../src/handshake/index.js";
import { WebSocketServer as OurServer } from "../src/index.js";
import { WebSocketServer as WsServer } from "ws";

type Impl = "ours" | "theirs" | "bare";
type Mode = "echo" | "idle";

const impl = process.argv[2] as Impl;
const mode = process.argv[3] as Mode;
if (!["ours", "theirs", "bare"].includes(impl) || (mode !== "echo" && mode !== "idle")) {
  console.error("usage: peer-server.ts <ours|theirs|bare> <echo|idle>");
  process.exit(2);
}

/** The server-side socket, as far as this file uses it (ws's and ours agree). */
interface Peer {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  send(data: Buffer, options: { binary: boolean }): void;
}
interface Server {
  on(event: "connection", listener: (peer: Peer) => void): unknown;
  on(event: "listening", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  address(): unknown;
}

const options = { port: 0, host: "127.0.0.1", perMessageDeflate: false };
// ws has no connection limits; ours defaults to 1000 (100 per IP), too few for the conns bench.
const limits = { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000 };
/** Its 'connection' events are TCP connections, one per client here. */
function bareServer(): net.Server {
  if (mode === "echo") {
    return net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.on("data", (chunk) => socket.write(chunk));
    }).listen(options.port, options.host);
  }
  const server = http.createServer();
  server.on("upgrade", (req, socket) => {
    const accept = acceptKey(String(req.headers["sec-websocket-key"]));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on("data", () => {});
  });
  return server.listen(options.port, options.host);
}

const server: Server = impl === "ours"
  ? (new OurServer({ ...options, ...limits }) as unknown as Server)
  : impl === "theirs" ? (new WsServer(options) as unknown as Server) : (bareServer() as unknown as Server);

let connections = 0;
server.on("connection", (peer) => {
  connections++;
  peer.on("error", () => {});
  if (mode === "echo" && impl !== "bare") peer.on("message", (data, isBinary) => peer.send(data, { binary: isBinary }));
});
server.on("error", (error) => {
  console.error(`peer-server (${impl}): ${error.message}`);
  process.exit(1);
});
server.on("listening", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(JSON.stringify({ port }) + "\n");
});

const gc = (globalThis as { gc?: () => void }).gc;
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() !== "mem") return;
  // A few full collections, a tick apart, so that weak callbacks and finalizers settle.
  let rounds = 3;
  const settle = () => {
    gc?.();
    if (--rounds > 0) return void setTimeout(settle, 20);
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.stdout.write(JSON.stringify({ rss, heapUsed, external, arrayBuffers, connections, gc: gc !== undefined }) + "\n");
  };
  settle();
});
lines.on("close", () => process.exit(0));
