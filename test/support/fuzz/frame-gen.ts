// Generated frame streams for the fuzzers (fast-check arbitraries): messages, fragments, control
// frames, compressed messages (valid, with a final block, garbage, bombs), header bits and lengths
// bent out of shape, byte-level mutations of the whole stream, and how it is cut into writes.
import fc from "fast-check";
import { constants, deflateRawSync } from "node:zlib";
import { frame, type RawFrame } from "../frames.js";
import { FUZZ_LIMITS } from "./limits.js";

export interface FrameStream {
  /** permessage-deflate is negotiated (no context takeover either way). */
  deflate: boolean;
  frames: RawFrame[];
  mutation: Mutation | null;
  chunking: Chunking;
  /** After the stream: a probe ping and a closing handshake, a FIN, or a dropped socket. */
  ending: "probe" | "fin" | "abort";
}

/** `at` is taken modulo the stream's length. */
export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "replace"; bytes: Uint8Array };

/** Write sizes, cycled through; `dripMs` between writes (0: the next turn of the event loop). */
export interface Chunking {
  sizes: readonly number[];
  dripMs: number;
}

export type Sender = "client" | "server";

type Compression = "none" | "deflate" | "final-block" | "garbage" | "bomb";

interface MessageUnit {
  kind: "message";
  binary: boolean;
  payload: Uint8Array;
  fragments: number;
  /** Where fragments split, taken modulo the wire payload's length. */
  splits: number[];
  compression: Compression;
  /** Control frames sent between the first and the second fragment. */
  interleaved: RawFrame[];
  tweak: Tweak | null;
}

type Unit = MessageUnit | { kind: "control"; frame: RawFrame };

/** One header field bent on the first frame of a message. */
type Tweak =
  | { rsv: number }
  | { opcode: number }
  | { wrongMask: true }
  | { lengthForm: 126 | 127 }
  | { declaredLength: bigint }
  | { fin: boolean };

const TAIL_LENGTH = 4;
const INVALID_UTF8 = ["c0af", "e080af", "eda080", "f4908080", "f5", "80", "fe", "ce41", "e0a041"].map((h) => Buffer.from(h, "hex"));
const { maxPayload, maxMessage, maxFragments } = FUZZ_LIMITS;
const EDGE_SIZES = [0, 1, 125, 126, 127, 1023, 1024, maxPayload - 1, maxPayload, maxPayload + 1, maxMessage, maxMessage + 1];
const DECLARED_LENGTHS = [2n ** 63n, 2n ** 64n - 1n, 2n ** 62n, 2n ** 32n, BigInt(maxPayload + 1), BigInt(maxMessage + 1), 65_536n];

/** The bytes a stream puts on the wire: its frames, then its mutation. */
export function streamBytes(stream: FrameStream): Buffer {
  return mutate(Buffer.concat(stream.frames.map((f) => frame(f))), stream.mutation);
}

export function mutate(bytes: Buffer, mutation: Mutation | null): Buffer {
  if (!mutation) return bytes;
  if (mutation.kind === "replace") return Buffer.from(mutation.bytes);
  const at = mutation.at % (bytes.length + 1);
  switch (mutation.kind) {
    case "flip": {
      const out = Buffer.from(bytes);
      if (at < out.length) out[at]! ^= 1 << mutation.bit;
      return out;
    }
    case "truncate":
      return bytes.subarray(0, at);
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), mutation.bytes, bytes.subarray(at)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + mutation.count)]);
  }
}

