import type { Core } from "./core.js";
import { View, allocBytes, copyOut } from "./bytes.js";
import { CoreError, ProtocolError, type ErrorKind, type LimitsInForce } from "./errors.js";

export type Role = "client" | "server";

export interface ParserLimits {
  /** Largest frame payload accepted, in bytes; bigger closes with 1009. Default 16 MiB. */
  maxPayload?: number;
  /**
   * Largest message (all fragments) accepted, in bytes; bigger closes with 1009. Default 16 MiB.
   * It also bounds what small fragments cost: each data frame under 64 bytes is charged the
   * difference (an empty one 64 bytes), and a message whose charges pass maxMessage (or 1 MiB,
   * if that is more) closes with 1009. Fragments of 64 bytes or more are never charged, so at
   * the default an empty-fragment flood ends after 262,144 frames, while any message within
   * maxMessage in fragments of 64 bytes or more (and an empty last one) arrives.
   */
  maxMessage?: number;
  /** Most fragments one message may have; more closes with 1009. Default 0: no count (their cost is bounded, see maxMessage). */
  maxFragments?: number;
}

export const DEFAULT_PARSER_LIMITS: Required<ParserLimits> = {
  maxPayload: 16 * 1024 * 1024,
  maxMessage: 16 * 1024 * 1024,
  maxFragments: 0,
};

/** Data frames shorter than this are charged the difference against the message's overhead budget (core twin: assembly/parser.ts). */
export const SMALL_FRAGMENT_BYTES = 64;
/** The overhead budget is maxMessage, but at least this (core twin: assembly/parser.ts). */
export const MIN_FRAGMENT_OVERHEAD = 1024 * 1024;

/** Bytes of small-fragment overhead a message may cost under `maxMessage` (0: no limit). */
export function fragmentOverheadBudget(maxMessage: number): number {
  return maxMessage === 0 ? 0 : Math.max(maxMessage, MIN_FRAGMENT_OVERHEAD);
}

export interface ParserHandlers {
  /** A complete data message. `compressed`: RSV1 was set (permessage-deflate data, still deflated). */
  onMessage(data: Uint8Array, isBinary: boolean, compressed: boolean): void;
  onPing?(data: Uint8Array): void;
  onPong?(data: Uint8Array): void;
  /** A close frame: 1005 when it had no status code. The parser ignores all input after it. */
  onClose?(code: number, reason: string): void;
  /** The peer broke the protocol: send a close with `error.closeCode`. The parser ignores all input after it. */
  onError(error: ProtocolError): void;
  /**
   * The parser is about to hold `bytes` for the message in progress (the capacity of the buffer
   * it collects it in), or holds nothing any more (0: the message was handed out or dropped).
   * Called before it allocates, so that a host bounding memory across parsers can refuse: by
   * destroying the parser from here, and then nothing is allocated.
   */
  onHeldBytes?(bytes: number): void;
}

export interface ParserOptions extends ParserLimits {
  /** "server" parses a client's masked frames, "client" a server's unmasked ones. */
  role: Role;
  /** permessage-deflate was negotiated: RSV1 may mark a message as compressed. */
  perMessageDeflate?: boolean;
  /**
   * true (default): every payload handed out is the caller's to keep. false: a payload that
   * arrived within one `push` is a view into core memory, valid only until the handler returns
   * (copy it to keep it); payloads assembled from several pushes are always owned.
   */
  copy?: boolean;
}

const enum Event {
  FrameStart = 1,
  Chunk = 2,
  MessageEnd = 3,
  Message = 4,
  Control = 5,
  Error = 6,
}
const OP_BINARY = 2;
const OP_PING = 9;
const OP_PONG = 10;
const FLAG_FIN = 1;
const FLAG_RSV1 = 2;

/** A message's declared size is trusted up to this much before its bytes arrive. */
const PREALLOCATE_LIMIT = 64 * 1024;
/** The first buffer for a message of unknown size holds at least this much. */
const MIN_CAPACITY = 256;
/** What the assembler holds between messages. */
const NOTHING = allocBytes(0);

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Asks before holding `bytes` for a message in progress; false: refused (the parser was
 * destroyed meanwhile), so nothing may be allocated.
 */
type Reserve = (bytes: number) => boolean;

/** The limits of the last parser made: the parsers of one server have the same ones, and share them. */
let lastLimits: Readonly<LimitsInForce> | undefined;

function limitsInForce(maxPayload: number, maxMessage: number, maxFragments: number): Readonly<LimitsInForce> {
  const last = lastLimits;
  if (last && last.maxPayload === maxPayload && last.maxMessage === maxMessage && last.maxFragments === maxFragments) return last;
  const fragmentOverhead = fragmentOverheadBudget(maxMessage);
  return (lastLimits = Object.freeze({ maxPayload, maxMessage, maxFragments, smallFragmentBytes: SMALL_FRAGMENT_BYTES, fragmentOverhead }));
}

