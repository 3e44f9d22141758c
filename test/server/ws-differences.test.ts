// Where the server differs from ws on purpose, the option that restores ws's behaviour (the
// README's "Differences from ws"), and the public state that ws keeps private (`_server`,
// `_state`) and its users read. On loopback: our client, raw sockets, Node's HTTP server.
import http from "node:http";
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer, type WebSocketServerOptions } from "../../src/index.js";
import { nextEvent } from "../support/interop.js";
import { rawRequest, requestHead, startServer, statusOf, upgradeHeaders } from "../support/net.js";

const servers: WebSocketServer[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((wss) => (wss.state === "running" ? wss.close() : undefined)));
});

/** A server on a free port with `options` as they are (no host of ours), once it listens. */
async function listening(options: Omit<WebSocketServerOptions, "port">): Promise<WebSocketServer> {
  const wss = await new Promise<WebSocketServer>((resolve, reject) => {
    const server: WebSocketServer = new WebSocketServer({ ...options, port: 0 }, () => resolve(server));
    server.once("error", reject);
  });
  servers.push(wss);
  return wss;
}

async function opens(url: string): Promise<void> {
  const ws = new WebSocket(url);
  clients.push(ws);
  await nextEvent(ws, "open", 3000);
}

describe("the address a port server listens on", () => {
  it("is 127.0.0.1 by default", async () => {
    const wss = await listening({});
    expect((wss.address() as net.AddressInfo).address).toBe("127.0.0.1");
  });

  it("host: null listens on every address, as ws (:: where IPv6 is available, else 0.0.0.0)", async () => {
    const wss = await listening({ host: null });
    const { address, port } = wss.address() as net.AddressInfo;
    expect(["::", "0.0.0.0"]).toContain(address);
    await opens(`ws://127.0.0.1:${port}`);
  });
});

describe("an invalid permessage-deflate offer", () => {
  const offer = (extensions: string) => requestHead("/", upgradeHeaders({ "Sec-WebSocket-Extensions": extensions }));
  const invalid = ["permessage-deflate; server_max_window_bits=foo", "permessage-deflate; x_unknown", "permessage-deflate; server_no_context_takeover; server_no_context_takeover"];

  it("is declined by default: 101 without compression (RFC 7692 §5)", async () => {
    const { wss, port } = await startServer({ perMessageDeflate: true });
    servers.push(wss);
    for (const extensions of invalid) {
      const response = await rawRequest(port, offer(extensions), 300);
      expect(statusOf(response)).toBe(101);
      expect(response).not.toMatch(/sec-websocket-extensions/i);
    }
  });

  it("refuseInvalidDeflateOffers: answers 400 with ws's body, even with a valid offer after it (as ws)", async () => {
    const { wss, port } = await startServer({ perMessageDeflate: true, refuseInvalidDeflateOffers: true });
    servers.push(wss);
    const refused: string[] = [];
    wss.on("refused", (_req, status, reason) => refused.push(`${status} ${reason}`));
    for (const extensions of [...invalid, `${invalid[0]}, permessage-deflate`]) {
      const response = await rawRequest(port, offer(extensions));
      expect(statusOf(response)).toBe(400);
      expect(response.endsWith("\r\n\r\nInvalid or unacceptable Sec-WebSocket-Extensions header")).toBe(true);
    }
    // The log and the event name the problem.
    expect(refused[0]).toMatch(/^400 .*server_max_window_bits/);
    // A valid offer is still accepted.
    const accepted = await rawRequest(port, offer("permessage-deflate; client_max_window_bits"), 300);
    expect(statusOf(accepted)).toBe(101);
    expect(accepted).toMatch(/Sec-WebSocket-Extensions: permessage-deflate/i);
  });

  it("refuseInvalidDeflateOffers without perMessageDeflate leaves the offer alone, as ws does", async () => {
    const { wss, port } = await startServer({ refuseInvalidDeflateOffers: true });
    servers.push(wss);
    expect(statusOf(await rawRequest(port, offer(invalid[0]!), 300))).toBe(101);
  });
});

describe("what ws keeps private and its users read", () => {
  it("httpServer: the server's own, or the one given; undefined with noServer and from close()", async () => {
    const wss = await listening({});
    const own = wss.httpServer!;
    expect(own).toBeInstanceOf(http.Server);
    expect(own.address()).toEqual(wss.address());
    const events: string[] = [];
    own.on("close", () => events.push("http close"));
    wss.on("close", () => events.push("close"));
    const closed = wss.close();
    expect(wss.httpServer).toBeUndefined();
    await closed;
    expect(events).toEqual(["http close", "close"]);

    const given = http.createServer();
    const attached = new WebSocketServer({ server: given });
    expect(attached.httpServer).toBe(given);
    await attached.close();
    expect(new WebSocketServer({ noServer: true }).httpServer).toBeUndefined();
  });

  it("state: running, closing from close() until 'close', then closed", async () => {
    const wss = await listening({});
    expect(wss.state).toBe("running");
    let stateAtClose: string | undefined;
    wss.on("close", () => (stateAtClose = wss.state));
    const closed = wss.close();
    expect(wss.state).toBe("closing");
    await closed;
    expect(stateAtClose).toBe("closed");
    expect(wss.state).toBe("closed");
  });

  it("handleUpgrade once close() has begun answers 503 (ws's `_state` check)", async () => {
    const wss = new WebSocketServer({ noServer: true });
    const server = http.createServer();
    server.on("upgrade", (req, socket, head) => {
      void wss.close();
      wss.handleUpgrade(req, socket, head, () => expect.unreachable("a connection from a closing server"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      expect(statusOf(await rawRequest(port, requestHead("/", upgradeHeaders())))).toBe(503);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
