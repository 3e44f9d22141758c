// Fragmented messages (issue 11): what a message in progress holds grows with its bytes, not with
// its fragments, and small fragments are refused by what they cost, not by how many there are.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { FrameParser, loadCoreSync } from "../../src/core/node.js";
import { frame } from "../support/frames.js";
import { binary, record } from "../support/recorder.js";

const BINARY = 2, CONT = 0;
const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap and ArrayBuffer bytes in use after full collections. */
function heldBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

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
