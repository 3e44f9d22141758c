// A WebSocket server in its own process, for the network benches (echo, conns): spawned by
// bench/server-process.ts as `node --import tsx peer-server.ts <ours|theirs> <echo|idle>`.
// Listens on 127.0.0.1 on a port the OS picks and prints `{"port":N}` on stdout. On stdin it
// answers `mem` with one line of process.memoryUsage() taken after gc() (when --expose-gc), and
// exits when stdin closes, so it never outlives the bench that spawned it.
import { createInterface } from "node:readline";
import { WebSocketServer as OurServer } from "../src/index.js";
import { WebSocketServer as WsServer } from "ws";

type Impl = "ours" | "theirs";
type Mode = "echo" | "idle";

const impl = process.argv[2] as Impl;
const mode = process.argv[3] as Mode;
if ((impl !== "ours" && impl !== "theirs") || (mode !== "echo" && mode !== "idle")) {
  console.error("usage: peer-server.ts <ours|theirs> <echo|idle>");
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
const server: Server = impl === "ours" ? (new OurServer({ ...options, ...limits }) as unknown as Server) : (new WsServer(options) as unknown as Server);

let connections = 0;
server.on("connection", (peer) => {
  connections++;
  peer.on("error", () => {});
  if (mode === "echo") peer.on("message", (data, isBinary) => peer.send(data, { binary: isBinary }));
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
