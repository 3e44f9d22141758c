// Autobahn-style conformance of OUR CLIENT (RFC 6455 §5–§7): a raw net.Server answers the upgrade by
// hand, sends scripted (unmasked) frames to our echoing client, and reads back what it sends, unmasked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, type ClientOptions } from "../../src/index.js";
import { binaryOfSize, textOfSize, withDeadline } from "../support/interop.js";
import { closePayload, frame, type RawFrame } from "../support/frames.js";
import { RawServer, type RawPeer } from "../support/raw-peer.js";
import {
  expectClose, expectData, FRAME_SIZES, INVALID_CLOSE_CODES, INVALID_UTF8, OP, RESERVED_BITS, RESERVED_OPCODES, VALID_CLOSE_CODES, VALID_UTF8,
} from "./shared.js";

const server = new RawServer();
let port = 0;
const clients: WebSocket[] = [];

beforeAll(async () => {
  port = await server.listen();
});

afterAll(async () => {
  for (const ws of clients) ws.terminate();
  await server.close();
});

/** Our client, echoing every message, connected to the raw server; resolves with both ends. */
async function connect(options: ClientOptions = {}): Promise<{ ws: WebSocket; peer: RawPeer; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, undefined, { perMessageDeflate: false, ...options });
  clients.push(ws);
  ws.on("error", () => {});
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  const { peer } = await server.accept();
  await withDeadline(new Promise<void>((resolve) => (ws.readyState === WebSocket.OPEN ? resolve() : ws.once("open", () => resolve()))), 5000, "open");
  return { ws, peer, closed };
}

const S = (f: RawFrame): Buffer => frame({ ...f, mask: null }); // servers never mask

/** The client fails the connection: its close frame (masked) carries `code`, and it reports it. */
async function expectFailure(peer: RawPeer, closed: Promise<number>, code: number): Promise<void> {
  await expectClose(peer, code, { masked: true });
  peer.destroy();
  expect(await withDeadline(closed, 5000, "the client's close event")).toBe(code);
}

describe("1 framing", () => {
  const cases = FRAME_SIZES.flatMap((size) =>
    (["text", "binary"] as const).flatMap((kind) => (["whole", "1 byte per write"] as const).map((how) => ({ size, kind, how }))),
  );
  it.each(cases)("$kind of $size bytes, $how, is echoed masked", async ({ size, kind, how }) => {
    const { peer } = await connect();
    const payload = kind === "text" ? textOfSize(size) : binaryOfSize(size);
    const opcode = kind === "text" ? OP.text : OP.binary;
    const bytes = S({ opcode, payload });
    if (how === "whole") peer.send(bytes);
    else await peer.sendBytewise(bytes, 512);
    expectData(await peer.nextFrame(10_000), opcode, payload, true);
  });
});

describe("2 ping/pong", () => {
  it.each([0, 125])("a ping of %i bytes gets an identical (masked) pong", async (size) => {
    const { peer } = await connect();
    const payload = binaryOfSize(size);
    peer.send(S({ opcode: OP.ping, payload }));
    const pong = await peer.nextFrame();
    expect(pong.raw[0]).toBe(0x8a);
    expect(pong.masked).toBe(true);
    expect(pong.payload.equals(payload)).toBe(true);
  });

  it("a ping of 126 bytes fails with 1002", async () => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.ping, payload: binaryOfSize(126) }));
    await expectFailure(peer, closed, 1002);
  });

  it("an unsolicited pong is ignored", async () => {
    const { peer } = await connect();
    peer.send(S({ opcode: OP.pong, payload: "unsolicited" }), S({ opcode: OP.text, payload: "after" }));
    expectData(await peer.nextFrame(), OP.text, Buffer.from("after"), true);
  });

  it("10 pings in a row get 10 pongs, in order", async () => {
    const { peer } = await connect();
    peer.send(...Array.from({ length: 10 }, (_, i) => S({ opcode: OP.ping, payload: `ping-${i}` })));
    for (let i = 0; i < 10; i++) {
      const pong = await peer.nextFrame();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(`ping-${i}`);
    }
  });
});

