// The WebSocket takes ws's calls with ws's results, against a real ws peer: what send/ping/pong
// put on the wire for numbers, Blobs and nothing; their callbacks; sends once closed; fragments
// (fin: false, binaryType "fragments"); a ping nobody awaits; a listener that throws.
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer as WsServer, type WebSocket as WsPeer } from "ws";
import { ControlPayloadTooLongError, InvalidStateError, WebSocket, type BinaryType } from "../../src/index.js";
import { nextEvent, withDeadline } from "../support/interop.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Frame {
  kind: "message" | "ping" | "pong";
  data: string;
  isBinary?: boolean;
}

/** A ws server on 127.0.0.1; resolves with our open client, the server's side of it, and what the server got. */
async function connected(serverOptions: { autoPong?: boolean } = {}): Promise<{ ws: WebSocket; peer: WsPeer; frames: Frame[] }> {
  const wss = new WsServer({ port: 0, host: "127.0.0.1", ...serverOptions });
  await new Promise((resolve) => wss.once("listening", resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close(() => resolve());
  }));
  const frames: Frame[] = [];
  const peerReady = new Promise<WsPeer>((resolve) => wss.once("connection", resolve));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  cleanups.push(() => ws.terminate());
  await nextEvent(ws, "open", 5000);
  const peer = await peerReady;
  peer.on("message", (data, isBinary) => frames.push({ kind: "message", data: String(data), isBinary }));
  peer.on("ping", (data) => frames.push({ kind: "ping", data: String(data) }));
  peer.on("pong", (data) => frames.push({ kind: "pong", data: String(data) }));
  return { ws, peer, frames };
}

