// Differential tests against ws 8.23: its Receiver and our FrameParser get the same bytes under
// the same chunking and must deliver the same messages, pings, pongs and close, or fail with the
// same close code; its Sender and our FrameEncoder must write the same bytes. Random valid
// streams, and random invalid ones (a valid stream with exactly one protocol violation). The
// known, intended divergences are encoded explicitly below, each with the RFC's word on it.
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameEncoder, FrameParser, loadCoreSync, type Core, type ParserOptions, type Role } from "../../src/core/node.js";
import { cut as cutWith, prng, seededBytes, type Chunking } from "../support/seeded.js";
import { closePayload } from "../support/frames.js";

/** EDGEWS_FC_SCALE=20 multiplies every property's runs (a soak run); the default keeps the suite fast. */
const SCALE = Number(process.env.EDGEWS_FC_SCALE ?? 1);
const runs = (n: number) => Math.ceil(n * SCALE);

// ---------------------------------------------------------------------------------------------
// ws internals. Receiver and Sender are exported by ws's entry point but not typed by @types/ws,
// and "ws/lib/receiver.js" is outside ws's package "exports": load them through the entry point.

interface WsReceiverOptions {
  isServer: boolean;
  maxPayload: number;
  extensions: Record<string, unknown>;
  binaryType: "nodebuffer";
  skipUTF8Validation: boolean;
}
/** A Writable: write() parses synchronously (allowSynchronousEvents defaults to true). */
interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
  readonly errored: Error | null;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}
interface WsFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  rsv1: boolean;
  readOnly: boolean;
  generateMask?: (mask: Buffer) => void;
}
const ws = createRequire(import.meta.url)("ws") as {
  Receiver: new (options: WsReceiverOptions) => WsReceiver;
  Sender: { frame(data: Buffer, options: WsFrameOptions): Buffer[] };
};

/** ws puts the close code on the error under a private `Symbol('status-code')` (lib/constants.js kStatusCode). */
function wsStatusCode(err: Error): number {
  const key = Object.getOwnPropertySymbols(err).find((s) => s.description === "status-code");
  const code = key === undefined ? undefined : (err as unknown as Record<symbol, unknown>)[key];
  if (typeof code !== "number") throw new Error(`ws error without a status code: ${err.message}`);
  return code;
}

// ---------------------------------------------------------------------------------------------
// What each side delivered.

type Ev =
  | { type: "message"; isBinary: boolean; size: number; sha1: string; head: string }
  | { type: "ping" | "pong"; hex: string }
  | { type: "close"; code: number; reason: string }
  | { type: "error"; closeCode: number };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const message = (data: Uint8Array, isBinary: boolean): Ev => ({
  type: "message",
  isBinary,
  size: data.length,
  sha1: createHash("sha1").update(data).digest("hex"),
  head: hex(data.subarray(0, 12)),
});

function runOurs(core: Core, chunks: Buffer[], options: ParserOptions): Ev[] {
  const evs: Ev[] = [];
  const p = new FrameParser(core, options, {
    onMessage: (data, isBinary) => evs.push(message(data, isBinary)),
    onPing: (data) => evs.push({ type: "ping", hex: hex(data) }),
    onPong: (data) => evs.push({ type: "pong", hex: hex(data) }),
    // Compared as bytes: ws hands the reason out as a Buffer.
    onClose: (code, reason) => evs.push({ type: "close", code, reason: Buffer.from(reason).toString("hex") }),
    onError: (e) => evs.push({ type: "error", closeCode: e.closeCode }),
  });
  try {
    for (const c of chunks) p.push(c);
  } finally {
    p.destroy();
  }
  return evs;
}

async function runWs(chunks: Buffer[], role: Role, maxPayload: number): Promise<Ev[]> {
  const evs: Ev[] = [];
  const r = new ws.Receiver({ isServer: role === "server", maxPayload, extensions: {}, binaryType: "nodebuffer", skipUTF8Validation: false });
  r.on("message", (data: Buffer, isBinary: boolean) => evs.push(message(data, isBinary)));
  r.on("ping", (data: Buffer) => evs.push({ type: "ping", hex: hex(data) }));
  r.on("pong", (data: Buffer) => evs.push({ type: "pong", hex: hex(data) }));
  r.on("conclude", (code: number, reason: Buffer) => evs.push({ type: "close", code, reason: hex(reason) }));
  r.on("error", (err: Error) => evs.push({ type: "error", closeCode: wsStatusCode(err) }));
  for (const c of chunks) {
    // After an error ws's state is undefined, and after a close it has ended the stream.
    if (r.errored || r.writableEnded || r.destroyed) break;
    // A copy: ws unmasks payload in place, in the buffers it is given.
    r.write(Buffer.from(c));
  }
  // ws reports errors through the stream's 'error' event, emitted on a later tick.
  await new Promise((resolve) => setImmediate(resolve));
  return evs;
}

