// The server as a ws user meets it: ws's hooks (verifyClient, handleProtocols, shouldHandle),
// events ('headers', 'wsClientError'), options (clientTracking, WebSocket, closeClients), any
// Duplex in handleUpgrade, close(cb), and the application's exceptions reaching it as in ws.
// On loopback: our client, raw sockets, or an HTTP server of Node's handing upgrades over.
import http from "node:http";
import net from "node:net";
import { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthenticationError, WebSocket, WebSocketServer, type VerifyClientCallback, type VerifyClientInfo, type WebSocketServerOptions,
} from "../../src/index.js";

import { nextEvent, withDeadline } from "../support/interop.js";
import { rawRequest, requestHead, startServer, statusOf, upgradeHeaders } from "../support/net.js";

const DEADLINE_MS = 3000;
const servers: WebSocketServer[] = [];
const httpServers: http.Server[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((wss) => wss.close()));
  await Promise.all(httpServers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(options: Omit<WebSocketServerOptions, "port"> = {}) {
  const started = await startServer(options);
  servers.push(started.wss);
  return started;
}

function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { handshakeTimeout: DEADLINE_MS });
  clients.push(ws);
  return withDeadline(new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  }), DEADLINE_MS, `${url} to open`);
}

async function echoes(ws: WebSocket): Promise<string> {
  const reply = nextEvent(ws, "message", DEADLINE_MS);
  ws.send("ping?");
  return String((await reply)[0]);
}

