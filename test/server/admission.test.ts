// Admission: every handshake the server counts is released exactly once on every path, a full
// core answers 503 before the 101, nothing after the 101 escapes the 'upgrade' listener, and
// fields that may appear once are refused when repeated. On loopback with raw sockets.
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CoreError } from "../../src/core/index.js";
import { loadCoreSync } from "../../src/core/node.js";
import { CorePool, sharedCorePool } from "../../src/core/pool.js";
import { AuthenticationError, WebSocket, type WebSocketServer } from "../../src/index.js";
import { nextEvent, withDeadline } from "../support/interop.js";
import { gc } from "../support/memory.js";
import { rawRequest, requestHead, startServer, statusOf, upgradeHeaders } from "../support/net.js";

// Each wait is bounded well below vitest's timeout, so that a regression fails fast and says what hung.
const DEADLINE_MS = 3000;

const servers: WebSocketServer[] = [];
const clients: Array<WebSocket | net.Socket> = [];
async function serve(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  servers.push(started.wss);
  return started;
}
afterEach(async () => {
  vi.restoreAllMocks();
  for (const client of clients.splice(0)) client instanceof WebSocket ? client.terminate() : client.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
}, 10_000);

/** Opens a client and resolves once it is open, or rejects with its handshake error. */
function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, undefined, { perMessageDeflate: false, handshakeTimeout: DEADLINE_MS });
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}
const closed = (ws: WebSocket) => withDeadline(new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code))), DEADLINE_MS, "the WebSocket to close");

/** A raw client that sends an upgrade request with `X-Test: <mode>`; `ended`: what it got until the server closed. */
function rawHandshake(port: number, mode: string) {
  const socket = net.connect(port, "127.0.0.1");
  clients.push(socket);
  socket.on("error", () => {});
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.write(requestHead("/", upgradeHeaders({ "X-Test": mode })));
  const ended = withDeadline(new Promise<string>((resolve) => socket.once("close", () => resolve(received))), DEADLINE_MS, () => `the server to close a "${mode}" handshake (got ${JSON.stringify(received.slice(0, 40))})`);
  return { socket, ended };
}

/**
 * An `authenticate` steered by the X-Test header: "hang" never settles, "late" resolves after
 * `lateMs`, "deny" refuses with 403, anything else admits. `started` resolves on each call.
 */
function steeredAuthentication(lateMs = 0) {
  let onCall: () => void = () => {};
  return {
    nextCall: () => new Promise<void>((resolve) => (onCall = resolve)),
    authenticate: (req: { headers: Record<string, string | string[] | undefined> }) => {
      onCall();
      const mode = req.headers["x-test"];
      if (mode === "hang") return new Promise<void>(() => {});
      if (mode === "late") return new Promise<void>((resolve) => setTimeout(resolve, lateMs));
      if (mode === "deny") throw new AuthenticationError(403, "denied");
      return undefined;
    },
  };
}

// Small limits, so that a handful of leaked counts would lock the address out (429) or everyone (503).
const LIMITS = { maxConnectionsPerIp: 2, maxConnections: 3 };
const HANDSHAKES = 4; // more than either limit

