// Server memory per idle connection: the server runs in its own process (node --expose-gc, open-
// file limit raised), the bench child opens N idle connections to it with ws's client (the same
// client for both servers), and the server reports process.memoryUsage() after gc() before and
// after. Each repeat uses a fresh server process; ours and theirs alternate.
import { WebSocket as WsClient } from "ws";
import type { Comparison, Timing } from "../measure.js";
import { compareCosts } from "../measure.js";
import { ws } from "../peers.js";
import { startServer, type Impl } from "../server-process.js";
import type { BenchSpec, CaseSpec, Env } from "../types.js";

const FD_LIMIT = 20_000;
const QUICK_CONNECTIONS = 50;
/**
 * Repeats per case. RSS per connection swings between runs (at 1,000 connections, ours 5.7-9.9
 * KiB and ws's 7.3-8.6 in repeated runs) because V8 grows its young generation in steps of MBs,
 * which land in one run and not the next; three repeats let one such step decide the median.
 */
const FULL_REPEATS = 7;
/** Handshakes started at once, so the accept queue and the handshake timeouts are not swamped. */
const CONCURRENCY = 200;
const OPEN_TIMEOUT_MS = 30_000;

type Metric = "rss" | "heapUsed";

async function openMany(port: number, n: number): Promise<WsClient[]> {
  const clients: WsClient[] = [];
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      if (Date.now() > deadline) throw new Error(`opened ${clients.length} of ${n} connections in ${OPEN_TIMEOUT_MS} ms`);
      const client = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      clients.push(client);
      let failed: Error | undefined;
      client.on("error", (error) => (failed ??= error));
      await new Promise<void>((resolve, reject) => {
        client.once("open", () => resolve());
        client.once("close", () => reject(failed ?? new Error("connection closed before open")));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return clients;
}

/** KiB of `metric` per connection on a fresh server of `impl` holding `n` idle connections. */
async function perConnection(impl: Impl, n: number, metric: Metric): Promise<number> {
  const server = await startServer(impl, "idle", ["--expose-gc"], FD_LIMIT);
  let clients: WsClient[] = [];
  try {
    const before = await server.memory();
    if (!before.gc) throw new Error("the peer server has no gc() (--expose-gc)");
    clients = await openMany(server.port, n);
    // Let the server finish its side of the last handshakes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await server.memory();
    if (after.connections !== n) throw new Error(`${impl} server counted ${after.connections} connections, expected ${n}`);
    return (after[metric] - before[metric]) / n / 1024;
  } finally {
    for (const c of clients) c.terminate();
    await server.stop();
  }
}

/** `floor`: a bare upgraded socket stands in for ours (see peer-server.ts). */
const connsCase = (n: number, metric: Metric, floor = false): CaseSpec => ({
  name: `${n}-${metric === "rss" ? "rss" : "heap"}${floor ? "-floor" : ""}`,
  baselines: ["ws"],
  measure: (_baseline, env: Env, timing: Timing): Promise<Comparison> => {
    const count = env.quick ? QUICK_CONNECTIONS : n;
    const impl = (side: Impl): Impl => (floor && side === "ours" ? "bare" : side);
    return compareCosts((side) => perConnection(impl(side), count, metric), env.quick ? 1 : Math.min(FULL_REPEATS, timing.repeats));
  },
});

export const conns: BenchSpec = {
  name: "conns",
  unit: "KiB",
  divisor: 1,
  header: `server memory per idle connection (after gc(), fresh server process per repeat, ws client for both), KiB, LOWER is better; ratio = ours/theirs, < 1: ours uses less`,
  cases: [
    connsCase(1000, "rss"), connsCase(1000, "rss", true),
    connsCase(5000, "rss"), connsCase(5000, "heapUsed"), connsCase(5000, "rss", true), connsCase(5000, "heapUsed", true),
  ],
  summary: () => [
    `theirs = ws ${ws.version} WebSocketServer (perMessageDeflate: false); open-file limit raised to ${FD_LIMIT} in the server process.`,
    "-floor rows: in place of ours, a server with no WebSocket code that answers the upgrade and keeps the bare socket: the least any Node server can hold a connection in.",
  ],
};