/** Node's HTTP server on a free port, with `onUpgrade` as its only 'upgrade' listener. */
async function httpServer(onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<number> {
  const server = http.createServer();
  httpServers.push(server);
  server.on("upgrade", onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Two Duplex streams, each reading what the other writes: neither is a net.Socket. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex) => new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      other().push(chunk);
      callback();
    },
    final(callback) {
      other().push(null);
      callback();
    },
  });
  ends.push(end(() => ends[1]!), end(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

describe("verifyClient, as ws calls it", () => {
  it("the one-parameter form refuses with 401 when it returns false, and is given origin, secure and the request", async () => {
    const seen: VerifyClientInfo[] = [];
    const { port } = await serve({ verifyClient: (info: VerifyClientInfo) => (seen.push(info), info.origin === "https://ok.example") });
    const refused = await rawRequest(port, requestHead("/", upgradeHeaders({ Origin: "https://evil.example" })));
    expect(statusOf(refused)).toBe(401);
    expect(statusOf(await rawRequest(port, requestHead("/", upgradeHeaders({ Origin: "https://ok.example" })), 300))).toBe(101);
    expect(seen.map((info) => [info.origin, info.secure, info.req.url])).toEqual([["https://evil.example", false, "/"], ["https://ok.example", false, "/"]]);
  });

  it("the callback form refuses with the status, body and headers it gives, or admits", async () => {
    const { port, url } = await serve({
      verifyClient: (info: VerifyClientInfo, done: VerifyClientCallback) => {
        setTimeout(() => (info.req.headers["x-let-in"] ? done(true) : done(false, 403, "not today", { "Retry-After": 120 })), 5);
      },
    });
    const refused = await rawRequest(port, requestHead("/", upgradeHeaders()));
    expect(statusOf(refused)).toBe(403);
    expect(refused).toMatch(/\r\nRetry-After: 120\r\n/);
    expect(refused.endsWith("\r\n\r\nnot today")).toBe(true);
    const ws = new WebSocket(url, undefined, { headers: { "X-Let-In": "1" } });
    clients.push(ws);
    await nextEvent(ws, "open", DEADLINE_MS);
  });

  it("a client that half-closes while verifyClient waits gets no connection; verifyClient's own 'end' listener sees the socket still writable", async () => {
    const seen: boolean[] = [];
    const { wss, port } = await serve({
      verifyClient: ({ req }: VerifyClientInfo, done: VerifyClientCallback) => {
        req.socket.once("end", () => {
          seen.push(req.socket.writable);
          done(true);
        });
      },
    });
    wss.on("connection", () => seen.push(false));
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.end(requestHead("/", upgradeHeaders()));
    await nextEvent(socket, "close", DEADLINE_MS);
    expect(seen).toEqual([true]);
  });

  it("runs before authenticate, which is not asked about a client verifyClient refused", async () => {
    const asked: string[] = [];
    const { port } = await serve({
      verifyClient: () => (asked.push("verifyClient"), false),
      authenticate: () => void asked.push("authenticate"),
    });
    expect(statusOf(await rawRequest(port, requestHead("/", upgradeHeaders())))).toBe(401);
    expect(asked).toEqual(["verifyClient"]);
  });

  it("finds a version 8 client's origin in Sec-WebSocket-Origin", async () => {
    const origins: Array<string | undefined> = [];
    const { port } = await serve({ verifyClient: (info: VerifyClientInfo) => (origins.push(info.origin), true) });
    const draft = upgradeHeaders({ "Sec-WebSocket-Version": "8", "Sec-WebSocket-Origin": "https://draft.example" });
    expect(statusOf(await rawRequest(port, requestHead("/", draft), 300))).toBe(101);
    expect(origins).toEqual(["https://draft.example"]);
  });
});

describe("handleProtocols, as ws treats its answer", () => {
  it("undefined selects no subprotocol: the handshake completes and the server goes on", async () => {
    const { port, url } = await serve({ handleProtocols: () => undefined });
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders({ "Sec-WebSocket-Protocol": "a, b" })), 300);
    expect(statusOf(answer)).toBe(101);
    expect(answer).not.toMatch(/Sec-WebSocket-Protocol/i);
    await open(url);
  });

  it("a name the client did not offer is sent as the selection (ws sends it; the client decides)", async () => {
    const { port } = await serve({ handleProtocols: () => "other" });
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders({ "Sec-WebSocket-Protocol": "a" })), 300);
    expect(statusOf(answer)).toBe(101);
    expect(answer).toMatch(/\r\nSec-WebSocket-Protocol: other\r\n/);
  });

  it("an answer that can't be a header value is refused with 500 and reported", async () => {
    const { wss, port } = await serve({ handleProtocols: () => "a\r\nSet-Cookie: injected=1" });
    const reported = nextEvent(wss, "error", DEADLINE_MS);
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders({ "Sec-WebSocket-Protocol": "a" })));
    expect(statusOf(answer)).toBe(500);
    expect(answer).not.toMatch(/injected/);
    expect(String((await reported)[0])).toMatch(/handleProtocols returned .* which is not a subprotocol name/);
  });
});

