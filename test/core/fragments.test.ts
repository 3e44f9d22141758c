// Fragmented messages (issue 11): what a message in progress holds grows with its bytes, not with
// its fragments, and small fragments are refused by what they cost, not by how many there are.
import { describe, expect, it } from "vitest";
import { heldBytes } from "../support/memory.js";
import { FrameParser, ProtocolError, loadCoreSync, type ErrorKind } from "../../src/core/node.js";
import { DEFAULT_PARSER_LIMITS } from "../../src/core/parser.js";
import { frame } from "../support/frames.js";
import { binary, failure, record } from "../support/recorder.js";

const BINARY = 2, CONT = 0;
const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);
/** A data frame shorter than this is charged the difference against the message limit. */
const SMALL = 64;

/** `count` frames of `size` bytes each: the first opens a binary message, none ends it. */
function openFragments(count: number, size: number): Buffer {
  const first = frame({ opcode: BINARY, fin: false, payload: Buffer.alloc(size, 1), mask: KEY });
  const next = frame({ opcode: CONT, fin: false, payload: Buffer.alloc(size, 1), mask: KEY });
  return Buffer.concat([first, ...Array<Buffer>(count - 1).fill(next)]);
}

/** `data` in `size`-byte fragments, ended by an empty final continuation, as a streaming sender does. */
function fragmented(data: Buffer, size: number, mask: Buffer | null = KEY): Buffer {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) {
    frames.push(frame({ opcode: off === 0 ? BINARY : CONT, fin: false, payload: data.subarray(off, off + size), mask }));
  }
  frames.push(frame({ opcode: CONT, fin: true, mask }));
  return Buffer.concat(frames);
}

function pattern(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >>> 8)) & 0xff;
  return out;
}

/** Feeds `bytes` in socket-sized reads. */
function pushInReads(parser: FrameParser, bytes: Buffer, read = 64 * 1024): void {
  for (let off = 0; off < bytes.length; off += read) parser.push(bytes.subarray(off, off + read));
}

describe("fragmented messages: memory", () => {
  const core = loadCoreSync({ maxConnections: 32 });

  it("65,535 held 1-byte fragments cost about their bytes, not a Buffer each (was ~7.4 MB per connection)", () => {
    const flood = openFragments(65_535, 1);
    const parsers: FrameParser[] = [];
    const before = heldBytes();
    for (let i = 0; i < 10; i++) {
      const r = record(core, { role: "server" });
      pushInReads(r.parser, flood);
      expect(r.events).toEqual([]);
      parsers.push(r.parser);
    }
    const perConnection = (heldBytes() - before) / parsers.length;
    // 65,535 bytes held, in a buffer that grows by doubling: at most 128 KiB. Margin for the
    // allocator and the test's own objects; a Buffer per fragment would be ~7 MB.
    expect(perConnection).toBeLessThan(512 * 1024);
    for (const p of parsers) p.destroy();
  });

  it("a message spanning many reads is assembled intact, whatever its size or fragmentation", () => {
    for (const [size, fragment] of [[200_000, 0], [3 << 20, 0], [100_000, 7], [1 << 20, 1000], [70_000, 65_536]] as const) {
      const data = pattern(size);
      const bytes = fragment === 0 ? frame({ opcode: BINARY, payload: data, mask: KEY }) : fragmented(data, fragment);
      const r = record(core, { role: "server" });
      pushInReads(r.parser, bytes, 1460);
      r.parser.destroy();
      expect(r.events, `${size} bytes in fragments of ${fragment || "all"}`).toEqual([binary(data)]);
    }
  });
});