describe("a handshake waiting for authenticate releases its counts exactly once", () => {
  /** With one good connection open, a second is admitted and a third refused: the count is exact. */
  async function expectExactPerIpCount(url: string, first: WebSocket): Promise<void> {
    const second = await open(url);
    await expect(open(url)).rejects.toMatchObject({ statusCode: 429 });
    for (const ws of [first, second]) ws.close();
    await Promise.all([closed(first), closed(second)]);
  }

  it("when authenticate never settles (the handshake timer drops it)", async () => {
    const auth = steeredAuthentication();
    const { port, url } = await serve({ ...LIMITS, handshakeTimeout: 150, authenticate: auth.authenticate });
    for (let i = 0; i < HANDSHAKES; i++) {
      const started = Date.now();
      const { ended } = rawHandshake(port, "hang");
      expect(await ended).toBe(""); // dropped without an answer
      expect(Date.now() - started).toBeLessThan(2000);
    }
    await expectExactPerIpCount(url, await open(url));
  });

  it("when authenticate resolves after the timer dropped the socket", async () => {
    const auth = steeredAuthentication(250);
    const { port, url } = await serve({ ...LIMITS, handshakeTimeout: 100, authenticate: auth.authenticate });
    const first = await open(url);
    for (let i = 0; i < HANDSHAKES; i++) {
      const late = new Promise((resolve) => setTimeout(resolve, 300));
      expect(await rawHandshake(port, "late").ended).toBe("");
      await late; // authenticate has resolved on a dropped socket
    }
    await expectExactPerIpCount(url, first);
  });

  it("when authenticate rejects", async () => {
    const auth = steeredAuthentication();
    const { port, url } = await serve({ ...LIMITS, authenticate: auth.authenticate });
    const first = await open(url);
    for (let i = 0; i < HANDSHAKES; i++) expect(statusOf(await rawHandshake(port, "deny").ended)).toBe(403);
    await expectExactPerIpCount(url, first);
  });

  it.each([
    ["closes its socket (FIN)", (socket: net.Socket) => socket.end()],
    ["resets its socket (RST: a socket error on the server)", (socket: net.Socket) => socket.resetAndDestroy()],
  ])("when the client %s during authenticate, at once rather than at the 10 s timeout", async (_name, leave) => {
    const auth = steeredAuthentication();
    const { port, url } = await serve({ ...LIMITS, handshakeTimeout: 10_000, authenticate: auth.authenticate });
    const started = Date.now();
    for (let i = 0; i < HANDSHAKES; i++) {
      const called = auth.nextCall();
      const { socket, ended } = rawHandshake(port, "hang");
      await withDeadline(called, DEADLINE_MS, "authenticate to be called (not called: the handshake was refused, as when counts leaked)");
      leave(socket);
      await ended;
    }
    // The server notices the client leaving as it happens; poll briefly for the last one.
    let first: WebSocket | undefined;
    while (!first && Date.now() - started < 2000) first = await open(url).catch(() => undefined);
    expect(first).toBeDefined();
    await expectExactPerIpCount(url, first!);
  });

  it("keeps no hold on the request once the connection is open (memory per connection)", async () => {
    const { url, wss } = await serve({ authenticate: async () => {} });
    let request: WeakRef<object> | undefined;
    wss.once("connection", (_ws, req) => (request = new WeakRef(req)));
    const ws = await open(url);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // No deref() until the end: a deref keeps its target alive until the current job ends.
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(request!.deref()).toBeUndefined();
    ws.close();
  });

  it("when the server closes during authenticate: 503 to each, and close() does not wait for them", async () => {
    const auth = steeredAuthentication();
    const { port, wss } = await serve({ handshakeTimeout: 10_000, authenticate: auth.authenticate });
    const refused: number[] = [];
    wss.on("refused", (_req, status) => refused.push(status));
    const waiting = [];
    for (let i = 0; i < 2; i++) {
      const called = auth.nextCall();
      waiting.push(rawHandshake(port, "hang").ended);
      await withDeadline(called, DEADLINE_MS, "authenticate to be called (not called: the handshake was refused, as when counts leaked)");
    }
    const started = Date.now();
    await withDeadline(wss.close(), DEADLINE_MS, "close() to resolve");
    expect(Date.now() - started).toBeLessThan(2000);
    for (const answer of await Promise.all(waiting)) {
      expect(statusOf(answer)).toBe(503);
      expect(answer).toContain("the server is shutting down");
    }
    expect(refused).toEqual([503, 503]);
  });
});

