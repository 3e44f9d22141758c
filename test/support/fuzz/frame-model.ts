// A reference receiver for the fuzzers, written from RFC 6455 §5 and RFC 7692 and independent of
// the core: it reads a byte stream the way the peer under test must, and says what that peer must
// do with it: which messages and pings it must act on, in order, and how the connection must end
// (fail with which close codes, answer a close frame, or stay open).
import { constants, inflateRawSync } from "node:zlib";
import { deflateBound } from "./limits.js";
import { Utf8Checker, isValidUtf8 } from "./utf8.js";

export interface ModelConfig {
  /** The role of the peer under test: a server must receive masked frames, a client unmasked ones. */
  role: "server" | "client";
  /** permessage-deflate was negotiated, without context takeover for the sender (each message inflates alone). */
  deflate: boolean;
  maxPayload: number;
  maxMessage: number;
  maxFragments: number;
  /** Pings and pongs the peer takes before it closes with 1008 (a token bucket's burst). */
  maxControlFrames: number;
}

export type Delivery = { kind: "message"; binary: boolean; data: Buffer } | { kind: "ping"; data: Buffer };

export type Ending =
  /** The peer must fail the connection with one of `codes` (RFC 6455 §7.1.7). */
  | { kind: "fail"; codes: number[] }
  /** The stream ended with a valid close frame: the peer must answer it (1005: an empty close). */
  | { kind: "close"; code: number }
  /**
   * Nothing wrong so far. `atFrameBoundary`: the stream ended between frames, so a probe ping can
   * follow; otherwise it stopped inside a frame whose bytes so far may already fail with `mayFail`.
   */
  | { kind: "open"; atFrameBoundary: boolean; mayFail: number[] }
  /** RFCs allow more than one reading (a deflate stream with bytes after its end): check only the basics. */
  | { kind: "any" };

export interface Verdict {
  /** What the peer may act on, in order ... */
  deliveries: Delivery[];
  /**
   * ... and the first `required` of them it must act on. All of them, unless the connection fails
   * while messages wait for inflation (permessage-deflate: any prefix), or a ping flood fails it
   * (the rate limit's bucket refills as time passes: at least the pings within the burst).
   */
  required: number;
  ending: Ending;
  /** Pings and pongs in the stream, so a probe ping stays within the rate limit. */
  controlFrames: number;
}

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Inflating garbage must not cost the model more than this. */
const INFLATE_CAP = 8 << 20;

/** Close codes a peer may send (RFC 6455 §7.4.1 and the IANA registry): 1000-1003, 1007-1014, 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export function judgeStream(bytes: Uint8Array, config: ModelConfig): Verdict {
  return new ReferenceReceiver(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), config).run();
}

interface MessageState {
  opcode: number;
  compressed: boolean;
  bytes: number;
  fragments: number;
  pieces: Buffer[];
  /** Text sent uncompressed is checked as it arrives (RFC 6455 §8.1); compressed text once inflated. */
  utf8: Utf8Checker | undefined;
}

interface Header {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  len7: number;
}

type Step = { ending: Ending } | { next: number };

class ReferenceReceiver {
  readonly #bytes: Buffer;
  readonly #config: ModelConfig;
  readonly #deliveries: Delivery[] = [];
  #message: MessageState | undefined;
  #controlFrames = 0;
  /** Codes a compressed message will fail with once inflated; later frames are still parsed meanwhile. */
  #deferred: number[] | undefined;
  /** Deliveries before the control frame that went past the rate limit's burst. */
  #rateLimitedAfter: number | undefined;

  constructor(bytes: Buffer, config: ModelConfig) {
    this.#bytes = bytes;
    this.#config = config;
  }

  run(): Verdict {
    for (let pos = 0; ; ) {
      const step = this.#frame(pos);
      if ("ending" in step) return this.#verdict(step.ending);
      pos = step.next;
    }
  }

