// The receive budget at the protocol layer, driven with bytes alone: what each connection holds
// of received messages (being assembled, waiting behind inflation, inflated), counted exactly
// and shed from the connections holding the most. No sockets.
import { constants, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { loadCoreSync } from "../../src/core/node.js";
import { PerMessageDeflate } from "../../src/deflate/permessage-deflate.js";
import { Connection, ReadyState, type ConnectionEvents } from "../../src/protocol/connection.js";
import { OverloadedError } from "../../src/protocol/errors.js";
import { ReceiveBudget } from "../../src/protocol/receive-budget.js";
import { frame } from "../support/frames.js";
import { parseFrame } from "../support/raw-peer.js";

const KiB = 1024;
const core = loadCoreSync({ maxConnections: 64 });

interface Server {
  conn: Connection;
  messages: Buffer[];
  errors: Array<Error & { code?: string; closeCode?: number }>;
  /** Bytes the connection wrote (its close frame, when it failed). */
  written: Buffer[];
  /** `budget.used` seen from inside each message handler. */
  usedAtDelivery: number[];
}

function serverConnection(budget: ReceiveBudget, deflate = false): Server {
  const server = { messages: [], errors: [], written: [], usedAtDelivery: [] } as unknown as Server;
  const events: ConnectionEvents = {
    write: (bytes, payload) => server.written.push(Buffer.concat([bytes, payload ?? Buffer.alloc(0)])),
    end: () => {},
    destroy: () => {},
    message: (data) => {
      server.usedAtDelivery.push(budget.used);
      server.messages.push(Buffer.from(data));
    },
    error: (error) => server.errors.push(error),
  };
  const options = { role: "server" as const, receiveBudget: budget, maxQueuedMessages: 1000 };
  const withDeflate = deflate ? { deflate: new PerMessageDeflate({ role: "server", params: { clientNoContextTakeover: true }, maxMessage: 1 << 20 }) } : {};
  server.conn = new Connection(core, { ...options, ...withDeflate }, events);
  return server;
}

/** A fragment of a binary message: the first (opcode 2) or a continuation (0). */
const fragment = (first: boolean, bytes: number, fin = false) => frame({ opcode: first ? 2 : 0, fin, payload: Buffer.alloc(bytes, 0x5a) });

/** One compressed binary message (permessage-deflate, no context takeover) as a client sends it. */
function compressedMessage(payload: Buffer): Buffer {
  const deflated = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
  return frame({ opcode: 2, rsv1: true, payload: deflated.subarray(0, deflated.length - 4) });
}

/** The close frame a failed connection wrote: its code and reason. */
function closeFrameOf(server: Server): { code: number; reason: string } {
  const parsed = parseFrame(Buffer.concat(server.written))!;
  expect(parsed.opcode).toBe(8);
  return { code: parsed.payload.readUInt16BE(0), reason: parsed.payload.subarray(2).toString() };
}

const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`);
    await settle(5);
  }
}

describe("receive budget", () => {
  it("counts a message being assembled by its buffer's capacity, and lets go of it once delivered", () => {
    const budget = new ReceiveBudget(64 * 1024 * KiB);
    const server = serverConnection(budget);
    server.conn.receive(fragment(true, 1000));
    // The buffer is sized for what came (1000 bytes), then doubles: its capacity is what counts.
    expect(budget.used).toBe(1000);
    server.conn.receive(fragment(false, 1000));
    expect(budget.used).toBe(2000);
    server.conn.receive(fragment(false, 100));
    expect(budget.used).toBe(4000);
    for (let i = 0; i < 30; i++) server.conn.receive(fragment(false, 10 * KiB));
    const received = 2100 + 300 * KiB;
    expect(budget.used).toBeGreaterThanOrEqual(received);
    expect(budget.used).toBeLessThanOrEqual(2 * received);
    server.conn.receive(fragment(false, 0, true));
    expect(server.messages.map((m) => m.length)).toEqual([received]);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("past the limit, fails the connection holding the most with 1013, not the one that grew last; the others go on", () => {
    const budget = new ReceiveBudget(720 * KiB);
    const [big, small, grower] = [serverConnection(budget), serverConnection(budget), serverConnection(budget)];
    big.conn.receive(fragment(true, 400 * KiB));
    const bigHeld = budget.used; // ~512 KiB: the buffer doubles as 64 KiB pieces arrive
    small.conn.receive(fragment(true, 50 * KiB));
    grower.conn.receive(fragment(true, 100 * KiB));
    const othersHeld = budget.used - bigHeld;
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    grower.conn.receive(fragment(false, 100 * KiB)); // its buffer doubles: over the limit
    expect(big.errors).toHaveLength(1);
    const error = big.errors[0]!;
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ code: "WS_ERR_RECEIVE_BUDGET", closeCode: 1013, message: expect.stringContaining("over maxTotalReceivedBytes (737280)") });
    expect(error.message).toContain(`this connection held the most (${bigHeld} bytes)`);
    const close = closeFrameOf(big);
    expect(close.code).toBe(1013);
    expect(close.reason).toBe(`try again later: the server's memory for received messages is full, and this connection held the most (${bigHeld} bytes)`);
    expect(big.conn.readyState).toBe(ReadyState.CLOSING);
    expect(budget.used).toBeGreaterThan(othersHeld);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    // The others were not touched, and their messages arrive whole.
    grower.conn.receive(fragment(false, 10, true));
    small.conn.receive(fragment(false, 10, true));
    expect([small.errors, grower.errors]).toEqual([[], []]);
    expect(grower.messages[0]!.length).toBe(200 * KiB + 10);
    expect(small.messages[0]!.length).toBe(50 * KiB + 10);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("a connection whose own growth would cross the limit while it holds the most is refused before its buffer grows", () => {
    const budget = new ReceiveBudget(2048 * KiB);
    const other = serverConnection(budget);
    other.conn.receive(fragment(true, 100 * KiB));
    const otherHeld = budget.used;
    const greedy = serverConnection(budget);
    greedy.conn.receive(fragment(true, 600 * KiB)); // held: ~1 MiB
    expect(greedy.errors).toEqual([]);
    const next = fragment(false, 600 * KiB);
    const before = process.memoryUsage().arrayBuffers;
    greedy.conn.receive(next); // would double its buffer to ~2 MiB
    const grewBy = process.memoryUsage().arrayBuffers - before;
    expect(greedy.errors.map((e) => e.closeCode)).toEqual([1013]);
    // The larger buffer was never made.
    expect(grewBy).toBeLessThan(1024 * KiB);
    expect(budget.used).toBe(otherHeld);
    greedy.conn.receive(fragment(false, 600 * KiB, true));
    expect(greedy.messages).toEqual([]);
    expect(other.errors).toEqual([]);
  });

  it("with permessage-deflate: messages waiting behind inflation count, with their place in the queue, then their inflated bytes until delivered", async () => {
    const budget = new ReceiveBudget(64 * 1024 * KiB);
    const server = serverConnection(budget, true);
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(8 * KiB + i, i));
    const wire = payloads.map(compressedMessage);
    // Between compressed ones, an uncompressed message: it waits its turn too.
    const plain = frame({ opcode: 2, payload: Buffer.alloc(3000, 0xee) });
    server.conn.receive(Buffer.concat([...wire.slice(0, 10), plain, ...wire.slice(10)]));
    const queuedPayload = wire.reduce((sum, w) => sum + parseFrame(w)!.payload.length, 0) + 3000;
    // Every message is queued by the end of the read (the first is being inflated).
    expect(budget.used).toBeGreaterThan(queuedPayload);
    expect(budget.used).toBeLessThanOrEqual(queuedPayload + 21 * 1024);
    await until(() => server.messages.length === 21);
    expect(server.messages[10]!).toEqual(Buffer.alloc(3000, 0xee));
    expect(server.messages.filter((_, i) => i !== 10)).toEqual(payloads);
    // Inside the handler, the message being delivered still counts (inflated).
    server.usedAtDelivery.forEach((used, i) => expect(used).toBeGreaterThanOrEqual(i === 10 ? 0 : server.messages[i]!.length));
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("a flood of tiny compressed messages in one read is not free: the connection holding the most queue is shed", async () => {
    const budget = new ReceiveBudget(256 * KiB);
    const calm = serverConnection(budget, true);
    const flooder = serverConnection(budget, true);
    const tiny = compressedMessage(Buffer.from("x"));
    calm.conn.receive(Buffer.concat(Array.from({ length: 20 }, () => tiny)));
    // 1,000 messages of 1 byte (7 bytes each on the wire, 7 KB in all) wait behind inflation.
    flooder.conn.receive(Buffer.concat(Array.from({ length: 1000 }, () => tiny)));
    expect(flooder.errors.map((e) => e.closeCode)).toEqual([1013]);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    await until(() => calm.messages.length === 20);
    expect(calm.errors).toEqual([]);
    await settle(50);
    expect(flooder.messages).toEqual([]);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("a connection that goes (failed or dropped) holds nothing any more, whatever it was assembling or had queued", async () => {
    const budget = new ReceiveBudget(64 * 1024 * KiB);
    const assembling = serverConnection(budget);
    assembling.conn.receive(fragment(true, 300 * KiB));
    const queued = serverConnection(budget, true);
    queued.conn.receive(Buffer.concat(Array.from({ length: 50 }, (_, i) => compressedMessage(Buffer.alloc(4 * KiB, i)))));
    queued.conn.receive(fragment(true, 100 * KiB, false).subarray(0, 50 * KiB)); // and half a frame
    expect(budget.members).toBe(2);
    assembling.conn.transportClosed();
    queued.conn.transportClosed();
    expect([budget.used, budget.members]).toEqual([0, 0]);
    await settle(50);
    expect([budget.used, budget.members]).toEqual([0, 0]);
    expect(queued.messages.length).toBeLessThan(50);

    const failing = serverConnection(budget);
    failing.conn.receive(fragment(true, 200 * KiB));
    failing.conn.receive(frame({ opcode: 0x3 })); // a reserved opcode: 1002
    expect(failing.errors.map((e) => e.closeCode)).toEqual([1002]);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("refuses a limit that is not a positive integer; the default is 128 MiB", () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new ReceiveBudget(limit)).toThrow(/maxTotalReceivedBytes must be a positive integer/);
    expect(new ReceiveBudget().limit).toBe(128 * 1024 * 1024);
  });
});
