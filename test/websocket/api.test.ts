// The WHATWG surface of our WebSocket: onX properties, addEventListener, event objects, binaryType.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseEvent, MessageEvent, WebSocket, type WebSocketServer, type WsEventMap } from "../../src/index.js";
import { startServer } from "../support/net.js";

let wss: WebSocketServer;
let url: string;
beforeAll(async () => {
  ({ wss, url } = await startServer({}));
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
});
afterAll(() => wss.close());

function openClient(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = (event) => reject(event.error);
  });
}
const nextEvent = <K extends "message" | "close">(ws: WebSocket, type: K) =>
  new Promise<WsEventMap[K]>((resolve) => ws.addEventListener(type, resolve, { once: true }));

describe("WHATWG surface", () => {
  it("text arrives as a string in MessageEvent.data; binary as Buffer, ArrayBuffer or Blob per binaryType", async () => {
    const ws = await openClient();
    expect(ws.readyState).toBe(WebSocket.OPEN);
    let event = nextEvent(ws, "message");
    ws.send("héllo");
    expect((await event).data).toBe("héllo");
    expect(await event).toBeInstanceOf(MessageEvent);

    for (const [binaryType, check] of [
      ["nodebuffer", (d: unknown) => Buffer.isBuffer(d) && (d as Buffer).equals(Buffer.from([1, 2, 3]))],
      ["arraybuffer", (d: unknown) => d instanceof ArrayBuffer && Buffer.from(d).equals(Buffer.from([1, 2, 3]))],
      ["blob", (d: unknown) => d instanceof Blob && d.size === 3],
    ] as const) {
      ws.binaryType = binaryType;
      event = nextEvent(ws, "message");
      ws.send(new Uint8Array([1, 2, 3]));
      expect(check((await event).data), binaryType).toBe(true);
    }
    const closed = nextEvent(ws, "close");
    ws.close(4000, "done");
    const close = await closed;
    expect(close).toBeInstanceOf(CloseEvent);
    expect([close.code, close.reason, close.wasClean]).toEqual([4000, "done", true]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("onmessage replaces itself; addEventListener adds once per listener; removeEventListener removes", async () => {
    const ws = await openClient();
    const seen: string[] = [];
    const listener = (event: MessageEvent) => seen.push(`listener:${String(event.data)}`);
    ws.onmessage = () => seen.push("first");
    ws.onmessage = (event) => seen.push(`on:${String(event.data)}`);
    ws.addEventListener("message", listener);
    ws.addEventListener("message", listener);
    const first = nextEvent(ws, "message");
    ws.send("a");
    await first;
    ws.removeEventListener("message", listener);
    const second = nextEvent(ws, "message");
    ws.send("b");
    await second;
    expect(seen).toEqual(["on:a", "listener:a", "on:b"]);
    expect(typeof ws.onmessage).toBe("function");
    ws.close();
  });
});

describe("pause() and resume() (as ws has them)", () => {
  it("hold every message while paused and deliver them, in order, on resume()", async () => {
    const ws = await openClient();
    const got: string[] = [];
    ws.on("message", (data) => got.push(data.toString()));
    ws.send("before");
    await new Promise<void>((resolve) => {
      const check = () => (got.length === 1 ? resolve() : setTimeout(check, 5));
      check();
    });
    ws.pause();
    expect(ws.isPaused).toBe(true);
    for (const text of ["a", "b", "c"]) ws.send(text);
    // The echoes reach our socket's kernel buffer, but nothing is read while paused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got).toEqual(["before"]);
    ws.resume();
    expect(ws.isPaused).toBe(false);
    await new Promise<void>((resolve) => {
      const check = () => (got.length === 4 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(got).toEqual(["before", "a", "b", "c"]);
    ws.close();
  });
});