describe("events of ws's server", () => {
  it("'headers' gets the 101's lines to add to before they are written", async () => {
    const { wss, port } = await serve();
    wss.on("headers", (headers: string[], req: http.IncomingMessage) => headers.push(`Set-Cookie: path=${req.url}`));
    const answer = await rawRequest(port, requestHead("/room", upgradeHeaders()), 300);
    expect(answer.split("\r\n\r\n")[0]!.split("\r\n")).toEqual([
      "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Set-Cookie: path=/room",
    ]);
  });

  it("a 'headers' listener's line holding CR or LF is refused with 500 and reported, not sent", async () => {
    const { wss, port } = await serve();
    wss.on("headers", (headers: string[]) => headers.push("X-A: 1\r\nX-Injected: 1"));
    const reported = nextEvent(wss, "error", DEADLINE_MS);
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders()));
    expect(statusOf(answer)).toBe(500);
    expect(answer).not.toMatch(/X-Injected/);
    expect(String((await reported)[0])).toMatch(/a 'headers' listener added .*: a header line may not hold CR, LF or NUL/);
  });

  it("'wsClientError' leaves the answer to a malformed request to its listener", async () => {
    const { wss, port } = await serve();
    wss.on("wsClientError", (error: Error, socket: Duplex) => socket.end(`HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\n\r\n${error.message}`));
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders({ "Sec-WebSocket-Key": "short" })));
    expect(statusOf(answer)).toBe(418);
    expect(answer.endsWith("Missing or invalid Sec-WebSocket-Key header")).toBe(true);
  });

  it("handleUpgrade refuses a request whose Upgrade field Node did not keep (maxHeadersCount) as ws does", async () => {
    const wss = new WebSocketServer({ noServer: true });
    servers.push(wss);
    const port = await httpServer((req, socket, head) => wss.handleUpgrade(req, socket, head, () => {}));
    httpServers.at(-1)!.maxHeadersCount = 1;
    const answer = await rawRequest(port, requestHead("/", { "X-First": "1", ...upgradeHeaders() }));
    expect([statusOf(answer), answer.split("\r\n\r\n")[1]]).toEqual([400, "Invalid Upgrade header"]);
  });

  it.each([
    ["a POST", requestHead("/", upgradeHeaders(), "POST"), 405, "Invalid HTTP method"],
    ["Upgrade: h2c", requestHead("/", upgradeHeaders({ Upgrade: "h2c" })), 400, "Invalid Upgrade header"],
    ["no key (a Hixie-76 request, which has no version either)", requestHead("/", { Host: "x", Upgrade: "WebSocket", Connection: "Upgrade", "Sec-WebSocket-Key1": "4 @1  46546xW%0l 1 5" }), 400, "Missing or invalid Sec-WebSocket-Key header"],
    ["version 12", requestHead("/", upgradeHeaders({ "Sec-WebSocket-Version": "12" })), 400, "Missing or invalid Sec-WebSocket-Version header"],
    ["an empty subprotocol", requestHead("/", upgradeHeaders({ "Sec-WebSocket-Protocol": "a,,b" })), 400, "Invalid Sec-WebSocket-Protocol header"],
    ["a malformed extension list", requestHead("/", upgradeHeaders({ "Sec-WebSocket-Extensions": "permessage-deflate;;" })), 400, "Invalid or unacceptable Sec-WebSocket-Extensions header"],
  ])("refuses %s with ws's status and body; the 'refused' event says more", async (_name, head, status, body) => {
    const { wss, port } = await serve();
    const refused = nextEvent(wss, "refused", DEADLINE_MS);
    const answer = await rawRequest(port, head);
    expect([statusOf(answer), answer.split("\r\n\r\n")[1]]).toEqual([status, body]);
    expect(String((await refused)[2]).length).toBeGreaterThan(0);
  });
});

