// The client's handshake timeout covers everything up to `open` or a reported failure: a refusal
// whose body never completes, redirects, a proxy's tunnel and TLS inside it. Raw servers on
// loopback play the misbehaving peers.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadCoreSync } from "../../src/core/node.js";
import { connect as connectMqtt, type MqttClient } from "../../src/mqtt/index.js";
import { HandshakeError, WebSocket } from "../../src/index.js";
import { withDeadline } from "../support/interop.js";
import { startServer } from "../support/net.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 10_000);

/** A TCP server on loopback that runs `onSocket` for each connection; closed (sockets too) after the test. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/** Answers each request's head with `response` (then whatever `after` writes), and never closes. */
function answering(response: string, after?: (socket: net.Socket) => void): (socket: net.Socket) => void {
  return (socket) => {
    let head = "";
    const onData = (data: Buffer) => {
      head += data.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.write(response);
      after?.(socket);
    };
    socket.on("data", onData);
  };
}

interface Outcome {
  error?: Error;
  code?: number;
  opened: boolean;
  ms: number;
}

/** Opens a WebSocket and resolves when it closes: with its error, close code and time taken. */
function outcomeOf(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<Outcome> {
  const started = performance.now();
  const ws = new WebSocket(url, undefined, { perMessageDeflate: false, ...options });
  cleanups.push(() => ws.terminate());
  const outcome: Outcome = { opened: false, ms: 0 };
  ws.on("open", () => (outcome.opened = true));
  ws.on("error", (error) => (outcome.error = error));
  const closed = new Promise<Outcome>((resolve) => {
    ws.once("close", (code: number) => resolve({ ...outcome, code, ms: performance.now() - started }));
  });
  return withDeadline(closed, 8000, `the WebSocket to ${url} to close`);
}

describe("a refusal whose body never completes", () => {
  it.each([
    ["Content-Length: 100000 and 10 bytes sent", "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nno access!", undefined],
    [
      "a chunked body that never ends",
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
      (socket: net.Socket) => {
        // 10 bytes every 100 ms: 512 bytes would take 5 s.
        const timer = setInterval(() => socket.writable && socket.write("a\r\nno access!\r\n"), 100);
        socket.on("close", () => clearInterval(timer));
      },
    ],
  ])("%s: a HandshakeError with the status and what arrived, then 1006, promptly", async (_name, response, after) => {
    const port = await rawServer(answering(response, after));
    const outcome = await outcomeOf(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 5000 });
    expect(outcome.error).toBeInstanceOf(HandshakeError);
    expect(outcome.error).toMatchObject({ code: "WS_ERR_UNEXPECTED_STATUS", statusCode: 403, bodyExcerpt: expect.stringMatching(/^no access!/) });
    expect(outcome.code).toBe(1006);
    // A short wait for the body after the head (200 ms), not the 5 s handshake timeout.
    expect(outcome.ms).toBeLessThan(2000);
  });

  it("a refusal with a complete body is reported as soon as it has arrived", async () => {
    const port = await rawServer(answering("HTTP/1.1 401 Unauthorized\r\nContent-Length: 13\r\n\r\ntoken please!"));
    const outcome = await outcomeOf(`ws://127.0.0.1:${port}/`);
    expect(outcome.error).toMatchObject({ statusCode: 401, bodyExcerpt: "token please!" });
    expect(outcome.ms).toBeLessThan(1000);
  });

  it("the MQTT client is not stalled: it reports the refusal and goes on to reconnect", async () => {
    let connections = 0;
    const port = await rawServer((socket) => {
      connections++;
      answering("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\nbusy", undefined)(socket);
    });
    // connectTimeout (30 s by default) would otherwise be what ended each attempt.
    const client: MqttClient = connectMqtt(`ws://127.0.0.1:${port}/`, { reconnect: { initialDelay: 50, maxDelay: 50 } });
    cleanups.push(() => client.end(true));
    const errors: Error[] = [];
    client.on("error", (error) => errors.push(error));
    await withDeadline(new Promise<void>((resolve) => client.on("reconnect", () => resolve())), 3000, "the MQTT client to reconnect");
    expect(errors[0]).toMatchObject({ name: "HandshakeError", statusCode: 503 });
    expect(connections).toBeGreaterThanOrEqual(1);
  });
});

