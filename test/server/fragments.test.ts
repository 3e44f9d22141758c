// Fragment floods end to end (issue 11), under the default limits: our server and client take a
// long honest stream of small fragments, and cut a flood of empty or 1-byte ones by what it
// costs, holding about its bytes while it lasts and serving other clients meanwhile.
import { afterEach, describe, expect, it } from "vitest";
import { heldBytes } from "../support/memory.js";
import type { WebSocket, WebSocketServer } from "../../src/index.js";
import { frame } from "../support/frames.js";
import { Inbox, closeOf, echo, expectSame, nextEvent, openClient, replyTo, withDeadline } from "../support/interop.js";
import { startServer } from "../support/net.js";
import { RawServer, rawClient, type RawPeer } from "../support/raw-peer.js";
import { seededBytes } from "../support/seeded.js";

const BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;
/** A client's frames are masked; one key for all keeps building 262,144 frames cheap. */
const KEY = Buffer.from([0x5a, 0xc3, 0x0f, 0x96]);

/** `count` fragments of `size` bytes; `open` makes the first one start a binary message. */
function fragments(count: number, size: number, mask: Buffer | null, open = false): Buffer {
  const next = frame({ opcode: CONT, fin: false, payload: Buffer.alloc(size, 0x61), mask });
  const frames = Array<Buffer>(count).fill(next);
  if (open) frames[0] = frame({ opcode: BINARY, fin: false, payload: Buffer.alloc(size, 0x61), mask });
  return Buffer.concat(frames);
}

/** `data` in 64-byte fragments ended by an empty final continuation, as a streaming sender does. */
function inSmallFragments(data: Buffer, mask: Buffer | null): Buffer {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += 64) {
    frames.push(frame({ opcode: off === 0 ? BINARY : CONT, fin: false, payload: data.subarray(off, off + 64), mask }));
  }
  frames.push(frame({ opcode: CONT, fin: true, mask }));
  return Buffer.concat(frames);
}

const servers: WebSocketServer[] = [];
const rawServers: RawServer[] = [];
const peers: RawPeer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all([...servers.splice(0).map((s) => s.close()), ...rawServers.splice(0).map((s) => s.close())]);
});

async function serve(): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const started = await startServer({});
  servers.push(started.wss);
  return started;
}

async function attacker(port: number): Promise<RawPeer> {
  const { peer } = await rawClient(port);
  peers.push(peer);
  return peer;
}

/** Sends a ping behind what was written and waits for its pong: the server has parsed all before it. */
async function drained(peer: RawPeer, tag: string): Promise<void> {
  peer.send(frame({ opcode: PING, payload: tag, mask: KEY }));
  for (;;) {
    const f = await peer.nextFrame(10_000);
    if (f.opcode === PONG && f.payload.toString() === tag) return;
  }
}

