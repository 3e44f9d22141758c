// Round trips through the core: random message sequences (text with astral characters, binary,
// 0..200 KiB, random fragmentation, control frames between fragments) encoded by FrameEncoder,
// cut at random points and parsed by a FrameParser of the opposite role. Both builds, and a core
// with a tiny arena and event buffer so that every "doesn't fit" path of the host runs too.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameEncoder, FrameParser, loadCoreSync, type Core, type CoreOptions, type ParserOptions, type Role } from "../../src/core/node.js";
import { cut as cutWith, seededBytes, type Chunking } from "../support/seeded.js";
import { closePayload } from "../support/frames.js";

const CONT = 0, TEXT = 1, BINARY = 2, CLOSE = 8, PING = 9, PONG = 10;

// ---------------------------------------------------------------------------------------------
// Deterministic bytes and chunkings (big payloads from a seed: fast to generate, shrinkable).




const cut = <T extends Uint8Array>(data: T, c: Chunking): T[] => cutWith(data, c, 64 * 1024);

const chunkingArb: fc.Arbitrary<Chunking> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Chunking>({ kind: "whole" }) },
  { weight: 1, arbitrary: fc.constant<Chunking>({ kind: "bytewise" }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("random" as const), seed: fc.integer(), max: fc.constantFrom(2, 7, 16, 100, 1500, 70_000) }),
  },
);


// ---------------------------------------------------------------------------------------------
// What a parser delivers, reduced to comparable values (payloads as length + hash + head).

type Seen =
  | { type: "message"; isBinary: boolean; size: number; sha1: string; head: string }
  | { type: "ping" | "pong"; hex: string }
  | { type: "close"; code: number; reason: string }
  | { type: "error"; code: string; closeCode: number };

function digest(data: Uint8Array): { size: number; sha1: string; head: string } {
  return { size: data.length, sha1: createHash("sha1").update(data).digest("hex"), head: Buffer.from(data.subarray(0, 12)).toString("hex") };
}
const message = (data: Uint8Array, isBinary: boolean): Seen => ({ type: "message", isBinary, ...digest(data) });
const control = (type: "ping" | "pong", data: Uint8Array): Seen => ({ type, hex: Buffer.from(data).toString("hex") });

function parserFor(core: Core, options: ParserOptions, seen: Seen[]): FrameParser {
  return new FrameParser(core, options, {
    onMessage: (data, isBinary, compressed) => {
      expect(compressed).toBe(false);
      seen.push(message(data, isBinary));
    },
    onPing: (data) => seen.push(control("ping", data)),
    onPong: (data) => seen.push(control("pong", data)),
    onClose: (code, reason) => seen.push({ type: "close", code, reason }),
    onError: (error) => seen.push({ type: "error", code: error.code, closeCode: error.closeCode }),
  });
}

// ---------------------------------------------------------------------------------------------
// Generators.

const sizeArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 140 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 65537) },
  { weight: 3, arbitrary: fc.integer({ min: 141, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 70_001, max: 200 * 1024 }) },
);

const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
/** One code point, biased toward the awkward ones: astral, 2-/3-byte edges, U+FFFF, U+10FFFF. */
const charArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0x80, max: 0xffff }).filter((c) => !surrogate(c)).map((c) => String.fromCodePoint(c)),
  fc.constantFrom("a", "\u0000", "\u007f", "\u0080", "\u07ff", "\u0800", "\uffff", "\ufeff", "€", "😀", "\u{10000}", "\u{10ffff}"),
);
const textUnitArb = fc.string({ unit: charArb, maxLength: 40 });

/** A payload as the seed it is made from, so that counterexamples print small. */
type PayloadSpec = { isBinary: true; size: number; seed: number } | { isBinary: false; unit: string; size: number };

interface Payload {
  isBinary: boolean;
  data: Buffer;
}

