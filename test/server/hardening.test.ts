// Our server refuses abuse with the right status or close code, on loopback with raw sockets.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AuthenticationError, WebSocket, type WebSocketServer } from "../../src/index.js";
import { frame } from "../support/frames.js";
import { rawRequest, requestHead, startServer, statusOf, upgradeHeaders } from "../support/net.js";

const servers: WebSocketServer[] = [];
async function serve(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  servers.push(started.wss);
  started.wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  return started;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Opens a client and resolves once it is open, or rejects with its handshake error. */
function open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, undefined, { perMessageDeflate: false, ...options });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}
const closed = (ws: WebSocket) => new Promise<[number, string, boolean]>((resolve) => ws.once("close", (code, reason, clean) => resolve([code, reason.toString(), clean])));

describe("server hardening", () => {
  it("drops a client that sends its handshake too slowly (slowloris)", async () => {
    const { port } = await serve({ handshakeTimeout: 300 });
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {}); // the drip may hit the closed socket
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const timer = setInterval(() => socket.write("X-Drip: 1\r\n"), 50);
    await new Promise((resolve) => socket.on("close", resolve));
    clearInterval(timer);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("answers 431 to too many header fields, with a log line", async () => {
    const lines: string[] = [];
    const { port } = await serve({ maxHeaderCount: 20, log: (line) => lines.push(line) });
    const headers = upgradeHeaders(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`X-Pad-${i}`, "x"])));
    expect(statusOf(await rawRequest(port, requestHead("/", headers)))).toBe(431);
    expect(lines).toEqual([expect.stringMatching(/^refused 127\.0\.0\.1 GET \/: 431 /)]);
  });

  it("answers 400 with Sec-WebSocket-Version: 13, 8 to another version and 400 to another path (as ws), 403 to a foreign origin", async () => {
    const { port } = await serve({ path: "/ws", origins: ["https://dashboard.example"] });
    const version = await rawRequest(port, requestHead("/ws", upgradeHeaders({ "Sec-WebSocket-Version": "12" })));
    expect(statusOf(version)).toBe(400);
    expect(version).toMatch(/Sec-WebSocket-Version: 13, 8/i);
    expect(version.endsWith("\r\n\r\nMissing or invalid Sec-WebSocket-Version header")).toBe(true);
    expect(statusOf(await rawRequest(port, requestHead("/other", upgradeHeaders())))).toBe(400);
    expect(statusOf(await rawRequest(port, requestHead("/ws", upgradeHeaders({ Origin: "https://evil.example" }))))).toBe(403);
    expect(statusOf(await rawRequest(port, requestHead("/ws", upgradeHeaders({ Origin: "https://dashboard.example" })), 300))).toBe(101);
  });

  it("authenticate: an async check refuses with its status before the 101, and admits a good token", async () => {
    const { url } = await serve({
      authenticate: async (req) => {
        await new Promise((r) => setTimeout(r, 10));
        if (req.headers.authorization !== "Bearer good") throw new AuthenticationError(req.headers.authorization ? 403 : 401, "token required");
      },
    });
    await expect(open(url)).rejects.toMatchObject({ code: "WS_ERR_UNEXPECTED_STATUS", statusCode: 401 });
    await expect(open(url, { headers: { Authorization: "Bearer bad" } })).rejects.toMatchObject({ statusCode: 403, bodyExcerpt: expect.stringContaining("token required") });
    const ws = await open(url, { headers: { Authorization: "Bearer good" } });
    ws.close();
  });

  it("limits connections in total (503) and per IP (429)", async () => {
    const total = await serve({ maxConnections: 2 });
    const a = await open(total.url);
    const b = await open(total.url);
    await expect(open(total.url)).rejects.toMatchObject({ statusCode: 503 });
    a.close();
    await closed(a);
    const c = await open(total.url);
    const perIp = await serve({ maxConnectionsPerIp: 1 });
    const d = await open(perIp.url);
    await expect(open(perIp.url)).rejects.toMatchObject({ statusCode: 429 });
    for (const ws of [b, c, d]) ws.close();
  });

  it("closes with 1008 on a message flood and on a ping flood, with a log line for each", async () => {
    const lines: string[] = [];
    const { url } = await serve({ maxMessagesPerSecond: 50, maxControlFramesPerSecond: 10, log: (line) => lines.push(line) });
    const chatty = await open(url);
    const chattyClosed = closed(chatty);
    for (let i = 0; i < 200; i++) chatty.send(`m${i}`);
    expect((await chattyClosed)[0]).toBe(1008);
    const pinger = await open(url);
    const pingerClosed = closed(pinger);
    for (let i = 0; i < 50; i++) pinger.ping().catch(() => {});
    expect((await pingerClosed)[0]).toBe(1008);
    expect(lines).toEqual([expect.stringMatching(/: 1008 WS_ERR_MESSAGE_RATE: more than 50 messages per second$/), expect.stringMatching(/: 1008 WS_ERR_CONTROL_RATE: /)]);
  });

  it("refuses a flood of tiny fragments (1009), yet a 4 MiB message in 64-byte fragments arrives", async () => {
    const { url, wss } = await serve({ maxMessage: 8 << 20 });
    const ws = await open(url, { fragmentSize: 64 });
    const echoed = new Promise<Buffer>((resolve) => ws.once("message", (d: Buffer) => resolve(d)));
    const big = Buffer.alloc(4 << 20, 7);
    ws.send(big);
    expect((await echoed).equals(big)).toBe(true);
    ws.close();
    await wss.close();

    const strict = await serve({ maxFragments: 1000 });
    const socket = await rawUpgrade(strict.port);
    const flood = [frame({ opcode: 2, fin: false }), ...Array.from({ length: 2000 }, () => frame({ opcode: 0, fin: false }))];
    socket.write(Buffer.concat(flood));
    const reply = await readUntilClose(socket);
    // The server's close frame: 0x88, code 1009, and a reason that names the limit.
    expect(reply[0]).toBe(0x88);
    const length = reply[1]!;
    expect(reply.readUInt16BE(2)).toBe(1009);
    expect(reply.subarray(4, 2 + length).toString()).toMatch(/maxFragments \(1000\)/);
  });

  it("answers 405 to a CONNECT (Node would drop it unanswered)", async () => {
    const { port } = await serve();
    const answer = await rawRequest(port, "CONNECT /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(statusOf(answer)).toBe(405);
    expect(answer).toMatch(/Allow: GET/i);
  });

  it("with permessage-deflate, only compressed frames get zlib's allowance over maxPayload: an uncompressed one over it is 1009", async () => {
    const { port } = await serve({ perMessageDeflate: true, maxPayload: 4096 });
    const socket = await rawUpgrade(port, { "Sec-WebSocket-Extensions": "permessage-deflate" });
    socket.write(frame({ opcode: 2, payload: Buffer.alloc(4097, 1) }));
    const reply = await readUntilClose(socket);
    expect(reply[0]).toBe(0x88);
    expect(reply.readUInt16BE(2)).toBe(1009);
  });

  it("close(): every client gets 1001 and the server stops", async () => {
    const { url, wss } = await serve();
    const clients = await Promise.all([open(url), open(url), open(url)]);
    const codes = Promise.all(clients.map(closed));
    await wss.close();
    servers.splice(servers.indexOf(wss), 1);
    expect((await codes).map(([code, reason]) => [code, reason])).toEqual(Array(3).fill([1001, "server shutting down"]));
  });
});

/** A raw TCP client that completed the upgrade; returns the socket with the 101 consumed. */
async function rawUpgrade(port: number, headers: Record<string, string> = {}): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.write(requestHead("/", upgradeHeaders(headers)));
  await new Promise<void>((resolve) => {
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
  return socket;
}

function readUntilClose(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (d) => chunks.push(d));
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}