describe("fragmented messages, default limits", () => {
  it("our server takes 4 MiB in 64-byte fragments ended by an empty FIN (65,537 frames)", async () => {
    const { wss, port } = await serve();
    const data = seededBytes(4 << 20, 11);
    const received = new Promise<Buffer>((resolve, reject) =>
      wss.once("connection", (ws) => {
        ws.once("message", (d: Buffer) => resolve(d));
        ws.once("close", (code, reason) => reject(new Error(`the server closed with ${code} "${reason.toString()}"`)));
      }),
    );
    const peer = await attacker(port);
    peer.send(inSmallFragments(data, KEY));
    expectSame({ data: await withDeadline(received, 20_000, "the message"), isBinary: true }, data, true);
  });

  it("our client takes 4 MiB in 64-byte fragments ended by an empty FIN from a server", async () => {
    const { ws, peer } = await clientOfRawServer();
    const inbox = new Inbox(ws);
    const data = seededBytes(4 << 20, 12);
    peer.send(inSmallFragments(data, null));
    expectSame(await inbox.nextMessage(), data, true);
  });

  it("1-byte fragments cost our server about their bytes; empty ones after them are cut (1009) within seconds; others are served", async () => {
    const { wss, port, url } = await serve();
    const serverErrors: Error[] = [];
    const serverCloses: Promise<string>[] = [];
    wss.on("connection", (ws) => {
      echo(ws);
      ws.on("error", (error) => serverErrors.push(error));
      serverCloses.push(new Promise((resolve) => ws.once("close", (code, reason) => resolve(`${code} ${reason.toString()}`))));
    });
    const steady = await openClient(url, undefined, { perMessageDeflate: false });
    clients.push(steady);
    const flooders = await Promise.all([1, 2, 3, 4].map(() => attacker(port)));
    await Promise.all(flooders.map((p) => drained(p, "ready")));

    // 65,535 fragments of 1 byte each on every flooder (the old default count allowed them all,
    // at ~7 MB of heap per connection). Held in one growing buffer: under 1 MiB each.
    const before = heldBytes();
    const ones = fragments(65_535, 1, KEY, true);
    for (const p of flooders) p.send(ones);
    await Promise.all(flooders.map((p) => drained(p, "held")));
    const perConnection = (heldBytes() - before) / flooders.length;
    expect(perConnection).toBeLessThan(1024 * 1024);

    // Then empty fragments until the overhead passes 16 MiB: at most 262,144 frames (1.5 MiB).
    // The steady client's round trips meanwhile show the server still serves others.
    const started = Date.now();
    const empties = fragments(262_144, 0, KEY);
    for (const p of flooders) p.send(empties);
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const sentAt = Date.now();
      await replyTo(steady, () => steady.send(`still here ${i}`), 5000);
      slowest = Math.max(slowest, Date.now() - sentAt);
    }
    const closeFrames = await Promise.all(flooders.map((p) => p.nextNonPong(10_000)));
    const cutAfter = Date.now() - started;
    for (const f of closeFrames) {
      expect(f.opcode).toBe(CLOSE);
      expect(f.payload.readUInt16BE(0)).toBe(1009);
    }
    await Promise.all(flooders.map((p) => p.waitEnded(5000)));
    expect(cutAfter).toBeLessThan(5000);
    expect(slowest).toBeLessThan(2000);
    expect(serverErrors).toHaveLength(4);
    const reason = "message in too many fragments under 64 bytes (overhead over 16777216 bytes, from maxMessage)";
    for (const error of serverErrors) expect(error).toMatchObject({ code: "WS_ERR_TOO_MANY_FRAGMENTS", closeCode: 1009, closeReason: reason });
    // The first connection is the steady client's; the server's own close event says why.
    const floodersClosed = await withDeadline(Promise.all(serverCloses.slice(1)), 5000, "the server to close the flooders");
    expect(floodersClosed).toEqual(Array(4).fill(`1009 ${serverErrors[0]!.message}`));
    // The steady client is still open and served.
    expect((await replyTo(steady, () => steady.send("after"))).data.toString()).toBe("after");
  });

  it("our client cuts a server's flood of empty fragments (2 bytes each) with 1009 and an error naming the limit", async () => {
    const { ws, peer } = await clientOfRawServer();
    const error = nextEvent(ws, "error", 10_000);
    const closed = closeOf(ws, 10_000);
    peer.send(fragments(262_145, 0, null, true));
    const [err] = (await error) as [Error & { code: string; closeReason: string }];
    expect(err.code).toBe("WS_ERR_TOO_MANY_FRAGMENTS");
    expect(err.closeReason).toMatch(/under 64 bytes .*16777216 bytes.*maxMessage/);
    const reply = await peer.nextNonPong(10_000);
    expect(reply.opcode).toBe(CLOSE);
    expect(reply.payload.readUInt16BE(0)).toBe(1009);
    peer.destroy();
    expect((await closed).code).toBe(1009);
  });
});

/** Our client, open to a raw server that plays the peer. */
async function clientOfRawServer() {
  const raw = new RawServer();
  rawServers.push(raw);
  const port = await raw.listen();
  const ws = await openClient(`ws://127.0.0.1:${port}`, undefined, { perMessageDeflate: false });
  clients.push(ws);
  const { peer } = await raw.accept();
  return { ws, peer };
}
