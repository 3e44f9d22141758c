// Autobahn-style conformance of OUR SERVER (RFC 6455 §5–§7, RFC 7692), driven by a raw-socket
// client that upgrades by hand, writes hand-built frames and reads back the server's raw bytes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebSocketServer } from "../../src/index.js";
import { binaryOfSize, textOfSize } from "../support/interop.js";
import { closePayload, frame } from "../support/frames.js";
import { startServer } from "../support/net.js";
import { rawClient, type RawPeer } from "../support/raw-peer.js";
import {
  compressAlone, ContextDeflater, expectClose, expectData, FRAME_SIZES, INVALID_CLOSE_CODES, INVALID_UTF8, MessageInflater, OP,
  RESERVED_BITS, RESERVED_OPCODES, VALID_CLOSE_CODES, VALID_UTF8,
} from "./shared.js";

const servers: WebSocketServer[] = [];
const peers: RawPeer[] = [];

async function echoServer(options: Parameters<typeof startServer>[0] = {}): Promise<number> {
  const { wss, port } = await startServer(options);
  servers.push(wss);
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  return port;
}

let port = 0;

async function connect(headers: Record<string, string> = {}, p = port): Promise<RawPeer> {
  const { peer } = await rawClient(p, headers);
  peers.push(peer);
  return peer;
}

/** A failure: the close with `code` is the next frame, then the server drops TCP. */
async function expectFailure(peer: RawPeer, code: number): Promise<void> {
  await expectClose(peer, code, { masked: false });
  await peer.waitEnded();
}

beforeAll(async () => {
  port = await echoServer();
});

afterAll(async () => {
  for (const p of peers) p.destroy();
  for (const s of servers) await s.close();
});

describe("1 framing", () => {
  const cases = FRAME_SIZES.flatMap((size) =>
    (["text", "binary"] as const).flatMap((kind) => (["whole", "1 byte per write"] as const).map((how) => ({ size, kind, how }))),
  );
  it.each(cases)("$kind of $size bytes, $how, is echoed", async ({ size, kind, how }) => {
    const peer = await connect();
    const payload = kind === "text" ? textOfSize(size) : binaryOfSize(size);
    const opcode = kind === "text" ? OP.text : OP.binary;
    const bytes = frame({ opcode, payload });
    if (how === "whole") peer.send(bytes);
    else await peer.sendBytewise(bytes, 512);
    expectData(await peer.nextFrame(10_000), opcode, payload, false);
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000) }));
    await expectClose(peer, 1000, { masked: false });
  });
});

describe("2 ping/pong", () => {
  it.each([0, 125])("a ping of %i bytes gets an identical pong", async (size) => {
    const peer = await connect();
    const payload = binaryOfSize(size);
    peer.send(frame({ opcode: OP.ping, payload }));
    const pong = await peer.nextFrame();
    expect(pong.raw[0]).toBe(0x8a);
    expect(pong.masked).toBe(false);
    expect(pong.payload.equals(payload)).toBe(true);
  });

  it("a ping of 126 bytes fails with 1002", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.ping, payload: binaryOfSize(126) }));
    await expectFailure(peer, 1002);
  });

  it("an unsolicited pong is ignored", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.pong, payload: "unsolicited" }), frame({ opcode: OP.text, payload: "after" }));
    expectData(await peer.nextFrame(), OP.text, Buffer.from("after"), false);
  });

  it("10 pings in a row get 10 pongs, in order", async () => {
    const peer = await connect();
    peer.send(...Array.from({ length: 10 }, (_, i) => frame({ opcode: OP.ping, payload: `ping-${i}` })));
    for (let i = 0; i < 10; i++) {
      const pong = await peer.nextFrame();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(`ping-${i}`);
    }
  });
});

describe("3 reserved bits", () => {
  it.each(RESERVED_BITS)("$name fails with 1002 (after echoing the valid message before it)", async ({ rsv1, rsv2, rsv3, opcode }) => {
    const peer = await connect();
    const bad = opcode === OP.close ? closePayload(1000) : "bad";
    peer.send(
      frame({ opcode: OP.text, payload: "Hello" }),
      frame({ opcode, payload: bad, rsv1: rsv1 ?? false, rsv2: rsv2 ?? false, rsv3: rsv3 ?? false }),
      frame({ opcode: OP.ping, payload: "never answered" }),
    );
    expectData(await peer.nextFrame(), OP.text, Buffer.from("Hello"), false);
    await expectFailure(peer, 1002);
  });
});

