// close() or terminate() on a client WebSocket while CONNECTING abandons the handshake at once:
// the request and its socket are destroyed (the server sees the connection go), no late 101
// can open it, and the events are ws's: 'error' then 'close' (1006), once, on the next tick.
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsWebSocket } from "ws";
import { WebSocket } from "../../src/index.js";
import { withDeadline } from "../support/interop.js";
import { startServer } from "../support/net.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server on 127.0.0.1 that accepts connections and never answers; it notes when each one goes. */
async function silentServer(): Promise<{ url: string; accepted: () => Promise<net.Socket>; open: () => number }> {
  const sockets = new Set<net.Socket>();
  const waiting: Array<(socket: net.Socket) => void> = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    waiting.shift()?.(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    accepted: () => withDeadline(new Promise<net.Socket>((resolve) => waiting.push(resolve)), 5000, "the server to accept"),
    open: () => sockets.size,
  };
}

/** Resolves with how long after the call `socket` closed; rejects if it outlives `ms`. */
function closedWithin(socket: net.Socket, ms: number): Promise<number> {
  const started = performance.now();
  return withDeadline(new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now() - started))), ms, "the server's socket to close");
}

type Client = WebSocket | WsWebSocket;

/** Everything a client reports once `stop` is called on it, in order, with its readyState at each event. */
async function eventsAfter(ws: Client, stop: (ws: Client) => void): Promise<string[]> {
  const events: string[] = [];
  stop(ws);
  events.push(`after the call: ${ws.readyState}`);
  // Listeners added after the call still hear everything: nothing is reported synchronously.
  ws.on("open", () => events.push("open"));
  ws.on("error", (error: Error) => events.push(`error (${ws.readyState}): ${error.message}`));
  ws.on("close", (code: number) => events.push(`close (${ws.readyState}): ${code}`));
  await new Promise((r) => setTimeout(r, 300));
  return events;
}

const CLOSED_BEFORE = "WebSocket was closed before the connection was established";
const EXPECTED = ["after the call: 2", `error (2): ${CLOSED_BEFORE}`, "close (3): 1006"];

describe("a client closed while CONNECTING", () => {
  for (const stop of ["close", "terminate"] as const) {
    it(`${stop}() once the server has the TCP connection: the socket is destroyed at once, not at the handshake timeout`, async () => {
      const server = await silentServer();
      const accepted = server.accepted();
      const ws = new WebSocket(server.url, undefined, { perMessageDeflate: false });
      const socket = await accepted;
      const closed = closedWithin(socket, 2000);
      const events = eventsAfter(ws, (w) => w[stop]());
      expect(await closed, "ms until the server saw the socket close").toBeLessThan(1000);
      expect(await events).toEqual(EXPECTED);
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    });
  }

  it("close() right after construction: error then close (1006) once, never open, and no connection left on the server", async () => {
    const server = await silentServer();
    const ws = new WebSocket(server.url, undefined, { perMessageDeflate: false });
    expect(await eventsAfter(ws, (w) => w.close())).toEqual(EXPECTED);
    // Within those 300 ms the server saw the connection go, if it saw it at all.
    expect(server.open()).toBe(0);
  });

  it("reports what ws reports, in the same order, with the same readyStates", async () => {
    const server = await silentServer();
    const theirs = new WsWebSocket(server.url);
    const ours = new WebSocket(server.url, undefined, { perMessageDeflate: false });
    const [theirEvents, ourEvents] = await Promise.all([eventsAfter(theirs, (w) => w.close()), eventsAfter(ours, (w) => w.close())]);
    expect(ourEvents).toEqual(theirEvents);
  });

  it("closed while our server is in authenticate: the server sees the client leave, and neither side opens when authenticate resolves", async () => {
    const lines: string[] = [];
    let authenticating!: () => void;
    const inAuthenticate = new Promise<void>((resolve) => (authenticating = resolve));
    const { wss, url } = await startServer({
      authenticate: () => {
        authenticating();
        return new Promise((resolve) => setTimeout(resolve, 150));
      },
      log: (line) => lines.push(line),
    });
    cleanups.push(() => wss.close());
    let connections = 0;
    wss.on("connection", () => connections++);
    const ws = new WebSocket(url, undefined, { perMessageDeflate: false });
    await withDeadline(inAuthenticate, 3000, "authenticate to be called");
    const events = eventsAfter(ws, (w) => w.close());
    await withDeadline((async () => {
      while (!lines.some((line) => line.includes("the client left during authenticate"))) await new Promise((r) => setTimeout(r, 5));
    })(), 1000, "the server to see the client leave");
    expect(await events).toEqual(EXPECTED);
    // authenticate resolved meanwhile (150 ms): nothing opened.
    expect([connections, wss.clients.size]).toEqual([0, 0]);
  });
});
