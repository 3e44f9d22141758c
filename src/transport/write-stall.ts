// Notices a peer that stopped taking what we write: bytes wait in the socket and not one of
// them moves for the stall timeout. A stalled reader holds its backlog, however small the
// per-connection and total limits keep it, for as long as it likes unless something times it out.
import type { Socket } from "node:net";

/** What the watch reports to. */
export interface StallWatchOwner {
  readonly socket: Socket;
  /** Each check: the backlog may have shrunk since it was last reported (0: drained, the watch stopped). */
  backlogChecked(): void;
  /** Nothing written moved for `ms`, with `waiting` bytes in the socket. */
  writeStalled(waiting: number, ms: number): void;
}

type Handle = { writeQueueSize?: number; _parent?: { writeQueueSize?: number } };

/**
 * Runs while bytes wait in the socket, checking four times per timeout, so a stall is noticed
 * between 1 and 1.25 timeouts after the last byte moved.
 */
export class WriteStallWatch {
  readonly #owner: StallWatchOwner;
  readonly #timeout: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #completed = 0;
  #inFlight = 0;
  #lastProgressAt = 0;

  constructor(owner: StallWatchOwner, timeout: number) {
    this.#owner = owner;
    this.#timeout = timeout;
  }

  /** Bytes are waiting: watch them (no-op while already watching). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#progressed();
    this.#lastProgressAt = performance.now();
    this.#timer = setInterval(checkWatch, Math.max(1, this.#timeout / 4), this);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** @internal */
  check(): void {
    const socket = this.#owner.socket;
    if (socket.destroyed || socket.writableLength === 0) this.stop();
    this.#owner.backlogChecked();
    if (this.#timer === undefined) return;
    const now = performance.now();
    if (this.#progressed()) this.#lastProgressAt = now;
    else if (now - this.#lastProgressAt >= this.#timeout) {
      this.stop();
      this.#owner.writeStalled(socket.writableLength, Math.round(now - this.#lastProgressAt));
    }
  }

  /**
   * True when bytes moved since the last call. `writableLength` drops only once a whole write
   * has reached the kernel, so a 16 MiB message read slowly but steadily would look stalled
   * for minutes; the libuv queue of the write in progress shrinks with every partial write
   * (Node's own socket timeout checks it for the same reason: net.Socket#_onTimeout). Under
   * TLS that is the queue of the TCP handle below the TLS one.
   */
  #progressed(): boolean {
    const socket = this.#owner.socket;
    const completed = (socket.bytesWritten ?? 0) - socket.writableLength;
    const handle = (socket as unknown as { _handle?: Handle })._handle;
    const inFlight = handle?._parent?.writeQueueSize ?? handle?.writeQueueSize ?? 0;
    const progressed = completed > this.#completed || (completed === this.#completed && inFlight < this.#inFlight);
    this.#completed = completed;
    this.#inFlight = inFlight;
    return progressed;
  }
}

function checkWatch(watch: WriteStallWatch): void {
  watch.check();
}
