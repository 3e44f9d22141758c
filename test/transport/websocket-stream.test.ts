// createWebSocketStream over our own server and client: bytes both ways, batching of corked
// writes, backpressure both ways, and how end, destroy and a closing peer map onto the stream.
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, type WebSocketServer } from "../../src/index.js";
import { createWebSocketStream } from "../../src/transport/websocket-stream.js";
import { nextEvent, sha256, withDeadline } from "../support/interop.js";
import { startServer } from "../support/net.js";
import { seededBytes } from "../support/seeded.js";

let wss: WebSocketServer;
let url: string;
beforeAll(async () => {
  ({ wss, url } = await startServer({ handleProtocols: (set) => (set.has("mqtt") ? "mqtt" : false) }));
});
afterAll(() => wss.close());

const open: WebSocket[] = [];
afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
  wss.removeAllListeners("connection");
});

/** A connected pair: our client and the server's side of the same connection. */
async function pair(): Promise<{ client: WebSocket; server: WebSocket }> {
  const accepted = nextEvent(wss, "connection");
  const client = new WebSocket(url, "mqtt");
  open.push(client);
  await nextEvent(client, "open");
  const [server] = (await accepted) as [WebSocket];
  open.push(server);
  return { client, server };
}

/** Reads `stream` until it has `size` bytes. */
async function readBytes(stream: Duplex, size: number, ms = 10_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const done = new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= size) {
        stream.off("data", onData);
        resolve(Buffer.concat(chunks));
      }
    };
    stream.on("data", onData);
    stream.once("error", reject);
  });
  return withDeadline(done, ms, () => `${size} bytes (got ${total})`);
}