describe("ws's options and methods", () => {
  it("throws ws's TypeError unless exactly one of port, server and noServer is given", () => {
    const message = 'One and only one of the "port", "server", or "noServer" options must be specified';
    for (const options of [{}, { port: 0, noServer: true }, { noServer: true, server: http.createServer() }]) {
      expect(() => new WebSocketServer(options)).toThrow(new TypeError(message));
    }
  });

  it("address() throws in noServer mode and is null once closed", async () => {
    expect(() => new WebSocketServer({ noServer: true }).address()).toThrow('The server is operating in "noServer" mode');
    const { wss } = await serve();
    await wss.close();
    expect(wss.address()).toBeNull();
  });

  it("exposes its options, and emits 'error' when its port is taken", async () => {
    const { wss, port } = await serve();
    const options = { port, host: "127.0.0.1" };
    const second = new WebSocketServer(options);
    servers.push(second);
    expect(second.options).toBe(options);
    expect((await nextEvent(second, "error", DEADLINE_MS))[0]).toMatchObject({ code: "EADDRINUSE" });
    expect(wss.address()).toMatchObject({ port });
  });

  it("clients holds the open connections, and each leaves it when it closes or is terminated", async () => {
    const { wss, url } = await serve();
    const [closing, terminated] = [await open(url), await open(url)];
    expect(wss.clients.size).toBe(2);
    const gone = [...wss.clients].map((ws) => nextEvent(ws, "close", DEADLINE_MS));
    closing.close();
    terminated.terminate();
    await Promise.all(gone);
    expect(wss.clients.size).toBe(0);
  });

  it("clientTracking: false leaves clients undefined; connections still work", async () => {
    const { wss, url } = await serve({ clientTracking: false });
    wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data.toString())));
    expect(wss.clients).toBeUndefined();
    expect(await echoes(await open(url))).toBe("ping?");
  });

  it("the WebSocket option makes server-side connections of that class", async () => {
    class Tagged extends WebSocket {
      get tag() {
        return "tagged";
      }
    }
    const { wss, url } = await serve({ WebSocket: Tagged });
    const connected = nextEvent(wss, "connection", DEADLINE_MS);
    await open(url);
    const [ws] = await connected;
    expect(ws).toBeInstanceOf(Tagged);
    expect((ws as Tagged).tag).toBe("tagged");
  });

  it("shouldHandle() checks the path, and a subclass may override it to route", async () => {
    const wss = new WebSocketServer({ noServer: true, path: "/ws" });
    const request = (url: string) => ({ url }) as http.IncomingMessage;
    expect([wss.shouldHandle(request("/ws?x=1")), wss.shouldHandle(request("/other"))]).toEqual([true, false]);
    class OnlyRooms extends WebSocketServer {
      override shouldHandle(req: http.IncomingMessage) {
        return req.url!.startsWith("/rooms/");
      }
    }
    const rooms = new OnlyRooms({ port: 0, host: "127.0.0.1" });
    servers.push(rooms);
    await nextEvent(rooms, "listening", DEADLINE_MS);
    const { port } = rooms.address() as net.AddressInfo;
    expect(statusOf(await rawRequest(port, requestHead("/lobby", upgradeHeaders())))).toBe(400);
    expect(statusOf(await rawRequest(port, requestHead("/rooms/1", upgradeHeaders()), 300))).toBe(101);
  });

  it("handshakeTimeout: 0 sets no handshake timer, as ws has none", async () => {
    const { url } = await serve({ handshakeTimeout: 0, authenticate: () => new Promise((resolve) => setTimeout(resolve, 100)) });
    expect(await open(url)).toBeInstanceOf(WebSocket);
    for (const handshakeTimeout of [Number.NaN, -1]) {
      expect(() => new WebSocketServer({ noServer: true, handshakeTimeout })).toThrow(/handshakeTimeout must be a number of ms \(0 or Infinity: none\)/);
    }
  });

  it("accepts Sec-WebSocket-Version 8, as ws does", async () => {
    const { port } = await serve();
    expect(statusOf(await rawRequest(port, requestHead("/", upgradeHeaders({ "Sec-WebSocket-Version": "8" })), 300))).toBe(101);
  });

  it("answers a plain HTTP request with 426 Upgrade Required", async () => {
    const { port } = await serve();
    const answer = await rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(statusOf(answer)).toBe(426);
    expect(answer.endsWith("\r\n\r\nUpgrade Required")).toBe(true);
  });

  it("handleUpgrade throws when handed the same socket twice (a misconfiguration, as ws says)", async () => {
    const wss = new WebSocketServer({ noServer: true });
    servers.push(wss);
    let thrown: unknown;
    const port = await httpServer((req, socket, head) => {
      wss.handleUpgrade(req, socket, head, () => {});
      try {
        wss.handleUpgrade(req, socket, head, () => {});
      } catch (error) {
        thrown = error;
      }
    });
    // The first call answered the handshake before the second one threw.
    await open(`ws://127.0.0.1:${port}`);
    expect(String(thrown)).toMatch(/called more than once with the same socket/);
  });
});

describe("handleUpgrade over a Duplex that is not a net.Socket", () => {
  it("completes the handshake and carries messages both ways", async () => {
    const wss = new WebSocketServer({ noServer: true });
    servers.push(wss);
    const port = await httpServer((req, socket, head) => {
      const [outer, inner] = duplexPair();
      socket.pipe(outer).pipe(socket);
      wss.handleUpgrade(req, inner, head, (ws) => ws.on("message", (data) => ws.send(`echo ${data}`)));
    });
    expect(await echoes(await open(`ws://127.0.0.1:${port}`))).toBe("echo ping?");
  });
});