describe("fragmented messages: cost, not count", () => {
  const core = loadCoreSync({ maxConnections: 32 });

  it("a 4 MiB message in 64-byte fragments ended by an empty FIN (65,537 frames) arrives under the default limits", () => {
    const data = pattern(4 << 20);
    for (const role of ["server", "client"] as const) {
      const r = record(core, { role });
      pushInReads(r.parser, fragmented(data, 64, role === "server" ? KEY : null));
      r.parser.destroy();
      expect(r.events, role).toEqual([binary(data)]);
    }
  });

  it("fragments of 64 bytes or more are never charged: exactly maxMessage in 64-byte fragments + empty FIN arrives", () => {
    const data = pattern(2 << 20);
    const r = record(core, { role: "server", maxMessage: data.length });
    pushInReads(r.parser, fragmented(data, 64));
    expect(r.events).toEqual([binary(data)]);
  });

  it("with no fragment count, an empty-fragment flood is cut by its cost: 1009 at frame budget/64 + 1, not before", () => {
    const maxMessage = 2 << 20;
    const allowed = maxMessage / SMALL; // 32,768 empty frames
    const r = record(core, { role: "server", maxMessage, maxFragments: 0 });
    pushInReads(r.parser, openFragments(allowed, 0));
    expect(r.events).toEqual([]);
    r.push(frame({ opcode: CONT, fin: false, mask: KEY }));
    expect(r.events).toEqual([failure("WS_ERR_TOO_MANY_FRAGMENTS", 1009)]);
    expect(r.errors[0]!.closeReason).toBe(`message in too many fragments under 64 bytes (overhead over ${maxMessage} bytes, from maxMessage)`);
  });

  it("under the default limits the largest empty-fragment flood is 262,144 frames (1.5 MiB on the wire), parsed in well under a second", () => {
    const allowed = DEFAULT_PARSER_LIMITS.maxMessage / SMALL;
    expect(allowed).toBe(262_144);
    const r = record(core, { role: "server" });
    const started = process.cpuUsage();
    pushInReads(r.parser, openFragments(allowed, 0));
    const cpu = process.cpuUsage(started);
    expect(r.events).toEqual([]);
    r.push(frame({ opcode: CONT, fin: false, mask: KEY }));
    expect(r.events).toEqual([failure("WS_ERR_TOO_MANY_FRAGMENTS", 1009)]);
    expect(r.errors[0]!.closeReason).toBe("message in too many fragments under 64 bytes (overhead over 16777216 bytes, from maxMessage)");
    // Measured ~7 ms on a 2-core VM; the bound is for a shared, busy machine.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000);
  });

  it("1-byte fragments are charged 63 bytes each: cut after budget/63 frames", () => {
    const maxMessage = 1 << 20;
    const allowed = Math.floor(maxMessage / (SMALL - 1));
    const r = record(core, { role: "server", maxMessage });
    pushInReads(r.parser, openFragments(allowed, 1));
    expect(r.events).toEqual([]);
    r.push(frame({ opcode: CONT, fin: false, payload: "x", mask: KEY }));
    expect(r.events).toEqual([failure("WS_ERR_TOO_MANY_FRAGMENTS", 1009)]);
  });

  it("a small maxMessage still allows 16,384 small fragments (ws's default count): 2,000 1-byte fragments under maxMessage 4096", () => {
    const data = pattern(2000);
    const r = record(core, { role: "server", maxMessage: 4096 });
    pushInReads(r.parser, fragmented(data, 1));
    expect(r.events).toEqual([binary(data)]);
  });

  it("maxMessage 0 (no limit) charges nothing", () => {
    const r = record(core, { role: "server", maxMessage: 0, maxFragments: 0 });
    pushInReads(r.parser, openFragments(300_000, 0));
    expect(r.events).toEqual([]);
  });

  it("maxFragments, when set, still caps the count, and says so", () => {
    const r = record(core, { role: "server", maxFragments: 1000 });
    pushInReads(r.parser, openFragments(1001, 100));
    expect(r.events).toEqual([failure("WS_ERR_TOO_MANY_FRAGMENTS", 1009)]);
    expect(r.errors[0]!.closeReason).toBe("message over maxFragments (1000), or fragments under 64 bytes cost over 16777216 bytes (maxMessage)");
    const countOnly = record(core, { role: "server", maxFragments: 10, maxMessage: 0 });
    pushInReads(countOnly.parser, openFragments(11, 100));
    expect(countOnly.errors[0]!.closeReason).toBe("message over maxFragments (10)");
  });
});

describe("limit errors carry a reason fit for a close frame", () => {
  const core = loadCoreSync({ maxConnections: 4 });

  it("a frame over maxPayload and a message over maxMessage name the limit and its value", () => {
    const big = record(core, { role: "server", maxPayload: 1000 });
    big.push(frame({ opcode: BINARY, payload: Buffer.alloc(1001), mask: KEY }));
    expect(big.errors[0]!.closeReason).toBe("frame payload exceeds maxPayload (1000 bytes)");
    const long = record(core, { role: "server", maxMessage: 1000 });
    const half = Buffer.alloc(600);
    long.push(frame({ opcode: BINARY, fin: false, payload: half, mask: KEY }), frame({ opcode: CONT, payload: half, mask: KEY }));
    expect(long.errors[0]!.closeReason).toBe("message exceeds maxMessage (1000 bytes)");
    expect(long.errors[0]!.message).toBe("Invalid WebSocket frame: message exceeds maxMessage (1000 bytes)");
  });

  it("every error kind's reason is non-empty and at most 123 bytes of UTF-8 (RFC 6455 §5.5), even with the largest limits", () => {
    const big = Number.MAX_SAFE_INTEGER;
    const largest = { maxPayload: big, maxMessage: big, maxFragments: 0xffffffff, smallFragmentBytes: 64, fragmentOverhead: big };
    for (let kind = 1; kind <= 17; kind++) {
      for (const limits of [largest, undefined]) {
        const reason = new ProtocolError(kind as ErrorKind, 1002, limits).closeReason;
        expect(reason.length, `kind ${kind}`).toBeGreaterThan(0);
        expect(Buffer.byteLength(reason), `kind ${kind}: ${reason}`).toBeLessThanOrEqual(123);
      }
    }
  });
});