/** Binary: `size` seeded random bytes. Text: a random string of code points repeated to about `size` bytes. */
function materialize(spec: PayloadSpec): Payload {
  if (spec.isBinary) return { isBinary: true, data: seededBytes(spec.size, spec.seed) };
  const unitBytes = Buffer.byteLength(spec.unit);
  const text = unitBytes === 0 ? "" : spec.unit.repeat(Math.max(1, Math.ceil(spec.size / unitBytes)));
  return { isBinary: false, data: Buffer.from(text, "utf8") };
}

const payloadArb: fc.Arbitrary<PayloadSpec> = fc.oneof(
  fc.record({ isBinary: fc.constant(false as const), unit: textUnitArb, size: sizeArb }),
  fc.record({ isBinary: fc.constant(true as const), size: sizeArb, seed: fc.integer() }),
);

interface Control {
  opcode: typeof PING | typeof PONG;
  data: Buffer;
}
const controlArb: fc.Arbitrary<Control> = fc.record({
  opcode: fc.constantFrom(PING, PONG) as fc.Arbitrary<typeof PING | typeof PONG>,
  data: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.constantFrom(0, 125)).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b))),
});

/** 0: one frame; else the encoder's fragmentSize (kept >= size/512 so big payloads stay at <= 512 frames). */
const fragmentSizeArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 100_000 }));
const capFragments = (fs: number, size: number) => (fs === 0 ? 0 : Math.max(fs, Math.ceil(size / 512)));

type Item =
  | { kind: "message"; payload: PayloadSpec; fragmentSize: number }
  /** A message fragmented by hand: encode(..., {fin:false}) then opcode-0 pieces, controls between. */
  | { kind: "fragmented"; payload: PayloadSpec; cuts: number[]; between: Control[][]; fragmentSizes: number[] }
  | { kind: "control"; control: Control };

const itemArb: fc.Arbitrary<Item> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("message" as const), payload: payloadArb, fragmentSize: fragmentSizeArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fragmented" as const),
      payload: payloadArb,
      cuts: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      between: fc.array(fc.array(controlArb, { maxLength: 2 }), { minLength: 1, maxLength: 5 }),
      fragmentSizes: fc.array(fragmentSizeArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("control" as const), control: controlArb }) },
);

interface Ending {
  code: number | undefined;
  reason: string;
  /** Bytes after the close frame: anything at all, never parsed. */
  trailer: Buffer;
}
const endingArb: fc.Arbitrary<Ending | null> = fc.option(
  fc.record({
    code: fc.option(fc.constantFrom(1000, 1001, 1003, 1011, 1014, 3000, 4999), { nil: undefined }),
    reason: fc.string({ unit: charArb, maxLength: 20 }).filter((r) => Buffer.byteLength(r) <= 123),
    trailer: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  }),
  { freq: 3 },
);

const scenarioArb = fc.record({ items: fc.array(itemArb, { minLength: 1, maxLength: 6 }), ending: endingArb, chunking: chunkingArb });
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Building the stream and what it must deliver.

function closeBody(code: number | undefined, reason: string): Buffer {
  return code === undefined ? Buffer.alloc(0) : closePayload(code, reason);
}