/** Cuts `bytes` into writes as `chunking` says, at most ~256 of them. */
export function cut(bytes: Uint8Array, chunking: Chunking): Uint8Array[] {
  const average = chunking.sizes.reduce((a, b) => a + b, 0) / chunking.sizes.length;
  const scale = Math.max(1, Math.ceil(bytes.length / (256 * average)));
  const pieces: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = chunking.sizes[i % chunking.sizes.length]! * scale;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

// ---- arbitraries

/** `arb` once in `n` draws, null otherwise. */
export function rarely<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/**
 * A frame stream as `sender` sends it (a client masks its frames, a server does not). With
 * `deflate: false`, no stream negotiates permessage-deflate.
 */
export function frameStreamArb(sender: Sender, options: { deflate?: boolean } = {}): fc.Arbitrary<FrameStream> {
  const deflateArb = options.deflate === false ? fc.constant(false) : fc.boolean();
  const ending = fc.oneof({ weight: 4, arbitrary: fc.constant("probe" as const) }, fc.constant("fin" as const), fc.constant("abort" as const));
  const mutation = rarely(mutationArb, 6);
  const messages = deflateArb.chain((deflate) =>
    fc.record({ deflate: fc.constant(deflate), frames: unitsArb(sender, deflate).chain((units) => framesOf(units, sender)), mutation, chunking: chunkingArb, ending }),
  );
  // A flood goes out in one write: it arrives in one read, before the rate limit's bucket refills.
  const flood = fc.record({ deflate: deflateArb, frames: controlFloodArb(sender), mutation, chunking: fc.constant<Chunking>({ sizes: [1 << 20], dripMs: 0 }), ending });
  return fc.oneof({ weight: 8, arbitrary: messages }, { weight: 1, arbitrary: flood });
}

export const chunkingArb: fc.Arbitrary<Chunking> = fc.record({
  sizes: fc.oneof(
    { weight: 3, arbitrary: fc.constant<readonly number[]>([1 << 20]) },
    { weight: 1, arbitrary: fc.constant<readonly number[]>([1]) },
    { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }) },
  ),
  dripMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }) }),
});

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("replace" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

function maskArb(sender: Sender): fc.Arbitrary<Uint8Array | null> {
  return sender === "client" ? fc.uint8Array({ minLength: 4, maxLength: 4 }) : fc.constant(null);
}

const textArb = fc.string({ unit: "binary", maxLength: 24 }).map((s) => Buffer.from(s));

const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 4, arbitrary: textArb },
  { weight: 2, arbitrary: fc.tuple(textArb, fc.constantFrom(...INVALID_UTF8), textArb).map((parts) => Buffer.concat(parts)) },
  // Text cut inside a character: invalid only once the message ends.
  { weight: 1, arbitrary: textArb.map((t) => Buffer.concat([t, Buffer.from("é").subarray(0, 1)])) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_SIZES).map((n) => Buffer.alloc(n, "edge ")) },
);

function controlArb(sender: Sender): fc.Arbitrary<RawFrame> {
  const ping = (opcode: number) => fc.record({ opcode: fc.constant(opcode), payload: fc.uint8Array({ maxLength: 125 }), mask: maskArb(sender) });
  return fc.oneof(
    { weight: 4, arbitrary: ping(9) },
    { weight: 2, arbitrary: ping(10) },
    { weight: 1, arbitrary: fc.record({ opcode: fc.constant(9), payload: fc.uint8Array({ minLength: 126, maxLength: 130 }), mask: maskArb(sender) }) },
    { weight: 2, arbitrary: fc.record({ opcode: fc.constant(8), payload: closeBodyArb, mask: maskArb(sender) }) },
  );
}

const closeBodyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ minLength: 1, maxLength: 1 }),
  fc.tuple(fc.constantFrom(1000, 1001, 1003, 1008, 1011, 3000, 4999, 0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 65535), fc.oneof(textArb, fc.constantFrom(...INVALID_UTF8)))
    .map(([code, reason]) => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason.subarray(0, 123)])),
);

const tweakArb: fc.Arbitrary<Tweak> = fc.oneof(
  fc.record({ rsv: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ opcode: fc.integer({ min: 0, max: 15 }) }),
  fc.constant({ wrongMask: true as const }),
  fc.record({ lengthForm: fc.constantFrom(126 as const, 127 as const) }),
  fc.record({ declaredLength: fc.constantFrom(...DECLARED_LENGTHS) }),
  fc.record({ fin: fc.boolean() }),
);

const COMPRESSIONS: readonly Compression[] = ["none", "deflate", "deflate", "final-block", "garbage", "bomb"];

function messageArb(sender: Sender, deflate: boolean): fc.Arbitrary<MessageUnit> {
  const compressions = deflate ? COMPRESSIONS : ["none" as const];
  return fc.record({
    kind: fc.constant("message" as const),
    binary: fc.boolean(),
    payload: payloadArb,
    fragments: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.constant(maxFragments + 1) }),
    splits: fc.array(fc.nat(), { maxLength: maxFragments + 1 }),
    compression: fc.constantFrom(...compressions),
    interleaved: fc.array(controlArb(sender), { maxLength: 2 }),
    tweak: rarely(tweakArb, 8),
  });
}

