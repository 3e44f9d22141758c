// Issue 11: received message bytes held across a server are bounded (maxTotalReceivedBytes).
// Raw clients that start large messages and never finish them, or queue many compressed ones
// behind inflation, are shed (1013) from the largest down while the total would pass the
// bound; a legitimate client keeps its echoes meanwhile, and the count returns to 0. Real sockets.
import { randomBytes } from "node:crypto";
import { liveBufferBytes } from "../support/memory.js";
import { describe, expect, it } from "vitest";
import { PerMessageDeflate } from "../../src/deflate/permessage-deflate.js";
import { ReceiveBudget, type WebSocket, type WebSocketServer } from "../../src/index.js";
import { frame } from "../support/frames.js";
import { echo, openClient, replyTo, withDeadline } from "../support/interop.js";
import { useServers, type StartedServer } from "../support/net.js";
import { rawClient, type RawPeer } from "../support/raw-peer.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;
/** One masking key for all of an attacker's frames keeps building megabytes of them cheap. */
const KEY = Buffer.from([0x5a, 0xc3, 0x0f, 0x96]);

const { cleanups, serve: startServed } = useServers();

/** A server that echoes every message. */
async function serve(options: Parameters<typeof startServed>[0]): Promise<StartedServer> {
  const started = await startServed(options);
  started.wss.on("connection", (ws) => echo(ws));
  return started;
}

async function attacker(port: number, headers: Record<string, string> = {}): Promise<RawPeer> {
  const { peer } = await rawClient(port, headers);
  cleanups.push(() => peer.destroy());
  return peer;
}

/** Records the budget's highest count, every 2 ms. */
function sampleMostUsed(budget: ReceiveBudget): { readonly most: number } {
  const sample = { most: 0 };
  const timer = setInterval(() => (sample.most = Math.max(sample.most, budget.used)), 2);
  cleanups.push(() => clearInterval(timer));
  return sample;
}

/** A client that echoes 1 KiB messages back to back until stopped; records each round trip. */
function echoLoop(ws: WebSocket): { roundTrips: number[]; stop(): Promise<void> } {
  const roundTrips: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const started = performance.now();
      const reply = await replyTo(ws, () => ws.send(Buffer.alloc(KiB, i & 0xff)), 5000);
      expect(reply.data).toEqual(Buffer.alloc(KiB, i & 0xff));
      roundTrips.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { roundTrips, stop: () => ((running = false), loop) };
}

type Outcome = { held: true } | { held: false; code: number; reason: string };

/**
 * Sends a ping behind what was written: its pong means the server parsed all of it and holds
 * it; a close frame means the server shed this connection.
 */
