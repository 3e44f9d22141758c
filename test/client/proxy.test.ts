// Clients behind an HTTP CONNECT proxy: option, environment, NO_PROXY, refusal, wss inside.
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "../../src/index.js";
import { startServer } from "../support/net.js";
import { makeCertificate, type TestCertificate } from "../support/tls.js";

/** A CONNECT proxy on loopback that records the authorities it tunnels to. */
async function startProxy(requireAuth?: string) {
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (requireAuth && req.headers["proxy-authorization"] !== `Basic ${Buffer.from(requireAuth).toString("base64")}`) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    tunnels.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return { proxy, tunnels, url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
}

/** Closes a server and whatever sockets it still has (tunnels and upgraded sockets aren't requests). */
function closeServer(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

function echoOnce(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => ws.send(text));
    ws.once("message", (data) => {
      resolve(data.toString());
      ws.close();
    });
  });
}

let target: Awaited<ReturnType<typeof startServer>>;
let proxy: Awaited<ReturnType<typeof startProxy>>;
let cert: TestCertificate;
let tlsServer: https.Server;
let tlsWss: WebSocketServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  target = await startServer({});
  target.wss.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
  proxy = await startProxy();
  cert = makeCertificate();
  tlsServer = https.createServer({ cert: cert.cert, key: cert.key });
  tlsWss = new WebSocketServer({ server: tlsServer });
  tlsWss.on("connection", (ws) => ws.on("message", (d, b) => ws.send(d, { binary: b })));
  await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
});
afterEach(() => {
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"]) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
  proxy.tunnels.length = 0;
});
afterAll(async () => {
  await target.wss.close();
  await tlsWss.close();
  await closeServer(tlsServer);
  await closeServer(proxy.proxy);
  cert.remove();
});

describe("proxy", () => {
  it("tunnels ws:// through the proxy given as an option", async () => {
    expect(await echoOnce(new WebSocket(target.url, undefined, { proxy: proxy.url }), "via proxy")).toBe("via proxy");
    expect(proxy.tunnels).toEqual([`127.0.0.1:${target.port}`]);
  });

  it("takes HTTP_PROXY from the environment, and NO_PROXY bypasses it", async () => {
    process.env.HTTP_PROXY = proxy.url;
    expect(await echoOnce(new WebSocket(target.url), "env")).toBe("env");
    expect(proxy.tunnels).toHaveLength(1);
    process.env.NO_PROXY = "localhost,127.0.0.1";
    expect(await echoOnce(new WebSocket(target.url), "direct")).toBe("direct");
    expect(proxy.tunnels).toHaveLength(1);
  });

  it("runs TLS inside the tunnel for wss:// (HTTPS_PROXY)", async () => {
    process.env.HTTPS_PROXY = proxy.url;
    const port = (tlsServer.address() as AddressInfo).port;
    expect(await echoOnce(new WebSocket(`wss://127.0.0.1:${port}/`, undefined, { ca: cert.cert }), "secret")).toBe("secret");
    expect(proxy.tunnels).toEqual([`127.0.0.1:${port}`]);
  });

  it("a proxy that refuses is a HandshakeError with its status; credentials in the proxy URL are sent", async () => {
    const guarded = await startProxy("user:pa ss");
    try {
      const refused = await echoOnce(new WebSocket(target.url, undefined, { proxy: guarded.url }), "x").catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: "HandshakeError", statusCode: 407 });
      const withAuth = guarded.url.replace("http://", "http://user:pa%20ss@");
      expect(await echoOnce(new WebSocket(target.url, undefined, { proxy: withAuth }), "ok")).toBe("ok");
    } finally {
      await closeServer(guarded.proxy);
    }
  });
});
