// The core's UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF)
// against two references, `new TextDecoder("utf-8", { fatal: true })` and Node's
// `buffer.isUtf8`, on both builds. The SIMD build checks 16-byte blocks (64 at a time) and hands
// the tail and any unfinished last character to a DFA, so the inputs are placed across those
// edges. Then the incremental path: text split across chunks and fragments in a FrameParser,
// which must fail with 1007 on the push that carries the first invalid byte.
import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameEncoder, FrameParser, headerSize, loadCoreSync, type Core, type Role } from "../../src/core/node.js";

const FLAVOURS = [
  { name: "simd", core: loadCoreSync({ simd: true, maxConnections: 8 }), small: loadCoreSync({ simd: true, maxConnections: 4, arenaBytes: 1024 }) },
  { name: "scalar", core: loadCoreSync({ simd: false, maxConnections: 8 }), small: loadCoreSync({ simd: false, maxConnections: 4, arenaBytes: 1024 }) },
] as const;

const UTF8_ACCEPT = 0;
const UTF8_REJECT = 12;

/** EDGEWS_FC_SCALE=20 multiplies every property's runs (a soak run); the default keeps the suite fast. */
const SCALE = Number(process.env.EDGEWS_FC_SCALE ?? 1);
const runs = (n: number) => Math.ceil(n * SCALE);

// ---------------------------------------------------------------------------------------------
// References.

function tdValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** True when `bytes` can still start valid UTF-8: a streaming fatal decoder hasn't failed on them. */
function tdPrefixOk(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Index of the byte at which a streaming fatal decoder first fails, or -1 (maybe unfinished at the end). */
function firstInvalidByte(bytes: Uint8Array): number {
  const td = new TextDecoder("utf-8", { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      td.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/**
 * TextDecoder's verdict on every sequence [s0, s1, ...] with s_i from sets[i], as a flat table
 * in mixed radix. A prefix the streaming decoder rejects rejects its whole subtree (one throw
 * instead of thousands: a throw costs microseconds).
 */
function tdTable(sets: number[][]): Uint8Array {
  const size = sets.reduce((n, s) => n * s.length, 1);
  const out = new Uint8Array(size);
  const prefix: number[] = [];
  const walk = (depth: number, index: number): void => {
    const set = sets[depth]!;
    for (let j = 0; j < set.length; j++) {
      prefix.push(set[j]!);
      const idx = index * set.length + j;
      if (depth === sets.length - 1) out[idx] = tdValid(Uint8Array.from(prefix)) ? 1 : 0;
      else if (tdPrefixOk(Uint8Array.from(prefix))) walk(depth + 1, idx);
      prefix.pop();
    }
  };
  walk(0, 0);
  return out;
}

/** A byte or two from each class the validators tell apart (ASCII, 80..8F, 90..9F, A0..BF, C0/C1, C2..DF, E0, ED, F0, F4, F5..FF), and their edges. */
const BYTE_CLASSES = [0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xaf, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff];
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ALL = range(0, 255);
const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

// ---------------------------------------------------------------------------------------------
// Ways to ask the core, all without allocating per call (the exhaustive sets are millions).

/** `core.isValidUtf8`, the public entry point (JS for short ASCII, else the WASM validator). */
const publicCheck = (core: Core, b: Uint8Array) => core.isValidUtf8(b);

/** The incremental validator (`utf8Step`) fed `seq` in two pieces, split at `at`. */
function splitCheck(core: Core, seq: ArrayLike<number>, at: number): boolean {
  const p = core.inputPtr;
  for (let i = 0; i < seq.length; i++) core.mem[p + i] = seq[i]!;
  let state = core.x.utf8Step(p, at, UTF8_ACCEPT);
  if (state !== UTF8_REJECT) state = core.x.utf8Step(p + at, seq.length - at, state);
  return state === UTF8_ACCEPT;
}

/**
 * `seq` written over an ASCII buffer of 84 bytes at `offset`, validated whole: the SIMD build
 * checks bytes 0..79 as blocks (0..63 four at a time, 64..79 alone) and 80..83 with the DFA.
 */
const EMBED_LENGTH = 84;
function embedder(core: Core): (seq: ArrayLike<number>, offset: number) => boolean {
  const p = core.inputPtr + 4096; // clear of what splitCheck writes
  core.mem.fill(0x61, p, p + EMBED_LENGTH);
  return (seq, offset) => {
    for (let i = 0; i < seq.length; i++) core.mem[p + offset + i] = seq[i]!;
    const ok = core.x.utf8Step(p, EMBED_LENGTH, UTF8_ACCEPT) === UTF8_ACCEPT;
    core.mem.fill(0x61, p + offset, p + offset + seq.length);
    return ok;
  };
}
/** Offsets that put a k-byte sequence at the start, across 15|16, 63|64 and 79|80 (blocks to DFA tail), and in the tail. */
function embedOffsets(k: number): number[] {
  const out = new Set<number>([0, 80]);
  for (const edge of [16, 64, 80]) for (let o = edge - k + 1; o < edge; o++) out.add(o);
  if (k === 1) for (const edge of [15, 16, 63, 64, 79]) out.add(edge);
  return [...out].filter((o) => o >= 0 && o + k <= EMBED_LENGTH).sort((a, b) => a - b);
}

/** Collects up to 12 disagreements; the test expects none. */
class Mismatches {
  readonly list: string[] = [];
  count = 0;
  add(what: string, seq: ArrayLike<number>, expected: boolean): void {
    this.count++;
    if (this.list.length < 12) this.list.push(`${what} [${hex(seq)}]: expected ${expected ? "valid" : "invalid"}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe("exhaustive short sequences", () => {
  it("all 1-byte sequences: the references agree, and so do both builds every way", () => {
    const table = tdTable([ALL]);
    const m = new Mismatches();
    const b = new Uint8Array(1);
    for (let b0 = 0; b0 < 256; b0++) {
      b[0] = b0;
      const expected = table[b0] === 1;
      if (isUtf8(b) !== expected) m.add("isUtf8", b, expected);
      for (const { name, core } of FLAVOURS) {
        const embed = embedder(core);
        if (publicCheck(core, b) !== expected) m.add(`${name} isValidUtf8`, b, expected);
        if (splitCheck(core, b, 0) !== expected || splitCheck(core, b, 1) !== expected) m.add(`${name} utf8Step`, b, expected);
        for (const o of embedOffsets(1)) if (embed(b, o) !== expected) m.add(`${name} at offset ${o}`, b, expected);
      }
    }
    expect(m.list).toEqual([]);
    expect(table.reduce((n, v) => n + v, 0)).toBe(128); // exactly ASCII
  });

  it("all 2-byte sequences (65,536)", () => {
    const table = tdTable([ALL, ALL]);
    const m = new Mismatches();
    const b = new Uint8Array(2);
    const embeds = FLAVOURS.map(({ core }) => embedder(core));
    let valid = 0;
    for (let i = 0; i < 65536; i++) {
      b[0] = i >> 8;
      b[1] = i & 0xff;
      const expected = table[i] === 1;
      valid += table[i]!;
      if (isUtf8(b) !== expected) m.add("isUtf8", b, expected);
      FLAVOURS.forEach(({ name, core }, f) => {
        if (publicCheck(core, b) !== expected) m.add(`${name} isValidUtf8`, b, expected);
        if (splitCheck(core, b, 1) !== expected) m.add(`${name} utf8Step 1+1`, b, expected);
        for (const o of embedOffsets(2)) if (embeds[f]!(b, o) !== expected) m.add(`${name} at offset ${o}`, b, expected);
      });
    }
    expect(m.list).toEqual([]);
    expect(valid).toBe(128 * 128 + 30 * 64); // ASCII pairs + C2..DF 80..BF
  });

  it("all 3-byte sequences with a lead byte >= 0xC0 against isUtf8, and TextDecoder on every byte class", () => {
    // 4.2M sequences. A lead < 0x80 is an ASCII byte and then a 2-byte sequence (covered
    // above); 0x80..0xBF can't start anything. The >= 0xE0 half (3- and 4-byte leads) also goes
    // through the public entry point, the incremental validator split both ways, and across
    // the SIMD block edges. TextDecoder (a throw costs microseconds) judges the leads >= 0xE0
    // with every second byte and a third byte from each byte class, and must agree with isUtf8.
    const td = tdTable([range(0xe0, 0xff), ALL, BYTE_CLASSES]);
    const m = new Mismatches();
    let i = 0;
    for (let b0 = 0xe0; b0 < 0x100; b0++) {
      for (let b1 = 0; b1 < 256; b1++) {
        for (const b2 of BYTE_CLASSES) {
          const b = Uint8Array.of(b0, b1, b2);
          if ((td[i++] === 1) !== isUtf8(b)) m.add("TextDecoder vs isUtf8", b, td[i - 1] === 1);
        }
      }
    }
    const b = new Uint8Array(3);
    const embeds = FLAVOURS.map(({ core }) => embedder(core));
    // Across 15|16 (2+1 and 1+2), 63|64 (2+1) and from the last block byte into the DFA's tail.
    const offsets = [14, 15, 62, 79];
    let valid = 0;
    for (let b0 = 0xc0; b0 < 0x100; b0++) {
      for (let b1 = 0; b1 < 256; b1++) {
        for (let b2 = 0; b2 < 256; b2++) {
          b[0] = b0;
          b[1] = b1;
          b[2] = b2;
          const expected = isUtf8(b);
          if (b0 >= 0xe0 && expected) valid++;
          for (let f = 0; f < FLAVOURS.length; f++) {
            const { name, core } = FLAVOURS[f]!;
            if (splitCheck(core, b, 3) !== expected) m.add(`${name} utf8Step`, b, expected);
            if (b0 < 0xe0) continue;
            if (publicCheck(core, b) !== expected) m.add(`${name} isValidUtf8`, b, expected);
            if (splitCheck(core, b, 1) !== expected || splitCheck(core, b, 2) !== expected) m.add(`${name} utf8Step split`, b, expected);
            for (const o of offsets) if (embeds[f]!(b, o) !== expected) m.add(`${name} at offset ${o}`, b, expected);
          }
        }
      }
    }
    expect(m.list).toEqual([]);
    // E0 A0..BF, E1..EC, ED 80..9F, EE..EF: 16 leads' worth of 64 * 64, less the overlongs and surrogates.
    expect(valid).toBe(64 * 64 * 16 - 32 * 64 * 2);
  });

  it("4-byte sequences: leads F0..F4 (and F5, F7, F8, FF), every second byte, third and fourth from each byte class", () => {
    const leads = [...range(0xf0, 0xf5), 0xf7, 0xf8, 0xff];
    const tail = BYTE_CLASSES;
    const td = tdTable([leads, ALL, tail, tail]);
    const m = new Mismatches();
    const b = new Uint8Array(4);
    const embeds = FLAVOURS.map(({ core }) => embedder(core));
    // 3+1, 2+2 and 1+3 across 15|16; 2+2 across 63|64; 3+1 and 1+3 into the DFA's tail; in the tail.
    const offsets = [13, 14, 15, 62, 77, 79, 80];
    let i = 0;
    let valid = 0;
    for (const b0 of leads) {
      for (const b1 of ALL) {
        for (const b2 of tail) {
          for (const b3 of tail) {
            b[0] = b0;
            b[1] = b1;
            b[2] = b2;
            b[3] = b3;
            const expected = td[i++] === 1;
            valid += expected ? 1 : 0;
            if (isUtf8(b) !== expected) m.add("isUtf8", b, expected);
            FLAVOURS.forEach(({ name, core }, f) => {
              if (publicCheck(core, b) !== expected) m.add(`${name} isValidUtf8`, b, expected);
              for (let at = 1; at <= 3; at++) if (splitCheck(core, b, at) !== expected) m.add(`${name} utf8Step split at ${at}`, b, expected);
              for (const o of offsets) if (embeds[f]!(b, o) !== expected) m.add(`${name} at offset ${o}`, b, expected);
            });
          }
        }
      }
    }
    expect(m.list).toEqual([]);
    // Continuations in `tail`: 80, 81, 8F, 90, 9F, A0, AF, BF. F0: 90..BF, F1..F3: 80..BF, F4: 80..8F.
    expect(valid).toBe((48 + 3 * 64 + 16) * 8 * 8);
  });
});

// ---------------------------------------------------------------------------------------------

/** Every way the core is asked about `b`: public entry point, and utf8Step over random pieces. */
function coreVerdicts(b: Uint8Array, cuts: number[]): { name: string; valid: boolean }[] {
  const out: { name: string; valid: boolean }[] = [];
  for (const { name, core, small } of FLAVOURS) {
    out.push({ name: `${name} isValidUtf8`, valid: publicCheck(core, b) });
    // A 1 KiB arena: the host validates in 1,024-byte pieces, carrying the state across.
    out.push({ name: `${name} isValidUtf8 (1 KiB arena)`, valid: publicCheck(small, b) });
    const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
    const bounds = [0, ...points, b.length];
    core.mem.set(b, core.inputPtr);
    let state = UTF8_ACCEPT;
    for (let i = 0; i + 1 < bounds.length && state !== UTF8_REJECT; i++) {
      state = core.x.utf8Step(core.inputPtr + bounds[i]!, bounds[i + 1]! - bounds[i]!, state);
    }
    out.push({ name: `${name} utf8Step in pieces`, valid: state === UTF8_ACCEPT });
  }
  return out;
}

function expectAgreement(b: Uint8Array, cuts: number[] = []): void {
  const expected = tdValid(b);
  expect(isUtf8(b), `isUtf8 [${hex(b.subarray(0, 64))}…]`).toBe(expected);
  for (const v of coreVerdicts(b, cuts)) expect(v.valid, `${v.name} [${hex(b.subarray(0, 64))}…] (${b.length} bytes)`).toBe(expected);
}

const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
const charArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0x80, max: 0xffff }).filter((c) => !surrogate(c)).map((c) => String.fromCodePoint(c)),
  fc.constantFrom("a", "\u007f", "\u0080", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "\u{10000}", "\u{10ffff}"),
);
/** Strings that are mostly ASCII, for long runs the SIMD build skips block by block. */
const asciiHeavyArb = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.string({ unit: charArb, maxLength: 3 }), fc.nat()).map(([n, s, at]) => {
  const ascii = "x".repeat(n);
  const k = at % (n + 1);
  return ascii.slice(0, k) + s + ascii.slice(k);
});
const textArb = fc.oneof(fc.string({ unit: charArb, maxLength: 200 }), asciiHeavyArb);
const cutsArb = fc.array(fc.nat(), { maxLength: 6 });

/** Pieces of valid and invalid UTF-8, to build inputs that are neither trivially valid nor noise. */
const TOKENS: number[][] = [
  [0x61], [0x7f], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbf, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf],
  [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xbf],
  [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xf5], [0xff],
];

describe("random inputs, both builds, every entry point", () => {
  it("random byte strings", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), cutsArb, (b, cuts) => expectAgreement(b, cuts)), { numRuns: runs(400) });
  });

  it("random strings of valid and invalid pieces, after runs of ASCII", () => {
    const arb = fc.tuple(fc.nat({ max: 100 }), fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), fc.nat({ max: 40 }));
    fc.assert(
      fc.property(arb, cutsArb, ([lead, tokens, trail], cuts) => {
        const b = Uint8Array.from([...Array<number>(lead).fill(0x20), ...tokens.flat(), ...Array<number>(trail).fill(0x20)]);
        expectAgreement(b, cuts);
      }),
      { numRuns: runs(600) },
    );
  });

  it("random valid UTF-8 is valid; with one byte changed it agrees with the references", () => {
    fc.assert(
      fc.property(textArb, fc.nat(), fc.integer({ min: 0, max: 255 }), cutsArb, (s, at, byte, cuts) => {
        const b = Buffer.from(s, "utf8");
        expectAgreement(b, cuts);
        expect(publicCheck(FLAVOURS[0].core, b)).toBe(true);
        if (b.length === 0) return;
        const mutated = Buffer.from(b);
        mutated[at % b.length] = byte;
        expectAgreement(mutated, cuts);
      }),
      { numRuns: runs(600) },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("SIMD block edges and tails", () => {
  it("long ASCII with one non-ASCII byte, or one character, at every offset 0..100, lengths 1..140", () => {
    const inserts: number[][] = [[0x80], [0xbf], [0xc2], [0xe0], [0xed], [0xf0], [0xf4], [0xf5], [0xff], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80]];
    for (const { name, core } of FLAVOURS) {
      const m = new Mismatches();
      for (let length = 1; length <= 140; length++) {
        for (let offset = 0; offset <= Math.min(100, length - 1); offset++) {
          for (const ins of inserts) {
            if (offset + ins.length > length) continue;
            const b = new Uint8Array(length).fill(0x61);
            b.set(ins, offset);
            const expected = isUtf8(b);
            if (publicCheck(core, b) !== expected) m.add(`${name} length ${length} offset ${offset}`, ins, expected);
          }
        }
      }
      expect(m.list, name).toEqual([]);
    }
    // The references agree on the same family (a sample: TextDecoder's throws are slow).
    for (const ins of inserts) for (const offset of [0, 15, 16, 63, 64, 100]) {
      const b = new Uint8Array(140).fill(0x61);
      b.set(ins, offset);
      expect(isUtf8(b)).toBe(tdValid(b));
    }
  });

  it("2-, 3- and 4-byte characters, valid and not, straddling 15|16, 31|32, 63|64, 79|80 and 127|128, after ASCII or after 2-byte characters", () => {
    const chars: number[][] = [
      [0xc3, 0xa9], [0xdf, 0xbf], [0xe2, 0x82, 0xac], [0xef, 0xbf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x9f, 0x98, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80],
      [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80],
      [0xc3, 0x41], [0xe2, 0x82, 0x41], [0xf0, 0x9f, 0x98, 0x41], [0xe2, 0x41, 0x82], [0xc3, 0xa9, 0xa9], [0x80, 0x80],
    ];
    const fillers = [[0x61], [0xc3, 0xa9]]; // ASCII, or "é" (2 bytes): non-ASCII blocks before the edge
    let checked = 0;
    for (const filler of fillers) {
      for (const edge of [16, 32, 64, 80, 128]) {
        for (const c of chars) {
          for (let shift = -c.length; shift <= 1; shift++) {
            // `c` starts at edge + shift, preceded and followed by whole filler characters.
            const before = edge + shift;
            if (before < 0 || before % filler.length !== 0) continue;
            for (const after of [0, 1, 2, 15, 16, 17, 63, 64, 70]) {
              const pre = Array.from({ length: before / filler.length }, () => filler).flat();
              const post = Array.from({ length: Math.ceil(after / filler.length) }, () => filler).flat();
              const b = Uint8Array.from([...pre, ...c, ...post]);
              // Pieces cut inside the character too: the state carried over each cut must be exact.
              expectAgreement(b, [before + 1, before + c.length - 1, edge]);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });

  it("characters straddling the host's 1 KiB arena pieces (isValidUtf8 on inputs larger than the arena)", () => {
    for (const { name, small } of FLAVOURS) {
      expect(small.arenaSize, name).toBe(1024);
      for (const c of [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82, 0x41], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]]) {
        for (let at = 1024 - c.length; at <= 1024; at++) {
          for (const total of [at + c.length, 2048, 3000]) {
            const b = new Uint8Array(total).fill(0x62);
            b.set(c, at);
            expect(publicCheck(small, b), `${name} [${hex(c)}] at ${at} of ${total}`).toBe(isUtf8(b));
          }
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The incremental path: text in a FrameParser.

interface Outcome {
  /** Index of the push during which the parser reported its error, or -1. */
  errorAtPush: number;
  error: { code: string; closeCode: number } | null;
  messages: Buffer[];
}

function parse(core: Core, role: Role, chunks: Uint8Array[]): Outcome {
  const out: Outcome = { errorAtPush: -1, error: null, messages: [] };
  let push = 0;
  const p = new FrameParser(core, { role }, {
    onMessage: (data, isBinary) => {
      expect(isBinary).toBe(false);
      out.messages.push(Buffer.from(data));
    },
    onError: (e) => {
      out.error = { code: e.code, closeCode: e.closeCode };
      out.errorAtPush = push;
    },
  });
  try {
    for (; push < chunks.length; push++) p.push(chunks[push]!);
  } finally {
    p.destroy();
  }
  return out;
}

/** Cuts `data` at the given points; returns the pieces and, for stream offset `o`, the piece holding it. */
function cutAt(data: Uint8Array, points: number[]): { chunks: Uint8Array[]; pieceOf: (o: number) => number } {
  const bounds = [0, ...[...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b), data.length];
  const chunks: Uint8Array[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (bounds[i + 1]! > bounds[i]!) {
      starts.push(bounds[i]!);
      chunks.push(data.subarray(bounds[i]!, bounds[i + 1]!));
    }
  }
  return {
    chunks,
    pieceOf: (o) => {
      let i = starts.length - 1;
      while (i > 0 && starts[i]! > o) i--;
      return i;
    },
  };
}

describe("text messages through a FrameParser", () => {
  const payloadArb = fc.oneof(
    textArb.map((s) => Buffer.from(s, "utf8")),
    fc.tuple(textArb, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, at, byte]) => {
      const b = Buffer.from(s, "utf8");
      if (b.length > 0) b[at % b.length] = byte;
      return b;
    }),
    fc.tuple(fc.nat({ max: 200 }), fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 })).map(([n, t]) => Buffer.from([...Array<number>(n).fill(0x78), ...t.flat()])),
  );

  for (const { name, core } of FLAVOURS) {
    it(`valid text arrives whole; invalid text fails with 1007 on the push holding the first invalid byte (${name})`, () => {
      fc.assert(
        fc.property(payloadArb, fc.constantFrom<Role>("server", "client"), fc.array(fc.nat(), { maxLength: 4 }), cutsArb, (payload, role, fragmentCuts, pushCuts) => {
          const enc = new FrameEncoder(core, { mask: role === "server" });
          // The message as fragments cut at `fragmentCuts` (one frame when there are none),
          // and where each payload byte sits in the stream.
          const bounds = [0, ...[...new Set(fragmentCuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b), payload.length];
          const frames: Uint8Array[] = [];
          const streamOffset: number[] = [];
          let at = 0;
          for (let i = 0; i + 1 < bounds.length; i++) {
            const piece = payload.subarray(bounds[i]!, bounds[i + 1]!);
            const frame = enc.encode(i === 0 ? 1 : 0, piece, { fin: i + 2 === bounds.length });
            const h = headerSize(piece.length, role === "server");
            for (let j = 0; j < piece.length; j++) streamOffset.push(at + h + j);
            frames.push(frame);
            at += frame.length;
          }
          const stream = Buffer.concat(frames);
          const { chunks, pieceOf } = cutAt(stream, pushCuts);
          const out = parse(core, role, chunks);
          const bad = firstInvalidByte(payload);
          if (tdValid(payload)) {
            expect(out.error).toBe(null);
            expect(out.messages).toEqual([payload]);
          } else {
            expect(out.messages).toEqual([]);
            expect(out.error).toEqual({ code: "WS_ERR_INVALID_UTF8", closeCode: 1007 });
            // Fail fast: on the push with the first byte no valid text can continue from, or,
            // for a character cut short by the message's end, on the push that ends it.
            expect(out.errorAtPush).toBe(bad >= 0 ? pieceOf(streamOffset[bad]!) : chunks.length - 1);
          }
        }),
        { numRuns: runs(500) },
      );
    });

    it(`masked text: one non-ASCII byte at every offset, whole and in two pushes (the unmasking pass's ASCII check, ${name})`, () => {
      // A server unmasks client text and learns in the same pass whether it is all ASCII (then
      // it skips the validator): every lane of that check (64-, 16-, 4- and 1-byte steps) must
      // see a high bit.
      const enc = new FrameEncoder(core, { mask: true });
      const lengths = [...range(1, 80), 100, 127, 128, 129, 140];
      const failures: string[] = [];
      for (const length of lengths) {
        for (let offset = 0; offset < Math.min(length, 101); offset++) {
          for (const [ins, valid] of [[[0x80], false], [[0xff], false], [[0xc3, 0xa9], true]] as const) {
            if (offset + ins.length > length) continue;
            const payload = Buffer.alloc(length, 0x61);
            payload.set(ins, offset);
            const frame = enc.encode(1, payload);
            const splitAt = headerSize(length, true) + (offset % 7);
            for (const chunks of [[frame], [frame.subarray(0, splitAt), frame.subarray(splitAt)]]) {
              const out = parse(core, "server", chunks);
              const ok = valid ? out.error === null && out.messages.length === 1 && out.messages[0]!.equals(payload) : out.error?.closeCode === 1007;
              if (!ok && failures.length < 10) failures.push(`length ${length}, [${hex(ins)}] at ${offset}, ${chunks.length} push(es)`);
            }
          }
        }
      }
      expect(failures).toEqual([]);
    });

    for (const role of ["server", "client"] as const) {
      it(`an invalid sequence in the first chunk of a 1 MiB text frame fails on that first push (${name}, ${role} parser)`, () => {
        const enc = new FrameEncoder(core, { mask: role === "server" });
        const size = 1 << 20;
        for (const [at, bad] of [[100, [0xed, 0xa0, 0x80]], [4090, [0xc0, 0xaf]], [4093, [0xf4, 0x90]], [0, [0x80]], [2047, [0xe2, 0x82, 0x41]]] as const) {
          const payload = Buffer.alloc(size, 0x61);
          payload.set(bad, at);
          const frame = enc.encode(1, payload);
          const first = headerSize(size, role === "server") + 4096;
          const rest = frame.subarray(first);
          const out = parse(core, role, [frame.subarray(0, first), ...Array.from({ length: Math.ceil(rest.length / 65536) }, (_, i) => rest.subarray(i * 65536, (i + 1) * 65536))]);
          expect(out.error, `[${hex(bad)}] at ${at}`).toEqual({ code: "WS_ERR_INVALID_UTF8", closeCode: 1007 });
          expect(out.errorAtPush, `[${hex(bad)}] at ${at}`).toBe(0);
        }
        // The same frame with valid text instead arrives whole: the checks above aren't vacuous.
        const good = Buffer.alloc(size, 0x61);
        good.set([0xf0, 0x9f, 0x98, 0x80], 4090);
        const frame = enc.encode(1, good);
        const out = parse(core, role, [frame.subarray(0, 5000), frame.subarray(5000)]);
        expect(out.error).toBe(null);
        expect(out.messages.length).toBe(1);
        expect(out.messages[0]!.equals(good)).toBe(true);
      });
    }
  }
});