// ---------------------------------------------------------------------------------------------
// Raw frames: every header field settable, including the illegal ones.

interface RawFrame {
  opcode: number;
  fin: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  payload: Buffer;
  /** Masks the payload with this key; null sends it unmasked. */
  key: Buffer | null;
  /** The length field's form; default the minimal one. Non-minimal forms are legal to receive. */
  form?: 7 | 16 | 64;
  /** A header-only frame declaring this length (nothing of the payload follows). */
  declared?: bigint;
}

function serialize(f: RawFrame): Buffer {
  const length = f.declared ?? BigInt(f.payload.length);
  const minimal = length > 65535n ? 64 : length > 125n ? 16 : 7;
  const form = Math.max(f.form ?? minimal, minimal);
  const ext = form === 16 ? 2 : form === 64 ? 8 : 0;
  const head = Buffer.alloc(2 + ext + (f.key ? 4 : 0));
  head[0] = (f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | f.opcode;
  head[1] = (f.key ? 0x80 : 0) | (form === 16 ? 126 : form === 64 ? 127 : Number(length));
  if (form === 16) head.writeUInt16BE(Number(length), 2);
  if (form === 64) head.writeBigUInt64BE(length, 2);
  if (f.declared !== undefined) {
    if (f.key) f.key.copy(head, 2 + ext);
    return head;
  }
  const body = Buffer.from(f.payload);
  if (f.key) {
    f.key.copy(head, 2 + ext);
    for (let i = 0; i < body.length; i++) body[i]! ^= f.key[i & 3]!;
  }
  return Buffer.concat([head, body]);
}


const cut = <T extends Uint8Array>(data: T, c: Chunking): T[] => cutWith(data, c, 8 * 1024);

const chunkingArb: fc.Arbitrary<Chunking> = fc.oneof(
  fc.constant<Chunking>({ kind: "whole" }),
  fc.constant<Chunking>({ kind: "bytewise" }),
  fc.record({ kind: fc.constant("random" as const), seed: fc.integer(), max: fc.constantFrom(2, 5, 13, 200, 5000) }),
  fc.record({ kind: fc.constant("random" as const), seed: fc.integer(), max: fc.constantFrom(2, 5, 13, 200, 5000) }),
);

// ---------------------------------------------------------------------------------------------
// A valid stream, as a model: data messages (fragmented at random, control frames between the
// fragments, random length forms) and control frames, optionally a close anywhere (even between
// the fragments of a message) followed by frames that must be ignored.

const CONT = 0, TEXT = 1, BINARY = 2, CLOSE = 8, PING = 9, PONG = 10;
const RESERVED_OPCODES = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15];
const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000];
const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999];
/** Both sides get this limit when a test isn't about limits (ws: per message; ours: per frame and per message). */
const LIMIT = 4 << 20;

const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
const charArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  fc.integer({ min: 0x80, max: 0xffff }).filter((c) => !surrogate(c)).map((c) => String.fromCodePoint(c)),
);
const sizeArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 140 }) },
  { weight: 2, arbitrary: fc.constantFrom(125, 126, 127, 65535, 65536) },
  { weight: 2, arbitrary: fc.integer({ min: 141, max: 70_000 }) },
);

type Control = { opcode: typeof PING | typeof PONG; payload: Buffer };
const controlArb: fc.Arbitrary<Control> = fc.record({
  opcode: fc.constantFrom(PING, PONG) as fc.Arbitrary<typeof PING | typeof PONG>,
  payload: fc.uint8Array({ maxLength: 125 }).map((b) => Buffer.from(b)),
});

interface MessageModel {
  kind: "message";
  isBinary: boolean;
  unit: string;
  size: number;
  seed: number;
  cuts: number[];
  between: Control[][];
  forms: (7 | 16 | 64)[];
}
type Unit = MessageModel | { kind: "control"; control: Control };

const messageArb: fc.Arbitrary<MessageModel> = fc.record({
  kind: fc.constant("message" as const),
  isBinary: fc.boolean(),
  unit: fc.string({ unit: charArb, minLength: 1, maxLength: 12 }),
  size: sizeArb,
  seed: fc.integer(),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  between: fc.array(fc.array(controlArb, { maxLength: 2 }), { minLength: 1, maxLength: 4 }),
  forms: fc.array(fc.constantFrom<7 | 16 | 64>(7, 7, 7, 16, 64), { minLength: 1, maxLength: 3 }),
});
const unitArb: fc.Arbitrary<Unit> = fc.oneof(
  { weight: 3, arbitrary: messageArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("control" as const), control: controlArb }) },
);

