// Layer 3: one end of the link against another on a simulated line, time driven by the test.
import { describe, expect, it } from "vitest";
import { LinkError } from "../../src/link/errors.js";
import { frameAll } from "../../src/link/framing.js";
import { CloseReason, PacketType, decodeSync, encodePacket, type Packet } from "../../src/link/packet.js";
import { LinkSession } from "../../src/link/session.js";
import { LinkPair, type PairOptions } from "./line.js";

const TELEMETRY = 0x11;
const EVENT = 0x12;
const LOG = 0x15;
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => ((i * 31 + seed) % 255) + 1);
const isData = (p: Packet) => p.type >= 0x10;

function upPair(options: PairOptions = {}): LinkPair {
  const pair = new LinkPair(options);
  pair.runUntil(100);
  expect([pair.a.session.state, pair.b.session.state]).toEqual(["established", "established"]);
  return pair;
}

function linkError(run: () => unknown): LinkError {
  try {
    run();
  } catch (error) {
    if (error instanceof LinkError) return error;
    throw error;
  }
  throw new Error("no LinkError");
}

describe("the SYNC exchange", () => {
  it("brings both ends up with each other's sessions and sizes, in three SYNCs at most each", () => {
    const pair = new LinkPair({ a: { maxPacket: 128, maxMessage: 1000 } });
    pair.runUntil(100);
    expect(pair.a.log).toEqual(["up"]);
    expect(pair.b.log).toEqual(["up"]);
    const fromA = pair.a.wire.packets.filter((p) => p.type === PacketType.Sync).map((p) => decodeSync(p.body));
    expect(fromA[0]).toEqual({ session: 0xa0000001, peerSession: 0, maxPacket: 128, maxMessage: 1000, resumeSeq: 0, expectedSeq: 0, established: false });
    expect(fromA.at(-1)).toMatchObject({ peerSession: 0xb0000001, established: true });
    expect(pair.a.session.stats.syncs).toBeLessThanOrEqual(3);
  });

  it("sends a SYNC every syncInterval until a peer answers", () => {
    const pair = new LinkPair();
    pair.b.wire.cut = true;
    pair.runUntil(4500);
    expect(pair.a.session.state).toBe("syncing");
    expect(pair.a.session.stats.syncs).toBe(5);
    pair.b.wire.cut = false;
    pair.runUntil(6000);
    expect(pair.a.session.state).toBe("established");
  });

  it("drops and counts messages from a peer it has had no SYNC from", () => {
    const late = new LinkSession({ session: 7, now: () => 0 }, { write: () => {}, message: () => expect.unreachable() });
    late.receive(frameAll([encodePacket({ type: TELEMETRY, body: bytes(4) }), encodePacket({ type: EVENT, seq: 0, body: bytes(4) })]));
    expect(late.stats).toMatchObject({ packets: 2, unsynced: 2, messagesIn: 0 });
  });

  it("refuses options out of range with the option's name", () => {
    const make = (options: object) => () => new LinkSession(options, { write: () => {}, message: () => {} });
    expect(linkError(make({ maxPacket: 1024 })).message).toBe("maxPacket must be an integer from 32 to 512, got 1024");
    expect(linkError(make({ window: 128 })).code).toBe("LINK_BAD_OPTION");
    expect(linkError(make({ session: 0 })).message).toMatch(/^session must be/);
  });
});