function arrived(frames: Frame[], count: number): Promise<Frame[]> {
  return withDeadline((async () => {
    while (frames.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    return frames;
  })(), 5000, `${count} frames at the peer`);
}

describe("send, ping and pong with ws's arguments", () => {
  it("sends a number as text, nothing as an empty binary message, a Blob with its bytes in order", async () => {
    const { ws, frames } = await connected();
    ws.send(42);
    ws.send(undefined);
    ws.send(new Blob(["from a blob"]));
    ws.send("after the blob");
    expect(await arrived(frames, 4)).toEqual([
      { kind: "message", data: "42", isBinary: false },
      { kind: "message", data: "", isBinary: true },
      { kind: "message", data: "from a blob", isBinary: true },
      { kind: "message", data: "after the blob", isBinary: false },
    ]);
  });

  it("pings and pongs with a number as its text, and no data as an empty payload", async () => {
    const { ws, frames } = await connected();
    void ws.ping(42);
    void ws.ping();
    ws.pong(7);
    expect(await arrived(frames, 3)).toEqual([
      { kind: "ping", data: "42" },
      { kind: "ping", data: "" },
      { kind: "pong", data: "7" },
    ]);
  });

  it("calls back once send, ping and pong are written, in the positions ws takes the callback", async () => {
    const { ws } = await connected();
    const done: string[] = [];
    const note = (what: string) => (error?: Error) => done.push(`${what}${error ? `: ${error.message}` : ""}`);
    ws.send("a", note("send(data, cb)"));
    ws.send("b", { binary: true }, note("send(data, options, cb)"));
    void ws.ping(note("ping(cb)"));
    void ws.ping("p", note("ping(data, cb)"));
    ws.pong("q", true, note("pong(data, mask, cb)"));
    await withDeadline((async () => {
      while (done.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    })(), 5000, "the callbacks");
    expect(done).toEqual(["send(data, cb)", "send(data, options, cb)", "ping(cb)", "ping(data, cb)", "pong(data, mask, cb)"]);
  });

  it("once closing, reports a send to its callback instead of throwing, and counts its bytes in bufferedAmount", async () => {
    const { ws } = await connected();
    ws.close();
    const errors: string[] = [];
    expect(() => ws.send("too late", (error) => errors.push(error!.message))).not.toThrow();
    expect(() => ws.ping(undefined, undefined, (error) => errors.push(error!.message))).not.toThrow();
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual("too late".length);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual(["WebSocket is not open: readyState 2 (CLOSING)", "WebSocket is not open: readyState 2 (CLOSING)"]);
  });

  it("throws while CONNECTING, as ws does: an Error in ws's words (an InvalidStateError by class and code)", () => {
    const ws = new WebSocket("ws://127.0.0.1:1/", { perMessageDeflate: false });
    ws.on("error", () => {});
    for (const call of [() => ws.send("x"), () => ws.ping(), () => ws.pong()]) {
      const error = thrown(call);
      expect(String(error)).toBe("Error: WebSocket is not open: readyState 0 (CONNECTING)");
      expect(error).toBeInstanceOf(InvalidStateError);
      expect(error).toMatchObject({ code: "WS_ERR_INVALID_STATE" });
    }
    ws.terminate();
  });

  it("refuses a ping or pong of more than 125 bytes with ws's RangeError, saying which in `detail`", async () => {
    const { ws } = await connected();
    for (const [call, kind] of [[() => ws.ping("x".repeat(126)), "ping"], [() => ws.pong(Buffer.alloc(200)), "pong"]] as const) {
      const error = thrown(call);
      expect(String(error)).toBe("RangeError: The data size must not be greater than 125 bytes");
      expect(error).toBeInstanceOf(ControlPayloadTooLongError);
      expect(error).toMatchObject({ code: "WS_ERR_CONTROL_PAYLOAD_TOO_LONG", detail: expect.stringMatching(new RegExp(`^a ${kind} carries at most 125 bytes, got (126|200)$`)) });
    }
  });

  it("a null subprotocol is a bad one (ws's SyntaxError), not an empty options object", () => {
    const error = thrown(() => new WebSocket("ws://127.0.0.1:1/", null as never));
    expect(error).toBeInstanceOf(SyntaxError);
    expect(String(error)).toBe("SyntaxError: An invalid or duplicated subprotocol was specified");
  });

  it("a ping nobody awaits, whose peer goes before the pong, rejects nothing unhandled", async () => {
    const { ws, peer } = await connected({ autoPong: false });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    cleanups.push(() => void process.off("unhandledRejection", onUnhandled));
    peer.on("ping", () => peer.terminate());
    ws.ping("are you there");
    await nextEvent(ws, "close", 5000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(unhandled).toEqual([]);
  });

  it("awaited, the same ping rejects when the connection closes first", async () => {
    const { ws, peer } = await connected({ autoPong: false });
    peer.on("ping", () => peer.terminate());
    await expect(ws.ping("are you there")).rejects.toThrow(/closed \(1006\) before the pong/);
  });
});

function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

describe("terminate(), as ws's", () => {
  it("is CLOSING at once; a send still being compressed hears so in ws's words before 'close'", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await new Promise((resolve) => wss.once("listening", resolve));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: { threshold: 0 } });
    await nextEvent(ws, "open", 5000);
    const heard: string[] = [];
    const note = (error?: Error) => heard.push(`callback in state ${ws.readyState}: ${error?.message}`);
    ws.send("hi", note);
    ws.send("there", note); // the same callback for two sends: called for each
    ws.on("close", () => heard.push("close"));
    ws.terminate();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    await nextEvent(ws, "close", 5000);
    const compressing = "callback in state 2: The socket was closed while data was being compressed";
    expect(heard).toEqual([compressing, compressing, "close"]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("while a Blob is read: its callback and those queued behind it hear ws's words, nothing is sent", async () => {
    const { ws, peer, frames } = await connected();
    const heard: string[] = [];
    const note = (what: string) => (error?: Error) => heard.push(`${what} in state ${ws.readyState}: ${error?.message}`);
    ws.send(new Blob(["foo"]), note("blob"));
    ws.send("bar");
    ws.send("baz", note("baz"));
    const closed = [nextEvent(peer, "close", 5000), nextEvent(ws, "close", 5000)];
    ws.terminate();
    await Promise.all(closed);
    expect(heard).toEqual([
      "blob in state 2: The socket was closed while the blob was being read",
      "baz in state 2: The socket was closed while the blob was being read",
    ]);
    expect(frames).toEqual([]);
  });
});

describe("perMessageDeflate.threshold, as ws's", () => {
  it("compresses from that size: a 3-byte message waits for zlib (counted in bufferedAmount), and arrives", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await new Promise((resolve) => wss.once("listening", resolve));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const received = new Promise<string>((resolve) => wss.on("connection", (peer) => peer.on("message", (data) => resolve(String(data)))));
    const port = (wss.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 0 } });
    cleanups.push(() => ws.terminate());
    await nextEvent(ws, "open", 5000);
    ws.send("foo");
    expect(ws.bufferedAmount).toBe(3);
    expect(await withDeadline(received, 5000, "the message")).toBe("foo");
  });

  it("a message still being compressed when close() is called goes out before the close frame", async () => {
    const wss = new WsServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await new Promise((resolve) => wss.once("listening", resolve));
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const received: string[] = [];
    const closed = new Promise<number>((resolve) => wss.on("connection", (peer) => {
      peer.on("message", (data) => received.push(String(data)));
      peer.on("close", resolve);
    }));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: { threshold: 0 } });
    cleanups.push(() => ws.terminate());
    await nextEvent(ws, "open", 5000);
    ws.send("last words");
    ws.ping("and a ping");
    ws.close(1000);
    expect(await withDeadline(closed, 5000, "the peer's close")).toBe(1000);
    expect(received).toEqual(["last words"]);
  });
});

