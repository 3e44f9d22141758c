// Echo over loopback TCP: the bench child is the client, the server runs in another process
// (bench/peer-server.ts). Ours = edgews client <-> edgews server, theirs = ws client <-> ws server
// (ws with bufferutil and buffer.isUtf8), permessage-deflate off on all four.
import { EventEmitter } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { WebSocket as WsClient } from "ws";
import { WebSocket as OurClient } from "../../src/index.js";
import { asciiText, randomBytes } from "../data.js";
import { compareAsync, compareCosts, networkTiming, type AsyncContender, type Comparison, type Timing } from "../measure.js";
import { startServer, type Impl, type ServerProcess } from "../server-process.js";
import { quantile } from "../stats.js";
import type { BenchSpec, CaseSpec, Env } from "../types.js";

const IN_FLIGHT = 64;
/** Longest a single run may wait for its echoes before the bench fails. */
const RUN_TIMEOUT_MS = 15_000;
/** Sample length of the full run, ms: network samples need more than the in-memory benches' 20 ms. */
const SAMPLE_MS = 150;
const P99_ROUND_TRIPS = { full: 2000, quick: 50 };

/** The client socket, as far as this file uses it (ws's and ours agree). */
interface Client {
  on(event: "open", listener: () => void): unknown;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  send(data: Buffer, options: { binary: boolean }): void;
  terminate(): void;
}

/**
 * Plain TCP in place of a WebSocket client, for the floor rows: it sends the payload's bytes
 * as they are and counts a message back once as many bytes have come back.
 */
class RawClient extends EventEmitter {
  readonly #socket: net.Socket;
  #expected = 0;
  #received = 0;

  constructor(port: number) {
    super();
    this.#socket = net.connect(port, "127.0.0.1", () => this.emit("open"));
    this.#socket.setNoDelay(true);
    this.#socket.on("data", (chunk) => {
      this.#received += chunk.length;
      while (this.#expected > 0 && this.#received >= this.#expected) {
        this.#received -= this.#expected;
        this.emit("message", Buffer.alloc(this.#expected), true);
      }
    });
    this.#socket.on("error", (error) => this.emit("error", error));
    this.#socket.on("close", () => this.emit("close"));
  }

  send(data: Buffer): void {
    this.#expected = data.length;
    this.#socket.write(data);
  }

  terminate(): void {
    this.#socket.destroy();
  }
}

function connect(impl: Impl, port: number): Promise<Client> {
  const url = `ws://127.0.0.1:${port}/`;
  if (impl === "bare") {
    const raw = new RawClient(port);
    return new Promise((resolve, reject) => {
      raw.once("open", () => resolve(raw));
      raw.once("error", reject);
    });
  }
  const client: Client = impl === "ours"
    ? (new OurClient(url, undefined, { perMessageDeflate: false, proxy: false }) as unknown as Client)
    : (new WsClient(url, { perMessageDeflate: false }) as unknown as Client);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${impl} client: no open in 10 s`)), 10_000);
    client.on("open", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One client connection, driving round trips. */
class Driver {
  #client: Client;
  #payload: Buffer;
  #binary: boolean;
  #onEcho: (() => void) | undefined;
  #fail: ((error: Error) => void) | undefined;

  constructor(client: Client, payload: Buffer, binary: boolean) {
    this.#client = client;
    this.#payload = payload;
    this.#binary = binary;
    client.on("message", (data) => {
      if (data.length !== payload.length) this.#fail?.(new Error(`echo of ${data.length} bytes, sent ${payload.length}`));
      else this.#onEcho?.();
    });
    client.on("error", (error) => this.#fail?.(error));
    client.on("close", () => this.#fail?.(new Error("connection closed during the bench")));
  }

  #send() {
    this.#client.send(this.#payload, { binary: this.#binary });
  }

  /** `times` messages with at most `window` in flight; `latencies` gets each round trip (ms) when window is 1. */
  run(times: number, window: number, latencies?: number[]): Promise<number> {
    return new Promise((resolve, reject) => {
      let sent = 0;
      let received = 0;
      let sentAt = 0;
      const timer = setTimeout(() => done(new Error(`${received} of ${times} echoes in ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#onEcho = undefined;
        this.#fail = undefined;
        if (error) reject(error);
        else resolve(times);
      };
      this.#fail = done;
      this.#onEcho = () => {
        if (latencies) latencies.push(performance.now() - sentAt);
        if (++received === times) return done();
        if (sent < times) {
          sent++;
          sentAt = performance.now();
          this.#send();
        }
      };
      const first = Math.min(window, times);
      sentAt = performance.now();
      for (; sent < first; ) {
        sent++;
        this.#send();
      }
    });
  }
}

