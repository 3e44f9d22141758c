// permessage-deflate (RFC 7692) message codec on node:zlib. Negotiation lives in
// src/handshake/; this module compresses and decompresses whole messages with the agreed
// parameters, each through zlib in turns (./zlib-job.ts) on the process-wide limiter's slots.
import zlib from "node:zlib";
import { InvalidDeflateDataError } from "./errors.js";
import { Limiter } from "./limiter.js";
import { runZlibJob, type ZlibStream } from "./zlib-job.js";

export { InflateTimeExceededError, InvalidDeflateDataError, MessageTooBigError } from "./errors.js";

/** The agreed parameters (RFC 7692 §7.1), from the point of view of the wire. */
export interface DeflateParams {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  /** 8..15; absent: 15. */
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number;
}

export interface DeflateOptions {
  /** Which end we are: the server compresses with the server_* parameters. */
  role: "client" | "server";
  params: DeflateParams;
  /** Largest decompressed message; beyond it decompression stops with a 1009 error. 0: no limit. */
  maxMessage: number;
  /**
   * Most time, in ms, one received message may spend being inflated, summed over its turns on a
   * zlib slot (waiting for a slot does not count); beyond it the message fails with 1009
   * (`InflateTimeExceededError`). maxMessage bounds what a message inflates to, not the work it
   * costs: on a 2-core x86 VM, real data inflates at 100-170 MB/s (a 16 MiB message: ~0.1 s),
   * while a message of empty deflate blocks inflates to nothing at ~13 MB/s of input (16 MiB:
   * ~1.2 s). Checked between turns. A turn is timed on the clock, so a loaded machine (or a Pi)
   * stretches every message's figure: the default leaves a legitimate 16 MiB message room on
   * one (at 1 s, Chromium's 16 MiB text echo was refused on this 2-core VM under load), and
   * still ends a work bomb that would hold a zlib thread for longer. Default 10000. 0: no limit.
   */
  maxInflateTime?: number;
  /**
   * Bytes zlib takes in per turn on a slot (compressed bytes when inflating, message bytes when
   * deflating). A longer message gives its slot up after each turn and queues again behind the
   * jobs waiting, so other connections' messages wait for a turn, not for a whole message.
   * Default 64 KiB (a turn of the costliest input takes ~5 ms on x86).
   */
  turnSize?: number;
  /** zlib compression level. Default 6 (zlib's default balance). */
  level?: number;
  /**
   * zlib memLevel, 1..9: memory of the compressor's state, (1 << (memLevel + 9)) bytes.
   * Default 8 (zlib's default); 4 saves ~120 KiB per compressing connection at a small ratio cost.
   */
  memLevel?: number;
  /** Shared limit on concurrent zlib jobs. Default: one limiter of 4 per process. */
  limiter?: Limiter;
}

/** What a connection's options say about its codec (ConnectionSettings and the perMessageDeflate option). */
export interface CodecSettings {
  maxMessage?: number;
  maxPayload?: number;
  perMessageDeflate?: boolean | { maxInflateTime?: number };
}

/** The codec for negotiated `params`, with the message limit and inflate time the connection's options set. */
export function perMessageDeflateFor(role: "client" | "server", params: DeflateParams, settings: CodecSettings): PerMessageDeflate {
  const maxInflateTime = typeof settings.perMessageDeflate === "object" ? settings.perMessageDeflate.maxInflateTime : undefined;
  return new PerMessageDeflate({ role, params, maxMessage: settings.maxMessage ?? settings.maxPayload ?? 16 << 20, maxInflateTime });
}

// RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail of the compressed
// message; §7.2.2: append them before inflating.
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
const sharedLimiter = new Limiter(4);

type Direction = "deflate" | "inflate";

/**
 * One connection's compressor and decompressor, for one message at a time in each direction
 * (the connection's sequencers keep them in order). zlib streams are created on first use; with
 * no_context_takeover they are released after each message, so an idle connection holds no
 * zlib memory.
 */
export class PerMessageDeflate {
  readonly #options: Required<Omit<DeflateOptions, "params" | "role">>;
  readonly #sendNoContext: boolean;
  readonly #receiveNoContext: boolean;
  readonly #sendWindowBits: number;
  readonly #receiveWindowBits: number;
  #deflate: zlib.DeflateRaw | undefined;
  #inflate: zlib.InflateRaw | undefined;
  /** Why a received message was refused: the connection is failing, nothing more is inflated. */
  #receiveFailure: Error | undefined;
  #closed = false;