describe("fragments", () => {
  it("sends a message in parts with fin: false, the peer receiving one message", async () => {
    const { ws, frames } = await connected();
    ws.send("one ", { fin: false });
    ws.send("two ", { fin: false });
    ws.send("three");
    ws.send(Buffer.from("next"), { fin: false });
    ws.send(Buffer.from(" message"));
    expect(await arrived(frames, 2)).toEqual([
      { kind: "message", data: "one two three", isBinary: false },
      { kind: "message", data: "next message", isBinary: true },
    ]);
  });

  it.each<[BinaryType, (data: unknown) => unknown]>([
    ["fragments", (data) => (data as Buffer[]).map(String)],
    ["arraybuffer", (data) => Buffer.from(data as ArrayBuffer).toString()],
    ["nodebuffer", (data) => String(data)],
  ])("gives 'message' listeners a binary message as binaryType %s says, text as a Buffer", async (binaryType, read) => {
    const { ws, peer } = await connected();
    ws.binaryType = binaryType;
    const got: unknown[] = [];
    ws.on("message", (data, isBinary) => got.push(isBinary ? read(data) : Buffer.isBuffer(data) && String(data)));
    peer.send(Buffer.from("bytes"));
    peer.send("text");
    await withDeadline((async () => {
      while (got.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    })(), 5000, "two messages");
    expect(got).toEqual([binaryType === "fragments" ? ["bytes"] : "bytes", "text"]);
  });
});

/** Takes the process's uncaught exceptions (instead of the test runner) until the test ends. */
function captureUncaught(): Error[] {
  const saved = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  const thrown: Error[] = [];
  process.on("uncaughtException", (error) => thrown.push(error));
  cleanups.push(() => {
    process.removeAllListeners("uncaughtException");
    for (const listener of saved) process.on("uncaughtException", listener);
  });
  return thrown;
}

function firstOf(thrown: Error[]): Promise<Error> {
  return withDeadline((async () => {
    while (thrown.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return thrown[0]!;
  })(), 5000, "the uncaught exception");
}

describe("a listener that throws", () => {
  it("an 'error' listener of a refused handshake: thrown out of the event loop, not an unhandled rejection", async () => {
    const server = http.createServer();
    server.on("upgrade", (_request, socket) => socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const thrown = captureUncaught();
    const bug = new Error("a bug in the error listener");
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { perMessageDeflate: false });
    ws.on("error", () => {
      throw bug;
    });
    expect(await firstOf(thrown)).toBe(bug);
  });

  it("throws out of the event loop as with ws; the connection stays open (no 1011)", async () => {
    const { ws, peer } = await connected();
    const thrown = captureUncaught();
    const bug = new Error("a bug in the application");
    ws.once("message", () => {
      throw bug;
    });
    peer.send("first");
    expect(await firstOf(thrown)).toBe(bug);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    const [next] = await Promise.all([nextEvent(ws, "message", 5000), peer.send("second")]);
    expect(String(next[0])).toBe("second");
  });
});

describe("the class's shape, as ws's", () => {
  it("has fixed, enumerable constants and enumerable attributes; an unknown binaryType is ignored", () => {
    expect(Object.getOwnPropertyDescriptor(WebSocket, "OPEN")).toEqual({ value: 1, enumerable: true, writable: false, configurable: false });
    for (const name of ["binaryType", "bufferedAmount", "extensions", "isPaused", "protocol", "readyState", "url", "onopen", "onmessage", "onclose", "onerror"]) {
      expect(Object.getOwnPropertyDescriptor(WebSocket.prototype, name), name).toMatchObject({ enumerable: true, configurable: true });
    }
    const ws = new WebSocket("ws://127.0.0.1:1/", { perMessageDeflate: false });
    ws.on("error", () => {});
    ws.binaryType = "fragments";
    ws.binaryType = "words" as BinaryType;
    expect(ws.binaryType).toBe("fragments");
    ws.terminate();
  });

  it("pause() does nothing once CLOSED", async () => {
    const { ws, peer } = await connected();
    peer.close();
    await nextEvent(ws, "close", 5000);
    ws.pause();
    expect(ws.isPaused).toBe(false);
  });

  it("sends the Blobs given before close() ahead of the close frame", async () => {
    const { ws, frames, peer } = await connected();
    const closed = nextEvent(peer, "close", 5000);
    ws.send(new Blob(["foo"]));
    ws.send(new Blob(["bar"]));
    ws.close(1000);
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    await closed;
    expect(frames.map((frame) => frame.data)).toEqual(["foo", "bar"]);
  });
});

describe("a Blob that can't be read", () => {
  it("is reported on 'error' and to its callback, and the connection is dropped, not skipped silently", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgews-blob-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "payload.txt");
    writeFileSync(file, "x".repeat(64));
    const blob = await openAsBlob(file);
    writeFileSync(file, "x".repeat(32)); // the file changed under the Blob: reading it fails
    const { ws } = await connected();
    const heard: string[] = [];
    ws.on("error", (error) => heard.push(`error: ${error.name}`));
    const closed = nextEvent(ws, "close", 5000);
    ws.send(blob, (error) => heard.push(`callback: ${error?.name}`));
    expect((await closed)[0]).toBe(1006);
    expect(heard).toEqual(["callback: NotReadableError", "error: NotReadableError"]);
  });
});