describe("reliable messages", () => {
  it("are delivered once each, in order, when packets and acknowledgements are lost", () => {
    const pair = upPair();
    let dataSeen = 0;
    // Lose every third data packet from a, and every other acknowledgement from b.
    pair.a.wire.filter = (p) => !isData(p) || ++dataSeen % 3 !== 0;
    let acksSeen = 0;
    pair.b.wire.filter = (p) => p.type !== PacketType.Ack || ++acksSeen % 2 === 0;
    const ids = Array.from({ length: 20 }, (_, i) => pair.a.session.sendReliable(EVENT, bytes(10 + i, i)));
    pair.runUntil(30_000);
    expect(pair.b.received.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => bytes(10 + i, i)));
    expect(pair.b.received.every((r) => r.reliable && r.kind === EVENT)).toBe(true);
    expect(pair.a.delivered).toEqual(ids);
    expect(pair.a.session.pending()).toEqual([]);
    expect(pair.a.session.stats.retransmits).toBeGreaterThan(0);
    expect(pair.b.session.stats.duplicates + pair.b.session.stats.gaps).toBeGreaterThan(0);
  });

  it("keep at most `window` packets unacknowledged on the line", () => {
    const pair = upPair({ a: { window: 2 } });
    pair.b.wire.cut = true;
    for (let i = 0; i < 6; i++) pair.a.session.sendReliable(EVENT, bytes(8, i));
    pair.runUntil(400);
    expect(new Set(pair.a.wire.packets.filter(isData).map((p) => p.seq))).toEqual(new Set([0, 1]));
    pair.b.wire.cut = false;
    pair.runUntil(20_000);
    expect(pair.b.received).toHaveLength(6);
  });

  it("are split to fit a peer with a 128-byte buffer, and joined again", () => {
    const device = { maxPacket: 128, maxMessage: 2048 };
    const pair = upPair({ a: device });
    const line = new TextEncoder().encode("x".repeat(1000));
    pair.b.session.sendReliable(LOG, line);
    pair.runUntil(2000);
    expect(pair.a.received.map((r) => r.body)).toEqual([line]);
    const fragments = pair.b.wire.packets.filter(isData);
    expect(fragments.map((p) => p.fragment?.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const packet of fragments) expect(encodePacket(packet).length).toBeLessThanOrEqual(128);
  });

  it("are refused up front when larger than the peer accepts, and dropped with an error when sent anyway", () => {
    const pair = upPair({ b: { maxMessage: 100 } });
    expect(linkError(() => pair.a.session.sendReliable(EVENT, bytes(101))).message).toMatch(/101-byte message exceeds the 100 bytes the peer accepts/);
    // A peer that ignores the limit: its message is taken (so the link goes on) and dropped.
    const rogue = new LinkPair({ b: { maxMessage: 100 } });
    rogue.a.session.sendReliable(EVENT, bytes(500));
    rogue.a.session.sendReliable(EVENT, bytes(5));
    rogue.runUntil(3000);
    // Queued before the SYNC told a the limit: the message was not sent, the error names it.
    expect(rogue.a.log).toContain("error LINK_MESSAGE_TOO_BIG");
    expect(rogue.b.received.map((r) => r.body)).toEqual([bytes(5)]);
  });

  it("wait in a bounded queue; beyond it send throws and nothing accepted is lost", () => {
    const pair = upPair({ a: { maxQueuedMessages: 3, maxQueuedBytes: 1000 } });
    pair.b.wire.cut = true;
    for (let i = 0; i < 3; i++) pair.a.session.sendReliable(EVENT, bytes(10, i));
    expect(linkError(() => pair.a.session.sendReliable(EVENT, bytes(10))).code).toBe("LINK_QUEUE_FULL");
    pair.b.wire.cut = false;
    pair.runUntil(20_000);
    expect(pair.b.received.map((r) => r.body)).toEqual([0, 1, 2].map((i) => bytes(10, i)));
    expect(() => pair.a.session.sendReliable(EVENT, bytes(10))).not.toThrow();
  });

  it("are not delivered again when the handler throws", () => {
    const pair = upPair();
    let calls = 0;
    const b = new LinkSession({ session: 0xb0000002, now: pair.clock.now }, {
      write: (data) => pair.b.wire.write(data),
      message: () => {
        calls++;
        throw new Error("handler bug");
      },
    });
    pair.b.session = b;
    pair.runUntil(2000);
    pair.a.session.sendReliable(EVENT, bytes(4));
    expect(() => pair.runUntil(10_000)).toThrow("handler bug");
    pair.runUntil(20_000);
    expect(calls).toBe(1);
    expect(pair.a.session.pending()).toEqual([]);
  });
});

describe("best-effort messages", () => {
  it("go once, now, and are dropped and counted while the link is not up", () => {
    const pair = new LinkPair();
    expect(pair.a.session.sendBestEffort(TELEMETRY, bytes(8))).toBe(false);
    expect(pair.a.session.stats.droppedBestEffort).toBe(1);
    pair.runUntil(100);
    expect(pair.a.session.sendBestEffort(TELEMETRY, bytes(8))).toBe(true);
    pair.runUntil(200);
    expect(pair.b.received).toEqual([{ kind: TELEMETRY, body: bytes(8), reliable: false }]);
    expect(pair.a.wire.packets.filter(isData)).toEqual([{ type: TELEMETRY, body: bytes(8) }]);
  });

  it("must fit one packet of the peer's", () => {
    const pair = upPair({ b: { maxPacket: 64 } });
    expect(pair.a.session.sendBestEffort(TELEMETRY, bytes(57))).toBe(true);
    expect(linkError(() => pair.a.session.sendBestEffort(TELEMETRY, bytes(58))).message).toMatch(/at most 57 bytes on this link/);
    expect(linkError(() => pair.a.session.sendBestEffort(0x05, bytes(1))).code).toBe("LINK_BAD_KIND");
  });
});

