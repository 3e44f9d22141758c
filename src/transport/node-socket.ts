// Binds a Node net/tls socket to a sans-I/O Connection: bytes both ways, backpressure,
// end-of-stream and teardown. Nothing about WebSocket framing lives here.
import type { Socket } from "node:net";
import type { Core } from "../core/index.js";
import { Connection, type ConnectionEvents, type ConnectionOptions } from "../protocol/connection.js";
import { InvalidStateError, PolicyViolationError } from "../protocol/errors.js";
import type { BudgetMember, WriteBudget } from "./write-budget.js";
import { WriteStallWatch, type StallWatchOwner } from "./write-stall.js";

const EMPTY = Buffer.alloc(0);

export type SocketConnectionEvents = Omit<ConnectionEvents, "write" | "end" | "destroy" | "setReading" | "stopReading">;

export interface SocketConnectionOptions extends ConnectionOptions {
  /**
   * Most bytes that may wait to be written (compression queue plus the socket's buffer),
   * checked on every write. Past it the peer is too slow to read: the connection fails with
   * 1008 instead of buffering without end. One message larger than the limit may still go when
   * what waits before it is within the limit. Default 16 MiB.
   */
  maxBufferedAmount?: number;
  /**
   * Fail the connection (1008) when bytes have waited in the socket this many ms without one
   * of them reaching the peer: a reader that stopped reading holds its backlog until then.
   * Progress inside one large write counts, so a slow reader that keeps reading is not cut
   * (the kernel takes bytes in bursts, up to a third of its send buffer at a time: the timeout
   * must cover reading that much). 30 s is as long as ws waits for a closing handshake. 0:
   * never. Default 30 s.
   */
  writeStallTimeout?: number;
  /** A bound on bytes waiting to be written shared with other connections (a WebSocketServer makes one per server). */
  writeBudget?: WriteBudget;
}

const DEFAULT_MAX_BUFFERED_AMOUNT = 16 * 1024 * 1024;

/** Who holds reading paused, as bits of one number (an object of flags would cost every connection ~50 bytes). */
const HeldBy = { connection: 1, application: 2, failure: 4 } as const;
type ReadingHolder = (typeof HeldBy)[keyof typeof HeldBy];

const kConnection = Symbol("edgews.connection");
type BoundSocket = Socket & { [kConnection]: SocketConnection };

// The socket's listeners are shared functions that find their connection on the socket, so an
// idle connection holds no closures (as ws does).
function onData(this: BoundSocket, chunk: Buffer): void {
  this[kConnection].connection.receive(chunk);
}
/** The peer's FIN: answer with ours (a client's is expected after the close handshake). */
function onEnd(this: BoundSocket): void {
  this.end();
}
/** A reset or a write after the peer left: 'close' follows and reports 1006. */
function onError(): void {}
function onClose(this: BoundSocket): void {
  this[kConnection].transportClosed();
}
function onDrain(this: BoundSocket): void {
  this[kConnection].backlogChecked();
}
function endOfTick(connection: SocketConnection): void {
  connection.flush();
}

/**
 * The Connection's transport: it is the connection's event sink, and forwards the rest to
 * `events`. It also holds the peer to the write limits, which only the socket can see.
 */
export class SocketConnection implements ConnectionEvents, BudgetMember, StallWatchOwner {
  readonly connection: Connection;
  readonly socket: Socket;
  readonly #options: SocketConnectionOptions;
  readonly #events: SocketConnectionEvents;
  /**
   * Who holds reading paused (HeldBy bits): the connection (inflation lags), the application
   * (`pause()`), the connection's failure (for good).
   */
  #pausedBy = 0;
  /** This tick's writes so far: the first goes out at once, the rest are gathered. */
  #tick: "idle" | "wrote" | "gathering" = "idle";
  /** Made the first time bytes are left waiting at the end of a tick. */
  #stallWatch: WriteStallWatch | undefined;

  /** `options` may be shared by many connections: it is read, never copied or changed. */
  constructor(core: Core, socket: Socket, options: SocketConnectionOptions, events: SocketConnectionEvents, head?: Uint8Array) {
    this.socket = socket;
    this.#options = options;
    this.#events = events;
    // A WebSocketServer takes any Duplex (handleUpgrade), which may have neither, as ws allows.
    if (typeof socket.setNoDelay === "function") socket.setNoDelay(true);
    if (typeof socket.setTimeout === "function") socket.setTimeout(0);
    this.connection = new Connection(core, options, this);
    (socket as BoundSocket)[kConnection] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.on("drain", onDrain);
    if (head && head.length > 0) this.connection.receive(head);
  }

  /** Bytes waiting to be written: compression queue plus the socket's own buffer. */
  get bufferedAmount(): number {
    return this.connection.queuedBytes + (this.socket.writableLength ?? 0);
  }