describe("3 reserved bits", () => {
  it.each(RESERVED_BITS)("$name fails with 1002", async ({ rsv1, rsv2, rsv3, opcode }) => {
    const { peer, closed } = await connect();
    const bad = opcode === OP.close ? closePayload(1000) : "bad";
    peer.send(
      S({ opcode: OP.text, payload: "Hello" }),
      S({ opcode, payload: bad, rsv1: rsv1 ?? false, rsv2: rsv2 ?? false, rsv3: rsv3 ?? false }),
      S({ opcode: OP.ping, payload: "never answered" }),
    );
    expectData(await peer.nextFrame(), OP.text, Buffer.from("Hello"), true);
    await expectFailure(peer, closed, 1002);
  });
});

describe("4 reserved opcodes", () => {
  it.each(RESERVED_OPCODES)("opcode %i fails with 1002", async (opcode) => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.text, payload: "Hello" }), S({ opcode, payload: "x" }), S({ opcode: OP.ping, payload: "never answered" }));
    expectData(await peer.nextFrame(), OP.text, Buffer.from("Hello"), true);
    await expectFailure(peer, closed, 1002);
  });
});

describe("5 fragmentation", () => {
  it.each([OP.text, OP.binary])("a fragmented message (opcode %i) with pings interleaved is echoed whole, pongs first", async (opcode) => {
    const { peer } = await connect();
    peer.send(
      S({ opcode, payload: "frag1 ", fin: false }),
      S({ opcode: OP.ping, payload: "p1" }),
      S({ opcode: OP.cont, payload: "frag2 ", fin: false }),
      S({ opcode: OP.ping, payload: "p2" }),
      S({ opcode: OP.cont, payload: "frag3" }),
    );
    for (const p of ["p1", "p2"]) {
      const pong = await peer.nextFrame();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(p);
    }
    expectData(await peer.nextFrame(), opcode, Buffer.from("frag1 frag2 frag3"), true);
  });

  const failures: Array<{ name: string; frames: () => Buffer[] }> = [
    { name: "continuation without a start", frames: () => [S({ opcode: OP.cont, payload: "x" })] },
    { name: "new text inside a fragmented text", frames: () => [S({ opcode: OP.text, payload: "a", fin: false }), S({ opcode: OP.text, payload: "b" })] },
    { name: "fragmented ping", frames: () => [S({ opcode: OP.ping, payload: "a", fin: false }), S({ opcode: OP.cont, payload: "b" })] },
    { name: "fragmented close", frames: () => [S({ opcode: OP.close, payload: closePayload(1000), fin: false }), S({ opcode: OP.cont, payload: "b" })] },
  ];
  it.each(failures)("$name fails with 1002", async ({ frames }) => {
    const { peer, closed } = await connect();
    peer.send(...frames(), S({ opcode: OP.ping, payload: "never answered" }));
    await expectFailure(peer, closed, 1002);
  });
});

describe("6 UTF-8", () => {
  it.each(VALID_UTF8)("valid $name is echoed, in one frame and in 1-byte fragments", async ({ bytes }) => {
    const { peer } = await connect();
    peer.send(S({ opcode: OP.text, payload: bytes }));
    expectData(await peer.nextFrame(), OP.text, bytes, true);
    peer.send(...[...bytes].map((b, i) => S({ opcode: i === 0 ? OP.text : OP.cont, payload: Buffer.from([b]), fin: i === bytes.length - 1 })));
    expectData(await peer.nextFrame(), OP.text, bytes, true);
  });

  it.each(INVALID_UTF8)("invalid $name in one frame fails with 1007", async ({ bytes }) => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.text, payload: Buffer.concat([Buffer.from("κόσμε"), bytes, Buffer.from("tail")]) }));
    await expectFailure(peer, closed, 1007);
  });

  it.each(INVALID_UTF8)("invalid $name in a middle fragment fails fast with 1007, before the final fragment", async ({ bytes }) => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.text, payload: "κόσμε", fin: false }), S({ opcode: OP.cont, payload: bytes, fin: false }));
    await expectFailure(peer, closed, 1007);
  });
});