const streamArb = fc.record({
  role: fc.constantFrom<Role>("server", "client"),
  units: fc.array(unitArb, { minLength: 1, maxLength: 6 }),
  close: fc.option(
    fc.record({
      code: fc.option(fc.constantFrom(...VALID_CLOSE_CODES), { nil: undefined }),
      reason: fc.string({ unit: charArb, maxLength: 10 }).filter((r) => Buffer.byteLength(r) <= 123),
      at: fc.nat(),
    }),
    { freq: 3 },
  ),
  keySeed: fc.integer(),
  chunking: chunkingArb,
});
type StreamModel = typeof streamArb extends fc.Arbitrary<infer T> ? T : never;

function payloadOf(m: MessageModel): Buffer {
  if (m.isBinary) return seededBytes(m.size, m.seed);
  const unitBytes = Buffer.byteLength(m.unit);
  return Buffer.from(m.unit.repeat(Math.max(1, Math.ceil(m.size / unitBytes))), "utf8");
}

function closeBody(code: number | undefined, reason: Buffer | string): Buffer {
  return code === undefined ? Buffer.alloc(0) : closePayload(code, reason);
}

interface Built {
  frames: RawFrame[];
  /** Index of the close frame, or frames.length: mutations go before it. */
  closeAt: number;
  /** Per message: its frames' indexes and its payload. */
  messages: { frames: number[]; isBinary: boolean; payload: Buffer }[];
  keyFor: () => Buffer | null;
}