  constructor(options: DeflateOptions) {
    const { params, role } = options;
    this.#options = {
      maxMessage: options.maxMessage,
      maxInflateTime: options.maxInflateTime ?? 10_000,
      turnSize: options.turnSize ?? 64 * 1024,
      level: options.level ?? 6,
      memLevel: options.memLevel ?? 8,
      limiter: options.limiter ?? sharedLimiter,
    };
    if (!Number.isInteger(this.#options.turnSize) || this.#options.turnSize < 1) throw new RangeError(`turnSize must be a positive integer, got ${this.#options.turnSize}`);
    if (!(this.#options.maxInflateTime >= 0)) throw new RangeError(`maxInflateTime must be 0 (no limit) or more, got ${this.#options.maxInflateTime}`);
    const server = role === "server";
    this.#sendNoContext = Boolean(server ? params.serverNoContextTakeover : params.clientNoContextTakeover);
    this.#receiveNoContext = Boolean(server ? params.clientNoContextTakeover : params.serverNoContextTakeover);
    this.#sendWindowBits = (server ? params.serverMaxWindowBits : params.clientMaxWindowBits) ?? 15;
    this.#receiveWindowBits = (server ? params.clientMaxWindowBits : params.serverMaxWindowBits) ?? 15;
    // zlib's raw deflate can't use an 8-bit window (it silently uses 9), so agreeing to 8 for
    // our own sending side would make us send what the peer may not inflate.
    if (this.#sendWindowBits < 9 || this.#sendWindowBits > 15) throw new RangeError(`sending window bits must be 9..15, got ${this.#sendWindowBits}`);
    if (this.#receiveWindowBits < 8 || this.#receiveWindowBits > 15) throw new RangeError(`receiving window bits must be 8..15, got ${this.#receiveWindowBits}`);
  }

  /** Compresses one whole message; the result goes in frames with RSV1 on the first. */
  async compress(data: Uint8Array): Promise<Uint8Array> {
    const out = await this.#run("deflate", [data], 0, 0);
    // A sync flush always ends with the empty stored block 00 00 ff ff.
    return out.subarray(0, out.length - TAIL.length);
  }

  /**
   * Decompresses one whole message, refusing to produce more than maxMessage bytes or to take
   * more than maxInflateTime. A refused message fails the connection, so from then on every
   * call is refused at once with the same error: the messages queued behind a zip bomb are
   * not inflated either.
   */
  decompress(data: Uint8Array): Promise<Uint8Array> {
    if (this.#receiveFailure) return Promise.reject(this.#receiveFailure);
    const { maxMessage, maxInflateTime } = this.#options;
    return this.#run("inflate", [data, TAIL], maxMessage, maxInflateTime).catch((error: Error) => {
      throw (this.#receiveFailure = isZlibError(error) ? new InvalidDeflateDataError(error) : error);
    });
  }

  /** Frees zlib memory; pending operations fail. */
  close(): void {
    this.#closed = true;
    this.#release("deflate");
    this.#release("inflate");
  }

  async #run(direction: Direction, input: Uint8Array[], maxOutput: number, maxTime: number): Promise<Buffer> {
    if (this.#closed) throw closedError();
    const { limiter, turnSize } = this.#options;
    try {
      const out = await runZlibJob(() => this.#open(direction), input, { limiter, turnSize, maxOutput, maxTime });
      if (this.#contextEnds(direction)) this.#release(direction);
      return out;
    } catch (error) {
      // After a failure the stream is destroyed or in an unknown state: never reuse it.
      this.#release(direction);
      throw error;
    }
  }

  /**
   * Whether the next message needs a fresh stream: with no_context_takeover, or once the peer
   * ended a message with a DEFLATE block with BFINAL set (RFC 7692 §7.2.3.4 allows it), which
   * ends zlib's stream: kept, it would inflate every later message to nothing.
   */
  #contextEnds(direction: Direction): boolean {
    if (direction === "deflate") return this.#sendNoContext;
    return this.#receiveNoContext || this.#inflate?.readableEnded === true;
  }

  /** The direction's stream, created on first use. */
  #open(direction: Direction): ZlibStream {
    if (this.#closed) throw closedError();
    if (direction === "inflate") return (this.#inflate ??= zlib.createInflateRaw({ windowBits: this.#receiveWindowBits }));
    return (this.#deflate ??= zlib.createDeflateRaw({
      level: this.#options.level,
      memLevel: this.#options.memLevel,
      windowBits: this.#sendWindowBits,
    }));
  }

  #release(direction: Direction): void {
    const stream = direction === "deflate" ? this.#deflate : this.#inflate;
    if (direction === "deflate") this.#deflate = undefined;
    else this.#inflate = undefined;
    stream?.close();
  }
}

const closedError = () => new Error("permessage-deflate was closed");

/** zlib's own errors (Z_DATA_ERROR and the like) carry its numeric errno. */
function isZlibError(error: Error): boolean {
  return typeof (error as { errno?: unknown }).errno === "number";
}