describe("4 reserved opcodes", () => {
  it.each(RESERVED_OPCODES)("opcode %i fails with 1002", async (opcode) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.text, payload: "Hello" }), frame({ opcode, payload: "x" }), frame({ opcode: OP.ping, payload: "never answered" }));
    expectData(await peer.nextFrame(), OP.text, Buffer.from("Hello"), false);
    await expectFailure(peer, 1002);
  });
});

describe("5 fragmentation", () => {
  it.each([OP.text, OP.binary])("a fragmented message (opcode %i) with pings interleaved is echoed whole, pongs first", async (opcode) => {
    const peer = await connect();
    peer.send(
      frame({ opcode, payload: "frag1 ", fin: false }),
      frame({ opcode: OP.ping, payload: "p1" }),
      frame({ opcode: OP.cont, payload: "frag2 ", fin: false }),
      frame({ opcode: OP.ping, payload: "p2" }),
      frame({ opcode: OP.cont, payload: "frag3" }),
    );
    for (const p of ["p1", "p2"]) {
      const pong = await peer.nextFrame();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(p);
    }
    expectData(await peer.nextFrame(), opcode, Buffer.from("frag1 frag2 frag3"), false);
  });

  it("a text message in empty fragments is echoed empty", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.text, fin: false }), frame({ opcode: OP.cont, fin: false }), frame({ opcode: OP.cont }));
    expectData(await peer.nextFrame(), OP.text, Buffer.alloc(0), false);
  });

  it("a text message sent 1 byte per fragment is echoed whole", async () => {
    const peer = await connect();
    const text = Buffer.from("κόσμε 𝄞 fragmented");
    peer.send(...[...text].map((b, i) => frame({ opcode: i === 0 ? OP.text : OP.cont, payload: Buffer.from([b]), fin: i === text.length - 1 })));
    expectData(await peer.nextFrame(), OP.text, text, false);
  });

  const failures: Array<{ name: string; frames: () => Buffer[] }> = [
    { name: "continuation (FIN) without a start", frames: () => [frame({ opcode: OP.cont, payload: "x" })] },
    { name: "continuation (no FIN) without a start", frames: () => [frame({ opcode: OP.cont, payload: "x", fin: false })] },
    { name: "new text inside a fragmented text", frames: () => [frame({ opcode: OP.text, payload: "a", fin: false }), frame({ opcode: OP.text, payload: "b" })] },
    { name: "new binary inside a fragmented text", frames: () => [frame({ opcode: OP.text, payload: "a", fin: false }), frame({ opcode: OP.binary, payload: "b" })] },
    { name: "fragmented ping", frames: () => [frame({ opcode: OP.ping, payload: "a", fin: false }), frame({ opcode: OP.cont, payload: "b" })] },
    { name: "fragmented pong", frames: () => [frame({ opcode: OP.pong, payload: "a", fin: false }), frame({ opcode: OP.cont, payload: "b" })] },
    { name: "fragmented close", frames: () => [frame({ opcode: OP.close, payload: closePayload(1000), fin: false }), frame({ opcode: OP.cont, payload: "b" })] },
  ];
  it.each(failures)("$name fails with 1002", async ({ frames }) => {
    const peer = await connect();
    peer.send(...frames(), frame({ opcode: OP.ping, payload: "never answered" }));
    await expectFailure(peer, 1002);
  });
});