/** Polls `condition` every few ms until it holds or `ms` pass. */
async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("createWebSocketStream", () => {
  it("carries bytes both ways; each write is one binary message", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server);
    const clientStream = createWebSocketStream(client);
    const messages: Array<[Buffer, boolean]> = [];
    server.on("message", (data, isBinary) => messages.push([data, isBinary]));

    clientStream.write(Buffer.from([0x10, 0x02]));
    clientStream.write(Buffer.from("abc"));
    expect((await readBytes(serverStream, 5)).toString("latin1")).toBe("\x10\x02abc");
    expect(messages.map(([d, b]) => [d.length, b])).toEqual([[2, true], [3, true]]);

    const big = seededBytes(1 << 20, 7);
    serverStream.write(big);
    expect(sha256(await readBytes(clientStream, big.length))).toBe(sha256(big));
  });

  it("sends corked writes as one message (writev)", async () => {
    const { client, server } = await pair();
    const clientStream = createWebSocketStream(client);
    const received = nextEvent(server, "message");
    clientStream.cork();
    clientStream.write(Buffer.from([0x30]));
    clientStream.write(Buffer.from([0x03]));
    clientStream.write(Buffer.from("a/b"));
    process.nextTick(() => clientStream.uncork());
    const [data, isBinary] = (await received) as [Buffer, boolean];
    expect(isBinary).toBe(true);
    expect(data.toString("latin1")).toBe("\x30\x03a/b");
  });

  it("reads text messages as their UTF-8 bytes", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server);
    client.send("héllo");
    expect((await readBytes(serverStream, 6)).toString("utf8")).toBe("héllo");
  });

  it("writes made while the client is CONNECTING go out once it opens", async () => {
    const accepted = nextEvent(wss, "connection");
    const client = new WebSocket(url, "mqtt");
    open.push(client);
    const clientStream = createWebSocketStream(client);
    clientStream.write(Buffer.from("early"));
    const [server] = (await accepted) as [WebSocket];
    open.push(server);
    const serverStream = createWebSocketStream(server);
    expect((await readBytes(serverStream, 5)).toString()).toBe("early");
  });

  it("end() flushes, then closes with 1000; the peer's stream ends and closes", async () => {
    const { client, server } = await pair();
    const clientStream = createWebSocketStream(client);
    const serverStream = createWebSocketStream(server);
    const serverClosed = nextEvent(server, "close");
    const data = readBytes(serverStream, 4);
    const ended = once(serverStream, "end");
    const streamClosed = once(serverStream, "close");
    const clientStreamClosed = once(clientStream, "close");
    clientStream.resume(); // 'end' (and so 'close') needs a reader, as with a net.Socket
    clientStream.end(Buffer.from("last"));
    expect((await data).toString()).toBe("last");
    const [code, , wasClean] = (await serverClosed) as [number, Buffer, boolean];
    expect([code, wasClean]).toEqual([1000, true]);
    await withDeadline(ended, 5000, "the server stream's 'end'");
    await withDeadline(streamClosed, 5000, "the server stream's 'close'");
    await withDeadline(clientStreamClosed, 5000, "the client stream's 'close'");
  });

  it("destroy() right after a write still delivers it, then closes with 1000 (a broker's refusing CONNACK)", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server);
    const clientStream = createWebSocketStream(client);
    const clientClosed = nextEvent(client, "close");
    const connack = readBytes(clientStream, 4);
    serverStream.write(Buffer.from([0x20, 0x02, 0x00, 0x05]));
    serverStream.destroy();
    expect([...(await connack)]).toEqual([0x20, 0x02, 0x00, 0x05]);
    const [code] = (await clientClosed) as [number];
    expect(code).toBe(1000);
  });

  it("destroy(error) drops the connection (the peer sees 1006)", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server);
    serverStream.on("error", () => {});
    const clientClosed = nextEvent(client, "close");
    serverStream.destroy(new Error("keepalive timeout"));
    const [code, , wasClean] = (await clientClosed) as [number, Buffer, boolean];
    expect([code, wasClean]).toEqual([1006, false]);
  });

  it("write backpressure: a peer that doesn't read holds data in the stream, not in the WebSocket", async () => {
    const { client, server } = await pair();
    server.socket!.pause();
    const clientStream = createWebSocketStream(client, { highWaterMark: 64 * 1024 });
    const chunk = seededBytes(64 * 1024, 3);
    const total = 256;
    let completed = 0;
    for (let i = 0; i < total; i++) clientStream.write(chunk, () => completed++);
    // The kernel's buffers fill up, then our WebSocket's: the write in progress waits.
    await until(() => client.bufferedAmount > clientStream.writableHighWaterMark, "the WebSocket's buffer to pass the high-water mark");
    expect(completed).toBeLessThan(total);
    expect(clientStream.writableLength).toBeGreaterThan(total * chunk.length / 2);
    expect(client.bufferedAmount).toBeLessThan(total * chunk.length / 4);

    const serverStream = createWebSocketStream(server);
    server.socket!.resume();
    const all = await readBytes(serverStream, total * chunk.length, 20_000);
    expect(all.length).toBe(total * chunk.length);
    expect(sha256(all.subarray(0, chunk.length))).toBe(sha256(chunk));
    expect(sha256(all.subarray(all.length - chunk.length))).toBe(sha256(chunk));
    await until(() => completed === total, "every write callback");
  });

  it("read backpressure: a reader that falls behind pauses the socket; reading resumes it", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server, { highWaterMark: 16 * 1024 });
    const chunk = seededBytes(32 * 1024, 5);
    const total = 64;
    for (let i = 0; i < total; i++) client.send(chunk);
    await until(() => server.socket!.isPaused(), "the server's socket to be paused");
    expect(serverStream.readableLength).toBeLessThan(total * chunk.length);
    const all = await readBytes(serverStream, total * chunk.length, 20_000);
    expect(all.length).toBe(total * chunk.length);
  });

  it("a peer's close ends the readable side and closes the stream", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server);
    serverStream.resume();
    const closed = once(serverStream, "close");
    const ended = once(serverStream, "end");
    client.close(1000);
    await withDeadline(ended, 5000, "'end'");
    await withDeadline(closed, 5000, "'close'");
    expect(serverStream.destroyed).toBe(true);
  });

  it("a write after the WebSocket closed fails with an error", async () => {
    const { client, server } = await pair();
    const clientStream = createWebSocketStream(client, { allowHalfOpen: true });
    const closed = nextEvent(client, "close");
    server.close(1000);
    await closed;
    const failed = once(clientStream, "error");
    clientStream.write(Buffer.from("too late"));
    const [error] = (await withDeadline(failed, 5000, "'error'")) as [Error];
    // ws's words, which code written against ws may match on.
    expect(error.message).toBe("WebSocket is not open: readyState 3 (CLOSED)");
    expect(clientStream.destroyed).toBe(true);
  });

  it("in readable object mode, reads one chunk per message: text as a string, binary as a Buffer", async () => {
    const { client, server } = await pair();
    const serverStream = createWebSocketStream(server, { readableObjectMode: true });
    const chunks: unknown[] = [];
    serverStream.on("data", (chunk) => chunks.push(chunk));
    client.send("héllo");
    client.send(Buffer.from([1, 2, 3]));
    client.send("wörld");
    await until(() => chunks.length === 3, "three chunks");
    expect(chunks).toEqual(["héllo", Buffer.from([1, 2, 3]), "wörld"]);
    // Writes stay bytes: each is one binary message.
    const received = nextEvent(client, "message");
    serverStream.write(Buffer.from("back"));
    const [data, isBinary] = (await received) as [Buffer, boolean];
    expect([data.toString(), isBinary]).toEqual(["back", true]);
  });

  it("once written to the end, reading to the end finds the stream destroyed in its 'end' listeners", async () => {
    const { client, server } = await pair();
    const clientStream = createWebSocketStream(client);
    const events: string[] = [];
    let destroyedAtEnd: boolean | undefined;
    clientStream.on("end", () => {
      events.push("end");
      destroyedAtEnd = clientStream.destroyed;
    });
    clientStream.on("finish", () => {
      events.push("finish");
      // Not read yet: the readable side is still there to read.
      expect([clientStream.destroyed, clientStream.readable]).toEqual([false, true]);
      clientStream.resume();
    });
    const closed = once(clientStream, "close");
    const clientClosed = nextEvent(client, "close");
    server.send("unread");
    server.close(1000);
    await clientClosed;
    clientStream.end();
    await withDeadline(closed, 5000, "'close'");
    expect(events).toEqual(["finish", "end"]);
    expect(destroyedAtEnd).toBe(true);
  });
});
