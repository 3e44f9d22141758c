// One message through a zlib stream, in turns. The input goes in slices of at most `turnSize`
// bytes, each on a slot of the shared limiter, so a long message gives its slot up between
// slices and the jobs queued behind it interleave. The job stops at its first failure (too much
// output, too much time, a zlib error): the stream is destroyed there and then, and the rest of
// the input never reaches zlib.
import zlib from "node:zlib";
import { InflateTimeExceededError, MessageTooBigError } from "./errors.js";
import type { Limiter } from "./limiter.js";

export type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;

export interface ZlibJobOptions {
  limiter: Limiter;
  /** Input bytes fed to zlib per turn on a slot. */
  turnSize: number;
  /** Output beyond this many bytes fails the job with MessageTooBigError. 0: no limit. */
  maxOutput: number;
  /** Time on slots beyond this many ms fails the job with InflateTimeExceededError. 0: no limit. */
  maxTime: number;
}

/**
 * Feeds `input` to the stream `open` returns, flushes it (Z_SYNC_FLUSH) and resolves with all
 * it produced. `open` is called in the first turn, so a job waiting for its first slot holds no
 * zlib memory. On failure the stream is destroyed and the caller must drop it; zlib's own errors
 * (invalid data) come through as zlib raised them.
 */
export function runZlibJob(open: () => ZlibStream, input: readonly Uint8Array[], options: ZlibJobOptions): Promise<Buffer> {
  return new ZlibJob(open, options).run(input);
}

class ZlibJob {
  readonly #open: () => ZlibStream;
  readonly #options: ZlibJobOptions;
  #stream: ZlibStream | undefined;
  readonly #output: Buffer[] = [];
  #outputSize = 0;
  #timeSpent = 0;
  /** Ends the turn in progress: called by zlib's callback, a zlib error, or a limit hit. */
  #endTurn: ((error?: Error) => void) | undefined;

  constructor(open: () => ZlibStream, options: ZlibJobOptions) {
    this.#open = open;
    this.#options = options;
  }

  async run(input: readonly Uint8Array[]): Promise<Buffer> {
    const slices = turns(input, this.#options.turnSize);
    try {
      for (let i = 0; i < slices.length; i++) {
        await this.#options.limiter.run(() => this.#turn(slices[i]!, i === slices.length - 1));
        this.#checkTurn();
      }
      return this.#output.length === 1 ? this.#output[0]! : Buffer.concat(this.#output, this.#outputSize);
    } catch (error) {
      this.#stream?.destroy();
      throw error;
    } finally {
      this.#stream?.removeListener("data", this.#onData).removeListener("error", this.#onError);
    }
  }

  /** Feeds one slice (the last one also flushes); resolves once zlib is done with it. */
  #turn(slice: readonly Uint8Array[], last: boolean): Promise<void> {
    const stream = (this.#stream ??= this.#open().on("data", this.#onData).on("error", this.#onError));
    if (stream.destroyed) return Promise.reject(closedError());
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      this.#endTurn = (error) => {
        this.#endTurn = undefined;
        this.#timeSpent += performance.now() - started;
        if (error) reject(error);
        else resolve();
      };
      const done = (error?: Error | null) => this.#endTurn?.(error ?? undefined);
      // zlib works through writes in order: the turn is over when the last one is done.
      const lastWrite = last ? -1 : slice.length - 1;
      for (let i = 0; i < slice.length; i++) stream.write(slice[i]!, i === lastWrite ? done : undefined);
      if (last) stream.flush(zlib.constants.Z_SYNC_FLUSH, done);
    });
  }

  /** After a turn that went well, with its slot already given back: is the job still on? */
  #checkTurn(): void {
    // Destroyed while zlib worked (the connection closed): what came out is cut short.
    if (this.#stream?.destroyed) throw closedError();
    const { maxTime } = this.#options;
    if (maxTime > 0 && this.#timeSpent > maxTime) throw this.#fail(new InflateTimeExceededError(maxTime));
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#outputSize += chunk.length;
    const { maxOutput } = this.#options;
    // A zip bomb stops here, inside zlib's loop: the stream is destroyed before zlib is asked
    // for another output buffer, and the turn ends at once, giving its slot back.
    if (maxOutput > 0 && this.#outputSize > maxOutput) this.#fail(new MessageTooBigError(maxOutput));
    else this.#output.push(chunk);
  };

  readonly #onError = (error: Error): void => {
    this.#fail(error);
  };

  /** Stops the job for good: drops the output, destroys the stream, ends the turn with `error`. */
  #fail(error: Error): Error {
    this.#output.length = 0;
    this.#stream?.destroy();
    this.#endTurn?.(error);
    return error;
  }
}

const closedError = () => new Error("the zlib stream was closed (the connection is closing)");

/**
 * Cuts the pieces into turns of at most `size` bytes each; the last turn is the one that
 * flushes. An empty piece is kept as an empty write: zlib's deflate() skips a flush that
 * follows another with nothing in between ("avoid duplicate consecutive flushes"), so without
 * it an empty message after another would come out with no 00 00 ff ff marker at all.
 */
function turns(pieces: readonly Uint8Array[], size: number): Uint8Array[][] {
  const all: Uint8Array[][] = [];
  let turn: Uint8Array[] = [];
  let room = size;
  for (const piece of pieces) {
    let offset = 0;
    do {
      if (room === 0) {
        all.push(turn);
        turn = [];
        room = size;
      }
      const end = Math.min(piece.length, offset + room);
      turn.push(piece.subarray(offset, end));
      room -= end - offset;
      offset = end;
    } while (offset < piece.length);
  }
  all.push(turn);
  return all;
}
