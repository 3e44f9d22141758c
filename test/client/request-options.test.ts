// The client's handshake request takes ws's options and reports ws's events: Node's request
// options pass through (agent, auth, createConnection, TLS), finishRequest writes the request,
// Host/Origin headers and ws+unix: URLs work, 'upgrade' and 'unexpected-response' are emitted.
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer } from "ws";
import { WebSocket } from "../../src/index.js";
import { nextEvent } from "../support/interop.js";
import { makeCertificate, type TestCertificate } from "../support/tls.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let cert: TestCertificate;
beforeAll(() => {
  cert = makeCertificate();
});
afterAll(() => cert.remove());

/** A ws server on `server` that notes each upgrade request's headers and closes the connection. */
function recordUpgrades(wss: WsServer): IncomingHttpHeaders[] {
  const requests: IncomingHttpHeaders[] = [];
  wss.on("connection", (socket, request) => {
    requests.push(request.headers);
    socket.close();
  });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return requests;
}

async function plainTarget(): Promise<{ url: string; port: number; requests: IncomingHttpHeaders[] }> {
  const wss = new WsServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  const port = (wss.address() as AddressInfo).port;
  return { url: `ws://127.0.0.1:${port}/`, port, requests: recordUpgrades(wss) };
}

const NO_DEFLATE = { perMessageDeflate: false } as const;

describe("the handshake request", () => {
  it("goes through the caller's agent", async () => {
    const target = await plainTarget();
    const agent = new http.Agent();
    let used = 0;
    const original = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof original>) => {
      used++;
      return original(...args);
    }) as typeof agent.createConnection;
    cleanups.push(() => agent.destroy());
    await nextEvent(new WebSocket(target.url, { ...NO_DEFLATE, agent }), "open", 5000);
    expect(used).toBe(1);
  });

  it("connects with the caller's createConnection", async () => {
    const target = await plainTarget();
    const made: string[] = [];
    const createConnection = (options: http.ClientRequestArgs) => {
      made.push(`${options.host}:${options.port}`);
      return net.connect(options as net.NetConnectOpts);
    };
    await nextEvent(new WebSocket(target.url, { ...NO_DEFLATE, createConnection }), "open", 5000);
    expect(made).toEqual([`127.0.0.1:${target.port}`]);
  });

  it("sends Basic credentials from the auth option", async () => {
    const target = await plainTarget();
    await nextEvent(new WebSocket(target.url, { ...NO_DEFLATE, auth: "user:pa55" }), "open", 5000);
    expect(target.requests[0]!.authorization).toBe(`Basic ${Buffer.from("user:pa55").toString("base64")}`);
  });

  it("lets finishRequest add to the request before ending it", async () => {
    const target = await plainTarget();
    const finishRequest = (request: http.ClientRequest, ws: WebSocket) => {
      request.setHeader("X-Finished-By", ws instanceof WebSocket ? "the caller" : "?");
      request.end();
    };
    await nextEvent(new WebSocket(target.url, { ...NO_DEFLATE, finishRequest }), "open", 5000);
    expect(target.requests[0]!["x-finished-by"]).toBe("the caller");
  });

  it("sends the caller's Host and Origin headers", async () => {
    const target = await plainTarget();
    await nextEvent(new WebSocket(target.url, { ...NO_DEFLATE, headers: { Host: "gateway.example", Origin: "https://panel.example" } }), "open", 5000);
    expect(target.requests[0]).toMatchObject({ host: "gateway.example", origin: "https://panel.example" });
  });

  it("takes protocols and options together: new WebSocket(url, protocols, options)", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", handleProtocols: (offered) => [...offered][1] ?? false });
    await new Promise((resolve) => wss.once("listening", resolve));
    recordUpgrades(wss);
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, ["a", "b"], NO_DEFLATE);
    await nextEvent(ws, "open", 5000);
    expect(ws.protocol).toBe("b");
    expect(ws.url).toBe(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
  });

  it("passes TLS options to tls.connect (checkServerIdentity, servername, ca)", async () => {
    const server = https.createServer({ cert: cert.cert, key: cert.key });
    const requests = recordUpgrades(new WsServer({ server }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const checked: string[] = [];
    const ws = new WebSocket(`wss://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      ...NO_DEFLATE,
      ca: cert.cert,
      servername: "localhost",
      checkServerIdentity: (host) => void checked.push(host),
    });
    await nextEvent(ws, "open", 5000);
    expect(checked).toEqual(["localhost"]);
    expect(requests).toHaveLength(1);
  });

  it("reaches a server on a Unix domain socket through a ws+unix: URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgews-unix-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = http.createServer();
    const wss = new WsServer({ server });
    const paths: string[] = [];
    wss.on("connection", (socket, request) => {
      paths.push(request.url!);
      socket.close();
    });
    const socketPath = join(dir, "edge.sock");
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await nextEvent(new WebSocket(`ws+unix:${socketPath}:/chat?room=1`, NO_DEFLATE), "open", 5000);
    expect(paths).toEqual(["/chat?room=1"]);
  });
});

describe("handshakeTimeout", () => {
  it.each([0, Infinity])("%s sets no limit, as ws's default (a late 101 still opens)", async (handshakeTimeout) => {
    const wss = new WsServer({ noServer: true });
    const server = http.createServer();
    // Answers after 300 ms: a 0 ms timer would have failed it long before.
    server.on("upgrade", (request, socket, head) => setTimeout(() => wss.handleUpgrade(request, socket, head, (peer) => peer.close()), 300));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { ...NO_DEFLATE, handshakeTimeout });
    const errors: Error[] = [];
    ws.on("error", (error) => errors.push(error));
    await nextEvent(ws, "open", 5000);
    expect(errors).toEqual([]);
  });
});

describe("the handshake's events", () => {
  it("emits 'upgrade' with the 101 response before 'open'", async () => {
    const target = await plainTarget();
    const ws = new WebSocket(target.url, NO_DEFLATE);
    const events: string[] = [];
    ws.on("upgrade", (response) => events.push(`upgrade ${response.statusCode}`));
    ws.on("open", () => events.push("open"));
    await nextEvent(ws, "open", 5000);
    expect(events).toEqual(["upgrade 101", "open"]);
  });

  it("hands an unexpected response to an 'unexpected-response' listener to read, without an error", async () => {
    const server = http.createServer();
    server.on("upgrade", (_request, socket) => socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\nsorry."));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, NO_DEFLATE);
    const errors: Error[] = [];
    ws.on("error", (error) => errors.push(error));
    const [request, response] = (await nextEvent(ws, "unexpected-response", 5000)) as [http.ClientRequest, http.IncomingMessage];
    let body = "";
    for await (const chunk of response) body += String(chunk);
    expect([response.statusCode, body, typeof request.destroy]).toEqual([401, "sorry.", "function"]);
    expect(errors).toEqual([]);
    ws.terminate();
    expect((await nextEvent(ws, "close", 5000))[0]).toBe(1006);
  });
});