describe("6 UTF-8", () => {
  it.each(VALID_UTF8)("valid $name is echoed, in one frame and in 1-byte fragments", async ({ bytes }) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.text, payload: bytes }));
    expectData(await peer.nextFrame(), OP.text, bytes, false);
    peer.send(...[...bytes].map((b, i) => frame({ opcode: i === 0 ? OP.text : OP.cont, payload: Buffer.from([b]), fin: i === bytes.length - 1 })));
    expectData(await peer.nextFrame(), OP.text, bytes, false);
  });

  it.each(INVALID_UTF8)("invalid $name in one frame fails with 1007", async ({ bytes }) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.text, payload: Buffer.concat([Buffer.from("κόσμε"), bytes, Buffer.from("tail")]) }));
    await expectFailure(peer, 1007);
  });

  it.each(INVALID_UTF8)("invalid $name in a middle fragment fails fast with 1007, before the final fragment", async ({ bytes }) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.text, payload: "κόσμε", fin: false }), frame({ opcode: OP.cont, payload: bytes, fin: false }));
    await expectClose(peer, 1007, { masked: false });
    peer.send(frame({ opcode: OP.cont, payload: "rest" }));
    await peer.waitEnded();
  });

  it.each(INVALID_UTF8.filter((c) => c.bytes.length > 1))("invalid $name split over two fragments fails fast with 1007", async ({ bytes }) => {
    const peer = await connect();
    peer.send(
      frame({ opcode: OP.text, payload: Buffer.concat([Buffer.from("κόσμε"), bytes.subarray(0, 1)]), fin: false }),
      frame({ opcode: OP.cont, payload: bytes.subarray(1), fin: false }),
    );
    await expectClose(peer, 1007, { masked: false });
    peer.send(frame({ opcode: OP.cont, payload: "rest" }));
    await peer.waitEnded();
  });

  it.each(INVALID_UTF8)("invalid $name early in one frame fails fast with 1007, before the frame's end arrives", async ({ bytes }) => {
    const peer = await connect();
    const whole = frame({ opcode: OP.text, payload: Buffer.concat([Buffer.from("κόσμε"), bytes, Buffer.alloc(4000, 0x61)]), mask: null });
    const maskedWhole = frame({ opcode: OP.text, payload: Buffer.concat([Buffer.from("κόσμε"), bytes, Buffer.alloc(4000, 0x61)]) });
    expect(whole.length + 4).toBe(maskedWhole.length);
    const cut = 8 /* 2 + 2 (len16) + 4 (mask) */ + Buffer.byteLength("κόσμε") + bytes.length;
    peer.send(maskedWhole.subarray(0, cut));
    await expectClose(peer, 1007, { masked: false });
    peer.send(maskedWhole.subarray(cut));
    await peer.waitEnded();
  });

  it("a message ending in a truncated sequence (1 frame, and over fragments) fails with 1007", async () => {
    const one = await connect();
    one.send(frame({ opcode: OP.text, payload: Buffer.from([...Buffer.from("κόσμ"), 0xce]) }));
    await expectFailure(one, 1007);
    const frag = await connect();
    frag.send(frame({ opcode: OP.text, payload: Buffer.from([...Buffer.from("κόσμ"), 0xce]), fin: false }), frame({ opcode: OP.cont }));
    await expectFailure(frag, 1007);
  });
});

describe("7 close", () => {
  it("a close without payload is echoed without payload (88 00), then the server closes TCP", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close }));
    const f = await expectClose(peer, null, { masked: false });
    expect(f.raw.equals(Buffer.from([0x88, 0x00]))).toBe(true);
    await peer.waitEnded();
  });

  it("a close 1000 with a reason is echoed with 1000, then the server closes TCP", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000, "Hello World!") }));
    await expectClose(peer, 1000, { masked: false });
    await peer.waitEnded();
  });

  it("a close with a 123-byte reason (the most that fits) is echoed with 1000", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000, "*".repeat(123)) }));
    await expectClose(peer, 1000, { masked: false });
    await peer.waitEnded();
  });

  it("a close with a 124-byte reason (payload 126 > 125) fails with 1002", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000, "*".repeat(124)) }));
    await expectFailure(peer, 1002);
  });

  it("a close with a 1-byte payload fails with 1002", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: Buffer.from([0x03]) }));
    await expectFailure(peer, 1002);
  });

  it.each(INVALID_CLOSE_CODES)("invalid close code %i fails with 1002", async (code) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(code) }));
    await expectFailure(peer, 1002);
  });

  it.each(VALID_CLOSE_CODES)("valid close code %i is echoed", async (code) => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(code) }));
    const f = await expectClose(peer, code, { masked: false });
    expect(f.raw.subarray(0, 4).equals(Buffer.from([0x88, f.raw[1]!, code >> 8, code & 0xff]))).toBe(true);
    await peer.waitEnded();
  });

  it("a close reason that is invalid UTF-8 fails with 1007", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64])) }));
    await expectFailure(peer, 1007);
  });

  it("data and pings after the close are ignored", async () => {
    const peer = await connect();
    peer.send(frame({ opcode: OP.close, payload: closePayload(1000) }), frame({ opcode: OP.text, payload: "after close" }), frame({ opcode: OP.ping, payload: "after close" }));
    const frames = await peer.framesWithin(3000);
    expect(peer.ended, "the server closed TCP").toBe(true);
    expect(frames.map((f) => f.opcode)).toEqual([OP.close]);
    expect(frames[0]!.payload.readUInt16BE(0)).toBe(1000);
  });
});