/**
 * Starts both servers and both clients, runs `body`, then closes everything (bounded). With
 * `floor`, plain TCP (client and server) stands in for ours.
 */
async function withPeers<T>(payload: Buffer, binary: boolean, body: (ours: Driver, theirs: Driver) => Promise<T>, floor = false): Promise<T> {
  const servers: ServerProcess[] = [];
  const clients: Client[] = [];
  const ours: Impl = floor ? "bare" : "ours";
  try {
    const [a, b] = await Promise.all([startServer(ours, "echo"), startServer("theirs", "echo")]);
    servers.push(a, b);
    const [ca, cb] = await Promise.all([connect(ours, a.port), connect("theirs", b.port)]);
    clients.push(ca, cb);
    return await body(new Driver(ca, payload, binary), new Driver(cb, payload, binary));
  } finally {
    for (const c of clients) c.terminate();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const SIZES = { "32B": 32, "1KiB": 1024, "64KiB": 64 * 1024 } as const;
type Size = keyof typeof SIZES;
/** ASCII text for the small sizes (validated as UTF-8 on both ends), random binary for 64 KiB. */
const payloadOf = (size: Size): [Buffer, boolean] => (size === "64KiB" ? [randomBytes(SIZES[size], 31), true] : [asciiText(SIZES[size], 32), false]);
const timingOf = (env: Env, timing: Timing) => networkTiming(env.quick, timing, SAMPLE_MS);

const rateCase = (size: Size, window: number, floor = false): CaseSpec => ({
  name: `${size}-${window === 1 ? "rtt" : "pipelined"}${floor ? "-floor" : ""}`,
  baselines: ["ws"],
  unit: window === 1 ? "rt/s" : "msgs/s",
  measure: (_baseline, env, timing) =>
    withPeers(...payloadOf(size), (ours, theirs) => {
      const side = (d: Driver): AsyncContender => ({ run: (times) => d.run(times, window) });
      return compareAsync(side(ours), side(theirs), timingOf(env, timing));
    }, floor),
});

const p99Case = (size: Size): CaseSpec => ({
  name: `${size}-p99`,
  baselines: ["ws"],
  unit: "µs",
  measure: (_baseline, env, timing) =>
    withPeers(...payloadOf(size), async (ours, theirs): Promise<Comparison> => {
      const n = env.quick ? P99_ROUND_TRIPS.quick : P99_ROUND_TRIPS.full;
      const p99 = async (d: Driver) => {
        const latencies: number[] = [];
        await d.run(n, 1, latencies);
        return quantile(latencies, 0.99) * 1000;
      };
      return compareCosts((s) => p99(s === "ours" ? ours : theirs), timingOf(env, timing).repeats, env.quick ? 1 : 3);
    }),
});

export const echo: BenchSpec = {
  name: "echo",
  unit: "rt/s",
  divisor: 1,
  header: "echo over loopback TCP, client and server in separate processes, edgews<->edgews vs ws<->ws (native helpers), no deflate; rt/s and msgs/s higher is better (ratio > 1: ours faster); p99 µs LOWER is better (ratio < 1: ours faster)",
  cases: [
    rateCase("32B", 1), rateCase("1KiB", 1), rateCase("32B", IN_FLIGHT), rateCase("1KiB", IN_FLIGHT), rateCase("64KiB", IN_FLIGHT), p99Case("32B"),
    rateCase("32B", 1, true), rateCase("64KiB", IN_FLIGHT, true),
  ],
  summary: () => [
    `pipelined: ${IN_FLIGHT} messages in flight; p99: round trips of one in flight, ${P99_ROUND_TRIPS.full} per repeat; 32B/1KiB are ASCII text, 64KiB binary.`,
    "-floor rows: in place of ours, plain TCP both ways (a Node client and server echoing raw bytes): the most any WebSocket over Node's sockets can do.",
  ],
};