function build(enc: FrameEncoder, s: Scenario): { stream: Buffer; expected: Seen[] } {
  const frames: Uint8Array[] = [];
  const expected: Seen[] = [];
  const sendControl = (c: Control) => {
    frames.push(enc.encode(c.opcode, c.data));
    expected.push(control(c.opcode === PING ? "ping" : "pong", c.data));
  };
  for (const item of s.items) {
    if (item.kind === "control") {
      sendControl(item.control);
    } else if (item.kind === "message") {
      const { data, isBinary } = materialize(item.payload);
      frames.push(enc.encode(isBinary ? BINARY : TEXT, data, { fragmentSize: capFragments(item.fragmentSize, data.length) }));
      expected.push(message(data, isBinary));
    } else {
      const { data, isBinary } = materialize(item.payload);
      const points = [...new Set(item.cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      const bounds = [0, ...points, data.length];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const piece = data.subarray(bounds[i]!, bounds[i + 1]!);
        const last = i + 2 === bounds.length;
        const fs = capFragments(item.fragmentSizes[i % item.fragmentSizes.length]!, piece.length);
        frames.push(enc.encode(i === 0 ? (isBinary ? BINARY : TEXT) : CONT, piece, { fin: last, fragmentSize: fs }));
        if (!last) for (const c of item.between[i % item.between.length]!) sendControl(c);
      }
      expected.push(message(data, isBinary));
    }
  }
  if (s.ending) {
    frames.push(enc.encode(CLOSE, closeBody(s.ending.code, s.ending.reason)), s.ending.trailer);
    expected.push({ type: "close", code: s.ending.code ?? 1005, reason: s.ending.code === undefined ? "" : s.ending.reason });
  }
  return { stream: Buffer.concat(frames), expected };
}

// ---------------------------------------------------------------------------------------------

/** EDGEWS_FC_SCALE=20 multiplies every property's runs (a soak run); the default keeps the suite fast. */
const SCALE = Number(process.env.EDGEWS_FC_SCALE ?? 1);

const CORES: { name: string; options: CoreOptions; runs: number }[] = [
  { name: "simd", options: { simd: true, maxConnections: 8 }, runs: 200 },
  { name: "scalar", options: { simd: false, maxConnections: 8 }, runs: 100 },
  // Frames bigger than the arena, chunks split into arena pieces, feeds cut short by a full
  // event buffer (16 events) and resumed: the host's slow paths.
  { name: "simd, 1 KiB arena, 16 events", options: { simd: true, maxConnections: 8, arenaBytes: 1024, maxEvents: 16 }, runs: 100 },
];

const ROLES: { sender: "client" | "server"; parser: Role; mask: boolean }[] = [
  { sender: "client", parser: "server", mask: true },
  { sender: "server", parser: "client", mask: false },
];

for (const config of CORES) {
  describe(`round trip (${config.name} core)`, () => {
    const core = loadCoreSync(config.options);
    it("loaded the requested build", () => expect(core.flavour).toBe(config.options.simd ? "simd" : "scalar"));

    for (const { sender, parser: role, mask } of ROLES) {
      it(`${sender} → ${role}: random messages, fragments, controls between fragments, random chunking`, () => {
        const enc = new FrameEncoder(core, { mask });
        fc.assert(
          fc.property(scenarioArb, (s) => {
            const { stream, expected } = build(enc, s);
            const seen: Seen[] = [];
            const p = parserFor(core, { role }, seen);
            try {
              for (const chunk of cut(stream, s.chunking)) p.push(chunk);
            } finally {
              p.destroy();
            }
            expect(seen).toEqual(expected);
          }),
          { numRuns: Math.ceil(config.runs * SCALE) },
        );
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Regressions for bugs the properties above found (each fixed; see the comments).

describe("regressions found by the round-trip properties", () => {
  for (const simd of [true, false]) {
    const core = loadCoreSync({ simd, maxConnections: 8 });

    // assembly/parser.ts readControl: a control frame completed in the slot's control buffer
    // had its payload overwritten, before the host drained its event, by the first bytes of a
    // second control frame split across the same feed's end. Here ping "AAAA" arrived as "BAAA".
    it(`a control frame completed in the slot buffer survives the next one starting in the same feed (${simd ? "simd" : "scalar"})`, () => {
      const bytes = Buffer.from([0x89, 4, 0x41, 0x41, 0x41, 0x41, 0x89, 2, 0x42, 0x42]);
      const seen: Seen[] = [];
      const p = parserFor(core, { role: "client" }, seen);
      p.push(bytes.subarray(0, 4)); // header + "AA"
      p.push(bytes.subarray(4, 9)); // "AA" (ping 1 complete), ping 2's header and "B"
      p.push(bytes.subarray(9)); // "B"
      p.destroy();
      expect(seen).toEqual([control("ping", Buffer.from("AAAA")), control("ping", Buffer.from("BB"))]);
    });

    // src/core/encoder.ts: with the mask-key pool exactly empty, an empty payload encoded with a
    // fragmentSize asked for 0 keys, got none, and came out as 6 zero bytes.
    it(`an empty masked payload with a fragmentSize gets a key when the pool is empty (${simd ? "simd" : "scalar"})`, () => {
      const enc = new FrameEncoder(core, { mask: true });
      enc.encode(TEXT, new Uint8Array(0));
      while (core.x.maskKeysLeft() > 0) enc.encode(TEXT, new Uint8Array(0));
      const frame = enc.encode(TEXT, new Uint8Array(0), { fragmentSize: 1 });
      expect([frame.length, frame[0], frame[1]]).toEqual([6, 0x80 | TEXT, 0x80]);
    });

    // src/core/parser.ts: the close reason went through a default TextDecoder, which strips a
    // leading U+FEFF (BOM); the reason is text like any other and reaches the handler whole.
    it(`a close reason starting with U+FEFF keeps it (${simd ? "simd" : "scalar"})`, () => {
      const seen: Seen[] = [];
      const p = parserFor(core, { role: "client" }, seen);
      p.push(new FrameEncoder(core, { mask: false }).encode(CLOSE, closeBody(1000, "\ufeffbye")));
      p.destroy();
      expect(seen).toEqual([{ type: "close", code: 1000, reason: "\ufeffbye" }]);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe("payload lengths (RFC 6455 §5.2 length encodings)", () => {
  const core = loadCoreSync({ maxConnections: 8 });

  /** Reads the header the encoder wrote: [len7, extended length, header size, key]. */
  function header(frame: Uint8Array): { len7: number; length: number; size: number; key: Uint8Array | null } {
    const len7 = frame[1]! & 0x7f;
    const masked = (frame[1]! & 0x80) !== 0;
    const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const length = len7 === 126 ? view.readUInt16BE(2) : len7 === 127 ? Number(view.readBigUInt64BE(2)) : len7;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return { len7, length, size: 2 + ext + (masked ? 4 : 0), key: masked ? frame.subarray(2 + ext, 6 + ext) : null };
  }

  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 70_000]) {
    const form = n > 65535 ? 127 : n > 125 ? 126 : n;
    for (const mask of [false, true]) {
      it(`${n} bytes, ${mask ? "masked" : "unmasked"}: len7 ${form}, exact header, parses under any chunking`, () => {
        const payload = seededBytes(n, n);
        const frame = new FrameEncoder(core, { mask }).encode(BINARY, payload);
        const h = header(frame);
        expect(frame[0]).toBe(0x80 | BINARY);
        expect(h.len7).toBe(form);
        expect(h.length).toBe(n);
        expect(frame.length).toBe(h.size + n);
        const body = Buffer.from(frame.subarray(h.size));
        if (h.key) for (let i = 0; i < body.length; i++) body[i]! ^= h.key[i & 3]!;
        expect(body.equals(payload)).toBe(true);

        const role: Role = mask ? "server" : "client";
        const chunkings: Chunking[] = [{ kind: "whole" }, { kind: "random", seed: n, max: 3 }, { kind: "random", seed: n + 1, max: 5000 }];
        if (n <= 65537) chunkings.push({ kind: "bytewise" });
        for (const c of chunkings) {
          const seen: Seen[] = [];
          const p = parserFor(core, { role }, seen);
          for (const chunk of cut(frame, c)) p.push(chunk);
          p.destroy();
          expect(seen, c.kind).toEqual([message(payload, true)]);
        }
      });
    }
  }

  /** A header declaring `declared` bytes (64-bit form), from a server (unmasked). */
  function hugeHeader(declared: bigint, fin: boolean): Buffer {
    const h = Buffer.alloc(10);
    h[0] = (fin ? 0x80 : 0) | BINARY;
    h[1] = 127;
    h.writeBigUInt64BE(declared, 2);
    return h;
  }
  const HUGE = (1n << 32n) + 5n;

  function parseHeader(declared: bigint, fin: boolean, limits: Partial<ParserOptions>): Seen[] {
    const seen: Seen[] = [];
    const p = parserFor(core, { role: "client", ...limits }, seen);
    try {
      p.push(hugeHeader(declared, fin));
      p.push(seededBytes(1000, 1));
    } finally {
      p.destroy();
    }
    return seen;
  }

  it("a frame declaring 2^32+5 bytes is refused with 1009 by the default limits, from its header alone", () => {
    const seen: Seen[] = [];
    const p = parserFor(core, { role: "client" }, seen);
    p.push(hugeHeader(HUGE, true));
    p.destroy();
    expect(seen).toEqual([{ type: "error", code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", closeCode: 1009 }]);
  });

  it("the limits compare all 64 bits: 2^32+5 > maxPayload 2^32+4 and > maxPayload 10 (not truncated to 5)", () => {
    expect(parseHeader(HUGE, false, { maxPayload: Number(HUGE) - 1, maxMessage: 0 })).toEqual([
      { type: "error", code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", closeCode: 1009 },
    ]);
    expect(parseHeader(HUGE, false, { maxPayload: 10, maxMessage: 0 })).toEqual([
      { type: "error", code: "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH", closeCode: 1009 },
    ]);
    expect(parseHeader(HUGE, false, { maxPayload: 0, maxMessage: Number(HUGE) - 1 })).toEqual([
      { type: "error", code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", closeCode: 1009 },
    ]);
  });

  it("a first fragment declaring 2^32+5 bytes is accepted when the limits allow it (payload then streams in)", () => {
    expect(parseHeader(HUGE, false, { maxPayload: Number(HUGE), maxMessage: Number(HUGE) })).toEqual([]);
    expect(parseHeader(HUGE, false, { maxPayload: 0, maxMessage: 0 })).toEqual([]);
  });

  // Regression: a FIN frame that isn't whole in the feed used to get a buffer of its declared
  // size up front, so a 14-byte header could allocate anything up to the limit (or throw a
  // RangeError beyond 4 GiB with the limits off). Only frames up to 64 KiB are preallocated.
  it("a FIN frame declaring 2^32+5 bytes with limits off is accepted without allocating it", () => {
    expect(() => parseHeader(HUGE, true, { maxPayload: 0, maxMessage: 0 })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------

describe("copy: false payload lifetime (src/core/parser.ts ParserOptions.copy)", () => {
  const core = loadCoreSync({ maxConnections: 8 });
  const enc = new FrameEncoder(core, { mask: false });
  const a = Buffer.from("first message, whole in one push");
  const b = Buffer.from("second message, same size: xyzw!");

  function run(copy: boolean, pushes: Uint8Array[][]): { views: Uint8Array[]; copies: Buffer[]; insideOk: boolean[] } {
    const views: Uint8Array[] = [];
    const copies: Buffer[] = [];
    const insideOk: boolean[] = [];
    const expected = [a, b];
    const p = new FrameParser(core, { role: "client", copy }, {
      onMessage: (data) => {
        // Inside the handler the payload is valid either way; a copy made here is ours to keep.
        insideOk.push(Buffer.from(data).equals(expected[views.length]!));
        views.push(data);
        copies.push(Buffer.from(data));
      },
      onError: (e) => {
        throw e;
      },
    });
    for (const push of pushes) for (const chunk of push) p.push(chunk);
    p.destroy();
    return { views, copies, insideOk };
  }

  it("a payload that arrived within one push is a view into core memory; a copy made in the handler stays right after later pushes", () => {
    const { views, copies, insideOk } = run(false, [[enc.encode(TEXT, a)], [enc.encode(TEXT, b)]]);
    expect(insideOk).toEqual([true, true]);
    // Promised: "a view into core memory, valid only until the handler returns". The retained
    // view aliases the memory the next push parses in, so its content after the handler is
    // unspecified (here the second push reuses the same arena bytes); only the copy is safe.
    expect(views[0]!.buffer).toBe(core.x.memory.buffer);
    expect(copies[0]!.equals(a)).toBe(true);
    expect(copies[1]!.equals(b)).toBe(true);
  });

  it("a payload assembled from several pushes is owned even with copy: false, and stays intact", () => {
    const fa = enc.encode(TEXT, a);
    const { views } = run(false, [[fa.subarray(0, 10), fa.subarray(10)], [enc.encode(TEXT, b)]]);
    expect(views[0]!.buffer).not.toBe(core.x.memory.buffer);
    expect(Buffer.from(views[0]!).equals(a)).toBe(true);
  });

  it("copy: true (default) hands out owned payloads that later pushes don't touch", () => {
    const { views } = run(true, [[enc.encode(TEXT, a)], [enc.encode(TEXT, b)]]);
    expect(views[0]!.buffer).not.toBe(core.x.memory.buffer);
    expect(Buffer.from(views[0]!).equals(a)).toBe(true);
    expect(Buffer.from(views[1]!).equals(b)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Handlers that use the same core. Regressions: handlers used to run while later payloads of
// the same feed still sat in the shared input arena, which encoding (and the mask/UTF-8
// utilities) overwrote, and a nested push overwrote the shared event buffer.

describe("handlers that use the same core", () => {
  // Encoding and the utilities work in a scratch arena apart from the input arena.
  it("an echo handler encoding with the same core leaves the next message of the same push intact", () => {
    const core = loadCoreSync({ maxConnections: 8 });
    const client = new FrameEncoder(core, { mask: true });
    const server = new FrameEncoder(core, { mask: false });
    const got: string[] = [];
    const p = new FrameParser(core, { role: "server" }, {
      onMessage: (data, isBinary) => {
        got.push(isBinary ? `binary ${data.length}` : Buffer.from(data).toString());
        server.encode(isBinary ? BINARY : TEXT, data); // the echo
      },
      onError: (e) => got.push(e.code),
    });
    const stream = Buffer.concat([client.encode(BINARY, Buffer.alloc(60_000, 0x41)), client.encode(TEXT, Buffer.from("hello"))]);
    p.push(stream.subarray(0, 50_000));
    p.push(stream.subarray(50_000)); // the end of the binary message, then "hello"
    p.destroy();
    expect(got).toEqual(["binary 60000", "hello"]);
  });

  // A push made from a handler waits (on a copy) until the outer push's events are delivered.
  it("a handler pushing into another parser on the same core: that push runs after the outer one", () => {
    const core = loadCoreSync({ maxConnections: 8 });
    const enc = new FrameEncoder(core, { mask: false });
    const got: string[] = [];
    const frames = (...texts: string[]) => Buffer.concat(texts.map((t) => enc.encode(TEXT, Buffer.from(t))));
    const b = new FrameParser(core, { role: "client" }, { onMessage: (d) => got.push(`B:${Buffer.from(d)}`), onError: (e) => got.push(e.code) });
    const a = new FrameParser(core, { role: "client" }, {
      onMessage: (d) => {
        got.push(`A:${Buffer.from(d)}`);
        if (got.length === 1) b.push(frames("B1", "B2", "B3"));
      },
      onError: (e) => got.push(e.code),
    });
    a.push(frames("one", "two", "three"));
    a.destroy();
    b.destroy();
    expect(got).toEqual(["A:one", "A:two", "A:three", "B:B1", "B:B2", "B:B3"]);
  });
});