describe("9 limits", () => {
  let limited = 0;
  beforeAll(async () => {
    limited = await echoServer({ maxPayload: 1024, maxMessage: 2048 });
  });

  it("a frame of exactly maxPayload is echoed", async () => {
    const peer = await connect({}, limited);
    const payload = binaryOfSize(1024);
    peer.send(frame({ opcode: OP.binary, payload }));
    expectData(await peer.nextFrame(), OP.binary, payload, false);
  });

  it("a frame over maxPayload fails with 1009, from its header alone", async () => {
    const peer = await connect({}, limited);
    const bytes = frame({ opcode: OP.binary, payload: binaryOfSize(1025) });
    peer.send(bytes.subarray(0, 8)); // header + mask only
    await expectClose(peer, 1009, { masked: false });
    await peer.waitEnded();
  });

  it("a fragmented message over maxMessage fails with 1009", async () => {
    const peer = await connect({}, limited);
    peer.send(...[0, 1, 2].map((i) => frame({ opcode: i === 0 ? OP.binary : OP.cont, payload: binaryOfSize(1000), fin: i === 2 })));
    await expectFailure(peer, 1009);
  });
});

describe("12/13 permessage-deflate", () => {
  let deflatePort = 0;
  beforeAll(async () => {
    deflatePort = await echoServer({ perMessageDeflate: true, compressThreshold: 0 });
  });

  async function deflateClient(offer: string): Promise<{ peer: RawPeer; response: string; windowBits: number }> {
    const { peer, head } = await rawClient(deflatePort, { "Sec-WebSocket-Extensions": offer });
    peers.push(peer);
    const ext = /\r\nsec-websocket-extensions:\s*([^\r\n]*)/i.exec(head)?.[1] ?? "";
    expect(ext).toMatch(/^permessage-deflate\b/);
    const windowBits = Number(/client_max_window_bits=(\d+)/.exec(ext)?.[1] ?? 15);
    return { peer, response: ext, windowBits };
  }

  /** Reads the next data frame and decompresses it when RSV1 is set. */
  async function nextMessage(peer: RawPeer, inflater: MessageInflater): Promise<{ opcode: number; data: Buffer; compressed: Buffer | null }> {
    const f = await peer.nextFrame(10_000);
    expect(f.fin).toBe(true);
    expect([f.rsv2, f.rsv3]).toEqual([false, false]);
    expect(f.masked).toBe(false);
    return { opcode: f.opcode, data: f.rsv1 ? inflater.inflate(f.payload) : f.payload, compressed: f.rsv1 ? f.payload : null };
  }

  const OFFER = "permessage-deflate; client_max_window_bits";

  it.each([
    ...[0, 10, 1000, 65536].map((size) => ({ kind: "text" as const, size })),
    ...[10, 1000, 65536].map((size) => ({ kind: "binary" as const, size })),
  ])("a compressed $kind of $size bytes is echoed compressed and correct", async ({ kind, size }) => {
    const { peer, windowBits } = await deflateClient(OFFER);
    const inflater = new MessageInflater();
    const data = kind === "text" ? textOfSize(size) : binaryOfSize(size);
    const opcode = kind === "text" ? OP.text : OP.binary;
    peer.send(frame({ opcode, payload: compressAlone(data, windowBits), rsv1: true }));
    const got = await nextMessage(peer, inflater);
    expect(got.opcode).toBe(opcode);
    expect(got.compressed, "echo is compressed (RSV1)").not.toBeNull();
    expect(got.data.equals(data)).toBe(true);
  });

  it("a compressed message fragmented over 3 frames (RSV1 on the first only) is decoded", async () => {
    const { peer, windowBits } = await deflateClient(OFFER);
    const data = textOfSize(5000);
    const c = compressAlone(data, windowBits);
    const a = Math.floor(c.length / 3);
    peer.send(
      frame({ opcode: OP.text, payload: c.subarray(0, a), rsv1: true, fin: false }),
      frame({ opcode: OP.ping, payload: "mid" }),
      frame({ opcode: OP.cont, payload: c.subarray(a, 2 * a), fin: false }),
      frame({ opcode: OP.cont, payload: c.subarray(2 * a) }),
    );
    expect((await peer.nextFrame()).opcode).toBe(OP.pong);
    const got = await nextMessage(peer, new MessageInflater());
    expect(got.data.equals(data)).toBe(true);
  });

  it("an uncompressed message (RSV1 clear) is still accepted", async () => {
    const { peer } = await deflateClient(OFFER);
    peer.send(frame({ opcode: OP.text, payload: "plain" }));
    const got = await nextMessage(peer, new MessageInflater());
    expect(got.data.toString()).toBe("plain");
  });

  it("RSV1 on a continuation frame fails with 1002", async () => {
    const { peer, windowBits } = await deflateClient(OFFER);
    const c = compressAlone(textOfSize(500), windowBits);
    peer.send(frame({ opcode: OP.text, payload: c.subarray(0, 10), rsv1: true, fin: false }), frame({ opcode: OP.cont, payload: c.subarray(10), rsv1: true }));
    await expectFailure(peer, 1002);
  });

  it("RSV1 on a ping fails with 1002", async () => {
    const { peer } = await deflateClient(OFFER);
    peer.send(frame({ opcode: OP.ping, payload: compressAlone(Buffer.from("ping")), rsv1: true }));
    await expectFailure(peer, 1002);
  });

  it("with context takeover, the server decodes messages that reference earlier ones, and its own echoes reuse its context", async () => {
    const { peer, response, windowBits } = await deflateClient(OFFER);
    expect(response).not.toMatch(/no_context_takeover/);
    const deflater = new ContextDeflater(windowBits);
    const inflater = new MessageInflater();
    const data = binaryOfSize(2000); // incompressible alone, so only the context shrinks the second copy
    try {
      const first = await deflater.compress(data);
      const second = await deflater.compress(data);
      expect(second.length).toBeLessThan(first.length / 4);
      peer.send(frame({ opcode: OP.binary, payload: first, rsv1: true }));
      const a = await nextMessage(peer, inflater);
      peer.send(frame({ opcode: OP.binary, payload: second, rsv1: true }));
      const b = await nextMessage(peer, inflater);
      expect(a.data.equals(data)).toBe(true);
      expect(b.data.equals(data)).toBe(true);
      expect(b.compressed!.length).toBeLessThan(a.compressed!.length / 4);
    } finally {
      deflater.close();
    }
  });

  it("server_no_context_takeover: accepted, and every echo decompresses on its own", async () => {
    const { peer, response, windowBits } = await deflateClient("permessage-deflate; server_no_context_takeover; client_max_window_bits");
    expect(response).toMatch(/server_no_context_takeover/);
    const data = textOfSize(2000);
    const out: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      peer.send(frame({ opcode: OP.text, payload: compressAlone(data, windowBits), rsv1: true }));
      const got = await nextMessage(peer, new MessageInflater(true));
      expect(got.data.equals(data)).toBe(true);
      out.push(got.compressed!);
    }
    expect(out[1]!.equals(out[0]!)).toBe(true);
    expect(out[2]!.equals(out[0]!)).toBe(true);
  });

  it("client_no_context_takeover: accepted, messages compressed alone are decoded", async () => {
    const { peer, windowBits } = await deflateClient("permessage-deflate; client_no_context_takeover; client_max_window_bits");
    const inflater = new MessageInflater();
    for (let i = 0; i < 3; i++) {
      const data = textOfSize(1000 + i);
      peer.send(frame({ opcode: OP.text, payload: compressAlone(data, windowBits), rsv1: true }));
      expect((await nextMessage(peer, inflater)).data.equals(data)).toBe(true);
    }
  });
});
