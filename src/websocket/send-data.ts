// What send(), ping() and pong() take, as ws takes it: the data's forms, ws's argument orders,
// and the queue that keeps messages in order behind a Blob being read.
import type { WebSocket } from "./websocket.js";

/** Data a message may carry, as `ws` takes it: numbers are sent as text, a Blob with its bytes. */
export type SendData = string | ArrayBufferView | ArrayBuffer | Blob | number | readonly number[] | readonly Uint8Array[] | null | undefined;
/** What a ping or pong may carry (125 bytes at most). */
export type ControlData = Exclude<SendData, Blob>;
/** Reports when the data was written out, or why it was not. */
export type WriteCallback = (error?: Error) => void;

export interface SendOptions {
  /** Default: true unless the data is a string or a number. */
  binary?: boolean;
  compress?: boolean;
  /** false: a fragment of a message the next send() continues (the last one with fin true). Default true. */
  fin?: boolean;
  /** Ignored (a client always masks, a server never does, as RFC 6455 §5.1 requires); accepted for `ws` code. */
  mask?: boolean;
}

export function rethrow(error: unknown): never {
  throw error;
}

/** What a callback threw inside a promise's reaction surfaces as an uncaught exception (as a throw would). */
export function rethrowOutside(error: unknown): void {
  process.nextTick(rethrow, error);
}

/** `ws`'s control-frame arguments: (callback), (data, callback), (data, mask, callback). */
export function controlArguments(data: ControlData | WriteCallback, mask: boolean | WriteCallback | undefined, callback: WriteCallback | undefined): [ControlData, WriteCallback | undefined] {
  if (typeof data === "function") return [undefined, data];
  if (typeof mask === "function") return [data, mask];
  return [data, callback];
}

/** What a message carries, as `ws` reads it: numbers as text, nothing as no bytes, arrays of bytes as bytes. */
export function toPayload(data: ControlData): string | Uint8Array {
  if (typeof data === "string") return data;
  if (typeof data === "number") return String(data);
  if (data === undefined || data === null) return EMPTY;
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // A message received with binaryType "fragments", sent on as one.
  if (Array.isArray(data) && data[0] instanceof Uint8Array) return Buffer.concat(data as readonly Uint8Array[]);
  // Anything else Buffer.from takes (an array of bytes); for the rest it throws a TypeError naming the type.
  return Buffer.from(data as readonly number[]);
}

const EMPTY = new Uint8Array(0);

/** Marks `promise` handled: a ping nobody awaits must not end the process when the connection closes. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Sends given while a Blob is read, in order: each waits for the Blobs before it. The queue
 * exists only while a Blob is pending.
 */
export class BlobQueue {
  readonly #ws: WebSocket;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Runs `task` after the sends queued so far. */
  then(task: () => void): void {
    // What the task throws (a close code that is not allowed) surfaces as a throw would have.
    this.#tail = this.#tail.then(task).catch(rethrowOutside);
  }

  push(data: SendData, options: SendOptions, callback: WriteCallback | undefined): void {
    const ready = data instanceof Blob ? data.arrayBuffer().then((buffer) => new Uint8Array(buffer)) : Promise.resolve(toPayload(data));
    this.#pending++;
    this.#tail = this.#tail.then(() => ready).then(
      (payload) => this.#ws.sendQueued(payload, { ...options, binary: options.binary ?? typeof payload !== "string" }, callback),
      (error: Error) => this.#ws.blobUnreadable(error, callback),
    ).finally(() => {
      if (--this.#pending === 0) this.#ws.blobsSent();
    }).catch(rethrowOutside);
  }
}