describe("7 close", () => {
  it("a close without payload is echoed without payload (88 80 + mask key)", async () => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.close }));
    const f = await expectClose(peer, null, { masked: true });
    expect(f.raw.length).toBe(6);
    expect(f.raw.subarray(0, 2).equals(Buffer.from([0x88, 0x80]))).toBe(true);
    peer.destroy();
    expect(await withDeadline(closed, 5000, "close event")).toBe(1005);
  });

  it("a close 1000 with a reason is echoed with 1000", async () => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.close, payload: closePayload(1000, "Hello World!") }));
    await expectClose(peer, 1000, { masked: true });
    peer.destroy();
    expect(await withDeadline(closed, 5000, "close event")).toBe(1000);
  });

  it("a close with a 1-byte payload fails with 1002", async () => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.close, payload: Buffer.from([0x03]) }));
    await expectFailure(peer, closed, 1002);
  });

  it.each(INVALID_CLOSE_CODES)("invalid close code %i fails with 1002", async (code) => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.close, payload: closePayload(code) }));
    await expectFailure(peer, closed, 1002);
  });

  it.each(VALID_CLOSE_CODES)("valid close code %i is echoed", async (code) => {
    const { peer } = await connect();
    peer.send(S({ opcode: OP.close, payload: closePayload(code) }));
    await expectClose(peer, code, { masked: true });
  });

  it("a close reason that is invalid UTF-8 fails with 1007", async () => {
    const { peer, closed } = await connect();
    peer.send(S({ opcode: OP.close, payload: closePayload(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80])) }));
    await expectFailure(peer, closed, 1007);
  });

  it("a close started by the client (1000, reason) is masked, and ends cleanly once the server echoes and closes TCP", async () => {
    const { ws, peer } = await connect();
    const closed = new Promise<[number, boolean]>((resolve) => ws.once("close", (code, _reason, wasClean) => resolve([code, wasClean])));
    ws.close(1000, "bye");
    const f = await expectClose(peer, 1000, { masked: true });
    expect(f.payload.subarray(2).toString()).toBe("bye");
    peer.send(S({ opcode: OP.close, payload: closePayload(1000) }));
    peer.socket.end();
    expect(await withDeadline(closed, 5000, "close event")).toEqual([1000, true]);
  });

  it("data and pings after the close are ignored", async () => {
    const { peer } = await connect();
    peer.send(S({ opcode: OP.close, payload: closePayload(1000) }), S({ opcode: OP.text, payload: "after close" }), S({ opcode: OP.ping, payload: "after close" }));
    await expectClose(peer, 1000, { masked: true });
    const more = await peer.framesWithin(500);
    expect(more.map((f) => f.opcode)).toEqual([]);
  });
});

describe("masking and limits", () => {
  it("every client frame is masked with a fresh key", async () => {
    const { ws, peer } = await connect();
    for (let i = 0; i < 32; i++) ws.send(`message ${i}`);
    void ws.ping("p").catch(() => {}); // the raw peer never answers
    const keys = new Set<string>();
    for (let i = 0; i < 33; i++) {
      const f = await peer.nextFrame();
      expect(f.masked).toBe(true);
      keys.add(f.mask!.toString("hex"));
    }
    expect(keys.size).toBe(33);
  });

  it("a masked frame from the server fails with 1002", async () => {
    const { peer, closed } = await connect();
    peer.send(frame({ opcode: OP.text, payload: "masked by the server" }));
    await expectFailure(peer, closed, 1002);
  });

  it("a frame over the client's maxPayload fails with 1009", async () => {
    const { peer, closed } = await connect({ maxPayload: 1024 });
    peer.send(S({ opcode: OP.binary, payload: binaryOfSize(1024) }));
    expectData(await peer.nextFrame(), OP.binary, binaryOfSize(1024), true);
    peer.send(S({ opcode: OP.binary, payload: binaryOfSize(1025) }));
    await expectFailure(peer, closed, 1009);
  });
});