/**
 * Collects a data message that spans several feeds in one buffer that doubles as it fills, so
 * what a message in progress holds is at most twice its bytes, however many fragments brought
 * them (a Buffer per piece would cost ~100 bytes of heap each). The buffer never outgrows the
 * message's ceiling: its declared size for a single frame, else maxMessage. A header alone never
 * makes it allocate more than 64 KiB. Every allocation is reserved first.
 */
class MessageAssembler {
  isBinary = false;
  compressed = false;
  #buffer = NOTHING;
  #size = 0;
  #ceiling = 0;
  readonly #maxMessage: number;
  readonly #reserve: Reserve;

  /** `maxMessage`: the parser's limit (0: none). */
  constructor(maxMessage: number, reserve: Reserve) {
    this.#maxMessage = maxMessage > 0 ? maxMessage : Infinity;
    this.#reserve = reserve;
  }

  /** Bytes held for the message in progress. */
  get capacity(): number {
    return this.#buffer.length;
  }

  /** `knownSize`: the message's size when its first frame is also its last, else -1. */
  begin(opcode: number, compressed: boolean, knownSize: number): void {
    this.isBinary = opcode === OP_BINARY;
    this.compressed = compressed;
    this.#size = 0;
    this.#ceiling = knownSize >= 0 ? knownSize : this.#maxMessage;
    const capacity = knownSize >= 0 ? Math.min(knownSize, PREALLOCATE_LIMIT) : 0;
    if (capacity === 0 || this.#reserve(capacity)) this.#buffer = allocBytes(capacity);
  }

  /** Copies core memory [from, to) into the message (nothing, if its growth is refused). */
  append(mem: Uint8Array, from: number, to: number): void {
    const end = this.#size + (to - from);
    if (end > this.#buffer.length && !this.#grow(end)) return;
    this.#buffer.set(new View(mem.buffer, from, to - from), this.#size);
    this.#size = end;
  }

  /** The whole message, in a buffer of its own size (it pins no spare capacity); the assembler lets go of it. */
  finish(): Uint8Array {
    const buffer = this.#buffer;
    this.#buffer = NOTHING;
    return buffer.length === this.#size ? buffer : copyOut(buffer, 0, this.#size);
  }

  /** Lets go of the message in progress. */
  drop(): void {
    this.#buffer = NOTHING;
  }

  #grow(needed: number): boolean {
    const capacity = Math.max(needed, Math.min(this.#ceiling, Math.max(this.#buffer.length * 2, MIN_CAPACITY)));
    if (!this.#reserve(capacity)) return false;
    const bigger = allocBytes(capacity);
    bigger.set(this.#buffer.subarray(0, this.#size));
    this.#buffer = bigger;
    return true;
  }
}

/**
 * An incremental RFC 6455 parser for one connection, backed by a slot of a shared WASM core.
 * `push` each chunk as it arrives; handlers run synchronously from inside `push`.
 */
export class FrameParser {
  readonly role: Role;
  readonly #core: Core;
  readonly #handlers: ParserHandlers;
  readonly #copy: boolean;
  readonly #limits: Readonly<LimitsInForce>;
  /** Made for the first message that spans several pushes. */
  #message: MessageAssembler | undefined;
  #slot: number;
  /** An error or close frame ended parsing, or `destroy` was called. */
  #done = false;

  constructor(core: Core, options: ParserOptions, handlers: ParserHandlers) {
    const limits = {
      maxPayload: options.maxPayload ?? DEFAULT_PARSER_LIMITS.maxPayload,
      maxMessage: options.maxMessage ?? DEFAULT_PARSER_LIMITS.maxMessage,
      maxFragments: options.maxFragments ?? DEFAULT_PARSER_LIMITS.maxFragments,
    };
    for (const name of ["maxPayload", "maxMessage", "maxFragments"] as const) {
      const value = limits[name];
      if (!Number.isSafeInteger(value) || value < 0) throw new CoreError(`${name} must be a non-negative integer (0 = no limit), got ${value}`);
    }
    if (limits.maxFragments > 0xffffffff) throw new CoreError(`maxFragments must be at most 2^32-1, got ${limits.maxFragments}`);
    this.role = options.role;
    this.#core = core;
    this.#handlers = handlers;
    this.#copy = options.copy ?? true;
    this.#limits = limitsInForce(limits.maxPayload, limits.maxMessage, limits.maxFragments);
    this.#slot = core.allocSlot();
    core.x.openSlot(this.#slot, options.role === "server" ? 1 : 0, options.perMessageDeflate ? 1 : 0, limits.maxPayload, limits.maxMessage, limits.maxFragments);
  }

  /**
   * Parses the next chunk of the stream. Chunks may split frames anywhere. A push made from a
   * handler of another push on the same core runs (on a copy) once that one's events are out.
   */
  push(chunk: Uint8Array): void {
    if (this.#slot < 0) throw new CoreError("this parser was destroyed");
    const core = this.#core;
    core.exclusive(this, core.feeding ? copyOut(chunk, 0, chunk.length) : chunk);
  }

  /** @internal Called by `Core.exclusive` when the core is this parser's to feed. */
  feedNow(bytes: Uint8Array): void {
    try {
      this.#feed(bytes);
    } catch (error) {
      // A handler threw: the events after it are lost, so this stream can't go on.
      this.#done = true;
      throw error;
    }
  }

  #feed(chunk: Uint8Array): void {
    const core = this.#core;
    const piece = core.arenaSize;
    for (let off = 0; off < chunk.length && !this.#done; off += piece) {
      const part = off === 0 && chunk.length <= piece ? chunk : chunk.subarray(off, off + piece);
      core.mem.set(part, core.inputPtr);
      for (let done = 0; done < part.length && !this.#done; ) {
        const at = core.inputPtr + done;
        const consumed = core.x.feed(this.#slot, at, part.length - done);
        this.#drain(at, consumed);
        done += consumed;
      }
    }
  }

  /** Releases the core slot and the message in progress. The parser can't be used afterwards. */
  destroy(): void {
    if (this.#slot < 0) return;
    this.#core.releaseSlot(this.#slot);
    this.#slot = -1;
    this.#done = true;
    this.#dropMessage();
    this.#message = undefined;
  }

  /** Asks the handlers before the message in progress holds `bytes`; false once the parser is destroyed. */
  #reserve(bytes: number): boolean {
    this.#handlers.onHeldBytes?.(bytes);
    return this.#slot >= 0;
  }

  /** The message in progress is handed out or refused: the parser holds nothing for it any more. */
  #dropMessage(): void {
    const message = this.#message;
    if (!message || message.capacity === 0) return;
    message.drop();
    this.#handlers.onHeldBytes?.(0);
  }

  #drain(base: number, length: number): void {
    const core = this.#core;
    const mem = core.mem;
    const ev = core.events;
    const end = core.x.eventsCount() * 4;
    // Payloads of whole messages in this feed are copied out at once, then handed out as views
    // of that copy: one allocation per feed instead of one per message.
    let owned: Uint8Array | undefined;
    // A handler may destroy the parser (or end it with a close): stop delivering then.
    for (let i = 0; i < end && !this.#done; i += 4) {
      const head = ev[i]!;
      const opcode = (head >>> 8) & 0xff;
      const flags = (head >>> 16) & 0xff;
      const a = ev[i + 1]!;
      const b = ev[i + 2]!;
      switch (head & 0xff) {
        case Event.Message: {
          let data: Uint8Array;
          if (!this.#copy) data = new View(mem.buffer, a, b);
          else {
            owned ??= copyOut(mem, base, base + length);
            data = new View(owned.buffer, owned.byteOffset + a - base, b);
          }
          this.#handlers.onMessage(data, opcode === OP_BINARY, (flags & FLAG_RSV1) !== 0);
          break;
        }
        case Event.FrameStart:
          if (opcode !== 0) {
            const knownSize = (flags & FLAG_FIN) !== 0 ? a + b * 0x100000000 : -1;
            this.#message ??= new MessageAssembler(this.#limits.maxMessage, (bytes) => this.#reserve(bytes));
            this.#message.begin(opcode, (flags & FLAG_RSV1) !== 0, knownSize);
          }
          break;
        case Event.Chunk:
          this.#message!.append(mem, a, a + b);
          break;
        case Event.MessageEnd: {
          const m = this.#message!;
          const held = m.capacity;
          const data = m.finish();
          if (held > 0) this.#handlers.onHeldBytes?.(0);
          this.#handlers.onMessage(data, m.isBinary, m.compressed);
          break;
        }
        case Event.Control:
          this.#control(opcode, copyOut(mem, a, a + b), ev[i + 3]!);
          break;
        case Event.Error:
          this.#done = true;
          this.#dropMessage(); // what it held is refused: free it now, not at destroy
          this.#message = undefined;
          this.#handlers.onError(new ProtocolError(a as ErrorKind, ev[i + 3]!, this.#limits));
          break;
      }
    }
  }

  #control(opcode: number, payload: Uint8Array, closeCode: number): void {
    if (opcode === OP_PING) this.#handlers.onPing?.(payload);
    else if (opcode === OP_PONG) this.#handlers.onPong?.(payload);
    else {
      this.#done = true;
      this.#handlers.onClose?.(closeCode, utf8.decode(payload.subarray(2)));
    }
  }
}
