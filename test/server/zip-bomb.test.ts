// Zip bombs against our server cost bounded work (issue 11): while attackers send compressed
// bombs on four connections (as many as there are process-wide zlib slots), a legitimate client
// exchanging compressed messages keeps its round trips short, and each bomb's connection is
// closed with 1009 soon after its limit is hit. Before the fix, the bombs held every slot for
// seconds past the 1009 decision.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, type WebSocketServer } from "../../src/index.js";
import { resetAndContinueBomb, workBomb } from "../deflate/bombs.js";
import { frame } from "../support/frames.js";
import { requestHead, startServer, upgradeHeaders } from "../support/net.js";

const ATTACKERS = 4;
const since = (start: number) => performance.now() - start;

const servers: WebSocketServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function echoServer(options: Parameters<typeof startServer>[0]) {
  const lines: string[] = [];
  const started = await startServer({ perMessageDeflate: true, log: (line) => lines.push(line), ...options });
  servers.push(started.wss);
  started.wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  return { ...started, lines };
}

describe("zip bombs against the server", () => {
  it("bombs built to be inflated past the 1009 decision: closed with 1009 at once, a legitimate client unhurt", async () => {
    const { port, url, lines } = await echoServer({ maxMessage: 1 << 20 });
    // Each: ~1 MiB of zeros to the limit, then 1 GiB more that zlib is never to see.
    const bomb = frame({ opcode: 2, rsv1: true, payload: await resetAndContinueBomb(1 << 20, 1 << 30) });
    const legit = await openLegitimateClient(url);
    const trips = roundTripsUntil(legit, Promise.all(Array.from({ length: ATTACKERS }, () => attack(port, [bomb, bomb]))));
    const { rtts, outcome: attacks } = await trips;
    for (const { closeCode, answeredAfter } of attacks) {
      expect(closeCode).toBe(1009);
      expect(answeredAfter).toBeLessThan(1000); // before the fix: ~7 s
    }
    expect(lines.filter((line) => / 1009 WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: /.test(line))).toHaveLength(ATTACKERS);
    expect(rtts.length).toBeGreaterThan(0);
    expect(Math.max(...rtts)).toBeLessThan(500); // before the fix: ~7 s
  });

  it("bombs that inflate to nothing yet cost seconds of zlib work: a legitimate client waits a turn, not a bomb", async () => {
    const { port, url } = await echoServer({});
    // 16 MiB of empty deflate blocks (the default message limit): ~1.2 s of zlib work each.
    const bomb = frame({ opcode: 2, rsv1: true, payload: workBomb(16 << 20) });
    const legit = await openLegitimateClient(url);
    // Whether a bomb runs out of maxInflateTime (1009) or is inflated to nothing depends on the
    // machine's speed; what must hold either way is the legitimate client's wait.
    const { rtts } = await roundTripsUntil(legit, Promise.all(Array.from({ length: ATTACKERS }, () => attack(port, [bomb]))));
    expect(rtts.length).toBeGreaterThan(0);
    // Each round trip waits for a slot four times (both ends compress and inflate), each time
    // behind at most a turn of a bomb; the 64 MiB the server parses and the zlib threads busy on
    // both cores add the rest. Before the fix: ~10 s.
    expect(Math.max(...rtts)).toBeLessThan(1500);
  });

  it("perMessageDeflate.maxInflateTime reaches each connection's codec: a 20 ms budget refuses the same bomb with 1009", async () => {
    const { port, lines } = await echoServer({ perMessageDeflate: { maxInflateTime: 20 } });
    const bomb = frame({ opcode: 2, rsv1: true, payload: workBomb(16 << 20) });
    const [{ closeCode }] = await Promise.all([attack(port, [bomb])]);
    expect(closeCode).toBe(1009);
    expect(lines.some((line) => / 1009 WS_ERR_INFLATE_TIME_EXCEEDED: .*\(20 ms\)/.test(line))).toBe(true);
  });
});

async function openLegitimateClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, undefined, { perMessageDeflate: true });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  expect(ws.extensions).toMatch(/permessage-deflate/);
  return ws;
}

/**
 * Sends 2 KiB text messages (compressed: above the 1 KiB threshold) one after the other until
 * `attacks` settles and one more round trip is done, and records each round trip in ms.
 */
async function roundTripsUntil<T>(ws: WebSocket, attacks: Promise<T>): Promise<{ rtts: number[]; outcome: T }> {
  const text = "temperature 21.5 humidity 40 ".repeat(70);
  let over = false;
  const outcome = attacks.finally(() => (over = true));
  const rtts: number[] = [];
  do {
    const sent = performance.now();
    const echoed = new Promise<string>((resolve) => ws.once("message", (data: Buffer) => resolve(data.toString())));
    ws.send(text);
    expect(await echoed).toBe(text);
    rtts.push(since(sent));
  } while (!over);
  ws.close();
  return { rtts, outcome: await outcome };
}

/**
 * Opens a raw connection with permessage-deflate, sends `frames`, and waits for the server's
 * answer: the first frame it sends, a close frame (with its code) or an echo.
 */
async function attack(port: number, frames: Buffer[]): Promise<{ closeCode: number | undefined; answeredAfter: number }> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {}); // the server may reset while the rest of the bomb is on its way
  let received = await upgraded(socket);
  const sent = performance.now();
  for (const f of frames) socket.write(f);
  received = await readBytes(socket, received, 2);
  const answeredAfter = since(sent);
  const isClose = received[0] === 0x88;
  if (isClose) received = await readBytes(socket, received, 4);
  socket.destroy();
  return { closeCode: isClose ? received.readUInt16BE(2) : undefined, answeredAfter };
}

/** Sends an upgrade offering permessage-deflate; resolves with the bytes after the 101's head. */
function upgraded(socket: net.Socket): Promise<Buffer> {
  socket.write(requestHead("/", upgradeHeaders({ "Sec-WebSocket-Extensions": "permessage-deflate" })));
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const head = received.subarray(0, end).toString("latin1");
      if (!/^HTTP\/1\.1 101 /.test(head) || !/permessage-deflate/i.test(head)) reject(new Error(`no permessage-deflate upgrade: ${head}`));
      else resolve(received.subarray(end + 4));
    };
    socket.on("data", onData);
  });
}

/** Resolves with all bytes received once there are at least `length`, counting those already `received`. */
function readBytes(socket: net.Socket, received: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = received;
    const check = () => {
      if (bytes.length < length) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve(bytes);
    };
    const onClose = () => reject(new Error(`the server closed after ${bytes.length} bytes, before answering`));
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      check();
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    check();
  });
}
