// Binds a Node net/tls socket to a sans-I/O Connection: bytes both ways, backpressure,
// end-of-stream and teardown. Nothing about WebSocket framing lives here.
import type { Socket } from "node:net";
import type { Core } from "../core/index.js";
import { Connection, type ConnectionEvents, type ConnectionOptions } from "../protocol/connection.js";

export type SocketConnectionEvents = Omit<ConnectionEvents, "write" | "end" | "destroy" | "setReading">;

export interface SocketConnectionOptions extends ConnectionOptions {
  /**
   * Most bytes that may wait to be written (compression queue plus the socket's buffer). Past
   * it the peer is too slow to read: the connection closes with 1008 instead of buffering
   * without end. Default 16 MiB.
   */
  maxBufferedAmount?: number;
}

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
  this[kConnection].connection.transportClosed();
}
function endOfTick(connection: SocketConnection): void {
  connection.flush();
}

/** The Connection's transport: it is the connection's event sink, and forwards the rest to `events`. */
export class SocketConnection implements ConnectionEvents {
  readonly connection: Connection;
  readonly socket: Socket;
  readonly #options: SocketConnectionOptions;
  readonly #events: SocketConnectionEvents;
  /** Who holds reading paused: the connection (inflation lags), the application (`pause()`), or both. */
  #pausedBy = { connection: false, application: false };
  /** This tick's writes so far: the first goes out at once, the rest are gathered. */
  #tick: "idle" | "wrote" | "gathering" = "idle";

  /** `options` may be shared by many connections: it is read, never copied or changed. */
  constructor(core: Core, socket: Socket, options: SocketConnectionOptions, events: SocketConnectionEvents, head?: Uint8Array) {
    this.socket = socket;
    this.#options = options;
    this.#events = events;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    this.connection = new Connection(core, options, this);
    (socket as BoundSocket)[kConnection] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
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
    // A backlog from earlier writes makes the peer slow; one message, however large, does not
    // (a 16 MiB message, the default maxMessage, would otherwise close the connection at once).
    const backlog = this.bufferedAmount;
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
    if (backlog > (this.#options.maxBufferedAmount ?? 16 * 1024 * 1024) && this.connection.readyState === 1) {
      this.connection.close(1008, "peer too slow to read");
    }
  }

  #gather(): void {
    this.#tick = "gathering";
    this.socket.cork();
  }

  /** @internal The tick is over: send what it gathered. */
  flush(): void {
    if (this.#tick === "gathering") this.socket.uncork();
    this.#tick = "idle";
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
    this.#hold("connection", !reading);
  }

  /** Stops (true) or resumes (false) reading for the application; reading resumes only once neither holds it. */
  holdReading(hold: boolean): void {
    this.#hold("application", hold);
  }

  get readingHeld(): boolean {
    return this.#pausedBy.application;
  }

  #hold(who: "connection" | "application", hold: boolean): void {
    this.#pausedBy[who] = hold;
    if (this.#pausedBy.connection || this.#pausedBy.application) this.socket.pause();
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