describe("close(callback)", () => {
  it("calls back once closed, and with an error when the server was closed already (as ws)", async () => {
    const { wss } = await serve();
    const events: string[] = [];
    wss.on("close", () => events.push("close"));
    const first = new Promise<unknown>((resolve) => wss.close(resolve));
    expect(await withDeadline(first, DEADLINE_MS, "close's callback")).toBeUndefined();
    const second = new Promise<unknown>((resolve) => wss.close(resolve));
    expect(String(await withDeadline(second, DEADLINE_MS, "the second callback"))).toBe("Error: The server is not running");
    expect(events).toEqual(["close", "close"]);
  });

  it("takes its listeners off a server it was given, which goes on serving", async () => {
    const server = http.createServer((_req, res) => res.end("still here"));
    httpServers.push(server);
    const counts = () => ["upgrade", "listening", "error"].map((event) => server.listenerCount(event));
    const before = counts();
    const wss = new WebSocketServer({ server });
    expect(counts()).toEqual(before.map((n) => n + 1));
    await new Promise((resolve) => wss.close(resolve));
    expect(counts()).toEqual(before);
  });

  it("forwards a given server's 'listening' and 'error'", async () => {
    const server = http.createServer();
    httpServers.push(server);
    const wss = new WebSocketServer({ server });
    servers.push(wss);
    const listening = nextEvent(wss, "listening", DEADLINE_MS);
    server.listen(0, "127.0.0.1");
    await listening;
    const failed = nextEvent(wss, "error", DEADLINE_MS);
    server.emit("error", new Error("boom"));
    expect(String((await failed)[0])).toBe("Error: boom");
  });

  it("closeClients: false leaves open connections alone, and 'close' comes once they have closed (as ws)", async () => {
    const { wss, url } = await serve({ closeClients: false });
    const ws = await open(url);
    let closed = false;
    const closing = wss.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([closed, ws.readyState]).toEqual([false, WebSocket.OPEN]);
    ws.close();
    await withDeadline(closing, DEADLINE_MS, "the server to close");
  });
});

describe("the application's exceptions reach it, as in ws", () => {
  it("one thrown by a 'connection' callback leaves handleUpgrade; the connection stays open and counted", async () => {
    const wss = new WebSocketServer({ noServer: true, maxConnectionsPerIp: 1 });
    servers.push(wss);
    const caught: unknown[] = [];
    const port = await httpServer((req, socket, head) => {
      try {
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on("message", (data) => ws.send(`echo ${data}`));
          throw new Error("bug in the application");
        });
      } catch (error) {
        caught.push(error);
      }
    });
    const url = `ws://127.0.0.1:${port}`;
    const ws = await open(url);
    expect(caught.map(String)).toEqual(["Error: bug in the application"]);
    expect(await echoes(ws)).toBe("echo ping?");
    await expect(open(url)).rejects.toMatchObject({ statusCode: 429 });
    ws.close();
    await nextEvent(ws, "close", DEADLINE_MS);
    await open(url);
  });

  it("one thrown by verifyClient leaves handleUpgrade before anything is answered", async () => {
    const wss = new WebSocketServer({ noServer: true, verifyClient: () => { throw new Error("bug in verifyClient"); } });
    servers.push(wss);
    let caught: unknown;
    const port = await httpServer((req, socket, head) => {
      try {
        wss.handleUpgrade(req, socket, head, () => {});
      } catch (error) {
        caught = error;
        socket.destroy();
      }
    });
    expect(await rawRequest(port, requestHead("/", upgradeHeaders()))).toBe("");
    expect(String(caught)).toBe("Error: bug in verifyClient");
  });

  it("an authenticate refusal may carry headers", async () => {
    const { port } = await serve({ authenticate: () => { throw new AuthenticationError(401, "who are you?", { "WWW-Authenticate": "Bearer" }); } });
    const answer = await rawRequest(port, requestHead("/", upgradeHeaders()));
    expect(statusOf(answer)).toBe(401);
    expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/);
  });
});
