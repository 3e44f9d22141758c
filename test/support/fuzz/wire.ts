// One raw TCP socket of a fuzzer: what the other side sent (an HTTP head, then frames), when it
// ended, and writes cut into pieces with drips between them.
import net from "node:net";
import { parseFrame, type ParsedFrame } from "../raw-peer.js";
import { cut, type Chunking } from "./frame-gen.js";

/** Bytes kept while waiting for the end of an HTTP head; a peer sending more is flagged, not buffered. */
const MAX_HEAD_BYTES = 64 * 1024;

export class WireSocket {
  readonly socket: net.Socket;
  /** The HTTP head (without its final CRLF CRLF) once complete. */
  head: string | undefined;
  /** More than MAX_HEAD_BYTES arrived without the end of a head. */
  headTooLong = false;
  readonly frames: ParsedFrame[] = [];
  /** Bytes after the head that are not (yet) a whole frame. */
  rest: Buffer = Buffer.alloc(0);
  /** The peer sent its FIN. */
  ended = false;
  closed = false;
  readonly #wake = new Set<() => void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("end", () => this.#changed(() => (this.ended = true)));
    socket.on("close", () => this.#changed(() => (this.ended = this.closed = true)));
    // Resets and writes after the peer left are expected: the fuzzers look at what arrived.
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<WireSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => resolve(new WireSocket(socket)));
      socket.once("error", reject);
    });
  }

  /** The status code of a response head, or 0. */
  get status(): number {
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head ?? "")?.[1] ?? 0);
  }

  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** Writes `bytes` in the pieces `chunking` says; stops early if the socket goes away. */
  async send(bytes: Uint8Array, chunking: Chunking = { sizes: [bytes.length || 1], dripMs: 0 }): Promise<void> {
    const pieces = cut(bytes, chunking);
    for (let i = 0; i < pieces.length && this.writable; i++) {
      this.socket.write(pieces[i]!);
      if (i < pieces.length - 1) await pause(chunking.dripMs);
    }
  }

  /** Resolves true once `condition` holds, false if `ms` pass first. Checked after every event. */
  until(condition: () => boolean, ms: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        finish(true);
      };
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.#wake.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(condition()), ms);
      this.#wake.add(check);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  #receive(chunk: Buffer): void {
    this.#changed(() => {
      this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
      if (this.head === undefined && !this.#takeHead()) return;
      for (let f = parseFrame(this.rest); f; f = parseFrame(this.rest)) {
        this.frames.push(f);
        this.rest = this.rest.subarray(f.raw.length);
      }
    });
  }

  /** Moves a complete head out of `rest`; false while it is incomplete. */
  #takeHead(): boolean {
    const end = this.rest.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.rest.length > MAX_HEAD_BYTES) {
        this.headTooLong = true;
        this.rest = Buffer.alloc(0);
      }
      return false;
    }
    this.head = this.rest.subarray(0, end).toString("latin1");
    this.rest = this.rest.subarray(end + 4);
    return true;
  }

  #changed(change: () => void): void {
    change();
    for (const wake of [...this.#wake]) wake();
  }
}

/** Pieces a handshake head goes out in at most. */
const MAX_HEAD_PIECES = 16;

/**
 * `chunking` with pieces and drips bounded so that the first `headBytes` (an HTTP head) go out
 * within about `ms`, even on a loaded machine where timers and turns of the event loop come late:
 * the fuzzers test the peer's handshake timeout on purpose elsewhere, not by accident here.
 */
export function boundedDrip(chunking: Chunking, headBytes: number, ms: number): Chunking {
  const smallest = Math.ceil(headBytes / MAX_HEAD_PIECES);
  return { sizes: chunking.sizes.map((size) => Math.max(size, smallest)), dripMs: Math.min(chunking.dripMs, Math.floor(ms / MAX_HEAD_PIECES)) };
}

/** `ms` of waiting, or just the next turn of the event loop for 0. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}
