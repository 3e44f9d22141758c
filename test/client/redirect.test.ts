// followRedirects as ws does it: credentials never follow the client to another host, a bad
// Location is reported as an error (never thrown out of an event handler), and the WebSocket's
// url, 'redirect' event and request follow the redirect.
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer } from "ws";
import { HandshakeError, HandshakeSyntaxError, WebSocket } from "../../src/index.js";
import { nextEvent } from "../support/interop.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A ws server on 127.0.0.1 that notes each upgrade request's headers. */
async function recordingTarget(): Promise<{ port: number; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const wss = new WsServer({ port: 0, host: "127.0.0.1" });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", (socket, request) => {
    requests.push(request.headers);
    socket.close();
  });
  cleanups.push(() => new Promise((resolve) => wss.close(() => resolve())));
  return { port: (wss.address() as AddressInfo).port, requests };
}

/** An HTTP server on 127.0.0.1 that answers every upgrade with a 302 to `location` (given its port). */
async function redirector(location: (port: number) => string): Promise<{ port: number; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = http.createServer();
  server.on("upgrade", (request, socket) => {
    requests.push(request.headers);
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location(port)}\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { port, requests };
}

const CREDENTIALS = { Authorization: "Bearer secret", Cookie: "session=secret", "Proxy-Authorization": "Basic c2VjcmV0", "X-Trace": "kept" };

function openOrFail(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => {
    ws.on("open", () => resolve("open"));
    ws.on("error", (error) => resolve(`error: ${error.message}`));
  });
}

describe("a client following redirects", () => {
  it("leaves Authorization, Cookie, Proxy-Authorization and the URL's credentials behind on a change of host", async () => {
    const target = await recordingTarget();
    // Another port is another host (as ws compares them: host and port).
    const first = await redirector(() => `ws://127.0.0.1:${target.port}/next`);
    const ws = new WebSocket(`ws://user:pass@127.0.0.1:${first.port}/`, { followRedirects: true, headers: CREDENTIALS, perMessageDeflate: false });
    expect(await openOrFail(ws)).toBe("open");
    expect(first.requests[0]).toMatchObject({ authorization: "Bearer secret", cookie: "session=secret" });
    const forwarded = target.requests[0]!;
    expect(forwarded.authorization).toBeUndefined();
    expect(forwarded.cookie).toBeUndefined();
    expect(forwarded["proxy-authorization"]).toBeUndefined();
    expect(forwarded["x-trace"]).toBe("kept");
    expect(ws.url).toBe(`ws://127.0.0.1:${target.port}/next`);
  });

  it("does not forward credentials given in the Location either", async () => {
    const target = await recordingTarget();
    const first = await redirector(() => `ws://someone:else@127.0.0.1:${target.port}/`);
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/`, { followRedirects: true, perMessageDeflate: false });
    expect(await openOrFail(ws)).toBe("open");
    expect(target.requests[0]!.authorization).toBeUndefined();
  });

  it("keeps the caller's headers on a redirect to the same host and port", async () => {
    let hops = 0;
    const requests: IncomingHttpHeaders[] = [];
    const wss = new WsServer({ noServer: true });
    const server = http.createServer();
    server.on("upgrade", (request, socket, head) => {
      requests.push(request.headers);
      if (hops++ === 0) return void socket.end("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n");
      wss.handleUpgrade(request, socket, head, (peer) => peer.close());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { followRedirects: true, headers: CREDENTIALS, perMessageDeflate: false });
    expect(await openOrFail(ws)).toBe("open");
    expect(requests[1]).toMatchObject({ authorization: "Bearer secret", cookie: "session=secret" });
    expect(ws.redirects).toBe(1);
  });

  it("counts the redirects it follows, and the one over maxRedirects that it refuses with ws's message", async () => {
    const loop = await redirector((port) => `ws://127.0.0.1:${port}/again`);
    const ws = new WebSocket(`ws://127.0.0.1:${loop.port}/`, { followRedirects: true, maxRedirects: 2 });
    expect(ws.redirects).toBe(0);
    const [error] = (await nextEvent(ws, "error", 5000)) as [HandshakeError];
    expect(error.message).toBe("Maximum redirects exceeded");
    expect(error.detail).toMatch(/^Too many redirects \(more than 2\) from ws:\/\/127\.0\.0\.1:\d+\/again$/);
    expect(ws.redirects).toBe(3);
    expect(loop.requests).toHaveLength(3);
  });

  it("does not count a redirect it does not follow (followRedirects off): ws's message, the hint in `detail`", async () => {
    const first = await redirector(() => "/elsewhere");
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/`);
    const [error] = (await nextEvent(ws, "error", 5000)) as [HandshakeError];
    expect(error).toMatchObject({ message: "Unexpected server response: 302", code: "WS_ERR_UNEXPECTED_STATUS", statusCode: 302 });
    expect(error.detail).toMatch(/redirects to "\/elsewhere"; redirects are not followed/);
    expect(ws.redirects).toBe(0);
  });

  it("with a 'redirect' listener, hands it the new URL and request and leaves the headers to it (as ws)", async () => {
    const target = await recordingTarget();
    const first = await redirector(() => `ws://127.0.0.1:${target.port}/next`);
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/`, { followRedirects: true, headers: CREDENTIALS, perMessageDeflate: false });
    const seen: string[] = [];
    ws.on("redirect", (url, request) => {
      seen.push(url, ws.url, typeof request.setHeader);
      request.removeHeader("Cookie");
    });
    expect(await openOrFail(ws)).toBe("open");
    const next = `ws://127.0.0.1:${target.port}/next`;
    expect(seen).toEqual([next, next, "function"]);
    expect(target.requests[0]!.authorization).toBe("Bearer secret");
    expect(target.requests[0]!.cookie).toBeUndefined();
  });

  it.each([
    ["an empty ws:// URL", "ws://", /Invalid URL "ws:\/\/"/, "Invalid URL: ws://"],
    ["an unknown scheme", "bad-scheme://localhost/", /scheme must be ws:/, 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"'],
    ["a URL with a fragment", "ws://localhost/#top", /fragment identifier/, "The URL contains a fragment identifier"],
  ])("reports a Location of %s as a SyntaxError (ws's message) and a close (1006), never as an exception", async (_name, location, detail, wsMessage) => {
    const first = await redirector(() => location);
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/`, { followRedirects: true });
    const closed = nextEvent(ws, "close", 5000);
    const [error] = (await nextEvent(ws, "error", 5000)) as [HandshakeSyntaxError];
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error.message).toBe(wsMessage);
    expect(error.detail).toMatch(detail);
    expect(ws.redirects).toBe(1);
    expect((await closed)[0]).toBe(1006);
  });
});