async function outcomeOf(peer: RawPeer, tag: string): Promise<Outcome> {
  peer.send(frame({ opcode: PING, payload: tag, mask: KEY }));
  for (;;) {
    const f = await peer.nextFrame(15_000);
    if (f.opcode === PONG && f.payload.toString() === tag) return { held: true };
    if (f.opcode === CLOSE) return { held: false, code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
  }
}

/** `bytes` of a binary message in 256 KiB fragments, never finished. */
function sendMostOfMessage(peer: RawPeer, bytes: number): void {
  const piece = 256 * KiB;
  const next = frame({ opcode: CONT, fin: false, payload: Buffer.alloc(piece, 0x61), mask: KEY });
  peer.send(frame({ opcode: BINARY, fin: false, payload: Buffer.alloc(piece, 0x61), mask: KEY }));
  for (let sent = piece; sent < bytes; sent += piece) peer.send(next);
}

const SHED_REASON = /^try again later: the server's memory for received messages is full, and this connection held the most \(\d+ bytes\)$/;

describe("received message bytes across the server", () => {
  it("8 clients each holding most of a large fragmented message: the server holds no more than its budget, the largest are shed with 1013, an echo client goes on", async () => {
    const budget = new ReceiveBudget(24 * MiB);
    const { wss, port, url } = await serve({ receiveBudget: budget });
    const legit = await openClient(url, undefined, { perMessageDeflate: false });
    cleanups.push(() => legit.terminate());
    const echoes = echoLoop(legit);
    const sampled = sampleMostUsed(budget);
    const sizes = [1, 3, 5, 6, 7, 10, 12, 14].map((n) => n * MiB);
    const peers = await Promise.all(sizes.map(() => attacker(port)));
    const before = liveBufferBytes();
    const echoesBefore = echoes.roundTrips.length;

    peers.forEach((peer, i) => sendMostOfMessage(peer, sizes[i]!));
    const outcomes = await withDeadline(Promise.all(peers.map((peer, i) => outcomeOf(peer, `attacker ${i}`))), 30_000, "every attacker's data parsed or shed");
    const held = liveBufferBytes() - before;

    // Without the budget the server would hold the buffers of all eight: 77 MiB.
    expect(held, "bytes of buffers held by the server").toBeLessThan(budget.limit + 4 * MiB);
    expect(sampled.most).toBeLessThanOrEqual(budget.limit);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    const shed = outcomes.filter((o) => !o.held);
    expect(shed.length).toBeGreaterThanOrEqual(4);
    for (const o of shed) expect(o).toMatchObject({ code: 1013, reason: expect.stringMatching(SHED_REASON) });
    // The smallest never held the most while the total was over: it is never the one to pay.
    expect(outcomes[0]).toEqual({ held: true });

    await expectServedThroughout(echoes, echoesBefore);
    await expectNothingCountedOnceGone(wss, peers, legit, budget);
  });

  it("with permessage-deflate: many compressed messages queued behind inflation count, and the clients queueing the most are shed", async () => {
    const budget = new ReceiveBudget(256 * KiB);
    const { wss, port, url } = await serve({ receiveBudget: budget, perMessageDeflate: true });
    const legit = await openClient(url, undefined, { perMessageDeflate: true, compressThreshold: 0 });
    cleanups.push(() => legit.terminate());
    expect(legit.extensions).toContain("permessage-deflate");
    const echoes = echoLoop(legit);
    const sampled = sampleMostUsed(budget);
    // 300 messages of 2 KiB of random bytes (incompressible: 2 KiB each compressed too), in
    // one write: every 64 KiB the server reads completes some 30 of them at once.
    const deflater = new PerMessageDeflate({ role: "client", params: {}, maxMessage: 0 });
    const batch: Buffer[] = [];
    for (let i = 0; i < 300; i++) batch.push(frame({ opcode: BINARY, rsv1: true, payload: await deflater.compress(randomBytes(2 * KiB)), mask: KEY }));
    deflater.close();
    const wire = Buffer.concat(batch);
    const peers = await Promise.all(Array.from({ length: 8 }, () => attacker(port, { "Sec-WebSocket-Extensions": "permessage-deflate" })));
    const before = liveBufferBytes();
    const echoesBefore = echoes.roundTrips.length;

    for (const peer of peers) peer.send(wire);
    const outcomes = await withDeadline(Promise.all(peers.map((peer, i) => outcomeOf(peer, `attacker ${i}`))), 30_000, "every attacker's data parsed or shed");
    const held = liveBufferBytes() - before;

    expect(sampled.most).toBeLessThanOrEqual(budget.limit);
    expect(held, "bytes of buffers held by the server").toBeLessThan(4 * MiB);
    const shed = outcomes.filter((o) => !o.held);
    expect(shed.length).toBeGreaterThan(0);
    for (const o of shed) expect(o).toMatchObject({ code: 1013, reason: expect.stringMatching(SHED_REASON) });

    await expectServedThroughout(echoes, echoesBefore);
    await expectNothingCountedOnceGone(wss, peers, legit, budget);
  });
});

/** The legitimate client was served all along, promptly. */
async function expectServedThroughout(echoes: ReturnType<typeof echoLoop>, echoesBefore: number): Promise<void> {
  const during = echoes.roundTrips.slice(echoesBefore);
  await echoes.stop();
  expect(during.length).toBeGreaterThan(0);
  expect(Math.max(...during), "slowest echo during the attack (ms)").toBeLessThan(2000);
}

/** Survivors dropped mid-message (no close), the rest closed: nothing is counted any more. */
async function expectNothingCountedOnceGone(wss: WebSocketServer, peers: RawPeer[], legit: WebSocket, budget: ReceiveBudget): Promise<void> {
  for (const peer of peers) peer.destroy();
  legit.close();
  await withDeadline((async () => {
    while (wss.clients.size > 0) await new Promise((r) => setTimeout(r, 10));
  })(), 5000, "every connection to go");
  expect([budget.used, budget.members]).toEqual([0, 0]);
}
