// Where a plain JavaScript loop stops beating a call into the WASM core (with its copy into core
// memory and, for mask, back out): the size thresholds Core.mask and Core.isValidUtf8 switch at.
// "ours" is the core's WASM path with the JS shortcut taken out, "theirs" the JS loop.
import { readFileSync } from "node:fs";
import { rotateKey } from "../../src/core/core.js";
import type { Core } from "../../src/core/node.js";
import { asciiText, keyWord, mixedText, randomBytes } from "../data.js";
import { loop, validating } from "../measure.js";
import type { BenchSpec, CaseSpec, Pair, Result } from "../types.js";

const SIZES = [4, 8, 16, 24, 32, 48, 64, 96, 128, 256];
const UTF8_REJECT = 12;

/** Core.mask's WASM path (src/core/core.ts) without its JS shortcut for small buffers: keep in sync. */
function wasmMask(core: Core): (data: Uint8Array, key: Uint8Array) => void {
  const { x, mem, scratchPtr: at } = core;
  const piece = core.arenaSize & ~3;
  return (data, key) => {
    const k = rotateKey(keyWord(key), 0);
    for (let off = 0; off < data.length; off += piece) {
      const part = data.subarray(off, off + piece);
      mem.set(part, at);
      x.mask(at, part.length, k);
      part.set(mem.subarray(at, at + part.length));
    }
  };
}

/** Core.isValidUtf8's WASM path without its JS ASCII shortcut: keep in sync. */
function wasmIsValidUtf8(core: Core): (data: Uint8Array) => boolean {
  const { x, scratchPtr: at, arenaSize } = core;
  return (data) => {
    let state = 0;
    for (let off = 0; off < data.length; off += arenaSize) {
      const part = data.subarray(off, off + arenaSize);
      core.mem.set(part, at);
      state = x.utf8Step(at, part.length, state);
      if (state === UTF8_REJECT) return false;
    }
    return state === 0;
  };
}

/** Core.mask's JS loop. */
function jsMask(data: Uint8Array, key: Uint8Array): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[i & 3]!;
}

/** Core.isValidUtf8's JS shortcut: all ASCII is valid. */
function jsIsAscii(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]! >= 0x80) return false;
  return true;
}

/** A plain JS validator for any input (Markus Kuhn's checks, as ws's _isValidUTF8). */
function jsIsValidUtf8(b: Uint8Array): boolean {
  const len = b.length;
  let i = 0;
  while (i < len) {
    const c = b[i]!;
    if (c < 0x80) i++;
    else if ((c & 0xe0) === 0xc0) {
      if (i + 1 >= len || (b[i + 1]! & 0xc0) !== 0x80 || c < 0xc2) return false;
      i += 2;
    } else if ((c & 0xf0) === 0xe0) {
      const c1 = b[i + 1]!;
      if (i + 2 >= len || (c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80) return false;
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false; // overlong, surrogate
      i += 3;
    } else if ((c & 0xf8) === 0xf0) {
      const c1 = b[i + 1]!;
      if (i + 3 >= len || (c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return false;
      if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f) || c > 0xf4) return false; // overlong, > U+10FFFF
      i += 4;
    } else return false;
  }
  return true;
}

interface Kind {
  name: string;
  /** The constant in src/core/core.ts the crossover sets, if any. */
  constant?: string;
  pair(core: Core, size: number): Pair;
}

const KINDS: Kind[] = [
  {
    name: "mask",
    constant: "MASK_IN_JS_BELOW",
    pair(core, size) {
      const key = randomBytes(4, 1);
      const viaCore = wasmMask(core);
      const a = randomBytes(size, 2);
      const b = randomBytes(size, 2);
      return { ours: loop(() => viaCore(a, key), size), theirs: loop(() => jsMask(b, key), size) };
    },
  },
  {
    name: "utf8-ascii",
    constant: "UTF8_ASCII_IN_JS_BELOW",
    pair(core, size) {
      const data = asciiText(size, 3);
      return { ours: validating(wasmIsValidUtf8(core), data), theirs: validating(jsIsAscii, data) };
    },
  },
  {
    name: "utf8-mixed",
    pair(core, size) {
      const data = mixedText(size, 4);
      if (jsIsAscii(data)) throw new Error("mixed text without a non-ASCII byte");
      return { ours: validating(wasmIsValidUtf8(core), data), theirs: validating(jsIsValidUtf8, data) };
    },
  },
];

const caseName = (kind: Kind, size: number) => `${kind.name}-${size}B`;

const cases: CaseSpec[] = KINDS.flatMap((kind) =>
  SIZES.map((size) => ({
    name: caseName(kind, size),
    baselines: ["js"],
    setup: (_baseline, env) => kind.pair(env.core(), size),
  })),
);

/** The core files that define the crossover constants. */
const CONSTANT_SOURCES = ["core.ts", "encoder.ts"];

/** What the core has today, read from its source (not every constant is exported). */
function currentValue(constant: string): string {
  for (const file of CONSTANT_SOURCES) {
    const source = readFileSync(new URL(`../../src/core/${file}`, import.meta.url), "utf8");
    const value = new RegExp(`const ${constant} = (\\d+)`).exec(source)?.[1];
    if (value !== undefined) return `${value}, ${file}`;
  }
  return "?";
}

/** The smallest size from which WASM wins at every size measured. */
function summary(rows: readonly Result[]): string[] {
  const lines = ["crossover (smallest size from which the WASM call beats the JS loop at every larger size measured):"];
  for (const kind of KINDS) {
    const measured = SIZES.flatMap((size) => {
      const row = rows.find((r) => r.case === caseName(kind, size));
      return row ? [{ size, ratio: row.ratio }] : [];
    });
    if (measured.length === 0) continue;
    let from: number | undefined;
    for (let i = measured.length - 1; i >= 0 && measured[i]!.ratio >= 1; i--) from = measured[i]!.size;
    const verdict = from === undefined ? `JS wins up to ${measured.at(-1)!.size} B` : from === measured[0]!.size ? `WASM wins from ${from} B (smallest measured)` : `WASM wins from ${from} B`;
    const advice = kind.constant ? `  => ${kind.constant} = ${from ?? `> ${measured.at(-1)!.size}`} (today: ${currentValue(kind.constant)})` : "";
    lines.push(`  ${kind.name.padEnd(11)} ${measured.map((m) => `${m.size}:${m.ratio.toFixed(2)}`).join(" ")}`);
    lines.push(`  ${"".padEnd(11)} ${verdict}${advice}`);
  }
  return lines;
}

export const crossover: BenchSpec = {
  name: "crossover",
  unit: "MB/s",
  divisor: 1e6,
  header: "WASM call (ours) vs plain JS loop (theirs) on small buffers, MB/s, higher is better; ratio > 1: the WASM call is faster",
  cases,
  summary,
};
