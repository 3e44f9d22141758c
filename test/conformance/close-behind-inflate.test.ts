// RFC 6455 §7.1.5/§7.4: the close code is the one in the first Close frame received. A peer that
// sends a compressed message, then its close frame, then closes TCP at once (as ws can) must be
// reported with its own code and reason, after the message, on our client and on our server:
// not 1006 because the close frame waited behind the message's inflation when the socket ended.
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket, type WebSocketServer } from "../../src/index.js";
import { MiB, textOfSize, withDeadline } from "../support/interop.js";
import { closePayload, frame } from "../support/frames.js";
import { startServer } from "../support/net.js";
import { rawClient, RawServer, type RawPeer } from "../support/raw-peer.js";
import { compressAlone, OP } from "./shared.js";

/** Large enough that its inflation takes a while after the close frame behind it is parsed. */
const MESSAGE = textOfSize(4 * MiB);
const CLOSE_CODE = 4001;
const CLOSE_REASON = "done, bye";

interface Seen {
  events: string[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Records the order of message and close events on one of our ends (client or server side), answering each message. */
function watch(ws: WebSocket): Seen {
  const events: string[] = [];
  ws.on("error", () => {});
  ws.on("message", (data) => {
    events.push(`message ${(data as Buffer).equals(MESSAGE) ? "intact" : `of ${(data as Buffer).length} bytes, altered`}`);
    // An application that answers: with the socket gone, the answer must not turn the peer's close into a failure.
    ws.send("thanks");
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code: number, reason: Buffer) => {
      events.push(`close ${code}`);
      resolve({ code, reason: reason.toString() });
    }),
  );
  return { events, closed };
}

/** The peer's script: the compressed message, the close frame, and its TCP close straight after, all in one write. */
function sendMessageCloseAndEnd(peer: RawPeer, masked: boolean): void {
  const mask = masked ? undefined : null;
  peer.socket.end(Buffer.concat([
    frame({ opcode: OP.text, payload: compressAlone(MESSAGE), rsv1: true, mask }),
    frame({ opcode: OP.close, payload: closePayload(CLOSE_CODE, CLOSE_REASON), mask }),
  ]));
}

async function expectMessageThenClose(seen: Seen): Promise<void> {
  const { code, reason } = await withDeadline(seen.closed, 10_000, "the close event");
  expect(seen.events).toEqual(["message intact", `close ${CLOSE_CODE}`]);
  expect(code).toBe(CLOSE_CODE);
  expect(reason).toBe(CLOSE_REASON);
}

describe("a close frame behind a compressed message, then the peer's TCP close", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it("our client delivers the message, then reports the server's close code and reason", async () => {
    const server = new RawServer(() => ({ "Sec-WebSocket-Extensions": "permessage-deflate" }));
    cleanups.push(() => server.close());
    const port = await server.listen();
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, undefined, { perMessageDeflate: true });
    cleanups.push(() => ws.terminate());
    const seen = watch(ws);
    const { peer } = await server.accept();
    await withDeadline(new Promise<void>((resolve) => (ws.readyState === WebSocket.OPEN ? resolve() : ws.once("open", () => resolve()))), 5000, "open");
    sendMessageCloseAndEnd(peer, false);
    await expectMessageThenClose(seen);
  });

  it("our server delivers the message, then reports the client's close code and reason", async () => {
    const { wss, port } = await startServer({ perMessageDeflate: true });
    cleanups.push(() => wss.close());
    const accepted = new Promise<Seen>((resolve) => (wss as WebSocketServer).once("connection", (ws: WebSocket) => resolve(watch(ws))));
    const { peer } = await rawClient(port, { "Sec-WebSocket-Extensions": "permessage-deflate" });
    cleanups.push(() => peer.destroy());
    const seen = await withDeadline(accepted, 5000, "the server's connection");
    sendMessageCloseAndEnd(peer, true);
    await expectMessageThenClose(seen);
  });
});