describe("one deadline for the whole handshake", () => {
  it("across redirects: a chain of slow redirects times out at handshakeTimeout, not per hop", async () => {
    let hops = 0;
    const server = http.createServer((_req, res) => {
      hops++;
      setTimeout(() => res.writeHead(302, { Location: `/hop${hops}` }).end(), 100);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => server.closeAllConnections());
    const port = (server.address() as AddressInfo).port;
    const outcome = await outcomeOf(`ws://127.0.0.1:${port}/`, { followRedirects: true, maxRedirects: 20, handshakeTimeout: 350 });
    expect(outcome.error).toMatchObject({ code: "WS_ERR_HANDSHAKE_TIMEOUT", message: "Opening handshake has timed out", detail: expect.stringMatching(/timed out after 350 ms waiting for the server's response/) });
    expect(hops).toBeLessThan(10);
  });

  it("a redirect to a Location that is not a WebSocket URL is a SyntaxError (as ws), not an exception", async () => {
    const port = await rawServer(answering("HTTP/1.1 301 Moved Permanently\r\nLocation: ftp://127.0.0.1/\r\nContent-Length: 0\r\n\r\n"));
    const outcome = await outcomeOf(`ws://127.0.0.1:${port}/`, { followRedirects: true });
    expect(outcome.error).toMatchObject({ name: "SyntaxError", code: "WS_ERR_INVALID_URL", detail: expect.stringContaining("ftp:") });
    expect(outcome.code).toBe(1006);
  });

  it("through a proxy whose tunnel leads to a server that never answers TLS", async () => {
    const silent = await rawServer(() => {});
    const proxyPort = await rawServer(answering("HTTP/1.1 200 Connection Established\r\n\r\n", (client) => {
      const upstream = net.connect(silent, "127.0.0.1");
      upstream.on("error", () => client.destroy());
      client.pipe(upstream).pipe(client);
    }));
    const outcome = await outcomeOf(`wss://127.0.0.1:${silent}/`, { proxy: `http://127.0.0.1:${proxyPort}`, handshakeTimeout: 300 });
    expect(outcome.error).toMatchObject({ code: "WS_ERR_HANDSHAKE_TIMEOUT", detail: expect.stringContaining("a tunnel from the proxy") });
    expect(outcome.ms).toBeLessThan(2000);
  });

  it("to a proxy that never answers CONNECT", async () => {
    const proxyPort = await rawServer(() => {});
    const outcome = await outcomeOf("ws://127.0.0.1:9/", { proxy: `http://127.0.0.1:${proxyPort}`, handshakeTimeout: 300 });
    expect(outcome.error).toMatchObject({ code: "WS_ERR_HANDSHAKE_TIMEOUT", detail: expect.stringContaining("a tunnel from the proxy") });
    expect(outcome.ms).toBeLessThan(2000);
  });

  it("directly to a server that never answers TLS", async () => {
    const silent = await rawServer(() => {});
    const outcome = await outcomeOf(`wss://127.0.0.1:${silent}/`, { handshakeTimeout: 300 });
    expect(outcome.error).toMatchObject({ code: "WS_ERR_HANDSHAKE_TIMEOUT" });
    expect(outcome.ms).toBeLessThan(2000);
  });
});

describe("the end of the handshake", () => {
  it("a full client core fails that handshake with a CoreError (1006), and the process goes on", async () => {
    const { wss, url } = await startServer({});
    cleanups.push(() => wss.close());
    const core = loadCoreSync({ maxConnections: 1 });
    const first = new WebSocket(url, undefined, { core });
    cleanups.push(() => first.terminate());
    await withDeadline(new Promise<void>((resolve) => first.once("open", () => resolve())), 3000, "the first client to open");
    const outcome = await outcomeOf(url, { core });
    expect(outcome.error).toMatchObject({ name: "CoreError", message: expect.stringContaining("all 1 connection slots of the client's core are in use") });
    expect(outcome).toMatchObject({ opened: false, code: 1006 });
  });
});