  /** @internal */
  write(bytes: Uint8Array, payload?: Uint8Array): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    const waitingBefore = this.bufferedAmount;
    // A lone write (a reply with one message in flight) goes out at once. What follows it in
    // the same tick (the replies to a chunk of many messages) is gathered into one system call
    // when the tick ends, instead of one call per frame.
    if (this.#tick === "idle") {
      this.#tick = "wrote";
      process.nextTick(endOfTick, this);
      if (payload) {
        this.#gather();
      }
    } else if (this.#tick === "wrote") {
      this.#gather();
    }
    socket.write(bytes);
    if (payload) socket.write(payload);
    this.#checkBufferedAmount(waitingBefore, bytes.length + (payload?.length ?? 0));
  }

  /** Calls `callback` once everything written so far has left for the network, or with why it can't. */
  afterWrites(callback: (error?: Error) => void): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      process.nextTick(callback, new InvalidStateError("the socket closed before the data was written"));
      return;
    }
    // An empty write completes after those before it.
    socket.write(EMPTY, (error) => callback(error ?? undefined));
  }

  /**
   * A backlog past maxBufferedAmount makes the peer too slow. One message larger than the limit
   * does not, when what waited before it is within the limit (a 16 MiB message, the default
   * maxMessage, would otherwise fail the connection at once).
   */
  #checkBufferedAmount(waitingBefore: number, written: number): void {
    const limit = this.#options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT;
    const tooSlow = written > limit ? waitingBefore > limit : waitingBefore + written > limit;
    if (!tooSlow) return;
    this.connection.fail(new PolicyViolationError(
      "WS_ERR_SLOW_READER",
      `${waitingBefore + written} bytes waiting to be written, over maxBufferedAmount (${limit}): the peer reads too slowly`,
    ));
  }

  #gather(): void {
    this.#tick = "gathering";
    this.socket.cork();
  }

  /** @internal The tick is over: send what it gathered, then account for what is left waiting. */
  flush(): void {
    if (this.#tick === "gathering") this.socket.uncork();
    this.#tick = "idle";
    this.backlogChecked();
    this.#options.writeBudget?.enforce();
    const stallTimeout = this.#options.writeStallTimeout ?? 30_000;
    if (this.socket.writableLength > 0 && stallTimeout > 0 && !this.socket.destroyed) {
      (this.#stallWatch ??= new WriteStallWatch(this, stallTimeout)).start();
    }
  }

  /** @internal Bytes waiting now, for the write budget. */
  waitingBytes(): number {
    return this.socket.destroyed ? 0 : this.bufferedAmount;
  }

  /** @internal Reports the backlog to the write budget (after a tick's writes, a drain, a stall check). */
  backlogChecked(): void {
    this.#options.writeBudget?.update(this, this.waitingBytes());
  }

  /** @internal The write budget needs this connection's backlog back. */
  evict(error: PolicyViolationError): void {
    this.connection.fail(error);
    this.destroy();
  }

  /** @internal */
  writeStalled(waiting: number, ms: number): void {
    this.connection.fail(new PolicyViolationError(
      "WS_ERR_WRITE_STALLED",
      `none of the ${waiting} bytes waiting to be written reached the peer for ${ms} ms (writeStallTimeout ${this.#options.writeStallTimeout ?? 30_000} ms): the peer stopped reading`,
    ));
  }

  /** @internal The socket closed: nothing waits any more. */
  transportClosed(): void {
    this.#stallWatch?.stop();
    this.backlogChecked();
    this.connection.transportClosed();
  }

  /** @internal */
  end(): void {
    this.socket.end();
  }

  /** @internal */
  destroy(): void {
    this.socket.destroy();
  }

  /** @internal */
  setReading(reading: boolean): void {
    this.#hold(HeldBy.connection, !reading);
  }

  /** @internal */
  stopReading(): void {
    this.#hold(HeldBy.failure, true);
  }

  /** Stops (true) or resumes (false) reading for the application; reading resumes only once neither holds it. */
  holdReading(hold: boolean): void {
    this.#hold(HeldBy.application, hold);
  }

  get readingHeld(): boolean {
    return (this.#pausedBy & HeldBy.application) !== 0;
  }

  #hold(who: ReadingHolder, hold: boolean): void {
    this.#pausedBy = hold ? this.#pausedBy | who : this.#pausedBy & ~who;
    if (this.#pausedBy !== 0) this.socket.pause();
    else this.socket.resume();
  }

  /** @internal */
  message(data: Uint8Array, isBinary: boolean): void {
    this.#events.message(data, isBinary);
  }

  /** @internal */
  ping(data: Uint8Array): void {
    this.#events.ping?.(data);
  }

  /** @internal */
  pong(data: Uint8Array): void {
    this.#events.pong?.(data);
  }

  /** @internal */
  error(error: Error & { closeCode?: number }): void {
    this.#events.error?.(error);
  }

  /** @internal */
  close(code: number, reason: string, wasClean: boolean): void {
    this.#events.close?.(code, reason, wasClean);
  }
}