function unitsArb(sender: Sender, deflate: boolean): fc.Arbitrary<Unit[]> {
  const unit: fc.Arbitrary<Unit> = fc.oneof(
    { weight: 6, arbitrary: messageArb(sender, deflate) },
    { weight: 3, arbitrary: controlArb(sender).map((f) => ({ kind: "control" as const, frame: f })) },
  );
  return fc.array(unit, { maxLength: 8 });
}

/** More pings than the rate limit's burst, by more than its bucket refills in a second. */
function controlFloodArb(sender: Sender): fc.Arbitrary<RawFrame[]> {
  return fc.tuple(fc.integer({ min: 40, max: 100 }), maskArb(sender)).map(([extra, mask]) =>
    Array.from({ length: FUZZ_LIMITS.maxControlFramesPerSecond + extra }, (_, i) => ({ opcode: 9, payload: `flood ${i}`, mask })),
  );
}

/** The frames of all units; masks are drawn here so the bytes are the seed's alone. */
function framesOf(units: Unit[], sender: Sender): fc.Arbitrary<RawFrame[]> {
  return fc.array(maskArb(sender), { minLength: 64, maxLength: 64 }).map((masks) => {
    let next = 0;
    const mask = () => masks[next++ % masks.length]!;
    return units.flatMap((u) => (u.kind === "control" ? [u.frame] : messageFrames(u, mask, sender)));
  });
}

function messageFrames(m: MessageUnit, mask: () => Uint8Array | null, sender: Sender): RawFrame[] {
  const wire = wirePayload(m);
  const cuts = [...new Set(m.splits.slice(0, m.fragments - 1).map((s) => s % (wire.length + 1)))].sort((a, b) => a - b);
  while (cuts.length < m.fragments - 1) cuts.push(wire.length);
  const bounds = [0, ...cuts, wire.length];
  const frames: RawFrame[] = bounds.slice(1).map((end, i) => ({
    opcode: i === 0 ? (m.binary ? 2 : 1) : 0,
    fin: i === bounds.length - 2,
    rsv1: i === 0 && m.compression !== "none",
    payload: wire.subarray(bounds[i], end),
    mask: mask(),
  }));
  if (m.tweak) frames[0] = applyTweak(frames[0]!, m.tweak, sender);
  frames.splice(1, 0, ...m.interleaved);
  return frames;
}

function wirePayload(m: MessageUnit): Uint8Array {
  switch (m.compression) {
    case "none":
    case "garbage":
      return m.payload;
    case "deflate":
      return stripTail(deflateRawSync(m.payload, { finishFlush: constants.Z_SYNC_FLUSH }));
    case "final-block":
      return deflateRawSync(m.payload);
    case "bomb":
      return stripTail(deflateRawSync(Buffer.alloc(maxMessage * 4), { finishFlush: constants.Z_SYNC_FLUSH }));
  }
}

/** RFC 7692 §7.2.1: a sender removes the 00 00 ff ff that ends a sync flush. */
function stripTail(deflated: Buffer): Buffer {
  return deflated.subarray(0, deflated.length - TAIL_LENGTH);
}

function applyTweak(f: RawFrame, tweak: Tweak, sender: Sender): RawFrame {
  const length = (f.payload as Uint8Array).length;
  if ("rsv" in tweak) return { ...f, rsv1: (tweak.rsv & 4) !== 0, rsv2: (tweak.rsv & 2) !== 0, rsv3: (tweak.rsv & 1) !== 0 };
  if ("opcode" in tweak) return { ...f, opcode: tweak.opcode };
  if ("wrongMask" in tweak) return { ...f, mask: sender === "client" ? null : Buffer.from([1, 2, 3, 4]) };
  if ("lengthForm" in tweak) return { ...f, len7: tweak.lengthForm };
  // A length the payload does not fill: the stream ends inside this frame (or the limit refuses it).
  if ("declaredLength" in tweak) return { ...f, len7: 127, declaredLength: tweak.declaredLength > BigInt(length) ? tweak.declaredLength : BigInt(length) };
  return { ...f, fin: tweak.fin };
}
