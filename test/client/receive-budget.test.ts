// A client has no receive budget unless it is given one; given one, a server that starts a
// message larger than it allows is shed with 1013 and the count returns to 0.
import { afterEach, describe, expect, it } from "vitest";
import { ReceiveBudget, WebSocket } from "../../src/index.js";
import { frame } from "../support/frames.js";
import { closeOf, withDeadline } from "../support/interop.js";
import { RawServer } from "../support/raw-peer.js";

const KiB = 1024;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a client's receive budget", () => {
  it("is the client's own: a server's unfinished message past it fails the client with 1013, and nothing stays counted", async () => {
    const server = new RawServer();
    const port = await server.listen();
    cleanups.push(() => server.close());
    const budget = new ReceiveBudget(512 * KiB);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, undefined, { perMessageDeflate: false, receiveBudget: budget });
    cleanups.push(() => ws.terminate());
    const errors: Array<Error & { code?: string; closeCode?: number }> = [];
    ws.on("error", (error) => errors.push(error));
    const closed = closeOf(ws, 5000);
    const { peer } = await server.accept();

    peer.send(frame({ opcode: 2, fin: false, payload: Buffer.alloc(200 * KiB, 1), mask: null }));
    await withDeadline((async () => {
      while (budget.used === 0) await new Promise((r) => setTimeout(r, 5));
    })(), 5000, "the client to hold the fragment");
    expect(budget.members).toBe(1);
    for (let i = 0; i < 4; i++) peer.send(frame({ opcode: 0, fin: false, payload: Buffer.alloc(200 * KiB, 1), mask: null }));

    const close = await peer.nextFrame(5000);
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1013);
    expect(errors.map((e) => [e.code, e.closeCode])).toEqual([["WS_ERR_RECEIVE_BUDGET", 1013]]);
    peer.destroy();
    expect((await closed).code).toBe(1013);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });
});