describe("liveness", () => {
  it("pings a silent peer, declares it gone within deadPeerTimeout, and resumes when it is back", () => {
    const pair = upPair();
    pair.b.wire.cut = true;
    const cutAt = pair.clock.time;
    pair.runUntil(cutAt + 14_000);
    expect(pair.a.log).toEqual(["up"]);
    expect(pair.a.wire.packets.filter((p) => p.type === PacketType.Ping).length).toBeGreaterThanOrEqual(2);
    pair.runUntil(cutAt + 15_100);
    expect(pair.a.log).toEqual(["up", "down dead-peer"]);
    const id = pair.a.session.sendReliable(EVENT, bytes(12));
    pair.b.wire.cut = false;
    pair.runUntil(cutAt + 40_000);
    expect(pair.a.log.at(-1)).toBe("up");
    expect(pair.b.received.map((r) => r.body)).toEqual([bytes(12)]);
    expect(pair.a.delivered).toEqual([id]);
  });

  it("declares the peer gone after maxRetransmits unanswered retransmissions", () => {
    const pair = upPair({ a: { maxRetransmits: 3, retransmitTimeout: 100, deadPeerTimeout: 0 } });
    pair.b.wire.cut = true;
    pair.a.session.sendReliable(EVENT, bytes(3));
    pair.runUntil(pair.clock.time + 100 + 200 + 400 + 800 + 50);
    expect(pair.a.log).toEqual(["up", "down no-ack"]);
  });

  it("tells the host when to tick next", () => {
    const pair = upPair();
    const a = pair.a.session;
    expect(a.nextTimeout()).toBeGreaterThan(pair.clock.time);
    expect(a.nextTimeout()).toBeLessThanOrEqual(pair.clock.time + 5000);
  });
});

describe("orderly close", () => {
  it("drains the queue, exchanges CLOSEs, refuses sends, and reopens on the peer's SYNC", () => {
    const pair = upPair();
    const ids = [pair.a.session.sendReliable(EVENT, bytes(300)), pair.a.session.sendReliable(EVENT, bytes(20))];
    pair.a.session.close(CloseReason.GoingAway);
    expect(linkError(() => pair.a.session.sendReliable(EVENT, bytes(1))).code).toBe("LINK_CLOSED");
    pair.runUntil(pair.clock.time + 2000);
    expect(pair.b.received).toHaveLength(2);
    expect(pair.a.delivered).toEqual(ids);
    expect(pair.a.log).toEqual(["up", "closed 1 by us"]);
    expect(pair.b.log).toEqual(["up", "closed 1 by peer"]);
    const closes = pair.a.wire.packets.filter((p) => p.type === PacketType.Close);
    // The CLOSE went after the last data packet.
    expect(pair.a.wire.packets.indexOf(closes[0])).toBeGreaterThan(pair.a.wire.packets.map(isData).lastIndexOf(true));
    pair.a.session.open();
    pair.runUntil(pair.clock.time + 2000);
    expect([pair.a.session.state, pair.b.session.state]).toEqual(["established", "established"]);
    pair.b.session.sendReliable(EVENT, bytes(5));
    pair.runUntil(pair.clock.time + 1000);
    expect(pair.a.received.map((r) => r.body)).toEqual([bytes(5)]);
  });

  it("ends when CLOSEs cross on a slow line: an end closed by its own CLOSE answers no more", () => {
    // 600 ms each way, so the initiator repeats its CLOSE before the answer comes.
    const pair = new LinkPair({ latency: 600, a: { retransmitTimeout: 500 } });
    pair.runUntil(3000);
    pair.a.session.close();
    pair.runUntil(pair.clock.time + 20_000);
    expect([pair.a.session.state, pair.b.session.state]).toEqual(["closed", "closed"]);
    const closes = (end: typeof pair.a) => end.wire.packets.filter((p) => p.type === PacketType.Close).length;
    expect(closes(pair.a)).toBe(3);
    expect(closes(pair.b)).toBe(3);
  });

  it("gives up waiting after closeTimeout and keeps what was not acknowledged", () => {
    const pair = upPair({ a: { closeTimeout: 1000 } });
    pair.b.wire.cut = true;
    pair.a.session.sendReliable(EVENT, bytes(7));
    pair.a.session.close();
    pair.runUntil(pair.clock.time + 1100);
    expect(pair.a.log).toEqual(["up", "closed 0 by us"]);
    expect(pair.a.session.pending().map((m) => m.body)).toEqual([bytes(7)]);
  });
});