/** The frames of a model; `payloads` overrides message payloads (a UTF-8 mutation). */
function build(model: StreamModel, payloads: Map<number, Buffer> = new Map(), closeAtEnd = false): Built {
  const nextKey = prng(model.keySeed);
  const keyFor = (): Buffer | null => {
    if (model.role === "client") return null;
    // Now and then an all-zero key: legal, and ws skips unmasking for it.
    if (nextKey() < 1 / 16) return Buffer.alloc(4);
    return Buffer.from([0, 0, 0, 0].map(() => (nextKey() * 256) | 0));
  };
  const frames: RawFrame[] = [];
  const messages: Built["messages"] = [];
  const control = (c: Control) => frames.push({ opcode: c.opcode, fin: true, payload: c.payload, key: keyFor() });
  model.units.forEach((unit, u) => {
    if (unit.kind === "control") return void control(unit.control);
    const payload = payloads.get(u) ?? payloadOf(unit);
    const points = [...new Set(unit.cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
    const bounds = [0, ...points, payload.length];
    const indexes: number[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const last = i + 2 === bounds.length;
      indexes.push(frames.length);
      frames.push({
        opcode: i === 0 ? (unit.isBinary ? BINARY : TEXT) : CONT,
        fin: last,
        payload: payload.subarray(bounds[i]!, bounds[i + 1]!),
        key: keyFor(),
        form: unit.forms[i % unit.forms.length]!,
      });
      if (!last) for (const c of unit.between[i % unit.between.length]!) control(c);
    }
    messages.push({ frames: indexes, isBinary: unit.isBinary, payload });
  });
  let closeAt = frames.length;
  if (model.close) {
    closeAt = closeAtEnd ? frames.length : model.close.at % (frames.length + 1);
    frames.splice(closeAt, 0, { opcode: CLOSE, fin: true, payload: closeBody(model.close.code, model.close.reason), key: keyFor() });
  }
  return { frames, closeAt, messages, keyFor };
}

/** Whether a fragmented data message is open just before frame `index`. */
function openBefore(frames: RawFrame[], index: number): boolean {
  let open = false;
  for (let i = 0; i < index && i < frames.length; i++) {
    const f = frames[i]!;
    if (f.opcode === CLOSE) return open;
    if (f.opcode <= BINARY) open = !f.fin;
  }
  return open;
}

// ---------------------------------------------------------------------------------------------
// One violation per invalid stream.

const INVALID_UTF8: { name: string; bytes: number[]; atEnd?: boolean }[] = [
  { name: "overlong 2-byte", bytes: [0xc0, 0xaf] },
  { name: "overlong 2-byte (C1)", bytes: [0xc1, 0xbf] },
  { name: "overlong 3-byte", bytes: [0xe0, 0x80, 0xaf] },
  { name: "overlong 3-byte (E0 9F)", bytes: [0xe0, 0x9f, 0xbf] },
  { name: "overlong 4-byte", bytes: [0xf0, 0x80, 0x80, 0xaf] },
  { name: "overlong 4-byte (F0 8F)", bytes: [0xf0, 0x8f, 0xbf, 0xbf] },
  { name: "surrogate U+D800", bytes: [0xed, 0xa0, 0x80] },
  { name: "surrogate U+DFFF", bytes: [0xed, 0xbf, 0xbf] },
  { name: "surrogate pair (CESU-8)", bytes: [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80] },
  { name: "U+110000", bytes: [0xf4, 0x90, 0x80, 0x80] },
  { name: "F5 lead", bytes: [0xf5, 0x80, 0x80, 0x80] },
  { name: "5-byte form", bytes: [0xf8, 0x88, 0x80, 0x80, 0x80] },
  { name: "lone continuation", bytes: [0x80] },
  { name: "lone continuation BF", bytes: [0xbf] },
  { name: "0xFE", bytes: [0xfe] },
  { name: "0xFF", bytes: [0xff] },
  { name: "3-byte char missing its last byte, mid-message", bytes: [0xe2, 0x82, 0x41] },
  { name: "truncated 2-byte at message end", bytes: [0xc3], atEnd: true },
  { name: "truncated 3-byte at message end", bytes: [0xe2, 0x82], atEnd: true },
  { name: "truncated 4-byte at message end", bytes: [0xf0, 0x9f, 0x98], atEnd: true },
];

const MUTATIONS = [
  "reserved-opcode", "rsv1", "rsv2", "rsv3", "control-too-long", "control-fragmented", "continuation-without-message",
  "data-inside-fragmented", "wrong-mask", "close-one-byte", "close-code", "utf8-text", "utf8-close-reason", "too-big",
  "length-msb", "length-huge",
] as const;
type MutationKind = (typeof MUTATIONS)[number];
const mutationArb = fc.record({ kind: fc.constantFrom(...MUTATIONS), pos: fc.nat(), variant: fc.nat(), seed: fc.integer() });
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

interface Case {
  frames: RawFrame[];
  role: Role;
  /** ws's maxPayload; ours gets maxPayload = maxMessage = this (divergence (c)). */
  limit: number;
  /** The close code the violation calls for (ours). */
  expectCode: number;
}

/** Char boundaries of valid UTF-8 `b` (offsets where a character starts, and the end). */
function boundaries(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i <= b.length; i++) if (i === b.length || (b[i]! & 0xc0) !== 0x80) out.push(i);
  return out;
}

function mutate(model: StreamModel, m: Mutation): Case {
  const role = model.role;
  const pick = <T,>(xs: readonly T[]): T => xs[m.variant % xs.length]!;

  if (m.kind === "utf8-text") {
    // At the model level: invalid bytes at a character boundary of a text message (or a
    // truncated character at its very end), then framed as usual. The close, if any, goes last
    // so that ws reaches the message's end (see divergence (a) for a close before it).
    let target = model.units.findIndex((u, i) => u.kind === "message" && !u.isBinary && i >= m.pos % model.units.length);
    if (target < 0) target = model.units.findIndex((u) => u.kind === "message" && !u.isBinary);
    if (target < 0) {
      model = { ...model, units: [...model.units, { kind: "message", isBinary: false, unit: "héllo wörld 😀", size: 40, seed: 0, cuts: [m.seed >>> 0], between: [[{ opcode: PING, payload: Buffer.from("p") }]], forms: [7] }] };
      target = model.units.length - 1;
    }
    const valid = payloadOf(model.units[target] as MessageModel);
    const bad = pick(INVALID_UTF8);
    const b = boundaries(valid);
    const at = bad.atEnd ? valid.length : b[(m.seed >>> 0) % b.length]!;
    const payload = Buffer.concat([valid.subarray(0, at), Buffer.from(bad.bytes), valid.subarray(at)]);
    expect(isUtf8(payload), `mutated text must be invalid (${bad.name})`).toBe(false);
    return { frames: build(model, new Map([[target, payload]]), true).frames, role, limit: LIMIT, expectCode: 1007 };
  }

  const built = build(model);
  const frames = built.frames;
  const closeAt = built.closeAt;
  const insertAt = m.pos % (closeAt + 1);
  const insert = (...fs: RawFrame[]): Case["frames"] => [...frames.slice(0, insertAt), ...fs, ...frames.slice(insertAt)];
  /** A frame before the close to spoil (a fresh ping when there is none). */
  const spoil = (change: (f: RawFrame) => RawFrame): Case["frames"] => {
    if (closeAt === 0) return [change({ opcode: PING, fin: true, payload: Buffer.from("x"), key: built.keyFor() }), ...frames];
    const t = m.pos % closeAt;
    return frames.map((f, i) => (i === t ? change(f) : f));
  };
  const key = built.keyFor;
  const rand = prng(m.seed);
  const dataOpcode = (open: boolean) => (open ? CONT : rand() < 0.5 ? TEXT : BINARY);

  switch (m.kind) {
    case "reserved-opcode":
      return { frames: spoil((f) => ({ ...f, opcode: pick(RESERVED_OPCODES) })), role, limit: LIMIT, expectCode: 1002 };
    case "rsv1":
      return { frames: spoil((f) => ({ ...f, rsv1: true })), role, limit: LIMIT, expectCode: 1002 };
    case "rsv2":
      return { frames: spoil((f) => ({ ...f, rsv2: true })), role, limit: LIMIT, expectCode: 1002 };
    case "rsv3":
      return { frames: spoil((f) => ({ ...f, rsv3: true })), role, limit: LIMIT, expectCode: 1002 };
    case "wrong-mask":
      // §5.1: a server must fail on an unmasked frame, a client on a masked one.
      return { frames: spoil((f) => ({ ...f, key: role === "server" ? null : Buffer.from([1, 2, 3, 4]) })), role, limit: LIMIT, expectCode: 1002 };
    case "control-too-long": {
      // §5.5: control payloads are at most 125 bytes. (Lengths 126..300 in the 16- or 64-bit form.)
      const n = 126 + (m.variant % 175);
      const opcode = pick([PING, PONG, CLOSE]);
      const payload = opcode === CLOSE ? closeBody(1000, "r".repeat(n - 2)) : seededBytes(n, m.seed);
      return { frames: insert({ opcode, fin: true, payload, key: key(), form: rand() < 0.5 ? 16 : 64 }), role, limit: LIMIT, expectCode: 1002 };
    }
    case "control-fragmented":
      return { frames: insert({ opcode: pick([PING, PONG, CLOSE]), fin: false, payload: seededBytes(m.variant % 126, m.seed), key: key() }), role, limit: LIMIT, expectCode: 1002 };
    case "continuation-without-message": {
      const spots = [...Array(closeAt + 1).keys()].filter((i) => !openBefore(frames, i));
      const at = spots[m.pos % spots.length]!;
      const f: RawFrame = { opcode: CONT, fin: rand() < 0.5, payload: seededBytes(m.variant % 200, m.seed), key: key() };
      return { frames: [...frames.slice(0, at), f, ...frames.slice(at)], role, limit: LIMIT, expectCode: 1002 };
    }
    case "data-inside-fragmented": {
      const spots = [...Array(closeAt + 1).keys()].filter((i) => openBefore(frames, i));
      const offender: RawFrame = { opcode: rand() < 0.5 ? TEXT : BINARY, fin: rand() < 0.5, payload: Buffer.from("new"), key: key() };
      if (spots.length === 0) {
        // No message is open anywhere: open one first.
        return { frames: insert({ opcode: BINARY, fin: false, payload: Buffer.from("open"), key: key() }, offender), role, limit: LIMIT, expectCode: 1002 };
      }
      const at = spots[m.pos % spots.length]!;
      return { frames: [...frames.slice(0, at), offender, ...frames.slice(at)], role, limit: LIMIT, expectCode: 1002 };
    }
    case "close-one-byte":
      return { frames: insert({ opcode: CLOSE, fin: true, payload: Buffer.from([m.variant & 0xff]), key: key() }), role, limit: LIMIT, expectCode: 1002 };
    case "close-code":
      return { frames: insert({ opcode: CLOSE, fin: true, payload: closeBody(pick(INVALID_CLOSE_CODES), rand() < 0.5 ? "" : "bye"), key: key() }), role, limit: LIMIT, expectCode: 1002 };
    case "utf8-close-reason": {
      const bad = pick(INVALID_UTF8);
      const reason = Buffer.concat([Buffer.from("ok"), Buffer.from(bad.bytes), Buffer.from(bad.atEnd ? "" : "!")]);
      return { frames: insert({ opcode: CLOSE, fin: true, payload: closeBody(pick(VALID_CLOSE_CODES), reason), key: key() }), role, limit: LIMIT, expectCode: 1007 };
    }
    case "too-big": {
      // A limit below the most any message carries before the close; both must stop at the
      // header of the same frame. Limits are >= 1: 0 means "no limit" to both.
      let most = 0;
      for (const msg of built.messages) {
        let total = 0;
        for (const i of msg.frames) if (i < closeAt) total += frames[i]!.payload.length;
        most = Math.max(most, total);
      }
      if (most < 2) {
        return { frames: [{ opcode: BINARY, fin: true, payload: seededBytes(2 + (m.variant % 300), m.seed), key: key() }, ...frames], role, limit: 1, expectCode: 1009 };
      }
      return { frames, role, limit: 1 + ((m.variant >>> 0) % (most - 1)), expectCode: 1009 };
    }
    case "length-msb":
    case "length-huge": {
      // §5.2: "the most significant bit MUST be 0". The huge case (MSB clear, >= 2^53) is over
      // every limit and over what ws can represent.
      const open = openBefore(frames, insertAt);
      const low = BigInt(m.seed >>> 0) | (BigInt(m.variant >>> 0) << 32n);
      const declared = m.kind === "length-msb" ? (1n << 63n) | low : (1n << 53n) + (low % ((1n << 63n) - (1n << 53n)));
      return { frames: insert({ opcode: dataOpcode(open), fin: rand() < 0.5, payload: Buffer.alloc(0), key: key(), declared }), role, limit: LIMIT, expectCode: m.kind === "length-msb" ? 1002 : 1009 };
    }
  }
}

// ---------------------------------------------------------------------------------------------

const isControl = (e: Ev) => e.type === "ping" || e.type === "pong";

/** Ours against ws's, for a violation of kind `kind` (null: a valid stream). */
function compare(ours: Ev[], theirs: Ev[], kind: MutationKind | null, expectCode: number): void {
  if (kind === null) {
    expect(ours.filter((e) => e.type === "error"), "a valid stream").toEqual([]);
    expect(ours).toEqual(theirs);
    return;
  }
  // Every violation here comes before any close, so it must be reported, with its code.
  expect(ours.at(-1), `${kind}: ours must fail`).toEqual({ type: "error", closeCode: expectCode });
  if (kind === "length-msb") {
    // Divergence (b): RFC 6455 §5.2 says the 64-bit length's most significant bit "MUST be 0";
    // we fail with 1002 (protocol error), ws with 1009 (it can't represent lengths > 2^53-1).
    // Both fail at the same header, after the same events.
    expect(theirs).toEqual([...ours.slice(0, -1), { type: "error", closeCode: 1009 }]);
    return;
  }
  if (kind === "utf8-text" && ours.length < theirs.length) {
    // Divergence (a): we validate UTF-8 as the bytes arrive and fail at the first invalid one;
    // ws validates a text message once it is complete. Control frames between the fragments
    // after the invalid bytes reach ws's handlers but not ours. Same close code (1007).
    expect(theirs.slice(0, ours.length - 1)).toEqual(ours.slice(0, -1));
    expect(theirs.slice(ours.length - 1, -1).every(isControl), "only control frames in between").toBe(true);
    expect(theirs.at(-1)).toEqual({ type: "error", closeCode: 1007 });
    return;
  }
  expect(ours).toEqual(theirs);
}

for (const simd of [true, false]) {
  describe(`ws Receiver vs FrameParser (${simd ? "simd" : "scalar"} core)`, () => {
    const core = loadCoreSync({ simd, maxConnections: 8 });
    const ourLimits = (limit: number) => ({ maxPayload: limit, maxMessage: limit });

    it("valid streams: same messages, pings, pongs and close, under random chunking", async () => {
      await fc.assert(
        fc.asyncProperty(streamArb, async (model) => {
          const bytes = Buffer.concat(build(model).frames.map(serialize));
          const chunks = cut(bytes, model.chunking);
          const ours = runOurs(core, chunks, { role: model.role, ...ourLimits(LIMIT) });
          compare(ours, await runWs(chunks, model.role, LIMIT), null, 0);
        }),
        { numRuns: runs(simd ? 150 : 80) },
      );
    });

    it("streams with one violation: same events before it, same close code (modulo the divergences)", async () => {
      await fc.assert(
        fc.asyncProperty(streamArb, mutationArb, async (model, mutation) => {
          const c = mutate(model, mutation);
          const chunks = cut(Buffer.concat(c.frames.map(serialize)), model.chunking);
          const ours = runOurs(core, chunks, { role: c.role, ...ourLimits(c.limit) });
          compare(ours, await runWs(chunks, c.role, c.limit), mutation.kind, c.expectCode);
        }),
        { numRuns: runs(simd ? 500 : 250) },
      );
    });

    it("every violation kind, every variant, whole and byte by byte", async () => {
      const model: StreamModel = {
        role: "server",
        units: [
          { kind: "message", isBinary: false, unit: "añ€😀", size: 30, seed: 1, cuts: [7, 19], between: [[{ opcode: PING, payload: Buffer.from("p") }], []], forms: [7, 16, 64] },
          { kind: "control", control: { opcode: PONG, payload: Buffer.from("q") } },
          { kind: "message", isBinary: true, unit: "x", size: 200, seed: 2, cuts: [100], between: [[]], forms: [7] },
        ],
        close: { code: 1000, reason: "bye", at: 1000 },
        keySeed: 7,
        chunking: { kind: "whole" },
      };
      for (const role of ["server", "client"] as const) {
        for (const kind of MUTATIONS) {
          for (let variant = 0; variant < 20; variant++) {
            const m: Mutation = { kind, pos: variant * 3, variant, seed: variant * 7919 };
            const c = mutate({ ...model, role }, m);
            const bytes = Buffer.concat(c.frames.map(serialize));
            for (const chunking of [{ kind: "whole" }, { kind: "bytewise" }] as const) {
              const chunks = cut(bytes, chunking);
              const ours = runOurs(core, chunks, { role, ...ourLimits(c.limit) });
              compare(ours, await runWs(chunks, role, c.limit), kind, c.expectCode);
            }
          }
        }
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The divergences, one by one, on minimal streams.

describe("known divergences from ws (each explained)", () => {
  const core = loadCoreSync({ maxConnections: 8 });
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const f = (opcode: number, payload: string | number[] | Buffer, fin = true, extra: Partial<RawFrame> = {}) =>
    serialize({ opcode, fin, payload: typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload), key, ...extra });
  const both = async (bytes: Buffer[], options: Partial<ParserOptions> = {}, wsLimit = LIMIT) => ({
    ours: runOurs(core, bytes, { role: "server", ...options }),
    theirs: await runWs(bytes, "server", wsLimit),
  });

  it("(a) invalid UTF-8 followed by a ping before the message ends: we fail at once, ws delivers the ping and fails at the end", async () => {
    const bytes = [f(TEXT, [0x6f, 0x6b, 0xed, 0xa0, 0x80], false), f(PING, "p"), f(CONT, "!")];
    const { ours, theirs } = await both([Buffer.concat(bytes)]);
    expect(ours).toEqual([{ type: "error", closeCode: 1007 }]);
    expect(theirs).toEqual([{ type: "ping", hex: hex(Buffer.from("p")) }, { type: "error", closeCode: 1007 }]);
  });

  it("(a) invalid UTF-8 followed by a close before the message ends: we fail with 1007, ws closes normally", async () => {
    // RFC 6455 §8.1: an endpoint that finds a byte stream is not valid UTF-8 "MUST _Fail the
    // WebSocket Connection_" — as soon as it finds out; the RFC doesn't require waiting for the
    // message's end, and failing at the first invalid byte is what Autobahn calls "fail fast".
    const { ours, theirs } = await both([Buffer.concat([f(TEXT, [0xff], false), f(CLOSE, closeBody(1000, ""))])]);
    expect(ours).toEqual([{ type: "error", closeCode: 1007 }]);
    expect(theirs).toEqual([{ type: "close", code: 1000, reason: "" }]);
  });

  it("(b) a 64-bit length with the most significant bit set: we close 1002 (§5.2 'MUST be 0'), ws 1009", async () => {
    const { ours, theirs } = await both([f(BINARY, "", true, { declared: (1n << 63n) + 5n })]);
    expect(ours).toEqual([{ type: "error", closeCode: 1002 }]);
    expect(theirs).toEqual([{ type: "error", closeCode: 1009 }]);
  });

  it("(c) ws's maxPayload limits a whole message; ours has maxPayload per frame and maxMessage per message", async () => {
    const fragments = Buffer.concat([f(BINARY, Buffer.alloc(60), false), f(CONT, Buffer.alloc(60), false), f(CONT, Buffer.alloc(60))]);
    // 3 frames of 60 bytes: each within a 100-byte frame limit, the message (180) is not.
    const perFrame = await both([fragments], { maxPayload: 100, maxMessage: 1000 }, 100);
    expect(perFrame.ours).toEqual([message(Buffer.alloc(180), true)]);
    expect(perFrame.theirs).toEqual([{ type: "error", closeCode: 1009 }]);
    // Configured alike (maxMessage = maxPayload = ws's maxPayload), both refuse it at the third frame.
    const alike = await both([fragments], { maxPayload: 100, maxMessage: 100 }, 100);
    expect(alike.ours).toEqual([{ type: "error", closeCode: 1009 }]);
    expect(alike.theirs).toEqual(alike.ours);
  });

  it("a control frame whose length uses the 16-bit form for <= 125 bytes: both fail 1002", async () => {
    // §5.5 limits control payloads to 125 bytes and §5.2 asks for the minimal length form;
    // like ws, the core refuses the extended form on a control frame from its first 2 bytes.
    const { ours, theirs } = await both([f(PING, "abc", true, { form: 16 })]);
    expect(ours).toEqual([{ type: "error", closeCode: 1002 }]);
    expect(theirs).toEqual(ours);
  });

  it("header violations fail on the first 2 bytes, before the extended length and key arrive", async () => {
    // Reserved opcode 3, masked, length 0: 6 header bytes, of which only 2 are sent.
    const early = await both([f(3, "").subarray(0, 2)]);
    expect(early.ours).toEqual([{ type: "error", closeCode: 1002 }]);
    expect(early.theirs).toEqual(early.ours);
  });
});

// ---------------------------------------------------------------------------------------------
// Encoding: FrameEncoder against ws's Sender.frame.

describe("FrameEncoder vs ws Sender.frame", () => {
  /** Walks frames: [header, key or null, payload as sent]. */
  function frames(bytes: Uint8Array): { header: Buffer; key: Buffer | null; body: Buffer }[] {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: { header: Buffer; key: Buffer | null; body: Buffer }[] = [];
    for (let off = 0; off < b.length;) {
      const len7 = b[off + 1]! & 0x7f;
      const masked = (b[off + 1]! & 0x80) !== 0;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const n = len7 === 126 ? b.readUInt16BE(off + 2) : len7 === 127 ? Number(b.readBigUInt64BE(off + 2)) : len7;
      const h = 2 + ext + (masked ? 4 : 0);
      out.push({ header: b.subarray(off, off + h), key: masked ? b.subarray(off + h - 4, off + h) : null, body: b.subarray(off + h, off + h + n) });
      off += h + n;
    }
    return out;
  }

  const caseArb = fc.record({
    opcode: fc.constantFrom(TEXT, BINARY, CONT, PING, PONG, CLOSE),
    size: sizeArb,
    seed: fc.integer(),
    fin: fc.boolean(),
    fragmentSize: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 80_000 })),
  });

  for (const simd of [true, false]) {
    const core = loadCoreSync({ simd, maxConnections: 8 });
    for (const mask of [false, true]) {
      it(`${mask ? "masked: byte-identical given ws the same keys" : "unmasked: byte-identical"} (${simd ? "simd" : "scalar"})`, () => {
        const enc = new FrameEncoder(core, { mask });
        fc.assert(
          fc.property(caseArb, ({ opcode, size, seed, fin: finArg, fragmentSize: fs }) => {
            const control = opcode >= 8;
            const payload = seededBytes(control ? size % 126 : size, seed);
            const fin = control || finArg;
            // At most ~600 frames for big payloads.
            const fragmentSize = control || fs === 0 ? 0 : Math.max(fs, Math.ceil(payload.length / 600));
            const ours = enc.encode(opcode, payload, { fin, fragmentSize });
            const pieces: Buffer[] = [];
            if (fragmentSize === 0 || payload.length <= fragmentSize) pieces.push(payload);
            else for (let off = 0; off < payload.length; off += fragmentSize) pieces.push(payload.subarray(off, off + fragmentSize));
            const parsed = frames(ours);
            expect(parsed.length).toBe(pieces.length);
            const theirs = pieces.map((piece, i) => {
              const options: WsFrameOptions = { fin: fin && i === pieces.length - 1, opcode: i === 0 ? opcode : CONT, mask, rsv1: false, readOnly: false };
              // Our key for this frame (Sender.frame masks `data` in place: give it a copy).
              if (mask) options.generateMask = (m) => void parsed[i]!.key!.copy(m);
              return Buffer.concat(ws.Sender.frame(Buffer.from(piece), options));
            });
            expect(Buffer.from(ours).equals(Buffer.concat(theirs))).toBe(true);
            if (mask) {
              // And each frame unmasks with its key to its piece of the payload.
              parsed.forEach((p, i) => {
                const body = Buffer.from(p.body);
                for (let j = 0; j < body.length; j++) body[j]! ^= p.key![j & 3]!;
                expect(body.equals(pieces[i]!)).toBe(true);
              });
              // Fresh keys: 64 random 32-bit keys collide with probability ~5e-7.
              const keys = parsed.slice(0, 64).map((p) => p.key!.toString("hex"));
              expect(new Set(keys).size).toBe(keys.length);
            }
          }),
          { numRuns: runs(simd ? 200 : 100) },
        );
      });
    }
  }
});