describe("capacity of the core", () => {
  it("a user-supplied core with no free slot: 503 before the 101, and the process goes on", async () => {
    const core = loadCoreSync({ maxConnections: 2 });
    const { port, url } = await serve({ core });
    const clients = [await open(url), await open(url)];
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders()));
    expect(statusOf(answer)).toBe(503);
    expect(answer).toContain("all 2 connection slots of its core are in use");
    // A slot freed is a slot to use again.
    clients[0]!.close();
    await closed(clients[0]!);
    const third = await open(url);
    expect(core.freeSlots).toBe(0);
    for (const ws of [clients[1]!, third]) ws.close();
  });

  it("the shared pool grows by a core when one is full; if it cannot, 503", async () => {
    const pool1 = new CorePool({ maxConnections: 1 });
    const parser = pool1.acquire().createParser({ role: "server" }, { onMessage: () => {}, onError: () => {} });
    expect(pool1.acquire()).not.toBe(pool1.cores[0]);
    expect(pool1.cores).toHaveLength(2);
    parser.destroy();

    const { url } = await serve({});
    const pool = sharedCorePool();
    const ws = await open(url);
    expect(pool.cores.some((core) => core.freeSlots < core.maxConnections)).toBe(true);
    vi.spyOn(pool, "acquire").mockImplementation(() => {
      throw new CoreError("could not reserve core memory for 4096 connections and a 65536-byte arena");
    });
    await expect(open(url)).rejects.toMatchObject({ statusCode: 503, bodyExcerpt: expect.stringContaining("no core for another connection") });
    ws.close();
  });
});

describe("fields that may appear once (RFC 7230 §5.4, RFC 6455 §11.3)", () => {
  /** A request head with `name: value` sent a second time, right after the first. */
  function withRepeat(name: string, value: string): string {
    const lines = Object.entries(upgradeHeaders({ Origin: "https://a.example" })).flatMap(([field, v]) => (field === name ? [`${field}: ${v}`, `${name}: ${value}`] : [`${field}: ${v}`]));
    return `GET / HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
  }

  it.each([
    ["Host", "evil.example", /Host header appears more than once/],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", /Repeated Sec-WebSocket-Key header/],
    ["Sec-WebSocket-Version", "13", /Repeated Sec-WebSocket-Version header/],
    ["Upgrade", "websocket", /Upgrade header appears more than once/],
    ["Origin", "https://b.example", /Origin header appears more than once/],
  ])("a second %s field answers 400; the log and the 'refused' event name it", async (name, value, reason) => {
    const lines: string[] = [];
    const { wss, port } = await serve({ log: (line) => lines.push(line) });
    const refused = nextEvent(wss, "refused", DEADLINE_MS);
    const answer = await rawRequest(port, withRepeat(name, value));
    expect(statusOf(answer)).toBe(400);
    expect((await refused)[2]).toMatch(reason);
    expect(lines.join("\n")).toMatch(reason);
  });

  it("a repeated Connection field (a list) is accepted", async () => {
    const { port } = await serve({});
    expect(statusOf(await rawRequest(port, withRepeat("Connection", "keep-alive"), 300))).toBe(101);
  });
});

describe("sockets on our own server", () => {
  it("sockets that never upgrade are counted: past maxSockets the next ones are dropped on accept, and a client gets in once they go", async () => {
    const { port, url } = await serve({ maxConnections: 2, maxSockets: 4, handshakeTimeout: 1000 });
    const idle = await Promise.all(Array.from({ length: 10 }, () => connectIdle(port)));
    const outcomes = await Promise.all(idle.map(({ dropped }) => Promise.race([dropped.then(() => "dropped"), delay(300).then(() => "open")])));
    expect(outcomes.filter((o) => o === "open")).toHaveLength(4);
    // The four held sockets go at the handshake timeout; then a real client is admitted.
    const ws = await withDeadline(retryOpen(url), 5000, "a client to get in once the idle sockets were dropped");
    clients.push(ws);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw socket that sends nothing; `dropped` settles when the server closes or resets it. */
async function connectIdle(port: number): Promise<{ socket: net.Socket; dropped: Promise<void> }> {
  const socket = net.connect(port, "127.0.0.1");
  clients.push(socket);
  socket.on("error", () => {});
  const dropped = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { socket, dropped };
}

async function retryOpen(url: string): Promise<WebSocket> {
  for (;;) {
    try {
      return await open(url);
    } catch {
      await delay(100);
    }
  }
}
