// Issue 11, defect 7: readers that don't read. Bytes waiting to be written are bounded per
// connection (on the write that crosses the limit), across the server (its write budget), and in
// time (the write-stall timeout); the budget counts them in and out exactly. Real sockets.
import { describe, expect, it } from "vitest";
import { liveBufferBytes } from "../support/memory.js";
import { WebSocket, type WebSocketServer } from "../../src/index.js";
import { WriteBudget } from "../../src/transport/write-budget.js";
import { frame } from "../support/frames.js";
import { nextEvent, withDeadline } from "../support/interop.js";
import { useServers } from "../support/net.js";
import { halfOpenClient } from "../support/half-open-peer.js";

const KiB = 1024;
const MiB = 1024 * KiB;

const { cleanups, serve } = useServers();

interface Outcome {
  error?: Error & { code?: string };
  code?: number;
  /** When its echo was written, and when it closed. */
  echoedAt?: number;
  closedAt?: number;
}

/** Echoes every message once; records what became of each server-side connection. */
function echoAndRecord(wss: WebSocketServer): { outcomes: Outcome[]; closed: Array<Promise<void>> } {
  const outcomes: Outcome[] = [];
  const closed: Array<Promise<void>> = [];
  wss.on("connection", (ws) => {
    const outcome: Outcome = {};
    outcomes.push(outcome);
    ws.on("error", (error) => (outcome.error ??= error));
    closed.push(new Promise((resolve) => ws.once("close", (code) => {
      Object.assign(outcome, { code, closedAt: performance.now() });
      resolve();
    })));
    ws.on("message", (data, isBinary) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(data, { binary: isBinary });
      outcome.echoedAt = performance.now();
    });
  });
  return { outcomes, closed };
}

describe("readers that don't read", () => {
  it("8 clients that never read an 8 MiB echo: backlog held within the server's budget, all cut within the stall timeout, budget back to 0", async () => {
    const budget = new WriteBudget(20 * MiB);
    const stallTimeout = 1000;
    const { wss, port } = await serve({ writeBudget: budget, writeStallTimeout: stallTimeout, maxMessagesPerSecond: 0 });
    const { outcomes, closed } = echoAndRecord(wss);
    const message = frame({ opcode: 2, payload: Buffer.alloc(8 * MiB, 7) });
    let mostUsed = 0;
    const sampler = setInterval(() => (mostUsed = Math.max(mostUsed, budget.used)), 2);
    cleanups.push(() => clearInterval(sampler));
    const before = liveBufferBytes();

    for (let i = 0; i < 8; i++) {
      const socket = await halfOpenClient(port);
      cleanups.push(() => socket.destroy());
      socket.write(message);
      await withDeadline((async () => {
        while (outcomes[i]?.echoedAt === undefined) await new Promise((r) => setTimeout(r, 5));
      })(), 5000, `echo ${i}`);
    }
    // All echoed; the first to stall is due a second after its echo at the earliest.
    const held = liveBufferBytes() - before;
    expect(held, "bytes of buffers held with 8 echoes waiting").toBeLessThan(budget.limit + 8 * MiB);
    expect(mostUsed).toBeLessThanOrEqual(budget.limit);

    await withDeadline(Promise.all(closed), 10_000, "every slow reader to be dropped");
    for (const outcome of outcomes) {
      expect(outcome.code).toBe(1008);
      expect(["WS_ERR_WRITE_BUDGET", "WS_ERR_WRITE_STALLED"]).toContain(outcome.error?.code);
      // Stalled: noticed within 1.25 timeouts, then the 1 s grace; dropped for the budget: at once.
      expect(outcome.closedAt! - outcome.echoedAt!).toBeLessThan(stallTimeout * 1.25 + 1000 + 2000);
    }
    expect(outcomes.filter((o) => o.error?.code === "WS_ERR_WRITE_STALLED").length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.error?.code === "WS_ERR_WRITE_BUDGET").length).toBeGreaterThan(0);
    expect(mostUsed).toBeLessThanOrEqual(budget.limit);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("a slow reader that keeps reading is not cut by the stall timeout, even inside one large write", async () => {
    const { wss, port } = await serve({ writeStallTimeout: 1000, maxMessage: 32 * MiB, maxPayload: 32 * MiB });
    const { outcomes } = echoAndRecord(wss);
    const socket = await halfOpenClient(port);
    cleanups.push(() => socket.destroy());
    const size = 24 * MiB;
    socket.write(frame({ opcode: 2, payload: Buffer.alloc(size, 3) }));
    // Reads 128 KiB per 10 ms (~13 MB/s, less on a loaded machine): the echo, one write, takes
    // about 2 s to reach the kernel, so the socket's writableLength doesn't move for 2 s.
    let received = 0;
    let allowed = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= allowed) socket.pause();
    });
    const pacer = setInterval(() => {
      allowed += 128 * KiB;
      socket.resume();
    }, 10);
    cleanups.push(() => clearInterval(pacer));
    const started = performance.now();
    await withDeadline((async () => {
      while (received < size + 10) await new Promise((r) => setTimeout(r, 20));
    })(), 20_000, "the whole echo");
    expect(performance.now() - started, "the transfer outlasted the stall timeout").toBeGreaterThan(1250);
    expect(outcomes[0]!.error).toBeUndefined();
    expect(outcomes[0]!.code).toBeUndefined();
  });

  it("maxBufferedAmount is checked on the write that crosses it; one larger message alone still goes", async () => {
    const { wss, url } = await serve({ maxBufferedAmount: 4 * MiB });
    const { outcomes, closed } = echoAndRecord(wss);
    const client = new WebSocket(url, undefined, { perMessageDeflate: false, maxPayload: 0, maxMessage: 0 });
    cleanups.push(() => client.terminate());
    await nextEvent(client, "open", 5000);
    const echoed = nextEvent(client, "message", 10_000);
    client.send(Buffer.alloc(6 * MiB, 1));
    expect(((await echoed)[0] as Buffer).length).toBe(6 * MiB);

    wss.once("connection", (ws) => {
      // In one turn of the event loop: nothing can leave before both are queued.
      ws.send(Buffer.alloc(3 * MiB));
      ws.send(Buffer.alloc(3 * MiB));
    });
    const second = new WebSocket(url, undefined, { perMessageDeflate: false });
    cleanups.push(() => second.terminate());
    await nextEvent(second, "open", 5000);
    await withDeadline(closed[1]!, 5000, "the second connection to fail");
    expect(outcomes[1]!.error).toMatchObject({ code: "WS_ERR_SLOW_READER", closeCode: 1008, message: expect.stringContaining("maxBufferedAmount (4194304)") });
    expect(outcomes[0]!.error).toBeUndefined();
  });
});