  #verdict(ending: Ending): Verdict {
    // A failure still to come (an inflation, a rate limit) happens whatever follows; a later
    // frame may fail the connection first.
    const pending = [...(this.#deferred ?? []), ...(this.#rateLimitedAfter === undefined ? [] : [1008])];
    let final = ending;
    if (pending.length > 0 && ending.kind !== "any") {
      const others = ending.kind === "fail" ? ending.codes : ending.kind === "open" ? ending.mayFail : [];
      final = { kind: "fail", codes: [...new Set([...pending, ...others])] };
    }
    let required = this.#deliveries.length;
    if (final.kind === "fail" && this.#config.deflate) required = 0;
    if (this.#rateLimitedAfter !== undefined) required = Math.min(required, this.#rateLimitedAfter);
    return { deliveries: this.#deliveries, required, ending: final, controlFrames: this.#controlFrames };
  }

  #frame(pos: number): Step {
    const bytes = this.#bytes;
    const available = bytes.length - pos;
    if (available === 0) return open(true);
    const b0 = bytes[pos]!;
    if (available < 2) return open(false, this.#firstByteFaults(b0));
    const header: Header = { fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked: (bytes[pos + 1]! & 0x80) !== 0, len7: bytes[pos + 1]! & 0x7f };
    const faults = [...this.#firstByteFaults(b0), ...this.#secondByteFaults(header)];
    if (faults.length > 0) return fail(faults);
    const extended = header.len7 === 126 ? 2 : header.len7 === 127 ? 8 : 0;
    if (available < 2 + extended) return open(false);
    const length = header.len7 === 126 ? BigInt(bytes.readUInt16BE(pos + 2)) : header.len7 === 127 ? bytes.readBigUInt64BE(pos + 2) : BigInt(header.len7);
    const lengthFaults = this.#lengthFaults(header, length);
    const headerLength = 2 + extended + (header.masked ? 4 : 0);
    // A receiver may refuse a length as soon as it has read it, and must once the header is whole.
    if (available < headerLength) return open(false, lengthFaults);
    if (lengthFaults.length > 0) return fail(lengthFaults);
    const key = header.masked ? bytes.subarray(pos + 2 + extended, pos + headerLength) : undefined;
    const start = pos + headerLength;
    const payload = unmask(bytes.subarray(start, Math.min(bytes.length, start + Number(length))), key);
    const complete = payload.length === Number(length);
    const ending = header.opcode >= OP.close ? this.#control(header, payload, complete) : this.#data(header, payload, complete);
    return ending ? { ending } : { next: start + payload.length };
  }

  /** What the first byte alone decides (RFC 6455 §5.2, §5.4, §5.5; RFC 7692 §6). */
  #firstByteFaults(b0: number): number[] {
    const opcode = b0 & 0x0f;
    const rsv1 = (b0 & 0x40) !== 0;
    const control = opcode >= OP.close;
    const faults: number[] = [];
    // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values".
    if ((b0 & 0x30) !== 0) faults.push(1002);
    // RFC 7692 §6: RSV1 marks "the first frame of a message" as compressed; nothing else.
    if (rsv1 && (!this.#config.deflate || control || opcode === OP.continuation)) faults.push(1002);
    if ((opcode >= 3 && opcode <= 7) || opcode >= 11) faults.push(1002);
    // §5.5: "Control frames themselves MUST NOT be fragmented."
    if (control && (b0 & 0x80) === 0) faults.push(1002);
    // §5.4: continuations continue a message; a new data message may not start inside one.
    if (opcode === OP.continuation && !this.#message) faults.push(1002);
    if ((opcode === OP.text || opcode === OP.binary) && this.#message) faults.push(1002);
    return faults;
  }

  #secondByteFaults(header: Header): number[] {
    const faults: number[] = [];
    // §5.1: a server MUST close on an unmasked frame; a client on a masked one.
    if (header.masked !== (this.#config.role === "server")) faults.push(1002);
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less" (the 7-bit
    // field, as ws reads it); §5.5.1: a close body is empty or starts with a 2-byte code.
    if (header.opcode >= OP.close && header.len7 > 125) faults.push(1002);
    if (header.opcode === OP.close && header.len7 === 1) faults.push(1002);
    return faults;
  }

  #lengthFaults(header: Header, length: bigint): number[] {
    // §5.2: with the 64-bit form, "the most significant bit MUST be 0".
    if (length >> 63n !== 0n) return [1002];
    if (header.opcode >= OP.close) return [];
    const compressed = header.opcode === OP.continuation ? this.#message!.compressed : header.rsv1;
    // The limits hold for what the application gets; compressed frames may carry zlib's worst case.
    const wire = (limit: number) => BigInt(compressed ? deflateBound(limit) : limit);
    const message = this.#message;
    const faults: number[] = [];
    if (length > wire(this.#config.maxPayload)) faults.push(1009);
    if (BigInt(message?.bytes ?? 0) + length > wire(this.#config.maxMessage)) faults.push(1009);
    if ((message?.fragments ?? 0) + 1 > this.#config.maxFragments) faults.push(1009);
    return faults;
  }

  #data(header: Header, payload: Buffer, complete: boolean): Ending | undefined {
    if (header.opcode !== OP.continuation) {
      const compressed = header.rsv1;
      this.#message = { opcode: header.opcode, compressed, bytes: 0, fragments: 0, pieces: [], utf8: header.opcode === OP.text && !compressed ? new Utf8Checker() : undefined };
    }
    const message = this.#message!;
    // §8.1: a text message that is not valid UTF-8 fails with 1007, at the first byte that shows it.
    if (message.utf8 && !message.utf8.push(payload)) return { kind: "fail", codes: [1007] };
    if (!complete) return { kind: "open", atFrameBoundary: false, mayFail: [] };
    message.bytes += payload.length;
    message.fragments++;
    message.pieces.push(payload);
    if (!header.fin) return undefined;
    this.#message = undefined;
    return this.#finishMessage(message);
  }

  #finishMessage(message: MessageState): Ending | undefined {
    const binary = message.opcode === OP.binary;
    const data = Buffer.concat(message.pieces);
    if (!message.compressed) {
      if (message.utf8 && !message.utf8.complete) return { kind: "fail", codes: [1007] };
      this.#deliver({ kind: "message", binary, data });
      return undefined;
    }
    const inflated = inflateMessage(data, binary, this.#config.maxMessage);
    if (inflated === "ambiguous") return { kind: "any" };
    if (Array.isArray(inflated)) this.#deferred ??= inflated;
    else this.#deliver({ kind: "message", binary, data: inflated });
    return undefined;
  }

  #control(header: Header, payload: Buffer, complete: boolean): Ending | undefined {
    if (!complete) return { kind: "open", atFrameBoundary: false, mayFail: [] };
    if (header.opcode === OP.close) return closeEnding(payload);
    // A peer flooding pings or pongs breaks the receiver's policy: 1008 (§7.4.1). How far past
    // the burst it gets depends on time (the bucket refills), so the frames after it still count.
    if (++this.#controlFrames > this.#config.maxControlFrames) this.#rateLimitedAfter ??= this.#deliveries.length;
    // §5.5.2: a ping MUST be answered with a pong carrying the same data.
    if (header.opcode === OP.ping) this.#deliver({ kind: "ping", data: payload });
    return undefined;
  }

  #deliver(delivery: Delivery): void {
    // Once a message has failed inflation, nothing after it reaches the application.
    if (!this.#deferred) this.#deliveries.push(delivery);
  }
}

function open(atFrameBoundary: boolean, mayFail: number[] = []): Step {
  return { ending: { kind: "open", atFrameBoundary, mayFail: [...new Set(mayFail)] } };
}

function fail(codes: number[]): Step {
  return { ending: { kind: "fail", codes: [...new Set(codes)] } };
}

function unmask(data: Buffer, key: Buffer | undefined): Buffer {
  const out = Buffer.from(data);
  if (key) for (let i = 0; i < out.length; i++) out[i]! ^= key[i & 3]!;
  return out;
}

/** §5.5.1 and §7.1.6: a close body is empty, or a valid code and a UTF-8 reason. */
function closeEnding(payload: Buffer): Ending {
  if (payload.length === 0) return { kind: "close", code: 1005 };
  const codes: number[] = [];
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) codes.push(1002);
  if (!isValidUtf8(payload.subarray(2))) codes.push(1007);
  return codes.length > 0 ? { kind: "fail", codes } : { kind: "close", code };
}

/**
 * RFC 7692 §7.2.2: append 00 00 ff ff and inflate. Returns the message, the close codes it must
 * fail with (1007 for bad deflate data or bad UTF-8, 1009 past maxMessage), or "ambiguous" when
 * the deflate stream ends before the payload does (receivers may ignore or refuse the rest).
 */
function inflateMessage(data: Buffer, binary: boolean, maxMessage: number): Buffer | number[] | "ambiguous" {
  const input = Buffer.concat([data, TAIL]);
  const whole = inflate(input, INFLATE_CAP);
  if (whole === "invalid") {
    // A streaming inflater may pass maxMessage before it meets the bad bytes: 1009 or 1007.
    return inflate(input, maxMessage) === "too big" ? [1009, 1007] : [1007];
  }
  if (whole === "too big" || whole.output.length > maxMessage) return [1009];
  // After a final block (BFINAL: RFC 7692 §7.2.3.4) the appended tail is never read; other bytes
  // after it are garbage some inflaters ignore.
  if (whole.consumed < data.length) return "ambiguous";
  if (!binary && !isValidUtf8(whole.output)) return [1007];
  return whole.output;
}

function inflate(input: Buffer, maxOutputLength: number): { output: Buffer; consumed: number } | "invalid" | "too big" {
  try {
    const { buffer, engine } = inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength, info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { output: buffer, consumed: engine.bytesWritten };
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" ? "too big" : "invalid";
  }
}
