// Issue 11, defect 3: once a connection has failed (a broken limit), nothing more it sends is
// parsed or delivered, reading stops, and the socket is dropped after the short grace instead of
// the 30 s close timeout; the other clients don't pay for it. Server and client roles, real sockets.
import net from "node:net";
import { describe, expect, it } from "vitest";
import { WebSocket, type WebSocketServer } from "../../src/index.js";
import { Connection, ReadyState } from "../../src/protocol/connection.js";
import { frame } from "../support/frames.js";
import { nextEvent, withDeadline } from "../support/interop.js";
import { useServers } from "../support/net.js";
import { acceptKeyOf } from "../support/raw-peer.js";
import { flood, halfOpenClient } from "../support/half-open-peer.js";

const KiB = 1024;
const { cleanups, serve } = useServers();

/** Counts pings parsed by connections that were no longer OPEN (failed or closing). */
function countPingsParsedAfterFailure(): { readonly count: number } {
  const original = Connection.prototype.onPing;
  const counter = { count: 0 };
  Connection.prototype.onPing = function (this: Connection, data: Uint8Array) {
    if (this.readyState !== ReadyState.OPEN) counter.count++;
    original.call(this, data);
  };
  cleanups.push(() => (Connection.prototype.onPing = original));
  return counter;
}


async function roundTrip(ws: WebSocket): Promise<number> {
  const start = performance.now();
  const echoed = nextEvent(ws, "message", 10_000);
  ws.send("are you there");
  await echoed;
  return performance.now() - start;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Tracked {
  ws: WebSocket;
  /** The first error and when it came. */
  error: Promise<[Error & { code?: string }, number]>;
  /** The close code and when it came. */
  closed: Promise<[number, number]>;
  deliveredAfterError: number;
}

/** Echoes on every server-side connection and records, in order, what happened to each. */
function track(wss: WebSocketServer): Tracked[] {
  const connections: Tracked[] = [];
  wss.on("connection", (ws) => {
    let failed = false;
    const tracked: Tracked = {
      ws,
      error: new Promise((resolve) => ws.once("error", (error) => {
        failed = true;
        resolve([error, performance.now()]);
      })),
      closed: new Promise((resolve) => ws.once("close", (code) => resolve([code, performance.now()]))),
      deliveredAfterError: 0,
    };
    connections.push(tracked);
    ws.on("message", (data, isBinary) => {
      if (failed) tracked.deliveredAfterError++;
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
    });
  });
  return connections;
}

describe("a failed connection stops at once", () => {
  it("a half-open ping flood: nothing parsed after the 1008, dropped within the grace, other clients unharmed", async () => {
    const parsedAfterFailure = countPingsParsedAfterFailure();
    const { wss, port, url } = await serve({ maxControlFramesPerSecond: 20 });
    const connections = track(wss);
    const legit = new WebSocket(url, undefined, { perMessageDeflate: false });
    cleanups.push(() => legit.terminate());
    await nextEvent(legit, "open", 5000);
    const baseline: number[] = [];
    for (let i = 0; i < 50; i++) baseline.push(await roundTrip(legit));

    const attacker = await halfOpenClient(port);
    cleanups.push(() => attacker.destroy());
    flood(attacker, Buffer.concat(Array.from({ length: 64 * KiB / 6 }, () => frame({ opcode: 9 }))));
    const [error, failedAt] = await withDeadline(connections[1]!.error, 5000, "the attacker's failure");
    expect(error).toMatchObject({ code: "WS_ERR_CONTROL_RATE", closeCode: 1008 });

    // Round trips of the legitimate client while the attacker waits out its grace.
    const during: number[] = [];
    while (performance.now() - failedAt < 700 || during.length < 5) during.push(await roundTrip(legit));
    const [code, closedAt] = await withDeadline(connections[1]!.closed, 5000, "the attacker's socket to be dropped");
    expect(code).toBe(1008);
    expect(closedAt - failedAt, "dropped after the 1 s grace, not the 30 s close timeout").toBeLessThan(3000);
    expect(parsedAfterFailure.count, "pings parsed after the failure").toBe(0);
    // Measured: a median under 0.5 ms here; parsing the flood made it hundreds.
    expect(median(during), `round trips during the attack (baseline median ${median(baseline).toFixed(2)} ms)`).toBeLessThan(20);
  });

  it("a slow reader failed with 1008: nothing more delivered, little more read, dropped within the grace", async () => {
    const { wss, port } = await serve({ maxBufferedAmount: 256 * KiB, maxMessagesPerSecond: 0 });
    const connections = track(wss);
    const reader = await halfOpenClient(port);
    cleanups.push(() => reader.destroy());
    // It sends 16 KiB messages as fast as they are read and reads none of the echoes.
    flood(reader, Buffer.concat(Array.from({ length: 4 }, () => frame({ opcode: 2, payload: Buffer.alloc(16 * KiB, 1) }))));
    const [error, failedAt] = await withDeadline(connections[0]!.error, 10_000, "the slow reader's failure");
    expect(error).toMatchObject({ code: "WS_ERR_SLOW_READER", closeCode: 1008 });
    const socket = connections[0]!.ws.socket!;
    const readAtFailure = socket.bytesRead;
    const [code, closedAt] = await withDeadline(connections[0]!.closed, 5000, "the slow reader's socket to be dropped");
    expect(code).toBe(1008);
    expect(closedAt - failedAt).toBeLessThan(3000);
    expect(connections[0]!.deliveredAfterError).toBe(0);
    // 64 KiB dropped unparsed (room for a peer's close frame and FIN), then reading stops; a
    // chunk (64 KiB at most) may be in Node's buffer by the time it does.
    expect(socket.bytesRead - readAtFailure).toBeLessThanOrEqual(192 * KiB);
  });

  it("client role: a server flooding pings gets an error, then the close event within the grace", async () => {
    const parsedAfterFailure = countPingsParsedAfterFailure();
    // An evil server: answers the upgrade, never reads again, never closes, floods pings.
    const evil = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => {});
      cleanups.push(() => socket.destroy());
      socket.once("data", (request: Buffer) => {
        const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(request.toString("latin1"))?.[1] ?? "";
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKeyOf(key)}\r\n\r\n`);
        socket.pause();
        flood(socket, Buffer.concat(Array.from({ length: 32 * KiB }, () => frame({ opcode: 9, mask: null }))));
      });
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => evil.close(resolve)));
    const client = new WebSocket(`ws://127.0.0.1:${(evil.address() as net.AddressInfo).port}`, undefined, { perMessageDeflate: false });
    cleanups.push(() => client.terminate());
    const errored = nextEvent(client, "error", 5000);
    const closed = nextEvent(client, "close", 5000);
    const [error] = (await errored) as [Error & { code?: string }];
    const failedAt = performance.now();
    expect(error).toMatchObject({ code: "WS_ERR_CONTROL_RATE", closeCode: 1008 });
    const [code] = (await withDeadline(closed, 5000, "the close event")) as [number];
    expect(code).toBe(1008);
    expect(performance.now() - failedAt, "close event after the 1 s grace, not 16-30 s").toBeLessThan(3000);
    expect(parsedAfterFailure.count, "pings parsed after the failure").toBe(0);
  });
});
