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

export class SocketConnection {
  readonly connection: Connection;
  readonly socket: Socket;
  readonly #maxBuffered: number;

  constructor(core: Core, socket: Socket, options: SocketConnectionOptions, events: SocketConnectionEvents, head?: Uint8Array) {
    this.socket = socket;
    this.#maxBuffered = options.maxBufferedAmount ?? 16 * 1024 * 1024;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    this.connection = new Connection(core, options, {
      ...events,
      write: (bytes) => this.#write(bytes),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
      setReading: (reading) => (reading ? socket.resume() : socket.pause()),
    });
    socket.on("data", (chunk: Buffer) => this.connection.receive(chunk));
    // The peer's FIN: answer with ours (a client's is expected after the close handshake).
    socket.on("end", () => socket.end());
    socket.on("error", () => {
      // A reset or a write after the peer left: 'close' follows and reports 1006.
    });
    socket.on("close", () => this.connection.transportClosed());
    if (head && head.length > 0) this.connection.receive(head);
  }

  /** Bytes waiting to be written: compression queue plus the socket's own buffer. */
  get bufferedAmount(): number {
    return this.connection.queuedBytes + (this.socket.writableLength ?? 0);
  }

  #write(bytes: Uint8Array): void {
    if (this.socket.destroyed) return;
    // A backlog from earlier writes makes the peer slow; one message, however large, does not
    // (a 16 MiB message, the default maxMessage, would otherwise close the connection at once).
    const backlog = this.bufferedAmount;
    this.socket.write(bytes);
    if (backlog > this.#maxBuffered && this.connection.readyState === 1) {
      this.connection.close(1008, "peer too slow to read");
    }
  }
}
