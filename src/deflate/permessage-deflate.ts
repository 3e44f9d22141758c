// permessage-deflate (RFC 7692) message codec on node:zlib. Negotiation lives in
// src/handshake/; this module compresses and decompresses whole messages with the agreed
// parameters.
import zlib from "node:zlib";
import { Limiter } from "./limiter.js";

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

/** A decompressed message would exceed maxMessage (close with 1009). */
export class MessageTooBigError extends RangeError {
  readonly code = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
  readonly closeCode = 1009;
  constructor(limit: number) {
    super(`decompressed message exceeds maxMessage (${limit} bytes)`);
  }
}

/** The compressed data is not a valid deflate stream (close with 1007). */
export class InvalidDeflateDataError extends Error {
  readonly code = "WS_ERR_INVALID_DEFLATE_DATA";
  readonly closeCode = 1007;
  constructor(cause: Error) {
    super(`invalid permessage-deflate data: ${cause.message}`, { cause });
  }
}

// RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail of the compressed
// message; §7.2.2: append them before inflating.
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
const sharedLimiter = new Limiter(4);

/**
 * One connection's compressor and decompressor. zlib streams are created on first use; with
 * no_context_takeover they are released after each message, so an idle connection holds no
 * zlib memory.
 */
export class PerMessageDeflate {
  readonly #options: Required<Omit<DeflateOptions, "params">>;
  readonly #sendNoContext: boolean;
  readonly #receiveNoContext: boolean;
  readonly #sendWindowBits: number;
  readonly #receiveWindowBits: number;
  #deflate: zlib.DeflateRaw | undefined;
  #inflate: zlib.InflateRaw | undefined;
  #closed = false;

  constructor(options: DeflateOptions) {
    const { params, role } = options;
    this.#options = { level: 6, memLevel: 8, limiter: sharedLimiter, ...options };
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
  compress(data: Uint8Array): Promise<Uint8Array> {
    return this.#options.limiter.run(async () => {
      const deflate = (this.#deflate ??= zlib.createDeflateRaw({
        level: this.#options.level,
        memLevel: this.#options.memLevel,
        windowBits: this.#sendWindowBits,
      }));
      const out = await this.#flush(deflate, [data], 0);
      if (this.#sendNoContext) this.#release("deflate");
      // A sync flush always ends with the empty stored block 00 00 ff ff.
      return out.subarray(0, out.length - TAIL.length);
    });
  }

  /** Decompresses one whole message, refusing to produce more than maxMessage bytes. */
  decompress(data: Uint8Array): Promise<Uint8Array> {
    return this.#options.limiter.run(async () => {
      const inflate = (this.#inflate ??= zlib.createInflateRaw({ windowBits: this.#receiveWindowBits }));
      try {
        const out = await this.#flush(inflate, [data, TAIL], this.#options.maxMessage);
        if (this.#receiveNoContext) this.#release("inflate");
        return out;
      } catch (error) {
        // After an error the stream's state is unknown: never reuse it.
        this.#release("inflate");
        throw error;
      }
    });
  }

  /** Frees zlib memory; pending operations fail. */
  close(): void {
    this.#closed = true;
    this.#release("deflate");
    this.#release("inflate");
  }

  #release(which: "deflate" | "inflate"): void {
    const stream = which === "deflate" ? this.#deflate : this.#inflate;
    if (which === "deflate") this.#deflate = undefined;
    else this.#inflate = undefined;
    stream?.close();
  }

  /** Writes `pieces`, flushes, and collects the output, stopping at `limit` bytes (0: none). */
  #flush(stream: zlib.DeflateRaw | zlib.InflateRaw, pieces: Uint8Array[], limit: number): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error("permessage-deflate was closed"));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failure: Error | undefined;
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        stream.removeListener("data", onData);
        stream.removeListener("error", onError);
        if (failure) reject(failure);
        else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (limit > 0 && size > limit) {
          // A zip bomb stops here: nothing more is inflated, and what was is dropped.
          failure = new MessageTooBigError(limit);
          chunks.length = 0;
          stream.removeListener("data", onData);
          stream.reset();
          return;
        }
        chunks.push(chunk);
      };
      const onError = (error: Error) => {
        // After a reset for size, zlib may choke on the rest of the input: the size is the cause.
        failure ??= new InvalidDeflateDataError(error);
        settle();
      };
      stream.on("data", onData);
      stream.on("error", onError);
      for (const piece of pieces) stream.write(piece);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, settle);
    });
  }
}
