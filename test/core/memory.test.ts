// Fixed memory and slot isolation: the properties that let one core serve many connections.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CoreError, FrameEncoder, Opcode, loadCore, loadCoreSync } from "../../src/core/node.js";
import { frame } from "../support/frames.js";
import { bytes, record, type Delivered } from "../support/recorder.js";

describe("fixed memory", () => {
  it("1,000,000 frames across 1,000 interleaved slots never grow memory, and no slot sees another's data", () => {
    const core = loadCoreSync({ maxConnections: 1000 });
    const size = core.memoryBytes;
    const encoder = new FrameEncoder(core, { mask: true });
    // Ten distinct streams of 1,000 frames each (text, binary, fragmented, pings); slot i gets
    // stream i % 10, so a leak between slots shows up as a wrong digest.
    const streams = Array.from({ length: 10 }, (_, s) => {
      const parts: Uint8Array[] = [];
      const expected: Delivered[] = [];
      let f = 0;
      while (f < 1000) {
        const payload = Buffer.alloc((f * 7 + s * 13) % 300, 97 + ((f + s) % 26));
        if (f % 50 === 0) {
          parts.push(encoder.encode(Opcode.Ping, payload.subarray(0, 100)));
          expected.push({ type: "ping", data: bytes(payload.subarray(0, 100)) });
          f++;
        } else if (f % 10 === 0) {
          parts.push(encoder.encode(Opcode.Binary, payload, { fragmentSize: Math.ceil(payload.length / 3) || 1 }));
          expected.push({ type: "message", data: bytes(payload), isBinary: true, compressed: false });
          f += payload.length === 0 ? 1 : Math.ceil(payload.length / (Math.ceil(payload.length / 3) || 1));
        } else {
          parts.push(encoder.encode(Opcode.Text, payload));
          expected.push({ type: "message", data: bytes(payload), isBinary: false, compressed: false });
          f++;
        }
      }
      return { data: Buffer.concat(parts), expected, frames: f };
    });
    const recorders = Array.from({ length: 1000 }, () => record(core, { role: "server" }));
    // Feed every slot its stream in chunks of varying size, round-robin across slots.
    const offsets = new Array<number>(1000).fill(0);
    for (let round = 0, busy = true; busy; round++) {
      busy = false;
      for (let slot = 0; slot < 1000; slot++) {
        const { data } = streams[slot % 10]!;
        const off = offsets[slot]!;
        if (off >= data.length) continue;
        const n = 1 + ((round * 131 + slot * 17) % 1460);
        recorders[slot]!.parser.push(data.subarray(off, off + n));
        offsets[slot] = off + n;
        busy = true;
      }
    }
    let framesParsed = 0;
    for (let slot = 0; slot < 1000; slot++) {
      expect(recorders[slot]!.events).toEqual(streams[slot % 10]!.expected);
      framesParsed += streams[slot % 10]!.frames;
      recorders[slot]!.parser.destroy();
    }
    expect(framesParsed).toBeGreaterThanOrEqual(1_000_000);
    expect(core.memoryBytes).toBe(size);
  });

  it("garbage on one slot never throws, ends in an error, and leaves its neighbours intact", () => {
    const core = loadCoreSync({ maxConnections: 4 });
    const size = core.memoryBytes;
    const good = frame({ opcode: Opcode.Text, payload: "steady" });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 8192 }), fc.integer({ min: 1, max: 700 }), (garbage, chunk) => {
        const noisy = record(core, { role: "server", maxPayload: 256, maxMessage: 1024, maxFragments: 8 });
        const quiet = record(core, { role: "server" });
        for (let off = 0; off < garbage.length; off += chunk) {
          noisy.parser.push(garbage.subarray(off, off + chunk));
          quiet.parser.push(good);
        }
        noisy.parser.destroy();
        quiet.parser.destroy();
        const last = noisy.events.at(-1);
        expect(last && (last.type === "error" || last.type === "close")).toBe(true);
        expect(quiet.events.every((e) => e.type === "message" && e.data === bytes(Buffer.from("steady")))).toBe(true);
        expect(quiet.events.length).toBe(Math.ceil(garbage.length / chunk));
      }),
      { numRuns: 200 },
    );
    expect(core.memoryBytes).toBe(size);
  });
});

describe("loader and slots", () => {
  it("loads asynchronously too, and honours simd: false", async () => {
    const simd = await loadCore();
    const scalar = await loadCore({ simd: false });
    expect(simd.flavour).toBe("simd");
    expect(scalar.flavour).toBe("scalar");
    expect(simd.isValidUtf8(Buffer.from("ok ✓"))).toBe(true);
  });

  it("EDGEWS_NO_SIMD=1 selects the scalar build unless the caller asks for SIMD", () => {
    const saved = process.env.EDGEWS_NO_SIMD;
    process.env.EDGEWS_NO_SIMD = "1";
    try {
      expect(loadCoreSync().flavour).toBe("scalar");
      expect(loadCoreSync({ simd: true }).flavour).toBe("simd");
    } finally {
      if (saved === undefined) delete process.env.EDGEWS_NO_SIMD;
      else process.env.EDGEWS_NO_SIMD = saved;
    }
  });

  it("running out of slots is a CoreError that says what to do; destroyed parsers free theirs", () => {
    const core = loadCoreSync({ maxConnections: 2 });
    const a = record(core, { role: "server" });
    record(core, { role: "server" });
    expect(() => record(core, { role: "server" })).toThrow(CoreError);
    expect(() => record(core, { role: "server" })).toThrow(/raise maxConnections/);
    a.parser.destroy();
    expect(core.freeSlots).toBe(1);
    const c = record(core, { role: "client" });
    expect(c.push(frame({ opcode: Opcode.Text, payload: "fresh", mask: null }))).toHaveLength(1);
  });

  it("a reused slot starts clean", () => {
    const core = loadCoreSync({ maxConnections: 1 });
    const first = record(core, { role: "server" });
    first.push(frame({ opcode: Opcode.Text, payload: "half", fin: false }), frame({ opcode: Opcode.Binary, payload: "x" }).subarray(0, 3));
    first.parser.destroy();
    const second = record(core, { role: "server" });
    expect(second.push(frame({ opcode: Opcode.Binary, payload: "whole" }))).toEqual([
      { type: "message", data: bytes(Buffer.from("whole")), isBinary: true, compressed: false },
    ]);
  });

  it("rejects bad options with the option's name", () => {
    expect(() => loadCoreSync({ maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => loadCoreSync({ arenaBytes: 10 })).toThrow(/arenaBytes/);
    const core = loadCoreSync({ maxConnections: 1 });
    expect(() => record(core, { role: "server", maxPayload: -1 })).toThrow(/maxPayload/);
  });
});
